//! Webhook delivery from the `webhook_queue` table (filled by create's step
//! 15 and every other lifecycle event): each pending event is POSTed as JSON
//! to every configured URL with a timeout; a failed one is retried with a
//! doubling delay, up to [`MAX_ATTEMPTS`], then marked `failed`. It runs on
//! its own thread, so a slow or dead receiver never holds up a create.

use std::collections::HashMap;
use std::time::{Duration, Instant};

use crate::context::Engine;
use crate::db::events::{self, Delivery};
use crate::db::DbError;
use crate::supervisor::Shared;

/// Attempts per event before it is marked `failed`.
pub const MAX_ATTEMPTS: i64 = 5;
/// Events taken per pass (the queue is read in bounded batches).
pub const BATCH: i64 = 50;

/// The JSON body of an event: its fields and the payload's.
pub fn body(d: &Delivery) -> serde_json::Value {
    let mut v = serde_json::json!({
        "id": d.event.id,
        "event": d.event.kind,
        "containerId": d.event.container_id,
        "time": d.event.created_at,
    });
    if let (Some(obj), Some(p)) = (v.as_object_mut(), d.event.payload.as_object()) {
        for (k, x) in p {
            obj.entry(k.clone()).or_insert(x.clone());
        }
    }
    v
}

/// The wait before retry `n` (1-based): 0.5 s doubling, capped at 30 s.
pub fn retry_delay(n: i64) -> Duration {
    let ms = 500u64.saturating_mul(1u64 << (n.clamp(1, 16) - 1) as u32);
    Duration::from_millis(ms.min(30_000))
}

/// Delivery state kept between passes.
#[derive(Default)]
pub struct Deliverer {
    /// Queue row → when to try again.
    next: HashMap<i64, Instant>,
    /// Queue row → URLs that already accepted it.
    done: HashMap<i64, Vec<String>>,
}

impl Deliverer {
    fn post(url: &str, body: &serde_json::Value, timeout: Duration) -> bool {
        let agent = ureq::AgentBuilder::new().timeout(timeout).build();
        agent
            .post(url)
            .set("Content-Type", "application/json")
            .send_string(&body.to_string())
            .is_ok()
    }

    fn deliver(&mut self, d: &Delivery, urls: &[String], timeout: Duration) -> bool {
        let b = body(d);
        let mut ok = true;
        for url in urls {
            if self.done.get(&d.id).is_some_and(|v| v.contains(url)) {
                continue;
            }
            if Self::post(url, &b, timeout) {
                self.done.entry(d.id).or_default().push(url.clone());
            } else {
                ok = false;
            }
        }
        ok
    }

    /// One pass over the pending queue.
    pub fn tick(&mut self, ctx: &mut Engine, shared: &Shared) -> Result<(), DbError> {
        let urls = &shared.cfg.webhooks;
        let pending = events::pending_deliveries(ctx.db.conn(), BATCH)?;
        for d in pending {
            if shared.stopping() {
                break;
            }
            if self.next.get(&d.id).is_some_and(|t| Instant::now() < *t) {
                continue;
            }
            let attempts = d.attempts + 1;
            let status = if self.deliver(&d, urls, shared.cfg.webhook_timeout) {
                "delivered"
            } else if attempts >= MAX_ATTEMPTS {
                "failed"
            } else {
                self.next
                    .insert(d.id, Instant::now() + retry_delay(attempts));
                "pending"
            };
            if status != "pending" {
                self.next.remove(&d.id);
                self.done.remove(&d.id);
            }
            ctx.db.write("webhook delivery", |c| {
                events::mark_delivery(c, d.id, status, attempts)
            })?;
        }
        Ok(())
    }
}

/// Delivers until the shutdown begins (nothing to do without URLs).
pub fn run(shared: &Shared) {
    if shared.cfg.webhooks.is_empty() {
        return;
    }
    let mut dl = Deliverer::default();
    // events from now on: what was queued while no daemon delivered is dropped
    if let Ok(mut ctx) = shared.cfg.ctx() {
        let dropped = events::last_id(ctx.db.conn()).and_then(|last| {
            ctx.db.write("drop old deliveries", |c| {
                events::drop_pending_up_to(c, last)
            })
        });
        if let Some(n) = dropped.ok().filter(|n| *n > 0) {
            eprintln!(
                "k3: webhooks: {n} deliveries queued before this daemon started were dropped"
            );
        }
    }
    super::every(shared, "webhooks", Duration::from_millis(200), |c| {
        dl.tick(c, shared)
    });
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::db::events::Event;

    #[test]
    fn body_merges_payload_without_overriding() {
        let d = Delivery {
            id: 1,
            attempts: 0,
            event: Event {
                id: 7,
                container_id: "c".into(),
                kind: "die".into(),
                payload: serde_json::json!({"exitCode": 3, "event": "x"}),
                created_at: 9,
            },
        };
        let b = body(&d);
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
}
