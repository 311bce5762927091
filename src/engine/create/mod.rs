//! Seed 000's `createContainer`: fifteen steps, each a small function that
//! pushes its undo on an [`UndoStack`]; the first failure undoes what the
//! earlier steps did (snapshot, bundle dir, volumes made now, netns, veth,
//! IP lease, runtime container, rows) and returns the typed error.
//!
//! 1 validate → 2 container does not exist → 3 image (pull if needed) →
//! 4 container hash → 5 volumes → 6 network → 7 bundle → 8 config →
//! 9 veth → 10 runtime create (through the monitor) → 11 PID →
//! 12 attach volumes → 13 container record → 14 state → 15 webhooks.
//!
//! Each step is journaled before it runs (`journal`): a create killed at any
//! point leaves a journal that `k3 rm -f`, `k3 prune` and the daemon's start-up
//! reconcile replay.

use std::fs;
use std::net::Ipv4Addr;
use std::path::{Path, PathBuf};

pub mod journal;

use serde_json::Value;
use sha2::{Digest as _, Sha256};

use crate::bundle::{self, BundleError, BundleInputs, ImageConfig, NetMode};
use crate::context::Engine;
use crate::cpuset::{self, CpusetError};
use crate::db::container_state::{self, StateRecord, Status};
use crate::db::containers::{self, ContainerRecord};
use crate::db::images::ImageRecord;
use crate::db::{self, events, volumes as volume_rows, DbError};
use crate::error_kind::ErrorKind;
use crate::image::progress::{self, Mode};
use crate::image::pull::{self, PullError};
use crate::images::{self, ImagesError};
use crate::marker;
use crate::monitor;
use crate::network::{self, NetPlan, NetworkError};
use crate::oci_runtime::RuntimeError;
use crate::options::{CreateOptions, OptionsError, Validated};
use crate::process::{pid_running, pid_start};
use crate::runtime::CreateRequest;
use crate::store::content::remove_tree;
use crate::store::copyup;
use crate::store::snapshots::SnapshotError;
use crate::store::volumes::{self, VolumeError};
use crate::undo::UndoStack;

/// A failed `createContainer`, one variant per seed 000 error.
#[derive(Debug, thiserror::Error)]
pub enum CreateError {
    /// `OptionConflict`: a malformed option.
    #[error(transparent)]
    Options(#[from] OptionsError),
    /// `OptionConflict`: the id is taken.
    #[error("Container `{0}` already exists")]
    Exists(String),
    /// `ResolveContainerName`.
    #[error("cannot resolve container name `{id}`")]
    Resolve {
        /// The name that was looked up.
        id: String,
        /// The database's error.
        #[source]
        source: Box<DbError>,
    },
    /// `GenericFailure`: the image could not be pulled.
    #[error("cannot pull image `{image}`")]
    Pull {
        /// The image reference.
        image: String,
        /// The pull's error.
        #[source]
        source: Box<PullError>,
    },
    /// `GenericFailure`: the image record could not be read.
    #[error(transparent)]
    Image(#[from] ImagesError),
    /// `GenericFailure`: the snapshot could not be made.
    #[error(transparent)]
    Snapshot(#[from] SnapshotError),
    /// `GenericFailure`: a volume could not be made.
    #[error(transparent)]
    Volume(#[from] VolumeError),
    /// `GenericFailure` (or `OptionConflict` for a missing command).
    #[error(transparent)]
    Bundle(#[from] BundleError),
    /// `CreateVethFail`.
    #[error(transparent)]
    Network(#[from] NetworkError),
    /// `OptionConflict`: no CPU left for `noShared`.
    #[error(transparent)]
    Cpuset(#[from] CpusetError),
    /// `CreateFailure`: the runtime's own message included.
    #[error("cannot create container `{id}`")]
    Runtime {
        /// The container's id.
        id: String,
        /// The runtime's error.
        #[source]
        source: RuntimeError,
    },
    /// `PIDNotFound`: the container's process is gone.
    #[error("no process found for container `{id}` (pid `{pid}`): the command exited at once")]
    PidNotFound {
        /// The container's id.
        id: String,
        /// The pid the runtime reported.
        pid: i64,
    },
    /// `DB_ERROR`: the record could not be stored.
    #[error("cannot store container `{id}`")]
    Persist {
        /// The container's id.
        id: String,
        /// The database's error.
        #[source]
        source: Box<DbError>,
    },
    /// `UpdateContainerStateFailure`.
    #[error("cannot store the state of container `{id}`")]
    State {
        /// The container's id.
        id: String,
        /// The database's error.
        #[source]
        source: Box<DbError>,
    },
    /// A step failed and undoing the earlier steps failed too.
    #[error("{error}; cleanup also failed: {}", cleanup.join("; "))]
    Cleanup {
        /// The step's error.
        error: Box<CreateError>,
        /// The undo steps that failed, one message each.
        cleanup: Vec<String>,
    },
}

impl CreateError {
    /// The seed 000 class.
    pub fn kind(&self) -> ErrorKind {
        match self {
            CreateError::Options(_) | CreateError::Exists(_) => ErrorKind::Validation,
            CreateError::Cpuset(CpusetError::Exhausted(_)) => ErrorKind::Validation,
            CreateError::Cpuset(CpusetError::Db(_)) => ErrorKind::Db,
            CreateError::Bundle(
                BundleError::NoCommand(_) | BundleError::NoWorkdir(_) | BundleError::Seccomp(_),
            ) => ErrorKind::Validation,
            CreateError::Resolve { .. }
            | CreateError::Persist { .. }
            | CreateError::State { .. } => ErrorKind::Db,
            // an image name the registry grammar refuses is the caller's (422); a
            // failed pull, a missing image included, stays seed 000's GENERIC 500
            CreateError::Pull { source, .. } => match source.as_ref() {
                PullError::Reference(_) => ErrorKind::Validation,
                _ => ErrorKind::Generic,
            },
            CreateError::Image(_)
            | CreateError::Snapshot(_)
            | CreateError::Volume(_)
            | CreateError::Bundle(_) => ErrorKind::Generic,
            CreateError::Network(e) => e.kind(),
            CreateError::Runtime { .. } => ErrorKind::ContainerService,
            CreateError::PidNotFound { .. } => ErrorKind::NotFound,
            CreateError::Cleanup { error, .. } => error.kind(),
        }
    }

    /// The pid the error is about (`PIDNotFound`).
    pub fn pid(&self) -> Option<i64> {
        match self {
            CreateError::PidNotFound { pid, .. } => Some(*pid),
            CreateError::Cleanup { error, .. } => error.pid(),
            _ => None,
        }
    }
}

/// A created container.
#[derive(Debug, Clone, serde::Serialize)]
pub struct Created {
    /// The container id.
    #[serde(rename = "containerId")]
    pub id: String,
    /// Its hash (directories, runtime id).
    pub hash: String,
    /// The init's pid.
    pub pid: i64,
    /// The container's IP, if on a bridge network.
    pub ip: Option<Ipv4Addr>,
    /// The step trace (with `debug`, the runtime's `--debug` trace).
    pub trace: Vec<String>,
}

/// A create in progress: what its steps have made so far.
struct Creation {
    v: Validated,
    image: ImageRecord,
    hash: String,
    created_at: i64,
    volumes: Vec<(PathBuf, String, bool)>,
    /// Named volumes to fill from the image if empty: name, dir, path.
    copy_up: Vec<(String, PathBuf, String)>,
    net: NetPlan,
    bundle: PathBuf,
    config: Value,
    pid: i64,
    monitor_pid: i64,
    trace: Vec<String>,
}

/// Creates a container (state CREATED): seed 000's `createContainer`.
pub fn create(ctx: &mut Engine, opts: &CreateOptions) -> Result<Created, CreateError> {
    let v = opts.validate()?; // 1
    if let Some((k, val)) = v.cgroup_conf.first() {
        if !bundle::host_cgroup_v2() {
            // as podman: the keys are cgroup v2 files
            return Err(OptionsError {
                option: "cgroupConf",
                value: format!("{k}={val}"),
                reason: "cannot use --cgroup-conf without cgroup v2".into(),
            }
            .into());
        }
    }
    // The id is ours until the record is written or the work undone: a
    // concurrent create of the same id waits here and then fails at step 2,
    // before it takes (and on failure releases) anything keyed by the id.
    let id_marker = take_marker(ctx, &marker::id_name(&v.id))?;
    // A journal nobody replayed (a crash before this create's own) is stale:
    // this create starts its own, and the old one's hash is replayed first.
    if !id_marker.journal().unwrap_or_default().is_empty() {
        let cleanup = journal::replay(ctx, &v.id, &id_marker);
        if !cleanup.is_empty() {
            return Err(CreateError::Cleanup {
                error: Box::new(CreateError::Exists(v.id.clone())),
                cleanup,
            });
        }
        id_marker
            .clear()
            .map_err(|source| journal_err(ctx, source))?;
    }
    check_absent(ctx, &v.id)?; // 2
    let image = ensure_image(ctx, &v)?; // 3
    let created_at = db::now();
    let hash = container_hash(&v.id, &image.config_digest, nanos()); // 4
    note(ctx, &id_marker, &format!("hash {hash}"))?;
    // Before any netns, veth or lease of this hash exists: another k3's
    // network reconcile leaves them alone while this is held.
    let _busy = take_marker(ctx, &hash)?;
    let mut w = Creation {
        v,
        image,
        hash,
        created_at,
        volumes: Vec::new(),
        copy_up: Vec::new(),
        net: NetPlan::default(),
        bundle: PathBuf::new(),
        config: Value::Null,
        pid: 0,
        monitor_pid: 0,
        trace: Vec::new(),
    };
    let mut undo = UndoStack::default();
    match steps(ctx, opts, &mut w, &mut undo, &id_marker) {
        Ok(()) => {
            undo.commit();
            journal::crash_point(16);
            Ok(Created {
                id: w.v.id,
                hash: w.hash,
                pid: w.pid,
                ip: w.net.ip,
                trace: w.trace,
            })
        }
        Err(error) => {
            let cleanup = undo.unwind(ctx);
            if cleanup.is_empty() {
                Err(error)
            } else {
                Err(CreateError::Cleanup {
                    error: Box::new(error),
                    cleanup,
                })
            }
        }
    }
}

fn steps(
    ctx: &mut Engine,
    opts: &CreateOptions,
    w: &mut Creation,
    undo: &mut UndoStack<Engine>,
    m: &marker::Marker,
) -> Result<(), CreateError> {
    let step = |ctx: &Engine, n| journal::step(m, n).map_err(|source| journal_err(ctx, source));
    step(ctx, 5)?;
    process_volumes(ctx, w, undo, m)?; // 5
    step(ctx, 6)?;
    setup_network(ctx, w, undo)?; // 6
    step(ctx, 7)?;
    make_bundle(ctx, w, undo)?; // 7
    step(ctx, 8)?;
    build_config(ctx, w)?; // 8
    step(ctx, 9)?;
    create_veth(ctx, w, undo)?; // 9
    step(ctx, 10)?;
    runtime_create(ctx, w, undo, m)?; // 10
    step(ctx, 11)?;
    find_pid(ctx, w)?; // 11
    step(ctx, 12)?;
    persist(ctx, opts, w) // 12-15, one transaction
}

fn journal_err(ctx: &Engine, source: std::io::Error) -> CreateError {
    CreateError::Bundle(BundleError::Io {
        op: "journal",
        path: ctx.store.root().join("creating"),
        source,
    })
}

/// Journals `line` before the step that makes it.
fn note(ctx: &Engine, m: &marker::Marker, line: &str) -> Result<(), CreateError> {
    m.note(line).map_err(|source| journal_err(ctx, source))
}

fn take_marker(ctx: &Engine, name: &str) -> Result<marker::Marker, CreateError> {
    marker::Marker::take(ctx.store.root(), name).map_err(|source| {
        CreateError::Bundle(BundleError::Io {
            op: "lock",
            path: ctx.store.root().join("creating").join(name),
            source,
        })
    })
}

fn nanos() -> u128 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_nanos())
}

/// Step 2.
fn check_absent(ctx: &Engine, id: &str) -> Result<(), CreateError> {
    let exists = containers::exists(ctx.db.conn(), id).map_err(|source| CreateError::Resolve {
        id: id.to_string(),
        source: Box::new(source),
    })?;
    if exists {
        return Err(CreateError::Exists(id.to_string()));
    }
    Ok(())
}

/// Step 3: the stored image, pulled first if missing.
fn ensure_image(ctx: &Engine, v: &Validated) -> Result<ImageRecord, CreateError> {
    let default = &ctx.pull.default_registry;
    match images::find(&ctx.db, &v.image_ref, default) {
        Ok(r) => return Ok(r),
        Err(ImagesError::NotFound(_)) => {}
        Err(e) => return Err(e.into()),
    }
    let reporter = progress::reporter(Mode::Quiet);
    pull::pull(
        &ctx.store,
        &ctx.db,
        &v.image_ref,
        &ctx.pull,
        reporter.as_ref(),
    )
    .map(|o| o.record)
    .map_err(|source| CreateError::Pull {
        image: v.image_ref.clone(),
        source: Box::new(source),
    })
}

/// Step 4: 16 hex digits of sha256(id, image, time).
pub fn container_hash(id: &str, image_digest: &str, nanos: u128) -> String {
    let mut h = Sha256::new();
    h.update(id.as_bytes());
    h.update([0]);
    h.update(image_digest.as_bytes());
    h.update([0]);
    h.update(nanos.to_le_bytes());
    let hex: String = h.finalize().iter().map(|b| format!("{b:02x}")).collect();
    hex[..16].to_string()
}

/// Step 5: named volumes exist (made now if new; removed again on failure).
fn process_volumes(
    ctx: &Engine,
    w: &mut Creation,
    undo: &mut UndoStack<Engine>,
    m: &marker::Marker,
) -> Result<(), CreateError> {
    for vm in w.v.volumes.clone() {
        if !matches!(volume_rows::get(ctx.db.conn(), &vm.name), Ok(Some(_))) {
            note(ctx, m, &format!("volume {}", vm.name))?;
        }
        let (dir, created) = volumes::ensure(&ctx.store, &ctx.db, &vm.name)?;
        if created {
            let name = vm.name.clone();
            undo.push("remove volume", move |c: &Engine| {
                volumes::remove(&c.store, &c.db, &name).map_err(|e| e.to_string())
            });
        }
        if !vm.nocopy {
            w.copy_up
                .push((vm.name.clone(), dir.clone(), vm.container.clone()));
        }
        w.volumes.push((dir, vm.container, vm.readonly));
    }
    Ok(())
}

/// Named volumes still empty are filled from the image's directory at
/// their mount point (docker's and podman's copy-up; not with `nocopy`);
/// emptied again if the create fails.
fn copy_up_volumes(
    ctx: &Engine,
    w: &Creation,
    undo: &mut UndoStack<Engine>,
) -> Result<(), CreateError> {
    let rootfs = ctx.store.overlays_dir().join(&w.hash).join("rootfs");
    for (name, dir, path) in &w.copy_up {
        if !copyup::is_empty(dir) {
            continue;
        }
        let d = dir.clone();
        undo.push("empty volume", move |_| {
            copyup::empty(&d).map_err(|e| format!("`{}`: {e}", d.display()))
        });
        copyup::copy_up(&rootfs, path, dir).map_err(|e| VolumeError::CopyUp {
            name: name.clone(),
            path: path.clone(),
            source: Box::new(e),
        })?;
    }
    Ok(())
}

/// Step 6: the network (bridge, IP lease, netns, published ports).
fn setup_network(
    ctx: &Engine,
    w: &mut Creation,
    undo: &mut UndoStack<Engine>,
) -> Result<(), CreateError> {
    w.net = network::prepare(ctx, &w.v, &w.hash, undo)?;
    Ok(())
}

/// Step 7: bundle dir, overlay snapshot, copy-up of new named volumes, etc
/// files, anonymous volumes.
fn make_bundle(
    ctx: &Engine,
    w: &mut Creation,
    undo: &mut UndoStack<Engine>,
) -> Result<(), CreateError> {
    let dir = ctx.bundle_dir(&w.hash);
    fs::create_dir_all(&dir).map_err(|source| {
        CreateError::Bundle(BundleError::Io {
            op: "create",
            path: dir.clone(),
            source,
        })
    })?;
    let d = dir.clone();
    undo.push("remove bundle", move |_| {
        remove_tree(&d).map_err(|e| e.to_string())
    });
    ctx.snapshots
        .prepare(&ctx.store, &ctx.db, &w.hash, &w.image, w.v.disk_limit_mb)?;
    let hash = w.hash.clone();
    undo.push("remove snapshot", move |c: &Engine| {
        c.snapshots
            .remove(&c.store, &c.db, &hash)
            .map_err(|e| e.to_string())
    });
    copy_up_volumes(ctx, w, undo)?;
    let host_net = w.net.mode == NetMode::Host;
    // a user network's DNS responder (not on `kb0`, as docker's default bridge)
    let dns = w
        .net
        .bridge
        .as_ref()
        .filter(|_| w.net.network != network::DEFAULT_NAME)
        .map(|b| b.1);
    bundle::write_etc_files(&dir, &hostname(w), w.net.ip, host_net, dns)?;
    anonymous_volumes(w, &dir)?;
    w.bundle = dir;
    Ok(())
}

fn hostname(w: &Creation) -> String {
    w.v.hostname
        .clone()
        .unwrap_or_else(|| w.hash[..12].to_string())
}

/// Image `Volumes` not covered by a mount get a directory of their own in
/// the bundle (docker's anonymous volumes; removed with the container).
fn anonymous_volumes(w: &mut Creation, dir: &Path) -> Result<(), CreateError> {
    let img = ImageConfig::from_image_json(&w.image.config);
    let taken: Vec<String> = w
        .volumes
        .iter()
        .map(|(_, p, _)| p.clone())
        .chain(w.v.mounts.iter().map(|m| m.container.clone()))
        .collect();
    for (i, path) in img.volumes.iter().enumerate() {
        if taken
            .iter()
            .any(|t| t.trim_end_matches('/') == path.trim_end_matches('/'))
        {
            continue;
        }
        let host = dir.join("volumes").join(i.to_string());
        fs::create_dir_all(&host).map_err(|source| {
            CreateError::Bundle(BundleError::Io {
                op: "create",
                path: host.clone(),
                source,
            })
        })?;
        w.volumes.push((host, path.clone(), false));
    }
    Ok(())
}

/// The annotation of `config.json` naming the signal `stop` sends first
/// (`--stop-signal`, else the image's `StopSignal`; none: `TERM`).
pub const STOP_SIGNAL: &str = "io.k3.stop-signal";

/// Step 8: `config.json` from the options and the image config.
fn build_config(ctx: &Engine, w: &mut Creation) -> Result<(), CreateError> {
    let img = ImageConfig::from_image_json(&w.image.config);
    let host = hostname(w);
    let mut process = bundle::merge_process(&img, &w.v, &host)?;
    let rootfs = ctx.store.overlays_dir().join(&w.hash).join("rootfs");
    if let Some(dir) = &w.v.workdir {
        if !bundle::dir_in_rootfs(&rootfs, dir) {
            return Err(BundleError::NoWorkdir(dir.clone()).into());
        }
    }
    let who = bundle::resolve_identity(&rootfs, &process.user)?;
    process.default_home(&who.home);
    let devices = if w.v.privileged {
        bundle::host_devices()
    } else {
        Vec::new()
    };
    let cpuset = if w.v.no_shared {
        Some(cpuset::pick(ctx)?)
    } else {
        None
    };
    w.config = bundle::generate(
        &w.v,
        &BundleInputs {
            rootfs: &rootfs,
            bundle: &w.bundle,
            hash: &w.hash,
            hostname: &host,
            process: &process,
            uid: who.uid,
            gid: who.gid,
            groups: &who.groups,
            init: w.v.init.then_some(ctx.k3_exe.as_path()),
            net: &w.net.mode,
            volumes: &w.volumes,
            host_devices: &devices,
            cpuset,
            cap_bounding: bundle::own_bounding(),
            cgroup_v2: bundle::host_cgroup_v2(),
        },
    )?;
    if !img.exposed_ports.is_empty() {
        // Docker records them for `-P` and for the user; nothing is published.
        w.config["annotations"]["io.k3.exposed-ports"] =
            serde_json::json!(img.exposed_ports.join(","));
    }
    if let Some(sig) = w.v.stop_signal.as_ref().or(img.stop_signal.as_ref()) {
        w.config["annotations"][STOP_SIGNAL] = serde_json::json!(sig);
    }
    if let Some(ip) = w.net.ip {
        w.config["annotations"]["io.k3.ip"] = serde_json::json!(ip.to_string());
        w.config["annotations"]["io.k3.network"] = serde_json::json!(w.net.network);
    }
    bundle::write_config(&w.bundle, &w.config)?;
    Ok(())
}

/// Step 9: the veth pair into the container's netns (bridge networks).
fn create_veth(
    ctx: &Engine,
    w: &mut Creation,
    undo: &mut UndoStack<Engine>,
) -> Result<(), CreateError> {
    network::attach(ctx, &w.net, &w.hash, undo)?;
    Ok(())
}

/// Step 10: the runtime's `create` (the real one through the container's
/// monitor).
fn runtime_create(
    ctx: &Engine,
    w: &mut Creation,
    undo: &mut UndoStack<Engine>,
    m: &marker::Marker,
) -> Result<(), CreateError> {
    let req = CreateRequest {
        id: w.v.id.clone(),
        hash: w.hash.clone(),
        bundle: w.bundle.clone(),
        db: ctx.store.db_path(),
        k3_exe: ctx.k3_exe.clone(),
        debug: w.v.debug,
        no_pivot: w.v.no_pivot,
        no_new_keyring: w.v.no_new_keyring,
        stdin: w.v.interactive,
        tty: w.v.tty,
    };
    let err = |source| CreateError::Runtime {
        id: w.v.id.clone(),
        source,
    };
    if !ctx.runtime.root().exists() {
        // The runtime makes its `--root` on first use; a failed first create
        // must not leave it behind. Only an empty one is removed: another
        // create may be using it by now (and a runtime remakes a missing root).
        note(ctx, m, "runtime-root")?;
        let root = ctx.runtime.root().to_path_buf();
        undo.push("remove runtime root", move |_| {
            match fs::remove_dir(&root) {
                Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
                Err(e) if e.raw_os_error() == Some(libc::ENOTEMPTY) => {}
                Err(e) => return Err(format!("`{}`: {e}", root.display())),
                Ok(()) => {}
            }
            Ok(())
        });
    }
    let report = ctx.runtime.create(&req).map_err(err)?;
    w.trace = report.trace.clone();
    if let Some(msg) = report.error {
        return Err(err(RuntimeError::Failed {
            runtime: ctx.runtime.name(),
            verb: "create".into(),
            msg,
        }));
    }
    let (hash, log) = (w.hash.clone(), monitor::runtime_log(&w.bundle));
    let monitor_pid = report.monitor_pid;
    undo.push("delete runtime container", move |c: &Engine| {
        c.runtime.delete(&log, &hash, true).or_else(|e| match e {
            RuntimeError::Failed { msg, .. } if crate::oci_runtime::is_missing(&msg) => Ok(()),
            e => Err(e.to_string()),
        })?;
        // The monitor sees the init die and finishes (it still writes in the
        // bundle); the next undo steps remove the bundle.
        monitor::wait_exit(monitor_pid, std::time::Duration::from_secs(5))
    });
    w.pid = report.pid.unwrap_or(0);
    w.monitor_pid = report.monitor_pid;
    Ok(())
}

/// Step 11: the init is alive and the runtime says `created`.
fn find_pid(ctx: &Engine, w: &Creation) -> Result<(), CreateError> {
    let gone = CreateError::PidNotFound {
        id: w.v.id.clone(),
        pid: w.pid,
    };
    if !pid_running(w.pid) {
        return Err(gone);
    }
    let log = monitor::runtime_log(&w.bundle);
    match ctx.runtime.state(&log, &w.hash) {
        Ok(Some(s)) if s.status == "created" || s.status == "running" => Ok(()),
        _ => Err(gone),
    }
}

/// Steps 12-15 in one transaction: volume attachments, the container
/// record, its state, the `create` event and its webhook.
fn persist(ctx: &mut Engine, opts: &CreateOptions, w: &Creation) -> Result<(), CreateError> {
    let rec = ContainerRecord {
        id: w.v.id.clone(),
        hash: w.hash.clone(),
        image: w.image.reference(),
        image_digest: w.image.config_digest.clone(),
        options: serde_json::to_value(opts).unwrap_or_default(),
        validated: serde_json::to_value(&w.v).unwrap_or_default(),
        config: w.config.clone(),
        bundle: w.bundle.display().to_string(),
        runtime: ctx.runtime.path().display().to_string(),
        created_at: w.created_at,
    };
    let state = StateRecord {
        id: w.v.id.clone(),
        status: Status::Created,
        pid: Some(w.pid),
        pid_start: pid_start(w.pid),
        monitor_pid: Some(w.monitor_pid),
        exit_code: None,
        started_at: None,
        stopped_at: None,
        restart_count: 0,
        updated_at: db::now(),
    };
    let id = w.v.id.clone();
    let persist_err = |source| CreateError::Persist {
        id: id.clone(),
        source: Box::new(source),
    };
    let tx = ctx
        .db
        .conn_mut()
        .transaction_with_behavior(rusqlite::TransactionBehavior::Immediate)
        .map_err(|e| persist_err(db::query("begin create")(e)))?;
    containers::insert(&tx, &rec).map_err(|e| match e {
        // Another `k3 create` of the same id won the race after step 2.
        DbError::Query {
            source: rusqlite::Error::SqliteFailure(f, _),
            ..
        } if f.code == rusqlite::ErrorCode::ConstraintViolation => CreateError::Exists(id.clone()),
        e => persist_err(e),
    })?; // 13
    for vm in &w.v.volumes {
        volume_rows::attach(&tx, &id, &vm.name, &vm.container, vm.readonly).map_err(persist_err)?;
        // 12
    }
    container_state::insert(&tx, &state).map_err(|source| CreateError::State {
        id: id.clone(),
        source: Box::new(source),
    })?; // 14
    let payload = serde_json::json!({"image": rec.image, "hash": rec.hash, "pid": w.pid});
    events::record(&tx, &id, "create", &payload, db::now()).map_err(persist_err)?; // 15
    tx.commit()
        .map_err(|e| persist_err(db::query("commit create")(e)))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hash_is_16_hex_and_depends_on_every_input() {
        let a = container_hash("web", "sha256:aa", 1);
        assert_eq!(a.len(), 16);
        assert!(a.chars().all(|c| c.is_ascii_hexdigit()));
        assert_eq!(a, container_hash("web", "sha256:aa", 1));
        assert_ne!(a, container_hash("web", "sha256:aa", 2));
        assert_ne!(a, container_hash("web2", "sha256:aa", 1));
        assert_ne!(a, container_hash("web", "sha256:ab", 1));
    }

    #[test]
    fn error_kinds_follow_seed_000() {
        let e = CreateError::Exists("x".into());
        assert_eq!(e.kind(), ErrorKind::Validation);
        assert!(e.to_string().contains("already exists"));
        let e = CreateError::PidNotFound {
            id: "x".into(),
            pid: 7,
        };
        assert_eq!((e.kind(), e.pid()), (ErrorKind::NotFound, Some(7)));
        let wrapped = CreateError::Cleanup {
            error: Box::new(e),
            cleanup: vec!["a: b".into()],
        };
        assert_eq!(wrapped.kind(), ErrorKind::NotFound);
        assert!(wrapped.to_string().contains("cleanup also failed: a: b"));
        let e = CreateError::Bundle(BundleError::NoCommand("i".into()));
        assert_eq!(e.kind(), ErrorKind::Validation);
    }
}
