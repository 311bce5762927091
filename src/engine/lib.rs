//! The `k3` engine library: images (pull, unpack), the content store, layer
//! and container snapshots, containers (seed 000's create, the lifecycle
//! verbs, the monitor), networks, and the SQLite records behind them.
//!
//! `k3 serve` adds the daemon: the HTTP API and dashboard, the restart
//! supervisor, webhooks and the graceful shutdown.
//!
//! The engine never imports the runtime modules: it drives an OCI runtime as a
//! separate process.

pub mod api;
pub mod bundle;
pub mod console;
pub mod container;
pub mod context;
pub mod cpuset;
pub mod create;
pub mod daemon;
pub mod db;
pub mod detach;
pub mod digest;
pub mod error;
pub mod error_kind;
pub mod fake;
pub mod filters;
pub mod image;
pub mod images;
pub mod marker;
pub mod monitor;
pub mod network;
pub mod oci_runtime;
pub mod oom;
pub mod options;
pub mod process;
pub mod relay;
pub mod runtime;
pub mod seccomp;
pub mod store;
pub mod supervisor;
pub mod undo;
