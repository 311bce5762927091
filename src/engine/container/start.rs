//! `start`: a CREATED container is released (`RUNTIME start`); a STOPPED one
//! is created again from its saved config (same bundle, snapshot and IP)
//! through a new monitor, then released. RUNNING is left as is.

use crate::container::{load, Container, ContainerError};
use crate::context::Engine;
use crate::db::container_state::{self, Status};
use crate::db::{self, events};
use crate::monitor::{self, MonitorSpec};
use crate::network;
use crate::oci_runtime::RuntimeError;
use crate::options::Validated;
use crate::process::pid_start;

/// Starts `id`; returns the init's pid.
pub fn start(ctx: &mut Engine, id: &str) -> Result<i64, ContainerError> {
    let l = load(ctx, id)?;
    match l.state.status {
        Status::Running => Ok(l.state.pid.unwrap_or(0)),
        Status::Created => release(ctx, &l),
        Status::Stopped | Status::Destroyed => {
            recreate(ctx, &l)?;
            let l = load(ctx, id)?;
            release(ctx, &l)
        }
    }
}

/// CREATED → RUNNING: the state first (so the monitor's STOPPED, written when
/// a short command ends, always comes after), then the runtime's `start`.
fn release(ctx: &mut Engine, l: &Container) -> Result<i64, ContainerError> {
    let id = l.record.id.clone();
    let now = db::now();
    ctx.db.write("start", |c| {
        if container_state::set_running(c, &id, now)? {
            events::record(c, &id, "start", &serde_json::json!({}), now)?;
        }
        Ok(())
    })?;
    let rt = l.runtime(ctx);
    rt.start(&l.runtime_log(), &l.record.hash)
        .map_err(l.rt_err())?;
    Ok(l.state.pid.unwrap_or(0))
}

/// STOPPED → CREATED with a new init from the saved bundle.
fn recreate(ctx: &mut Engine, l: &Container) -> Result<(), ContainerError> {
    let v: Validated =
        serde_json::from_value(l.record.validated.clone()).map_err(|e| ContainerError::Start {
            id: l.record.id.clone(),
            msg: format!("corrupt saved options: {e}"),
        })?;
    let bundle = std::path::PathBuf::from(&l.record.bundle);
    monitor::wait_previous(&bundle, monitor::PREVIOUS_RUN_WAIT).map_err(|msg| {
        ContainerError::Start {
            id: l.record.id.clone(),
            msg,
        }
    })?;
    network::reattach(ctx, &l.record.id, &l.record.hash)?;
    let spec = MonitorSpec {
        id: l.record.id.clone(),
        hash: l.record.hash.clone(),
        bundle,
        db: ctx.store.db_path(),
        runtime: l.runtime(ctx),
        debug: false,
        no_pivot: v.no_pivot,
        no_new_keyring: v.no_new_keyring,
        stdin: v.interactive,
        tty: v.tty,
    };
    let report = monitor::spawn(&ctx.k3_exe, &spec).map_err(l.rt_err())?;
    if let Some(msg) = report.error {
        network::release_at(ctx.network.as_ref(), ctx.store.root(), &l.record.hash);
        return Err(l.rt_err()(RuntimeError::Failed {
            runtime: spec.runtime.name(),
            verb: "create".into(),
            msg,
        }));
    }
    let pid = report.pid.unwrap_or(0);
    let id = l.record.id.clone();
    let now = db::now();
    ctx.db.write("recreate", |c| {
        container_state::set_created(c, &id, pid, pid_start(pid), Some(report.monitor_pid), now)
    })?;
    Ok(())
}
