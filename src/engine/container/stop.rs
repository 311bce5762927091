//! `stop`: the stop signal (TERM unless `--stop-signal` or the image says
//! otherwise), a grace period, then KILL; returns once the monitor has
//! recorded the exit (STOPPED). A CREATED container is killed at once (its
//! init, pid 1 of a new pid namespace, ignores TERM). A paused container is
//! thawed right after each signal by `rm -f` and the daemon's shutdown (a user's
//! `stop` of it is refused, as docker and podman do): a frozen process
//! cannot act on it, not even on KILL under a cgroup v1 freezer.

use std::time::Duration;

use crate::container::stats::frozen;
use crate::container::{load, wait_stopped, Container, ContainerError};
use crate::context::Engine;
use crate::db::container_state::Status;
use crate::db::{self, events};
use crate::oci_runtime::is_missing;
use crate::oci_runtime::RuntimeError;
use crate::process::pid_running;

/// Stops `id` within `grace` (then KILL); returns its exit code. A stop by
/// the user: restart policies leave the container stopped.
/// A paused container is refused, as docker and podman do.
pub fn stop(ctx: &mut Engine, id: &str, grace: Duration) -> Result<Option<i64>, ContainerError> {
    crate::container::pause::refuse_paused(
        &load(ctx, id)?,
        "unpause the container before stopping it",
    )?;
    stop_by(ctx, id, grace, "user")
}

/// Stops `id`; `by` (`user` or `daemon`) is logged with the `stop` event,
/// so the supervisor knows whether the policy may bring it back.
pub fn stop_by(
    ctx: &mut Engine,
    id: &str,
    grace: Duration,
    by: &str,
) -> Result<Option<i64>, ContainerError> {
    let l = load(ctx, id)?;
    let now = db::now();
    if !matches!(l.state.status, Status::Running | Status::Created) {
        // its monitor still alive: waiting out a restart delay, which a stop ends
        if l.state.monitor_pid.is_some_and(pid_running) {
            ctx.db.write("stop", |c| {
                events::record(c, id, "stop", &serde_json::json!({"by": by}), now).map(|_| ())
            })?;
        }
        return Ok(l.state.exit_code);
    }
    ctx.db.write("stop", |c| {
        events::record(c, id, "stop", &serde_json::json!({"by": by}), now).map(|_| ())
    })?;
    let rt = l.runtime(ctx);
    let log = l.runtime_log();
    if l.state.status == Status::Running && !grace.is_zero() {
        let sig = l.record.config["annotations"][crate::create::STOP_SIGNAL]
            .as_str()
            .unwrap_or("TERM");
        signal(&rt, &log, &l.record.hash, sig).map_err(l.rt_err())?;
        thaw(&rt, &l)?;
        match wait_stopped(ctx, id, grace) {
            Ok(done) => return Ok(done.state.exit_code),
            // `run -d --rm`: its monitor removed it once it stopped
            Err(ContainerError::NotFound(_)) if l.record.validated["auto_remove"] == true => {
                return Ok(None)
            }
            Err(_) => {}
        }
    }
    match rt.kill(&log, &l.record.hash, "KILL") {
        Ok(()) => {}
        Err(RuntimeError::Failed { msg, .. })
            if is_missing(&msg) || msg.contains("not running") => {}
        Err(e) => return Err(l.rt_err()(e)),
    }
    thaw(&rt, &l)?;
    match wait_stopped(ctx, id, Duration::from_secs(10)) {
        Ok(done) => Ok(done.state.exit_code),
        Err(ContainerError::NotFound(_)) if l.record.validated["auto_remove"] == true => Ok(None),
        Err(e) => Err(e),
    }
}

/// Thaws `l` when it is paused, so the signal just sent takes effect.
fn thaw(rt: &crate::oci_runtime::OciRuntime, l: &Container) -> Result<(), ContainerError> {
    if !l.state.pid.is_some_and(|p| p > 0 && frozen(p)) {
        return Ok(());
    }
    match rt.pause(&l.runtime_log(), &l.record.hash, true) {
        Err(RuntimeError::Failed { msg, .. })
            if is_missing(&msg) || msg.contains("not paused") || msg.contains("not running") =>
        {
            Ok(())
        }
        r => r.map_err(l.rt_err()),
    }
}

/// Sends the stop signal (`--stop-signal`, the image's, else `TERM`).
fn signal(
    rt: &crate::oci_runtime::OciRuntime,
    log: &std::path::Path,
    hash: &str,
    sig: &str,
) -> Result<(), RuntimeError> {
    match rt.kill(log, hash, sig) {
        Err(RuntimeError::Failed { msg, .. })
            if is_missing(&msg) || msg.contains("not running") =>
        {
            Ok(())
        }
        r => r,
    }
}
