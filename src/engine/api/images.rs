//! `/images`: list, and `POST /images/pull` (`{"reference": "..."}`) with
//! a progress stream of JSON lines, the last one the record or the error.

use std::io::Write;
use std::sync::Mutex;

use crate::api::{body, ApiError, Reply, Req};
use crate::db::{self, events};
use crate::digest::Digest;
use crate::error::EngineError;
use crate::image::filter::ImageFilter;
use crate::image::progress::{LayerProgress, Progress};
use crate::image::pull;
use crate::images::{self, ImagesError};
use crate::supervisor::Shared;

/// `GET /images[?filters=JSON]` (docker's `{"reference": ["busybox"]}`, as
/// `k3 images --filter`); a bad filter, or a `before`/`since` image not there, is
/// a 400 naming `filters`.
pub fn list(shared: &Shared, req: &Req<'_>) -> Result<Reply, ApiError> {
    let filter = body::filters(req.query, ImageFilter::from_json)?.unwrap_or_default();
    let ctx = shared.cfg.ctx()?;
    let all = match filter.select(&ctx.db, images::list(&ctx.db)?, &ctx.pull.default_registry) {
        Ok(all) => all,
        Err(ImagesError::Filter(e)) => return Err(ApiError::BadRequest(e.to_string())),
        Err(e) => return Err(e.into()),
    };
    Ok(Reply::Json(
        200,
        serde_json::to_value(all).unwrap_or_default(),
    ))
}

/// Progress as JSON lines on the response.
struct Lines<'a>(Mutex<&'a mut (dyn Write + Send)>);

fn line(w: &Mutex<&mut (dyn Write + Send)>, v: serde_json::Value) {
    if let Ok(mut w) = w.lock() {
        let _ = writeln!(w, "{v}");
        let _ = w.flush();
    }
}

struct Layer;

impl LayerProgress for Layer {
    fn inc(&self, _n: u64) {}
    fn finish(&self, _status: &str) {}
}

impl Progress for Lines<'_> {
    fn layer(&self, digest: &Digest, size: u64) -> Box<dyn LayerProgress> {
        line(
            &self.0,
            serde_json::json!({"status": "layer", "digest": digest.to_string(), "size": size}),
        );
        Box::new(Layer)
    }
    fn message(&self, msg: &str) {
        line(&self.0, serde_json::json!({"status": msg}));
    }
}

/// `POST /images/pull`.
pub fn pull(shared: &Shared, req: &Req<'_>) -> Result<Reply, ApiError> {
    let body = body::pull(req)?;
    let mut ctx = shared.cfg.ctx()?;
    Ok(Reply::Stream(
        "application/x-ndjson",
        Box::new(move |w| {
            let p = Lines(Mutex::new(w));
            let r = pull::pull(&ctx.store, &ctx.db, &body.reference, &ctx.pull, &p);
            let last = match r {
                Ok(out) => {
                    let now = db::now();
                    let payload = serde_json::json!({"image": out.record.reference(), "digest": out.record.digest});
                    let _ = ctx.db.write("pull event", |c| {
                        events::record(c, "", "pull", &payload, now)
                    });
                    serde_json::json!({"status": "done", "record": out.record, "layersDownloaded": out.layers_downloaded})
                }
                Err(e) => serde_json::to_value(
                    EngineError::from(e).to_object(serde_json::json!(body.reference)),
                )
                .unwrap_or_default(),
            };
            line(&p.0, last);
        }),
    ))
}
