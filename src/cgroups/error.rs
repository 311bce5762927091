//! The cgroup layer's error type; the runtime wraps it unchanged.

use std::path::PathBuf;

use thiserror::Error;

/// The cgroup layer's result.
pub type Result<T> = std::result::Result<T, Error>;

/// What went wrong managing a container's cgroups.
#[derive(Debug, Error)]
pub enum Error {
    /// A cgroup operation failed; the message names the file and the value.
    #[error("cgroup: {0}")]
    Cgroup(String),
    /// An I/O failure on a path outside the container's cgroups.
    #[error("{op} `{path}`: {source}")]
    Io {
        op: &'static str,
        path: PathBuf,
        source: std::io::Error,
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
}
