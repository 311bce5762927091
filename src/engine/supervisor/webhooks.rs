//! Webhook delivery: every configured URL has a cursor in the `webhooks`
//! table (the last event handed to it); each pass POSTs the events after it,
//! in order, as JSON with a timeout. A failed POST is retried with a doubling
//! delay up to [`MAX_ATTEMPTS`], then given up on (the event's
//! `webhook_queue` row is marked `failed`). A URL first configured starts
//! after the newest event of that moment; a daemon started again resumes
//! every URL after its cursor, so nothing is sent twice. Runs on its own
//! thread, so a slow or dead receiver never holds up a create, and each URL
//! has its own cursor, so one receiver never holds up another.

use std::time::{Duration, Instant};

use crate::context::Engine;
use crate::db::events::{self, Event};
use crate::db::{self, webhooks, DbError};
use crate::supervisor::Shared;

/// Attempts per event before it is given up on.
pub const MAX_ATTEMPTS: i64 = 5;
/// Events taken per URL and pass.
pub const BATCH: usize = 50;

/// The JSON body of an event: its fields and the payload's.
pub fn body(e: &Event) -> serde_json::Value {
    let mut v = serde_json::json!({
        "id": e.id,
        "event": e.kind,
        "containerId": e.container_id,
        "time": e.created_at,
    });
    if let (Some(obj), Some(p)) = (v.as_object_mut(), e.payload.as_object()) {
        for (k, x) in p {
            obj.entry(k.clone()).or_insert(x.clone());
        }
    }
    v
}

/// The wait before retry `n` (1-based): 0.5 s doubling, capped at 30 s.
pub fn retry_delay(n: i64) -> Duration {
    let ms = 500u64.saturating_mul(1u64 << u32::try_from(n.clamp(1, 16) - 1).unwrap_or(0));
    Duration::from_millis(ms.min(30_000))
}

/// What a URL does with its next event after a POST.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Outcome {
    /// Accepted: the cursor moves past it.
    Delivered,
    /// Every attempt failed: the cursor moves past it, counted as failed.
    GaveUp,
    /// Try again after the delay (the cursor stays).
    Retry(Duration),
}

/// The outcome of attempt `attempt` (1-based) of one event.
pub fn outcome(ok: bool, attempt: i64) -> Outcome {
    if ok {
        Outcome::Delivered
    } else if attempt >= MAX_ATTEMPTS {
        Outcome::GaveUp
    } else {
        Outcome::Retry(retry_delay(attempt))
    }
}

/// One URL's retry state (its cursor is in the database).
#[derive(Debug)]
struct Hook {
    url: String,
    /// Failed attempts at the event after the cursor.
    attempts: i64,
    /// Not before then.
    next: Option<Instant>,
}

/// Delivery state kept between passes.
#[derive(Debug, Default)]
pub struct Deliverer {
    hooks: Vec<Hook>,
}

fn post(url: &str, body: &serde_json::Value, timeout: Duration) -> bool {
    let agent = ureq::AgentBuilder::new().timeout(timeout).build();
    agent
        .post(url)
        .set("Content-Type", "application/json")
        .send_string(&body.to_string())
        .is_ok()
}

impl Deliverer {
    /// Registers the configured URLs (new ones start after the newest event,
    /// known ones resume); events no URL will be sent are marked `dropped`.
    pub fn configure(&mut self, ctx: &mut Engine, urls: &[String]) -> Result<usize, DbError> {
        let now = db::now();
        let rows = ctx
            .db
            .write("configure webhooks", |c| webhooks::configure(c, urls, now))?;
        self.hooks = rows
            .iter()
            .map(|w| Hook {
                url: w.url.clone(),
                attempts: 0,
                next: None,
            })
            .collect();
        match rows.iter().map(|w| w.cursor).min() {
            Some(min) => ctx.db.write("drop old deliveries", |c| {
                events::drop_pending_up_to(c, min)
            }),
            None => Ok(0),
        }
    }

    /// Sends one URL the events after its cursor, in order, until one fails.
    fn pass(h: &mut Hook, ctx: &mut Engine, shared: &Shared) -> Result<(), DbError> {
        if h.next.is_some_and(|t| Instant::now() < t) {
            return Ok(());
        }
        let Some(cursor) = webhooks::cursor(ctx.db.conn(), &h.url)? else {
            return Ok(());
        };
        for e in events::since(ctx.db.conn(), cursor)?.iter().take(BATCH) {
            if shared.stopping() {
                break;
            }
            let ok = post(&h.url, &body(e), shared.cfg.webhook_timeout);
            match outcome(ok, h.attempts + 1) {
                Outcome::Retry(d) => {
                    h.attempts += 1;
                    h.next = Some(Instant::now() + d);
                    break;
                }
                o => {
                    h.attempts = 0;
                    h.next = None;
                    let delivered = o == Outcome::Delivered;
                    ctx.db.write("webhook delivery", |c| {
                        webhooks::advance(c, &h.url, e.id, delivered)?;
                        if delivered {
                            Ok(())
                        } else {
                            events::mark_failed(c, e.id)
                        }
                    })?;
                }
            }
        }
        Ok(())
    }

    /// One pass over every URL; queue rows every cursor has passed are settled.
    pub fn tick(&mut self, ctx: &mut Engine, shared: &Shared) -> Result<(), DbError> {
        for h in &mut self.hooks {
            Self::pass(h, ctx, shared)?;
        }
        let min = webhooks::list(ctx.db.conn())?
            .iter()
            .map(|w| w.cursor)
            .min();
        if let Some(min) = min {
            ctx.db
                .write("settle deliveries", |c| events::settle_up_to(c, min))?;
        }
        Ok(())
    }
}

/// Delivers until the shutdown begins; the configured URLs are registered
/// first (with none, every webhook row is forgotten and nothing is sent).
pub fn run(shared: &Shared) {
    let mut dl = Deliverer::default();
    let urls = &shared.cfg.webhooks;
    match shared.cfg.ctx() {
        Ok(mut ctx) => match dl.configure(&mut ctx, urls) {
            Ok(n) if n > 0 => eprintln!(
                "k3 serve: webhooks: {n} earlier event(s) not sent: no webhook was configured for them"
            ),
            Ok(_) => {}
            Err(e) => {
                eprintln!("k3 serve: webhooks: {}", crate::error::chain_message(&e));
                return;
            }
        },
        Err(e) => {
            eprintln!("k3 serve: webhooks: {e}");
            return;
        }
    }
    if urls.is_empty() {
        return;
    }
    super::every(shared, "webhooks", Duration::from_millis(200), |c| {
        dl.tick(c, shared)
    });
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn body_merges_payload_without_overriding() {
        let e = Event {
            id: 7,
            container_id: "c".into(),
            kind: "die".into(),
            payload: serde_json::json!({"exitCode": 3, "event": "x"}),
            created_at: 9,
        };
        let b = body(&e);
        assert_eq!(b["event"], "die");
        assert_eq!(b["exitCode"], 3);
        assert_eq!(b["containerId"], "c");
        assert_eq!(b["id"], 7);
    }

    #[test]
    fn retry_delay_doubles_and_caps() {
        assert_eq!(retry_delay(1), Duration::from_millis(500));
        assert_eq!(retry_delay(2), Duration::from_millis(1000));
        assert_eq!(retry_delay(4), Duration::from_millis(4000));
        assert_eq!(retry_delay(40), Duration::from_secs(30));
    }

    #[test]
    fn a_failed_event_is_retried_then_given_up_on() {
        assert_eq!(outcome(true, 3), Outcome::Delivered);
        assert_eq!(
            outcome(false, 1),
            Outcome::Retry(Duration::from_millis(500))
        );
        assert_eq!(
            outcome(false, MAX_ATTEMPTS - 1),
            Outcome::Retry(retry_delay(4))
        );
        assert_eq!(outcome(false, MAX_ATTEMPTS), Outcome::GaveUp);
    }
}
