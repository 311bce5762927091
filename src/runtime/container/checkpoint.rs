//! `checkpoint` / `restore` through CRIU, as runc does: `criu dump` of the init's process
//! tree with the container's bind mounts declared external, and `criu restore` into the
//! bundle's rootfs. CRIU must work on this kernel: `criu check` runs first and its own
//! words become the error when it does not (CRIU 3.17 cannot start on Linux 6.18, say).

use std::path::{Path, PathBuf};
use std::process::Command;

use oci_spec::runtime::Spec;

use crate::container::GlobalFlags;
use crate::error::{OutputError, Protocol, StateError};
use crate::{Error, Result};
use k3_oci::spec::{self, Bundle};
use k3_oci::state::Status;

/// Flags shared by both verbs.
#[derive(Debug, Clone, Default)]
pub struct CriuOpts {
    /// `--image-path`: where CRIU writes (or reads) the images.
    pub image_path: PathBuf,
    /// `--work-path`: CRIU's logs and work files (default: the image path).
    pub work_path: Option<PathBuf>,
    /// `--leave-running`: the container keeps running after the dump.
    pub leave_running: bool,
    /// `--tcp-established`: checkpoint established TCP connections.
    pub tcp_established: bool,
    /// `--ext-unix-sk`: allow external unix sockets.
    pub ext_unix_sk: bool,
    /// `--shell-job`: the process was started from a shell (a tty of its own).
    pub shell_job: bool,
    /// `--file-locks`: checkpoint file locks.
    pub file_locks: bool,
}

impl CriuOpts {
    fn common_args(&self) -> Vec<String> {
        let mut a = vec![
            "-D".to_string(),
            self.image_path.display().to_string(),
            "--manage-cgroups".into(),
        ];
        if let Some(w) = &self.work_path {
            a.extend(["-W".into(), w.display().to_string()]);
        }
        for (on, flag) in [
            (self.tcp_established, "--tcp-established"),
            (self.ext_unix_sk, "--ext-unix-sk"),
            (self.shell_job, "--shell-job"),
            (self.file_locks, "--file-locks"),
        ] {
            if on {
                a.push(flag.into());
            }
        }
        a
    }
}

/// `criu` must be installed and pass `criu check` on this kernel.
fn criu_ready() -> Result<()> {
    let out = Command::new("criu").arg("check").output().map_err(|e| {
        Error::invalid(
            "checkpoint",
            "criu",
            format!("CRIU is not installed (`criu`: {e}); install Debian's `criu`"),
        )
    })?;
    let text =
        String::from_utf8_lossy(&out.stderr).to_string() + &String::from_utf8_lossy(&out.stdout);
    let ok = out.status.success() && !text.contains("Error (");
    if !ok {
        let why = text
            .lines()
            .rev()
            .find(|l| !l.trim().is_empty())
            .unwrap_or("failed")
            .trim()
            .to_string();
        return Err(Error::invalid(
            "criu check",
            why,
            "CRIU cannot checkpoint on this kernel",
        ));
    }
    Ok(())
}

/// Bind mounts are outside the container: CRIU is told to leave them to the restore.
fn external_mounts(spec: &Spec, restore: bool) -> Vec<String> {
    let mut out = Vec::new();
    for m in spec.mounts().iter().flatten() {
        let opts = m.options().as_deref().unwrap_or_default();
        let bind =
            m.typ().as_deref() == Some("bind") || opts.iter().any(|o| o == "bind" || o == "rbind");
        if !bind {
            continue;
        }
        let dest = m.destination().display().to_string();
        if restore {
            let src = m
                .source()
                .as_deref()
                .map(Path::display)
                .map(|d| d.to_string())
                .unwrap_or_default();
            out.extend(["--ext-mount-map".to_string(), format!("{dest}:{src}")]);
        } else {
            out.extend(["--external".to_string(), format!("mnt[{dest}]:{dest}")]);
        }
    }
    out
}

fn run_criu(args: &[String], what: &str, log: &Path) -> Result<()> {
    let out = Command::new("criu")
        .args(args)
        .output()
        .map_err(|source| OutputError::Run {
            program: format!("criu {what}"),
            source,
        })?;
    if !out.status.success() {
        let tail = std::fs::read_to_string(log).unwrap_or_default();
        let last = tail
            .lines()
            .rev()
            .find(|l| l.contains("Error"))
            .unwrap_or("")
            .trim()
            .to_string();
        return Err(Error::invalid(
            "criu",
            what.to_string(),
            format!("failed: {last} (log `{}`)", log.display()),
        ));
    }
    Ok(())
}

/// `k3rt checkpoint ID`.
pub fn checkpoint(ctx: &GlobalFlags, id: &str, opts: &CriuOpts) -> Result<()> {
    let (dir, st, status) = ctx.live(id)?;
    if status != Status::Running {
        return Err(StateError::NotRunning {
            id: id.to_string(),
            status,
        }
        .into());
    }
    criu_ready()?;
    let raw = std::fs::read(dir.config()).map_err(|e| Error::io("read config", dir.config(), e))?;
    let spec = spec::parse(&raw).map_err(|source| spec::SpecError::Parse {
        path: dir.config(),
        source,
    })?;
    std::fs::create_dir_all(&opts.image_path)
        .map_err(|e| Error::io("create image path", opts.image_path.clone(), e))?;
    let mut args = vec![
        "dump".to_string(),
        "-t".into(),
        st.pid.to_string(),
        "-o".into(),
        "dump.log".into(),
    ];
    args.extend(opts.common_args());
    args.extend(external_mounts(&spec, false));
    if opts.leave_running {
        args.push("--leave-running".into());
    }
    run_criu(
        &args,
        "dump",
        &opts
            .work_path
            .clone()
            .unwrap_or(opts.image_path.clone())
            .join("dump.log"),
    )
}

/// `k3rt restore -b BUNDLE ID`: the process tree comes back into a new container.
pub fn restore(
    ctx: &GlobalFlags,
    id: &str,
    bundle_dir: &Path,
    opts: &CriuOpts,
    pid_file: Option<&Path>,
) -> Result<()> {
    k3_oci::id::validate(id)?;
    let bundle = Bundle::load(bundle_dir)?;
    criu_ready()?;
    let dir = crate::statedir::ContainerDir::new(&ctx.root, id);
    dir.create()?;
    let pidfile = dir.path.join("criu.pid");
    let mut args = vec![
        "restore".to_string(),
        "-d".into(),
        "--root".into(),
        bundle.rootfs.display().to_string(),
        "--pidfile".into(),
        pidfile.display().to_string(),
        "-o".into(),
        "restore.log".into(),
    ];
    args.extend(opts.common_args());
    args.extend(external_mounts(&bundle.spec, true));
    let log = opts
        .work_path
        .clone()
        .unwrap_or(opts.image_path.clone())
        .join("restore.log");
    if let Err(e) = run_criu(&args, "restore", &log) {
        let _ = dir.remove();
        return Err(e);
    }
    let pid: i32 = std::fs::read_to_string(&pidfile)
        .ok()
        .and_then(|s| s.trim().parse().ok())
        .ok_or(Protocol::CriuNoPid)?;
    std::fs::write(dir.config(), &bundle.raw)
        .map_err(|e| Error::io("write config", dir.config(), e))?;
    let st = k3_oci::state::ContainerState {
        oci_version: bundle.spec.version().clone(),
        id: id.to_string(),
        status: Status::Running,
        pid,
        pid_start_time: crate::statedir::proc_stat(pid)
            .map(|(t, _)| t)
            .ok_or_else(|| Error::from(Protocol::NoRestoredStartTime(pid)))?,
        bundle: bundle.dir.clone(),
        rootfs: bundle.rootfs.clone(),
        created: k3_oci::time::now_rfc3339(),
        owner: "root".into(),
        annotations: bundle.spec.annotations().clone().unwrap_or_default(),
        cgroup_paths: k3_cgroups::procs_dirs(pid),
        own_pid_ns: true,
        host_mounts: false,
    };
    dir.save(&st)?;
    if let Some(p) = pid_file {
        crate::container::create::write_pid_file(p, pid)?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bind_mounts_are_external() {
        let spec: Spec = serde_json::from_str(
            r#"{"ociVersion":"1.2.0","mounts":[{"destination":"/proc","type":"proc","source":"proc"},
               {"destination":"/data","type":"bind","source":"/srv/d","options":["rbind","ro"]}]}"#,
        )
        .unwrap();
        assert_eq!(
            external_mounts(&spec, false),
            ["--external", "mnt[/data]:/data"]
        );
        assert_eq!(
            external_mounts(&spec, true),
            ["--ext-mount-map", "/data:/srv/d"]
        );
    }
}
