//! k3rt as a library: one module per verb under [`container`], the init sequence
//! under [`process`], and the pieces they share. It knows nothing of images,
//! databases or HTTP.

pub mod caps;
pub mod container;
pub mod devices;
pub mod error;
pub mod hooks;
pub mod idmap;
pub mod mempolicy;
pub mod mountopts;
pub mod namespaces;
pub mod netdev;
pub mod pidfd;
pub mod process;
pub mod rlimits;
pub mod rootfs;
pub mod seccomp;
pub mod security;
pub mod signal;
pub mod statedir;
pub mod trace;

pub use error::{Error, Result, RuntimeError};
