//! [`Runtime`]: the OCI runtime as the engine's create drives it, the seam
//! between the engine and the runtime process. [`OciRuntime`] (the runc CLI
//! contract, the create run by the container's monitor) is the real one;
//! `fake::FakeRuntime` records the calls.
//!
//! The verbs after create (start, kill, exec, delete of a stored container)
//! drive the binary recorded with the container through [`OciRuntime`].

use std::path::{Path, PathBuf};

use crate::monitor::{self, MonitorSpec, Report};
use crate::oci_runtime::{OciRuntime, RuntimeError, RuntimeState};

/// What a runtime's `create` is given.
#[derive(Debug, Clone)]
pub struct CreateRequest {
    /// The container id (the record's key).
    pub id: String,
    /// The runtime's container id (the hash).
    pub hash: String,
    /// The bundle directory.
    pub bundle: PathBuf,
    /// The k3 database (the monitor records the exit there).
    pub db: PathBuf,
    /// The `k3` binary whose `__monitor` runs the create.
    pub k3_exe: PathBuf,
    /// `--debug` for the runtime.
    pub debug: bool,
    /// `--no-pivot`.
    pub no_pivot: bool,
    /// `--no-new-keyring`.
    pub no_new_keyring: bool,
}

/// An OCI runtime, as the engine's create drives it.
pub trait Runtime: Send + Sync {
    /// A short name for messages.
    fn name(&self) -> String;

    /// The binary (recorded with the container: the later verbs run it).
    fn path(&self) -> &Path;

    /// The runtime's state root (`--root`).
    fn root(&self) -> &Path;

    /// Creates the container (state `created`); the report carries the
    /// init's pid or the runtime's own failure.
    fn create(&self, req: &CreateRequest) -> Result<Report, RuntimeError>;

    /// The runtime's view of container `id`; `None` when it does not know it.
    fn state(&self, log: &Path, id: &str) -> Result<Option<RuntimeState>, RuntimeError>;

    /// Deletes container `id` (`force`: a running one too).
    fn delete(&self, log: &Path, id: &str, force: bool) -> Result<(), RuntimeError>;
}

impl Runtime for OciRuntime {
    fn name(&self) -> String {
        OciRuntime::name(self)
    }

    fn path(&self) -> &Path {
        &self.path
    }

    fn root(&self) -> &Path {
        &self.root
    }

    /// Through the container's monitor (`k3 __monitor`), which stays to hold
    /// the container's output and to record its exit.
    fn create(&self, req: &CreateRequest) -> Result<Report, RuntimeError> {
        let spec = MonitorSpec {
            id: req.id.clone(),
            hash: req.hash.clone(),
            bundle: req.bundle.clone(),
            db: req.db.clone(),
            runtime: self.clone(),
            debug: req.debug,
            no_pivot: req.no_pivot,
            no_new_keyring: req.no_new_keyring,
        };
        monitor::spawn(&req.k3_exe, &spec)
    }

    fn state(&self, log: &Path, id: &str) -> Result<Option<RuntimeState>, RuntimeError> {
        OciRuntime::state(self, log, id)
    }

    fn delete(&self, log: &Path, id: &str, force: bool) -> Result<(), RuntimeError> {
        OciRuntime::delete(self, log, id, force)
    }
}
