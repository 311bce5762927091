//! The runtime's error type. Messages are lowercase, values in backticks, and keep
//! the phrases engines match on (`container not running`, `does not exist`).

use std::path::PathBuf;

use thiserror::Error;

use k3_oci::id::IdError;
use k3_oci::spec::SpecError;
use k3_oci::state::Status;

pub type Result<T> = std::result::Result<T, Error>;

#[derive(Debug, Error)]
pub enum Error {
    #[error(transparent)]
    Id(#[from] IdError),
    #[error(transparent)]
    Spec(#[from] SpecError),
    #[error("container `{0}` already exists")]
    Exists(String),
    #[error("container `{0}` does not exist")]
    NotFound(String),
    #[error("container not running: `{id}` is `{status}`")]
    NotRunning { id: String, status: Status },
    #[error("cannot {op} container `{id}`: it is `{status}`{hint}")]
    BadState {
        op: &'static str,
        id: String,
        status: Status,
        hint: &'static str,
    },
    #[error("{op} `{path}`: {source}")]
    Io {
        op: &'static str,
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("{op}: {source}")]
    Sys { op: String, source: std::io::Error },
    #[error("container init failed: {0}")]
    Init(String),
    #[error("{kind} hook `{path}` failed: {why}")]
    Hook {
        kind: &'static str,
        path: PathBuf,
        why: String,
    },
    #[error("invalid signal `{0}`")]
    Signal(String),
    #[error(transparent)]
    Cgroup(#[from] k3_cgroups::Error),
    #[error("invalid `{field}` `{value}`: {why}")]
    Invalid {
        field: &'static str,
        value: String,
        why: String,
    },
}

impl Error {
    /// An I/O failure on a path.
    pub fn io(op: &'static str, path: impl Into<PathBuf>, source: std::io::Error) -> Self {
        Error::Io {
            op,
            path: path.into(),
            source,
        }
    }

    /// A failed syscall with a description of what was attempted.
    pub fn sys(op: impl Into<String>, source: std::io::Error) -> Self {
        Error::Sys {
            op: op.into(),
            source,
        }
    }

    /// The last OS error, for a syscall that just failed.
    pub fn last(op: impl Into<String>) -> Self {
        Self::sys(op, std::io::Error::last_os_error())
    }

    pub fn invalid(field: &'static str, value: impl ToString, why: impl Into<String>) -> Self {
        Error::Invalid {
            field,
            value: value.to_string(),
            why: why.into(),
        }
    }
}
