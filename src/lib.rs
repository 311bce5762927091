//! k3: an OCI runtime (`k3rt`) and a container engine (`k3`) in one crate.
//!
//! Dependencies point one way: `bin -> runtime -> {sys, oci}` and
//! `bin -> engine -> (process boundary) -> k3rt`; the engine never imports the runtime.

/// The `k3` engine: image pulls, the content store, snapshots and SQLite records.
pub mod engine;
/// Pure OCI data: spec loading and validation, container state, ids.
pub mod oci;
/// The low-level runtime behind `k3rt`: one module per verb plus the init sequence.
pub mod runtime;
/// The only place that performs kernel side effects for the runtime, behind the `Sys` trait.
pub mod sys;
