//! `GET /events[?since=ID]`: the event log as a stream of JSON lines (new
//! events as they are recorded), until the client goes or the daemon stops.

use std::time::Duration;

use crate::api::{body, ApiError, Reply, Req};
use crate::db::events;
use crate::supervisor::Shared;

/// `GET /events`.
pub fn stream(shared: &Shared, req: &Req<'_>) -> Result<Reply, ApiError> {
    let since = body::since(req.query)?;
    let ctx = shared.cfg.ctx()?;
    let mut after = match since {
        Some(n) => n,
        None => events::last_id(ctx.db.conn())?,
    };
    // The stream ends with the daemon: a fresh handle to the flag.
    let stop = shared.stop_flag();
    Ok(Reply::Stream(
        "application/x-ndjson",
        Box::new(move |w| loop {
            if stop.load(std::sync::atomic::Ordering::SeqCst) {
                return;
            }
            let Ok(evs) = events::since(ctx.db.conn(), after) else {
                return;
            };
            for e in evs {
                after = e.id;
                let v = serde_json::to_string(&e).unwrap_or_default();
                if writeln!(w, "{v}").and_then(|_| w.flush()).is_err() {
                    return;
                }
            }
            std::thread::sleep(Duration::from_millis(200));
        }),
    ))
}
