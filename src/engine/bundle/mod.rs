//! The OCI bundle of a container: `config.json` generated from the validated
//! options merged with the image config (docker's rules for Entrypoint, Cmd,
//! Env, WorkingDir, User, Volumes), and the files docker's init layer
//! provides (`/etc/hosts`, `/etc/hostname`, `/etc/resolv.conf`), written in
//! the bundle directory and bind-mounted into the container.
//!
//! Everything here is pure data except [`write_etc_files`] and
//! [`resolve_user`], so the merge rules are unit-tested without root.
//!
//! The parts: [`process`] (the image config and docker's merge), [`caps`]
//! (the capability set), [`user`] (`User` resolved in the rootfs),
//! [`config`] (the `config.json` document) and [`etc`] (the `/etc` files).

use std::fs;
use std::io;
use std::path::{Path, PathBuf};

use serde_json::Value;

mod caps;
mod config;
mod etc;
mod process;
mod profile;
mod user;

pub use caps::{capabilities, own_bounding};
pub use config::{
    generate, host_cgroup_v2, host_devices, private_cgroupns, BundleInputs, NetMode, INIT_PATH,
};
pub use etc::{hosts_file, resolv_conf, write_etc_files};
pub use process::{dir_in_rootfs, merge_process, ImageConfig, ProcessPlan};
pub use user::{resolve_identity, resolve_user, Identity};

/// The `ociVersion` written (crun 1.8 refuses newer ones).
pub const OCI_VERSION: &str = "1.0.2";
/// `PATH` when the image sets none.
pub const DEFAULT_PATH: &str = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin";

/// A bundle failure.
#[derive(Debug, thiserror::Error)]
pub enum BundleError {
    /// Neither the options nor the image give a command.
    #[error("no command: the image `{0}` has no Entrypoint or Cmd and no `args` were given")]
    NoCommand(String),
    /// The image's `User` names a user the rootfs does not define.
    #[error("user `{user}` not found in the image's `/etc/{file}`")]
    UnknownUser {
        /// The user name from the image's `User`.
        user: String,
        /// The file searched: `passwd` or `group`.
        file: &'static str,
    },
    /// The entry of the image's `User` has an id that is not a number.
    #[error("user `{user}` has the id `{value}` in the image's `/etc/{file}`: not a number")]
    BadId {
        /// The user name from the image's `User`.
        user: String,
        /// The file the entry is in: `passwd` or `group`.
        file: &'static str,
        /// The id field as written there.
        value: String,
    },
    /// A file could not be written or read.
    #[error("cannot {op} `{path}`")]
    Io {
        /// What was being done, e.g. `write`.
        op: &'static str,
        /// The file's path.
        path: PathBuf,
        /// The underlying error.
        #[source]
        source: io::Error,
    },
    /// A part of `config.json` oci-spec refuses to build.
    #[error("cannot build `config.json`")]
    Spec(#[from] oci_spec::OciSpecError),
    /// `config.json` does not convert to JSON.
    #[error("cannot convert `config.json` to JSON")]
    Json(#[source] serde_json::Error),
    /// `workdir` names no directory of the image (podman refuses it too).
    #[error("invalid `workdir` value `{0}`: no such directory in the image")]
    NoWorkdir(String),
    /// A `--security-opt seccomp=PATH` profile that does not convert.
    #[error("invalid seccomp profile: {0}")]
    Seccomp(String),
    /// A capability name oci-spec does not know.
    #[error("unknown capability `{0}` in `process.capabilities`")]
    Capability(String),
}

fn io_err<'a>(op: &'static str, path: &'a Path) -> impl FnOnce(io::Error) -> BundleError + 'a {
    move |source| BundleError::Io {
        op,
        path: path.to_path_buf(),
        source,
    }
}
/// Writes `config.json` (tmp + rename).
pub fn write_config(bundle: &Path, config: &Value) -> Result<PathBuf, BundleError> {
    let p = bundle.join("config.json");
    let tmp = bundle.join("config.json.tmp");
    let text = serde_json::to_vec_pretty(config).unwrap_or_default();
    fs::write(&tmp, text).map_err(io_err("write", &tmp))?;
    fs::rename(&tmp, &p).map_err(io_err("rename", &p))?;
    Ok(p)
}

#[cfg(test)]
mod testutil {
    use serde_json::json;

    use super::ImageConfig;
    use crate::options::{CreateOptions, Validated};

    pub(super) fn validated(f: impl FnOnce(&mut CreateOptions)) -> Validated {
        let mut o = CreateOptions {
            container_id: "c".into(),
            image: "node".into(),
            ..Default::default()
        };
        f(&mut o);
        o.validate().unwrap()
    }

    pub(super) fn image() -> ImageConfig {
        ImageConfig::from_image_json(&json!({"config": {
            "Entrypoint": ["docker-entrypoint.sh"], "Cmd": ["node"],
            "Env": ["PATH=/usr/local/bin:/bin", "NODE_VERSION=18", "NODE_ENV=dev"],
            "WorkingDir": "/app", "User": "node",
            "ExposedPorts": {"3000/tcp": {}}, "Volumes": {"/data": {}}
        }}))
    }
}

#[cfg(test)]
mod fixtures;
