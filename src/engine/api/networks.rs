//! `/networks`: list, create (`{"name", "subnet", "gateway"?}`), remove.

use crate::api::{body, ApiError, Reply, Req};
use crate::db::networks as ndb;
use crate::network;
use crate::supervisor::Shared;

/// `GET /networks`.
pub fn list(shared: &Shared) -> Result<Reply, ApiError> {
    let ctx = shared.cfg.ctx()?;
    let all = ndb::list(ctx.db.conn())?;
    Ok(Reply::Json(
        200,
        serde_json::to_value(all).unwrap_or_default(),
    ))
}

/// `POST /networks`.
pub fn create(shared: &Shared, req: &Req<'_>) -> Result<Reply, ApiError> {
    let b = body::network(req)?;
    let mut ctx = shared.cfg.ctx()?;
    let r = network::create(&mut ctx, &b.name, &b.subnet, b.gateway.as_deref())?;
    Ok(Reply::Json(
        201,
        serde_json::to_value(r).unwrap_or_default(),
    ))
}

/// `DELETE /networks/{name}`.
pub fn remove(shared: &Shared, name: &str) -> Result<Reply, ApiError> {
    let mut ctx = shared.cfg.ctx()?;
    network::remove(&mut ctx, name)?;
    Ok(Reply::Json(
        200,
        serde_json::json!({"name": name, "removed": true}),
    ))
}
