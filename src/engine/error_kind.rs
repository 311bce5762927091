//! Seed 000's error classes (type string + HTTP status): `VALIDATION_ERROR`
//! 422, `DB_ERROR` 500, `GENERIC_ERROR` 500, `NETWORK_ERROR` 500,
//! `CONTAINER_SERVICE_ERROR` 500, `NOT_FOUND` 404. Every engine error enum
//! maps itself to one; the umbrella `error::EngineError` gathers them.

/// A seed 000 error class.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ErrorKind {
    /// `OptionConflict`: invalid options, or the container already exists.
    Validation,
    /// `ResolveContainerName` / `UpdateContainerStateFailure`.
    Db,
    /// `GenericFailure`: image pull, blob lookup or image size failed.
    Generic,
    /// `CreateVethFail`: the veth pair or the container IP could not be set.
    Network,
    /// `CreateFailure`: the OCI runtime failed.
    ContainerService,
    /// `PIDNotFound`, or no such container.
    NotFound,
}

impl ErrorKind {
    /// The `type` string of the JSON error object.
    pub fn type_name(self) -> &'static str {
        match self {
            ErrorKind::Validation => "VALIDATION_ERROR",
            ErrorKind::Db => "DB_ERROR",
            ErrorKind::Generic => "GENERIC_ERROR",
            ErrorKind::Network => "NETWORK_ERROR",
            ErrorKind::ContainerService => "CONTAINER_SERVICE_ERROR",
            ErrorKind::NotFound => "NOT_FOUND",
        }
    }

    /// The HTTP status code of the class.
    pub fn status_code(self) -> u16 {
        match self {
            ErrorKind::Validation => 422,
            ErrorKind::NotFound => 404,
            _ => 500,
        }
    }
}
