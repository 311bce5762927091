//! The one I/O error shape the crates share: what was attempted, on which path, and
//! the kernel's answer, kept as an [`std::io::Error`] rather than flattened to text.

use std::path::PathBuf;

/// An I/O failure on a path: `{op} `{path}`: {source}`.
#[derive(Debug, thiserror::Error)]
#[error("{op} `{}`: {source}", path.display())]
pub struct IoError {
    /// What was attempted, as a verb phrase (`read state`, `open namespace`).
    pub op: &'static str,
    /// The file or directory it was attempted on.
    pub path: PathBuf,
    /// The kernel's answer.
    pub source: std::io::Error,
}

impl IoError {
    /// An I/O failure of `op` on `path`.
    pub fn new(op: &'static str, path: impl Into<PathBuf>, source: std::io::Error) -> Self {
        IoError {
            op,
            path: path.into(),
            source,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_op_path_and_cause() {
        let e = IoError::new(
            "read state",
            "/run/k3/x/state.json",
            std::io::Error::from(std::io::ErrorKind::NotFound),
        );
        assert_eq!(
            e.to_string(),
            "read state `/run/k3/x/state.json`: entity not found"
        );
        assert_eq!(e.source.kind(), std::io::ErrorKind::NotFound);
    }
}
