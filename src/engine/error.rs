//! The engine's top-level error and its mapping to seed 000's typed error
//! object `{type, statusCode, error, input}`.
//!
//! Each engine module has its own `thiserror` enum; `EngineError` gathers them
//! and `kind()` says which seed 000 error class ([`ErrorKind`]) a failure
//! belongs to. The module enums say their class through `error_kind`, which
//! imports nothing: this umbrella imports them, never the other way round.

use serde::Serialize;

use crate::container::ContainerError;
use crate::create::CreateError;
use crate::db::DbError;
use crate::error_kind::ErrorKind;
use crate::image::pull::PullError;
use crate::images::ImagesError;
use crate::store::content::ContentError;
use crate::store::snapshots::SnapshotError;
use crate::store::volumes::VolumeError;

/// Any failure of an engine operation.
#[derive(Debug, thiserror::Error)]
pub enum EngineError {
    /// Pulling an image failed.
    #[error(transparent)]
    Pull(#[from] PullError),
    /// Listing, inspecting, removing or pruning images failed.
    #[error(transparent)]
    Images(#[from] ImagesError),
    /// Preparing or removing a container snapshot failed.
    #[error(transparent)]
    Snapshot(#[from] SnapshotError),
    /// Opening or migrating the database failed.
    #[error(transparent)]
    Db(#[from] DbError),
    /// Opening the store failed.
    #[error(transparent)]
    Content(#[from] ContentError),
    /// Creating a container failed (seed 000).
    #[error(transparent)]
    Create(#[from] CreateError),
    /// A container verb (start, stop, rm ...) failed.
    #[error(transparent)]
    Container(#[from] ContainerError),
    /// A volume verb failed.
    #[error(transparent)]
    Volume(#[from] VolumeError),
}

impl EngineError {
    /// The seed 000 class of this error.
    pub fn kind(&self) -> ErrorKind {
        match self {
            EngineError::Pull(_)
            | EngineError::Images(_)
            | EngineError::Snapshot(_)
            | EngineError::Content(_) => ErrorKind::Generic,
            EngineError::Db(_) => ErrorKind::Db,
            EngineError::Create(e) => e.kind(),
            EngineError::Container(e) => e.kind(),
            EngineError::Volume(VolumeError::NotFound(_)) => ErrorKind::NotFound,
            EngineError::Volume(VolumeError::InUse { .. }) => ErrorKind::Validation,
            EngineError::Volume(_) => ErrorKind::Generic,
        }
    }

    /// The container id and pid the error is about, if any.
    pub fn subject(&self) -> (Option<String>, Option<i64>) {
        match self {
            EngineError::Create(e) => (None, e.pid()),
            EngineError::Container(e) => (e.container_id(), None),
            _ => (None, None),
        }
    }

    /// The JSON error object of seed 000 for this error and the user input.
    pub fn to_object(&self, input: serde_json::Value) -> ErrorObject {
        let kind = self.kind();
        let (container_id, pid) = self.subject();
        ErrorObject {
            kind: kind.type_name(),
            status_code: kind.status_code(),
            error: chain_message(self),
            container_id,
            pid,
            input,
        }
    }
}

/// Seed 000's typed error object.
#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct ErrorObject {
    /// The class, e.g. `GENERIC_ERROR`.
    #[serde(rename = "type")]
    pub kind: &'static str,
    /// The HTTP status code of the class.
    #[serde(rename = "statusCode")]
    pub status_code: u16,
    /// The message, with every cause appended.
    pub error: String,
    /// The container the error is about.
    #[serde(rename = "containerId", skip_serializing_if = "Option::is_none")]
    pub container_id: Option<String>,
    /// The process the error is about (`PIDNotFound`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub pid: Option<i64>,
    /// The user input the operation was called with.
    pub input: serde_json::Value,
}

/// `error: cause: cause ...`, skipping causes already contained in the text.
pub fn chain_message(err: &dyn std::error::Error) -> String {
    let mut msg = err.to_string();
    let mut source = err.source();
    while let Some(cause) = source {
        let text = cause.to_string();
        if !msg.contains(&text) {
            msg.push_str(": ");
            msg.push_str(&text);
        }
        source = cause.source();
    }
    msg
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::image::reference::ReferenceError;

    #[test]
    fn pull_error_maps_to_generic_500() {
        let err = EngineError::Pull(PullError::Reference(ReferenceError::Empty));
        let obj = err.to_object(serde_json::json!("x"));
        let json = serde_json::to_value(&obj).unwrap();
        assert_eq!(json["type"], "GENERIC_ERROR");
        assert_eq!(json["statusCode"], 500);
        assert_eq!(json["input"], "x");
        assert!(json["error"].as_str().unwrap().contains("empty"));
    }
}
