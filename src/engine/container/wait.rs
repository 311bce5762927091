//! `wait`: blocks until the container stops; its exit code.

use std::time::Duration;

use crate::container::{wait_stopped, ContainerError};
use crate::context::Engine;

/// Waits for `id` to stop (up to `timeout`); returns its exit code.
pub fn wait(ctx: &mut Engine, id: &str, timeout: Duration) -> Result<i64, ContainerError> {
    Ok(wait_stopped(ctx, id, timeout)?
        .state
        .exit_code
        .unwrap_or(255))
}
