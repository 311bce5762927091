//! The cgroup layer's error type; the runtime wraps it unchanged.

use std::path::PathBuf;

use thiserror::Error;

pub use k3_oci::io_error::IoError;

/// The cgroup layer's result.
pub type Result<T> = std::result::Result<T, Error>;

/// What went wrong managing a container's cgroups.
#[derive(Debug, Error)]
pub enum Error {
    /// A cgroup operation failed.
    #[error("cgroup: {0}")]
    Cgroup(#[from] CgroupError),
    /// A write of a resource value failed; names the spec field the value came from.
    #[error("cgroup: {field}: {source}")]
    Field {
        /// The spec field (`linux.resources.memory.limit`).
        field: &'static str,
        /// The failed write.
        source: CgroupError,
    },
    /// An I/O failure on a path outside the container's cgroups.
    #[error(transparent)]
    Io(#[from] IoError),
}

/// One failed cgroup operation; the message names the file and the value.
#[derive(Debug, Error)]
pub enum CgroupError {
    /// Opening a cgroup file.
    #[error("open `{}`: {source}", path.display())]
    Open {
        /// The file.
        path: PathBuf,
        /// The kernel's answer.
        source: std::io::Error,
    },
    /// Writing a value to a cgroup file.
    #[error("write `{value}` to `{}`: {source}", path.display())]
    Write {
        /// The value.
        value: String,
        /// The file.
        path: PathBuf,
        /// The kernel's answer.
        source: std::io::Error,
    },
    /// Creating a cgroup directory.
    #[error("create `{}`: {source}", path.display())]
    Create {
        /// The directory.
        path: PathBuf,
        /// The kernel's answer.
        source: std::io::Error,
    },
    /// Removing a cgroup directory.
    #[error("remove `{}`: {source}", path.display())]
    Remove {
        /// The directory.
        path: PathBuf,
        /// The kernel's answer.
        source: std::io::Error,
    },
    /// The init writing itself to a `tasks` file.
    #[error("join cgroup: {0}")]
    Join(#[source] std::io::Error),
    /// No hierarchy has the controller a value needs.
    #[error("controller `{controller}` is not available for `{file}` = `{value}`")]
    NoController {
        /// The controller.
        controller: &'static str,
        /// The interface file.
        file: String,
        /// The value.
        value: String,
    },
    /// A v2 interface file is missing because its controller is not enabled.
    #[error(transparent)]
    ControllerDisabled(Box<ControllerDisabled>),
    /// The freezer did not reach the wanted state in time.
    #[error("`{}` did not become `{want}`", path.display())]
    FreezeTimeout {
        /// The freezer file.
        path: PathBuf,
        /// The wanted state.
        want: &'static str,
    },
    /// Neither `freezer.state` nor `cgroup.freeze` exists.
    #[error("no freezer for this container")]
    NoFreezer,
    /// The kernel's verifier refused the device program.
    #[error("load the device eBPF program ({rules} rules): {source}; verifier: {verifier}")]
    BpfLoad {
        /// How many device rules the program has.
        rules: usize,
        /// The kernel's answer.
        source: std::io::Error,
        /// The last line of the verifier log.
        verifier: String,
    },
    /// Attaching the device program failed.
    #[error("attach the device eBPF program to `{}`: {source}", dir.display())]
    BpfAttach {
        /// The cgroup directory.
        dir: PathBuf,
        /// The kernel's answer.
        source: std::io::Error,
    },
    /// systemd could not be reached on its bus (nor on its private socket).
    #[error("systemd cgroup driver: cannot talk to systemd over `{bus}`{also}: {reason}")]
    SystemdUnreachable {
        /// The bus socket tried first.
        bus: String,
        /// The other socket tried, as text (empty when none).
        also: String,
        /// The failure on the bus.
        reason: String,
    },
    /// systemd refused or failed a request about a unit.
    #[error("systemd: {what} `{unit}` (over `{bus}`): {reason}")]
    Systemd {
        /// What was asked (`start`, `stop`, `set properties of`).
        what: String,
        /// The unit.
        unit: String,
        /// The bus socket.
        bus: String,
        /// systemd's answer.
        reason: String,
    },
    /// The device rules cannot be written as the unit's device policy.
    #[error("systemd cgroup driver: `linux.resources.devices` of `{unit}`: {why}")]
    SystemdDevices {
        /// The scope.
        unit: String,
        /// Which rule, and why.
        why: String,
    },
    /// The scope's process is not in a cgroup of the scope after systemd started it.
    #[error(
        "systemd started `{unit}` but its process {pid} is in cgroup `{found}`, not in the scope's"
    )]
    ScopeElsewhere {
        /// The scope.
        unit: String,
        /// The process given to systemd.
        pid: i32,
        /// Its v2 cgroup, from /proc/PID/cgroup (empty: no v2 line).
        found: String,
    },
}

/// A v2 interface file is missing because its controller is not enabled (boxed: the
/// rare error should not make every cgroup result larger).
#[derive(Debug, Error)]
#[error("cannot set `{file}` = `{value}`: the `{controller}` controller is not available in `{}` (cgroup.controllers: `{enabled}`)", dir.display())]
pub struct ControllerDisabled {
    /// The interface file.
    pub file: String,
    /// The value.
    pub value: String,
    /// The controller.
    pub controller: String,
    /// The cgroup directory.
    pub dir: PathBuf,
    /// What `cgroup.controllers` lists.
    pub enabled: String,
}

impl Error {
    /// An I/O failure on a path.
    pub fn io(op: &'static str, path: impl Into<PathBuf>, source: std::io::Error) -> Self {
        Error::Io(IoError::new(op, path, source))
    }
}
