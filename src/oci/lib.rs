//! Pure OCI data: loading and validating `config.json`, the persisted container
//! state and its state machine, container id rules. Nothing here touches the kernel.

pub mod id;
pub mod io_error;
pub mod mount_idmap;
pub mod proc;
pub mod spec;
pub mod state;
pub mod sysctl;
pub mod time;
