//! The restart loop: notices exits through the monitor's SQLite records
//! (a container whose state became STOPPED with a new pid/stop time), asks
//! [`policy::decide`], waits the delay, starts it again and records the
//! restart. At the first pass (daemon start) `always` and `unless-stopped`
//! containers the user did not stop come back.

use std::collections::HashMap;
use std::time::{Duration, Instant};

use crate::container::{load, start, Container, ContainerError};
use crate::context::Engine;
use crate::db::container_state::Status;
use crate::db::restarts::{self, Restart};
use crate::db::{self, containers, events};
use crate::options::Validated;
use crate::supervisor::policy::{self, Decision, Policy};
use crate::supervisor::Shared;

/// How often the loop looks at the containers.
pub const TICK: Duration = Duration::from_millis(200);

struct Pending {
    due: Instant,
    attempt: u32,
    exit_code: i64,
    delay: Duration,
}

/// The loop's memory: exits already handled and restarts waiting.
#[derive(Default)]
pub struct Supervisor {
    seen: HashMap<String, (Option<i64>, Option<i64>)>,
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
        let key = (l.state.pid, l.state.stopped_at);
        if self.seen.insert(id.to_string(), key) == Some(key) {
            return Ok(());
        }
        let user_stopped = restarts::user_stopped(ctx.db.conn(), id)?;
        let exit_code = l.state.exit_code.unwrap_or(255);
        if !self.booted {
            if policy::at_boot(p.kind, user_stopped) {
                self.schedule(id, 0, exit_code, Duration::ZERO);
            }
            return Ok(());
        }
        let history = restarts::times(ctx.db.conn(), id)?;
        match policy::decide(&p, exit_code, user_stopped, &history, db::now()) {
            Decision::Restart { delay, attempt } => self.schedule(id, attempt, exit_code, delay),
            Decision::Leave(_) => {}
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
        let reason = if p.attempt == 0 { "boot" } else { "exit" };
        let now = db::now();
        let rec = Restart {
            container_id: id.to_string(),
            attempt: p.attempt as i64,
            exit_code: p.exit_code,
            delay_ms: p.delay.as_millis() as i64,
            reason: reason.to_string(),
            created_at: now,
        };
        ctx.db.write("record restart", |c| {
            restarts::insert(c, &rec)?;
            let payload = serde_json::json!({"attempt": p.attempt, "exitCode": p.exit_code,
                "delayMs": rec.delay_ms, "reason": reason});
            events::record(c, id, "restart", &payload, now).map(|_| ())
        })?;
        start::start(ctx, id)?;
        Ok(())
    }
}

/// Runs the loop until the shutdown begins.
pub fn run(shared: &Shared) {
    let mut sup = Supervisor::default();
    super::every(shared, "supervisor", TICK, |c| sup.tick(c, shared));
}
