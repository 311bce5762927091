//! Restart policies. A container's exit is handled by its own monitor, daemon
//! or not, as podman's cleanup process does ([`after_exit`]): once the exit is
//! recorded it asks [`policy::decide`], waits the delay, records the restart
//! (the `restarts` row, a `restart` event, `restart_count`) and starts the
//! container again, which gives it a new monitor. A stop (`k3 stop`, `rm -f`,
//! the daemon's shutdown) before or during the delay leaves it stopped.
//!
//! The daemon's loop ([`Supervisor`]) adds what needs a daemon: at its start,
//! `always` and `unless-stopped` containers the user did not stop come back.

use std::collections::HashMap;
use std::time::{Duration, Instant};

use crate::container::{load, start, Container, ContainerError};
use crate::context::Engine;
use crate::db::container_state::{self, Status};
use crate::db::restarts::{self, Restart};
use crate::db::{self, containers, events, Db};
use crate::image::pull::PullOptions;
use crate::monitor::MonitorSpec;
use crate::options::Validated;
use crate::process::pid_running;
use crate::store::content::Store;
use crate::supervisor::policy::{self, Decision, Policy};
use crate::supervisor::Shared;

/// How often the loop looks at the containers.
pub const TICK: Duration = Duration::from_millis(200);

/// How often a monitor waiting out a restart delay looks for a stop.
const WAIT_SLICE: Duration = Duration::from_millis(200);

#[derive(Debug)]
struct Pending {
    due: Instant,
    attempt: u32,
    exit_code: i64,
    delay: Duration,
}

/// The loop's memory: restarts waiting (those of the daemon's start).
#[derive(Debug, Default)]
pub struct Supervisor {
    pending: HashMap<String, Pending>,
    booted: bool,
}

fn policy_of(l: &Container) -> Option<Policy> {
    let v: Validated = serde_json::from_value(l.record.validated.clone()).ok()?;
    Some(Policy {
        kind: v.restart,
        delay_s: v.restart_delay,
        window_s: v.restart_window,
        max_attempts: v.max_attempts,
    })
}

impl Supervisor {
    /// One pass over every container.
    pub fn tick(&mut self, ctx: &mut Engine, shared: &Shared) -> Result<(), ContainerError> {
        let ids: Vec<String> = containers::list(ctx.db.conn())?
            .into_iter()
            .map(|r| r.id)
            .collect();
        self.pending.retain(|id, _| ids.contains(id));
        for id in ids {
            if shared.stopping() {
                return Ok(());
            }
            if let Err(e) = self.one(ctx, &id) {
                eprintln!("k3 serve: supervisor: {}", crate::error::chain_message(&e));
            }
        }
        self.booted = true;
        Ok(())
    }

    fn one(&mut self, ctx: &mut Engine, id: &str) -> Result<(), ContainerError> {
        let l = match load(ctx, id) {
            Ok(l) => l,
            Err(ContainerError::NotFound(_)) => return Ok(()),
            Err(e) => return Err(e),
        };
        let Some(p) = policy_of(&l) else {
            return Ok(());
        };
        if l.state.status != Status::Stopped {
            self.pending.remove(id);
            return Ok(());
        }
        if let Some(due) = self.pending.get(id).map(|p| p.due) {
            return if Instant::now() >= due {
                self.fire(ctx, id)
            } else {
                Ok(())
            };
        }
        // After the first pass exits are the monitors' (`after_exit`); one
        // still alive for a stopped container is waiting to restart it.
        if self.booted || l.state.monitor_pid.is_some_and(pid_running) {
            return Ok(());
        }
        let user_stopped = restarts::user_stopped(ctx.db.conn(), id)?;
        if policy::at_boot(p.kind, user_stopped) {
            let exit_code = l.state.exit_code.unwrap_or(255);
            self.schedule(id, 0, exit_code, Duration::ZERO);
        }
        Ok(())
    }

    fn schedule(&mut self, id: &str, attempt: u32, exit_code: i64, delay: Duration) {
        let now = Instant::now();
        let due = now.checked_add(delay).unwrap_or(now + policy::MAX_DELAY);
        self.pending.insert(
            id.to_string(),
            Pending {
                due,
                attempt,
                exit_code,
                delay,
            },
        );
    }

    fn fire(&mut self, ctx: &mut Engine, id: &str) -> Result<(), ContainerError> {
        let Some(p) = self.pending.remove(id) else {
            return Ok(());
        };
        // A stop or a start by the user while waiting wins.
        if restarts::user_stopped(ctx.db.conn(), id)? {
            return Ok(());
        }
        record(ctx, id, p.attempt, p.exit_code, p.delay)?;
        start::start(ctx, id)?;
        Ok(())
    }
}

/// Records restart `attempt` (0: at the daemon's start, else after an exit):
/// its `restarts` row, a `restart` event and, after an exit, the count
/// `inspect` shows.
fn record(
    ctx: &mut Engine,
    id: &str,
    attempt: u32,
    exit_code: i64,
    delay: Duration,
) -> Result<(), ContainerError> {
    let reason = if attempt == 0 { "boot" } else { "exit" };
    let now = db::now();
    let rec = Restart {
        container_id: id.to_string(),
        attempt: i64::from(attempt),
        exit_code,
        delay_ms: i64::try_from(delay.as_millis()).unwrap_or(i64::MAX),
        reason: reason.to_string(),
        created_at: now,
    };
    ctx.db.write("record restart", |c| {
        restarts::insert(c, &rec)?;
        if attempt > 0 {
            container_state::bump_restarts(c, id)?;
        }
        let payload = serde_json::json!({"attempt": attempt, "exitCode": exit_code,
            "delayMs": rec.delay_ms, "reason": reason});
        events::record(c, id, "restart", &payload, now).map(|_| ())
    })?;
    Ok(())
}

/// What a container's monitor does once its exit (`code`, init `pid`) is
/// recorded: restarts it if its policy says so, after the policy's delay,
/// unless it was stopped or started by someone else meanwhile. Failures go
/// to the monitor's log (its stderr).
pub fn after_exit(spec: &MonitorSpec, pid: i64, code: i64) {
    let Some(root) = spec.db.parent() else {
        return;
    };
    let mut ctx = match open(root, spec) {
        Ok(c) => c,
        Err(e) => return eprintln!("k3 monitor: restart policy of `{}`: {e}", spec.id),
    };
    if let Err(e) = restart_after_exit(&mut ctx, &spec.id, pid, code) {
        eprintln!(
            "k3 monitor: restart of `{}`: {}",
            spec.id,
            crate::error::chain_message(&e)
        );
    }
}

fn open(root: &std::path::Path, spec: &MonitorSpec) -> Result<Engine, String> {
    let store = Store::open(root).map_err(|e| e.to_string())?;
    let db = Db::open(&spec.db).map_err(|e| e.to_string())?;
    let exe = std::env::current_exe().map_err(|e| e.to_string())?;
    Ok(Engine::new(
        store,
        db,
        spec.runtime.clone(),
        // a start pulls nothing
        PullOptions {
            default_registry: String::new(),
            insecure: Vec::new(),
            auth_file: root.join("auth.json"),
            max_concurrent: 1,
        },
        exe,
    ))
}

/// The decision for the exit of init `pid`, if that exit is still the
/// container's last news and nobody stopped it: `None` leaves it.
fn due(
    ctx: &mut Engine,
    id: &str,
    pid: i64,
    code: i64,
) -> Result<Option<Decision>, ContainerError> {
    let l = match load(ctx, id) {
        Ok(l) => l,
        Err(ContainerError::NotFound(_)) => return Ok(None),
        Err(e) => return Err(e),
    };
    let Some(p) = policy_of(&l) else {
        return Ok(None);
    };
    if l.state.status != Status::Stopped || l.state.pid != Some(pid) {
        return Ok(None);
    }
    let conn = ctx.db.conn();
    let stopped = restarts::stopped_since_start(conn, id)?;
    let history = restarts::times(conn, id)?;
    Ok(Some(policy::decide(&p, code, stopped, &history, db::now())))
}

fn restart_after_exit(
    ctx: &mut Engine,
    id: &str,
    pid: i64,
    code: i64,
) -> Result<(), ContainerError> {
    let Some(Decision::Restart { delay, attempt }) = due(ctx, id, pid, code)? else {
        return Ok(());
    };
    // a stop, start or rm while waiting wins (looked for as it waits: a
    // stopped container has no monitor left soon after)
    let end = Instant::now() + delay;
    loop {
        let left = end.saturating_duration_since(Instant::now());
        std::thread::sleep(left.min(WAIT_SLICE));
        if !matches!(due(ctx, id, pid, code)?, Some(Decision::Restart { .. })) {
            return Ok(());
        }
        if left <= WAIT_SLICE {
            break;
        }
    }
    record(ctx, id, attempt, code, delay)?;
    start::start(ctx, id)?;
    Ok(())
}

/// Runs the loop until the shutdown begins.
pub fn run(shared: &Shared) {
    let mut sup = Supervisor::default();
    super::every(shared, "supervisor", TICK, |c| sup.tick(c, shared));
}
