//! Every API failure in one place: engine errors become seed 000's error
//! object with its `statusCode` as the HTTP status; API-level failures
//! (bad JSON, unknown path, missing token) get the same object shape.

use crate::error::{chain_message, EngineError, ErrorObject};
use crate::network::NetworkError;

/// A failed request.
#[derive(Debug, thiserror::Error)]
pub enum ApiError {
    /// An engine operation failed.
    #[error(transparent)]
    Engine(#[from] Box<EngineError>),
    /// A network operation failed.
    #[error(transparent)]
    Network(#[from] NetworkError),
    /// The body or query is malformed.
    #[error("bad request: `{0}`")]
    BadRequest(String),
    /// No such path.
    #[error("no route for `{0}`")]
    NoRoute(String),
    /// The path exists, not with this method.
    #[error("method `{method}` not allowed on `{path}`")]
    Method {
        /// The request's HTTP method.
        method: String,
        /// The request's path.
        path: String,
    },
    /// TCP without the right bearer token.
    #[error("missing or wrong bearer token")]
    Unauthorized,
    /// The container is not in a state the request needs (docker's 409).
    #[error("{msg}")]
    Conflict {
        /// The container.
        id: String,
        /// What is wrong.
        msg: String,
    },
}

macro_rules! from_engine {
    ($($t:ty),*) => {$(
        impl From<$t> for ApiError {
            fn from(e: $t) -> Self {
                ApiError::engine(e)
            }
        }
    )*};
}

from_engine!(
    crate::container::ContainerError,
    crate::create::CreateError,
    crate::db::DbError,
    crate::images::ImagesError,
    crate::image::pull::PullError,
    crate::store::volumes::VolumeError,
    EngineError
);

impl ApiError {
    /// Wraps any engine error.
    pub fn engine(e: impl Into<EngineError>) -> ApiError {
        ApiError::Engine(Box::new(e.into()))
    }

    /// Seed 000's object for this failure and `input`.
    pub fn object(&self, input: serde_json::Value) -> ErrorObject {
        let (kind, status) = match self {
            ApiError::Engine(e) => return e.to_object(input),
            ApiError::Network(e) => (e.kind().type_name(), e.kind().status_code()),
            ApiError::BadRequest(_) => ("VALIDATION_ERROR", 400),
            ApiError::NoRoute(_) => ("NOT_FOUND", 404),
            ApiError::Method { .. } => ("VALIDATION_ERROR", 405),
            ApiError::Unauthorized => ("UNAUTHORIZED", 401),
            ApiError::Conflict { .. } => ("CONFLICT", 409),
        };
        ErrorObject {
            kind,
            status_code: status,
            error: chain_message(self),
            container_id: match self {
                ApiError::Conflict { id, .. } => Some(id.clone()),
                _ => None,
            },
            pid: None,
            input,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::container::ContainerError;

    #[test]
    fn engine_errors_keep_their_class_and_status() {
        let e = ApiError::engine(ContainerError::NotFound("c1".into()));
        let o = e.object(serde_json::json!("c1"));
        assert_eq!((o.kind, o.status_code), ("NOT_FOUND", 404));
        assert_eq!(o.container_id.as_deref(), Some("c1"));
        assert!(o.error.contains("`c1`"));
    }

    #[test]
    fn api_errors_have_http_statuses() {
        assert_eq!(
            ApiError::Unauthorized
                .object(serde_json::Value::Null)
                .status_code,
            401
        );
        assert_eq!(
            ApiError::NoRoute("/x".into())
                .object(serde_json::Value::Null)
                .status_code,
            404
        );
        let b = ApiError::BadRequest("eof".into()).object(serde_json::Value::Null);
        assert_eq!((b.kind, b.status_code), ("VALIDATION_ERROR", 400));
    }
}
