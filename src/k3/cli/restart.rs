//! `k3 restart [-t SECS] ID...`: stop, then start from the saved config.

use std::time::Duration;

use crate::cli::Failure;
use k3_engine::container::{start, stop};
use k3_engine::context::Engine;
use k3_engine::db::container_state;

/// The same flags as `stop`.
pub use crate::cli::stop::StopArgs as RestartArgs;

/// `k3 restart`.
pub fn run(ctx: &mut Engine, a: RestartArgs) -> Result<i32, Failure> {
    for id in &a.ids {
        let fail = || Failure::about(id, a.json);
        stop::stop(ctx, id, Duration::from_secs(a.time)).map_err(|e| fail()(e.into()))?;
        start::start(ctx, id).map_err(|e| fail()(e.into()))?;
        ctx.db
            .write("count restart", |c| container_state::bump_restarts(c, id))
            .map_err(|e| fail()(e.into()))?;
        println!("{id}");
    }
    Ok(0)
}
