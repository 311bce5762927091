//! The `k3` engine library: images (pull, unpack), the content store, layer
//! and container snapshots, and the SQLite records behind them.
//!
//! The engine never imports the runtime modules: it drives an OCI runtime as a
//! separate process.

pub mod db;
pub mod error;
pub mod image;
pub mod images;
pub mod store;
