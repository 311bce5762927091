//! The daemon's background work (`k3 serve`): the restart supervisor, usage
//! sampling (dashboard, `/api/*`, `/metrics`, OOM events), webhook
//! delivery from the SQLite queue, reconciliation after a crash, the
//! graceful shutdown, and the limits self-test. Decisions are pure functions
//! ([`policy`], [`sampler`], [`prometheus`]); the loops around them are thin.

pub mod policy;
pub mod prometheus;
pub mod restart;
pub mod sampler;
pub mod selftest;
pub mod shutdown;
pub mod usage;
pub mod webhooks;

use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Duration;

use crate::context::Engine;
use crate::db::Db;
use crate::error::EngineError;
use crate::image::pull::PullOptions;
use crate::oci_runtime::OciRuntime;
use crate::store::content::Store;

/// What the daemon was started with.
#[derive(Debug, Clone)]
pub struct DaemonConfig {
    /// The k3 root.
    pub root: PathBuf,
    /// The runtime new containers get.
    pub runtime: OciRuntime,
    /// How to pull.
    pub pull: PullOptions,
    /// The `k3` binary.
    pub k3_exe: PathBuf,
    /// Webhook URLs.
    pub webhooks: Vec<String>,
    /// How long a webhook POST may take.
    pub webhook_timeout: Duration,
    /// SIGTERM → SIGKILL grace period at shutdown.
    pub grace: Duration,
}

impl DaemonConfig {
    /// A fresh engine context (its own database connection).
    pub fn ctx(&self) -> Result<Engine, EngineError> {
        let store = Store::open(&self.root)?;
        let db = Db::open(&store.db_path())?;
        Ok(Engine::new(
            store,
            db,
            self.runtime.clone(),
            self.pull.clone(),
            self.k3_exe.clone(),
        ))
    }
}

/// State shared by the API threads and the background loops.
pub struct Shared {
    pub cfg: DaemonConfig,
    sampler: Mutex<sampler::Sampler>,
    stopping: Arc<AtomicBool>,
    forced: AtomicBool,
}

impl Shared {
    /// New shared state.
    pub fn new(cfg: DaemonConfig) -> Shared {
        Shared {
            cfg,
            sampler: Mutex::new(sampler::Sampler::default()),
            stopping: Arc::new(AtomicBool::new(false)),
            forced: AtomicBool::new(false),
        }
    }

    /// The sampler (a poisoned lock is taken over: samples are plain data).
    pub fn sampler(&self) -> MutexGuard<'_, sampler::Sampler> {
        self.sampler.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Whether the shutdown has begun.
    pub fn stopping(&self) -> bool {
        self.stopping.load(Ordering::SeqCst)
    }

    /// Begins the shutdown (the second call forces it).
    pub fn request_stop(&self) {
        if self.stopping.swap(true, Ordering::SeqCst) {
            self.forced.store(true, Ordering::SeqCst);
        }
    }

    /// The shutdown flag, for streams that outlive a borrow.
    pub fn stop_flag(&self) -> Arc<AtomicBool> {
        Arc::clone(&self.stopping)
    }

    /// Whether a second signal asked to skip the grace period.
    pub fn forced(&self) -> bool {
        self.forced.load(Ordering::SeqCst)
    }
}

/// A daemon worker: calls `tick` every `period` until the shutdown begins, with an
/// engine context opened (again) when needed; errors are logged, not fatal.
pub fn every<E: std::error::Error>(
    shared: &Shared,
    name: &str,
    period: std::time::Duration,
    mut tick: impl FnMut(&mut crate::context::Engine) -> Result<(), E>,
) {
    let mut ctx = None;
    while !shared.stopping() {
        if ctx.is_none() {
            ctx = shared
                .cfg
                .ctx()
                .map_err(|e| eprintln!("k3 serve: {name}: {e}"))
                .ok();
        }
        if let Some(c) = ctx.as_mut() {
            if let Err(e) = tick(c) {
                eprintln!("k3 serve: {name}: {}", crate::error::chain_message(&e));
            }
        }
        std::thread::sleep(period);
    }
}
