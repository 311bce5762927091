//! `Engine`, the context every container verb works in: the store, the
//! database, the OCI runtime and the pull settings.

use std::path::PathBuf;

use crate::db::Db;
use crate::image::pull::PullOptions;
use crate::oci_runtime::OciRuntime;
use crate::store::content::Store;

/// Everything a container operation needs.
pub struct Engine {
    /// The k3 root.
    pub store: Store,
    /// The database.
    pub db: Db,
    /// The OCI runtime containers are created with.
    pub runtime: OciRuntime,
    /// How to pull missing images.
    pub pull: PullOptions,
    /// The `k3` binary (the monitor is `k3 __monitor`).
    pub k3_exe: PathBuf,
}

impl Engine {
    /// The bundle directory of a container (named by its hash).
    pub fn bundle_dir(&self, hash: &str) -> PathBuf {
        self.store.root().join("containers").join(hash)
    }
}
