//! k3: an OCI runtime (`k3rt`) and a container engine (`k3`) in one crate.

/// The `k3` engine: image pulls, the content store, snapshots and SQLite records.
pub mod engine;
