//! `Engine`, the context every container verb works in: the store, the
//! database, the pull settings, and the three seams to the host: the OCI
//! runtime, the snapshotter and the host's network (real ones from
//! [`Engine::new`]; tests put fakes in their place).

use std::path::PathBuf;

use crate::db::Db;
use crate::image::pull::PullOptions;
use crate::network::{self, Network};
use crate::oci_runtime::OciRuntime;
use crate::runtime::Runtime;
use crate::store::content::Store;
use crate::store::snapshotter::{Overlay, Snapshotter};

/// Everything a container operation needs.
pub struct Engine {
    /// The k3 root.
    pub store: Store,
    /// The database.
    pub db: Db,
    /// The OCI runtime containers are created with.
    pub runtime: Box<dyn Runtime>,
    /// Container snapshots (root filesystems).
    pub snapshots: Box<dyn Snapshotter>,
    /// The host's network (namespaces, bridges, veths, rules).
    pub network: Box<dyn Network>,
    /// How to pull missing images.
    pub pull: PullOptions,
    /// The `k3` binary (the monitor is `k3 __monitor`).
    pub k3_exe: PathBuf,
}

impl Engine {
    /// The engine on this host: `runtime` through its CLI, overlay
    /// snapshots, the kernel's network.
    pub fn new(
        store: Store,
        db: Db,
        runtime: OciRuntime,
        pull: PullOptions,
        k3_exe: PathBuf,
    ) -> Engine {
        Engine {
            store,
            db,
            runtime: Box::new(runtime),
            snapshots: Box::new(Overlay),
            network: Box::new(network::Linux),
            pull,
            k3_exe,
        }
    }

    /// The bundle directory of a container (named by its hash).
    pub fn bundle_dir(&self, hash: &str) -> PathBuf {
        self.store.root().join("containers").join(hash)
    }
}
