//! Container verbs after `create` (seed 001's manager): start, stop, kill,
//! remove, wait, list/inspect, logs, exec, stats. One file per verb; this
//! file has the shared error, loading and state reconciliation.

pub mod attach;
pub mod exec;
pub mod filter;
pub mod kill;
pub mod list;
pub mod logs;
pub mod pause;
pub mod remove;
pub mod start;
pub mod stats;
pub mod stop;
pub mod top;
pub mod wait;
pub mod when;

use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use crate::context::Engine;
use crate::create::CreateError;
use crate::db::container_state::{self, StateRecord, Status};
use crate::db::containers::{self, ContainerRecord};
use crate::db::{self, events, DbError};
use crate::error_kind::ErrorKind;
use crate::network::NetworkError;
use crate::oci_runtime::{OciRuntime, RuntimeError};
use crate::process::{pid_running, pid_start};
use crate::store::snapshots::SnapshotError;

/// A container verb that failed.
#[derive(Debug, thiserror::Error)]
pub enum ContainerError {
    /// No such container.
    #[error("container `{0}` does not exist")]
    NotFound(String),
    /// The verb does not apply in the current state.
    #[error("container `{id}` is `{status}`: {hint}")]
    State {
        /// The container's id.
        id: String,
        /// Its current status.
        status: &'static str,
        /// What the caller can do instead.
        hint: &'static str,
    },
    /// The database failed.
    #[error(transparent)]
    Db(#[from] DbError),
    /// The runtime failed.
    #[error("container `{id}`")]
    Runtime {
        /// The container's id.
        id: String,
        /// The runtime's error.
        #[source]
        source: RuntimeError,
    },
    /// Re-creating a stopped container failed.
    #[error(transparent)]
    Recreate(#[from] Box<CreateError>),
    /// Network teardown or setup failed.
    #[error(transparent)]
    Network(#[from] NetworkError),
    /// Removing the snapshot failed.
    #[error(transparent)]
    Snapshot(#[from] SnapshotError),
    /// The container did not stop in time.
    #[error("container `{id}` did not stop within `{secs}` s")]
    Timeout {
        /// The container's id.
        id: String,
        /// The wait that ran out, seconds.
        secs: u64,
    },
    /// A file could not be read or written.
    #[error("cannot {op} `{path}`")]
    Io {
        /// What was being done, e.g. `read`.
        op: &'static str,
        /// The file's path.
        path: PathBuf,
        /// The underlying error.
        #[source]
        source: std::io::Error,
    },
    /// `exec` could not enter the container.
    #[error("exec in container `{id}`: {msg}")]
    Exec {
        /// The container's id.
        id: String,
        /// Why exec failed.
        msg: String,
    },
    /// A stopped container could not be made to run again.
    #[error("start of container `{id}`: {msg}")]
    Start {
        /// The container's id.
        id: String,
        /// Why.
        msg: String,
    },
    /// A value given to the verb is malformed (`signal`, `workdir`, `env`).
    #[error(transparent)]
    Invalid(#[from] crate::options::OptionsError),
}

impl ContainerError {
    /// The seed 000 class.
    pub fn kind(&self) -> ErrorKind {
        match self {
            ContainerError::NotFound(_) => ErrorKind::NotFound,
            ContainerError::State { .. } | ContainerError::Invalid(_) => ErrorKind::Validation,
            ContainerError::Db(_) => ErrorKind::Db,
            ContainerError::Runtime { .. }
            | ContainerError::Exec { .. }
            | ContainerError::Start { .. } => ErrorKind::ContainerService,
            ContainerError::Recreate(e) => e.kind(),
            ContainerError::Network(e) => e.kind(),
            _ => ErrorKind::Generic,
        }
    }

    /// The container the error is about.
    pub fn container_id(&self) -> Option<String> {
        match self {
            ContainerError::NotFound(id)
            | ContainerError::State { id, .. }
            | ContainerError::Runtime { id, .. }
            | ContainerError::Timeout { id, .. }
            | ContainerError::Exec { id, .. }
            | ContainerError::Start { id, .. } => Some(id.clone()),
            _ => None,
        }
    }
}

/// A container's record and its (reconciled) state.
#[derive(Debug, Clone, serde::Serialize)]
pub struct Container {
    /// The container's stored record (its options and paths).
    pub record: ContainerRecord,
    /// The container's stored state.
    pub state: StateRecord,
}

impl Container {
    /// The runtime the container was created with.
    pub fn runtime(&self, ctx: &Engine) -> OciRuntime {
        OciRuntime::new(PathBuf::from(&self.record.runtime), ctx.store.root())
    }

    /// The runtime's JSON log.
    pub fn runtime_log(&self) -> PathBuf {
        Path::new(&self.record.bundle).join("runtime.log")
    }

    /// A runtime error about this container.
    pub fn rt_err(&self) -> impl FnOnce(RuntimeError) -> ContainerError + '_ {
        move |source| ContainerError::Runtime {
            id: self.record.id.clone(),
            source,
        }
    }
}

/// Loads `id`, reconciling a dead init that no monitor recorded.
pub fn load(ctx: &mut Engine, id: &str) -> Result<Container, ContainerError> {
    let record = containers::get(ctx.db.conn(), id)?
        .ok_or_else(|| ContainerError::NotFound(id.to_string()))?;
    let mut state = container_state::get(ctx.db.conn(), id)?
        .ok_or_else(|| ContainerError::NotFound(id.to_string()))?;
    if matches!(state.status, Status::Created | Status::Running) && !init_alive(&state) {
        let pid = state.pid.unwrap_or(0);
        // The monitor died before recording the exit: record it now.
        if !monitor_alive(&state) {
            ctx.db.write("reconcile state", |c| {
                if container_state::set_stopped(c, id, pid, 255, db::now())? {
                    events::record(
                        c,
                        id,
                        "die",
                        &serde_json::json!({"reconciled": true}),
                        db::now(),
                    )?;
                }
                Ok(())
            })?;
            let l = Container {
                record,
                state: state.clone(),
            };
            let _ = l
                .runtime(ctx)
                .delete(&l.runtime_log(), &l.record.hash, true);
            state = container_state::get(ctx.db.conn(), id)?
                .ok_or_else(|| ContainerError::NotFound(id.to_string()))?;
            return Ok(Container {
                record: l.record,
                state,
            });
        }
    }
    Ok(Container { record, state })
}

/// Whether the init recorded in `s` still runs (pid and start time match).
pub fn init_alive(s: &StateRecord) -> bool {
    match s.pid {
        Some(pid) if pid_running(pid) => match (pid_start(pid), s.pid_start) {
            (Some(now), Some(then)) => now == then,
            (Some(_), None) => true,
            (None, _) => false,
        },
        _ => false,
    }
}

fn monitor_alive(s: &StateRecord) -> bool {
    s.monitor_pid.is_some_and(pid_running)
}

/// Waits until the container is STOPPED (the monitor recorded the exit).
pub fn wait_stopped(
    ctx: &mut Engine,
    id: &str,
    timeout: Duration,
) -> Result<Container, ContainerError> {
    // a huge timeout (`k3 wait --timeout 18446744073709551615`, `?t=`) waits for
    // ever instead of overflowing the instant (a panic, an abort in release)
    let end = Instant::now().checked_add(timeout);
    loop {
        let l = load(ctx, id)?;
        if l.state.status == Status::Stopped {
            return Ok(l);
        }
        if end.is_some_and(|end| Instant::now() > end) {
            return Err(ContainerError::Timeout {
                id: id.to_string(),
                secs: timeout.as_secs(),
            });
        }
        std::thread::sleep(Duration::from_millis(20));
    }
}
