//! `/volumes`: list and remove named volumes.

use crate::api::{ApiError, Reply};
use crate::db::volumes as vdb;
use crate::store::volumes;
use crate::supervisor::Shared;

/// `GET /volumes`.
pub fn list(shared: &Shared) -> Result<Reply, ApiError> {
    let ctx = shared.cfg.ctx()?;
    let all = vdb::list(ctx.db.conn())?;
    Ok(Reply::Json(
        200,
        serde_json::to_value(all).unwrap_or_default(),
    ))
}

/// `DELETE /volumes/{name}`.
pub fn remove(shared: &Shared, name: &str) -> Result<Reply, ApiError> {
    let ctx = shared.cfg.ctx()?;
    volumes::remove(&ctx.store, &ctx.db, name)?;
    Ok(Reply::Json(
        200,
        serde_json::json!({"name": name, "removed": true}),
    ))
}
