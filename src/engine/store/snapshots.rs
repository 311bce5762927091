//! Per-container overlay snapshots: `prepare` mounts an overlay whose lower
//! layers are the image's layer snapshots (top first) with an upper/work pair
//! private to the container, optionally on a size-limited ext4 (the
//! `diskLimit` in MB); `remove` unmounts and deletes it. Each step of
//! `prepare` pushes its undo, so a failure leaves nothing behind.

use std::fs;
use std::io;
use std::path::{Path, PathBuf};

use crate::db::images::ImageRecord;
use crate::db::snapshots::{self as records, SnapshotRecord};
use crate::db::{self, Db, DbError};
use crate::image::digest::Digest;
use crate::store::content::{remove_tree, ContentError, Store};
use crate::store::loopdev::{self, LoopError};
use crate::store::mount;

/// The smallest disk limit (ext4 metadata needs room).
pub const MIN_DISK_LIMIT_MB: u64 = 8;

/// A snapshot failure.
#[derive(Debug, thiserror::Error)]
pub enum SnapshotError {
    /// The container id is not `[A-Za-z0-9-]{1,64}`.
    #[error("invalid container id `{0}`: use 1 to 64 letters, digits and `-`")]
    InvalidId(String),
    /// The container already has a snapshot.
    #[error("container `{0}` already has a snapshot")]
    Exists(String),
    /// The container has no snapshot.
    #[error("container `{0}` has no snapshot")]
    NotFound(String),
    /// A layer of the image is not unpacked.
    #[error("layer `{0}` of the image is not in the store: pull the image again")]
    MissingLayer(String),
    /// The image has no layers.
    #[error("image `{0}` has no layers")]
    NoLayers(String),
    /// The disk limit is too small.
    #[error("`diskLimit` of `{0}` MB is below the minimum of `{MIN_DISK_LIMIT_MB}` MB")]
    DiskLimit(u64),
    /// A filesystem call failed.
    #[error("cannot {op} `{path}`")]
    Io {
        /// What was tried.
        op: &'static str,
        /// The path.
        path: PathBuf,
        /// Why.
        #[source]
        source: io::Error,
    },
    /// Setting up the disk-limited layer failed.
    #[error(transparent)]
    Loop(#[from] LoopError),
    /// A store operation failed.
    #[error(transparent)]
    Content(#[from] ContentError),
    /// Recording the snapshot failed.
    #[error(transparent)]
    Db(#[from] DbError),
    /// The operation failed and undoing it failed too.
    #[error("{error}; cleanup also failed: {}", cleanup.join("; "))]
    Cleanup {
        /// The original failure.
        error: Box<SnapshotError>,
        /// What could not be undone.
        cleanup: Vec<String>,
    },
}

fn io_err<'a>(op: &'static str, path: &'a Path) -> impl FnOnce(io::Error) -> SnapshotError + 'a {
    move |source| SnapshotError::Io {
        op,
        path: path.to_path_buf(),
        source,
    }
}

/// Checks a container id (it becomes a directory name).
pub fn validate_id(id: &str) -> Result<(), SnapshotError> {
    let ok = !id.is_empty()
        && id.len() <= 64
        && id.chars().all(|c| c.is_ascii_alphanumeric() || c == '-');
    if ok {
        Ok(())
    } else {
        Err(SnapshotError::InvalidId(id.to_string()))
    }
}

type Undo = Box<dyn FnOnce() -> Result<(), String>>;

/// Steps done so far, undone in reverse on failure.
#[derive(Default)]
struct UndoStack(Vec<Undo>);

impl UndoStack {
    fn push(&mut self, f: impl FnOnce() -> Result<(), String> + 'static) {
        self.0.push(Box::new(f));
    }

    fn unwind(self, error: SnapshotError) -> SnapshotError {
        let cleanup: Vec<String> = self.0.into_iter().rev().filter_map(|f| f().err()).collect();
        if cleanup.is_empty() {
            error
        } else {
            SnapshotError::Cleanup {
                error: Box::new(error),
                cleanup,
            }
        }
    }
}

/// Paths of a container snapshot.
struct Layout {
    dir: PathBuf,
    rootfs: PathBuf,
    rw: PathBuf,
}

fn layout(store: &Store, id: &str) -> Layout {
    let dir = store.overlays_dir().join(id);
    Layout {
        rootfs: dir.join("rootfs"),
        rw: dir.join("rw"),
        dir,
    }
}

/// Mounts a container's rootfs from `image`; returns the rootfs path.
pub fn prepare(
    store: &Store,
    db: &Db,
    container_id: &str,
    image: &ImageRecord,
    disk_limit_mb: Option<u64>,
) -> Result<PathBuf, SnapshotError> {
    validate_id(container_id)?;
    if let Some(mb) = disk_limit_mb.filter(|mb| *mb < MIN_DISK_LIMIT_MB) {
        return Err(SnapshotError::DiskLimit(mb));
    }
    if records::get(db.conn(), container_id)?.is_some() {
        return Err(SnapshotError::Exists(container_id.to_string()));
    }
    let _lock = store.lock(false)?;
    let lowers = layer_dirs(store, image)?;
    let l = layout(store, container_id);
    let mut undo = UndoStack::default();
    match build(
        db,
        container_id,
        image,
        disk_limit_mb,
        &lowers,
        &l,
        &mut undo,
    ) {
        Ok(()) => Ok(l.rootfs),
        Err(e) => Err(undo.unwind(e)),
    }
}

/// The image's layer snapshot dirs, top first.
fn layer_dirs(store: &Store, image: &ImageRecord) -> Result<Vec<PathBuf>, SnapshotError> {
    if image.layers.is_empty() {
        return Err(SnapshotError::NoLayers(image.reference()));
    }
    image
        .layers
        .iter()
        .rev()
        .map(|l| {
            let d: Digest = l
                .digest
                .parse()
                .map_err(|_| SnapshotError::MissingLayer(l.digest.clone()))?;
            let p = store.layer_path(&d);
            if p.is_dir() {
                Ok(p)
            } else {
                Err(SnapshotError::MissingLayer(l.digest.clone()))
            }
        })
        .collect()
}

#[allow(clippy::too_many_arguments)]
fn build(
    db: &Db,
    id: &str,
    image: &ImageRecord,
    disk_limit_mb: Option<u64>,
    lowers: &[PathBuf],
    l: &Layout,
    undo: &mut UndoStack,
) -> Result<(), SnapshotError> {
    fs::create_dir(&l.dir).map_err(|e| match e.kind() {
        io::ErrorKind::AlreadyExists => SnapshotError::Exists(id.to_string()),
        _ => io_err("create", &l.dir)(e),
    })?;
    let dir = l.dir.clone();
    undo.push(move || remove_tree(&dir).map_err(|e| e.to_string()));
    let base = match disk_limit_mb {
        Some(mb) => limited_rw(l, mb, undo)?,
        None => l.dir.clone(),
    };
    let (upper, work) = (base.join("upper"), base.join("work"));
    for d in [&upper, &work, &l.rootfs] {
        fs::create_dir(d).map_err(io_err("create", d))?;
    }
    let lower_refs: Vec<&Path> = lowers.iter().map(PathBuf::as_path).collect();
    mount::mount_overlay(&lower_refs, &upper, &work, &l.rootfs)
        .map_err(io_err("mount overlay on", &l.rootfs))?;
    let rootfs = l.rootfs.clone();
    undo.push(move || {
        mount::unmount(&rootfs)
            .map(|_| ())
            .map_err(|e| format!("unmount `{}`: {e}", rootfs.display()))
    });
    records::insert(
        db.conn(),
        &SnapshotRecord {
            container_id: id.to_string(),
            image_name: image.name.clone(),
            image_tag: image.tag.clone(),
            config_digest: image.config_digest.clone(),
            rootfs: l.rootfs.display().to_string(),
            disk_limit_mb,
            layers: image.layers.iter().map(|l| l.digest.clone()).collect(),
            created_at: db::now(),
        },
    )?;
    Ok(())
}

/// A `mb` MB ext4 on a loop device mounted at `rw/`; returns `rw/`.
fn limited_rw(l: &Layout, mb: u64, undo: &mut UndoStack) -> Result<PathBuf, SnapshotError> {
    let image = l.dir.join("disk.img");
    loopdev::make_ext4_image(&image, mb)?;
    fs::create_dir(&l.rw).map_err(io_err("create", &l.rw))?;
    let dev = loopdev::attach(&image)?;
    mount::mount_ext4(&dev.path, &l.rw).map_err(io_err("mount loop device on", &l.rw))?;
    drop(dev);
    let rw = l.rw.clone();
    undo.push(move || {
        mount::unmount(&rw)
            .map(|_| ())
            .map_err(|e| format!("unmount `{}`: {e}", rw.display()))
    });
    Ok(l.rw.clone())
}

/// Unmounts and deletes a container's snapshot and its record.
pub fn remove(store: &Store, db: &Db, container_id: &str) -> Result<(), SnapshotError> {
    validate_id(container_id)?;
    let _lock = store.lock(false)?;
    let l = layout(store, container_id);
    let record = records::get(db.conn(), container_id)?;
    if record.is_none() && !l.dir.exists() {
        return Err(SnapshotError::NotFound(container_id.to_string()));
    }
    teardown(&l)?;
    records::delete(db.conn(), container_id)?;
    Ok(())
}

fn teardown(l: &Layout) -> Result<(), SnapshotError> {
    mount::unmount(&l.rootfs).map_err(io_err("unmount", &l.rootfs))?;
    if l.rw.exists() {
        mount::unmount(&l.rw).map_err(io_err("unmount", &l.rw))?;
    }
    remove_tree(&l.dir)?;
    Ok(())
}

/// Removes snapshot directories that have no record (leftovers of crashes);
/// returns the container ids removed.
pub fn prune_orphans(store: &Store, db: &Db) -> Result<Vec<String>, SnapshotError> {
    let known: Vec<String> = records::list(db.conn())?
        .into_iter()
        .map(|r| r.container_id)
        .collect();
    let dir = store.overlays_dir();
    let mut removed = Vec::new();
    for entry in fs::read_dir(&dir).map_err(io_err("list", &dir))? {
        let entry = entry.map_err(io_err("list", &dir))?;
        let id = entry.file_name().to_string_lossy().to_string();
        if known.contains(&id) || validate_id(&id).is_err() {
            continue;
        }
        teardown(&layout(store, &id))?;
        removed.push(id);
    }
    Ok(removed)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn container_ids() {
        assert!(validate_id("abc-123").is_ok());
        for bad in ["", "../x", "a/b", "a b", &"a".repeat(65)] {
            assert!(
                matches!(validate_id(bad), Err(SnapshotError::InvalidId(_))),
                "{bad}"
            );
        }
    }

    #[test]
    fn prepare_refuses_missing_layers_and_small_limits() {
        let dir = tempfile::tempdir().unwrap();
        let store = Store::open(dir.path()).unwrap();
        let db = Db::open_in_memory().unwrap();
        let image = ImageRecord {
            name: "x".into(),
            tag: "t".into(),
            digest: String::new(),
            manifest_digest: String::new(),
            config_digest: "sha256:cc".into(),
            config: serde_json::Value::Null,
            size: 0,
            layers: vec![crate::db::images::LayerRecord {
                digest: format!("sha256:{}", "1".repeat(64)),
                diff_id: String::new(),
                size: 0,
                media_type: String::new(),
            }],
            created_at: 0,
        };
        let err = prepare(&store, &db, "c1", &image, None).unwrap_err();
        assert!(matches!(err, SnapshotError::MissingLayer(_)), "{err}");
        let err = prepare(&store, &db, "c1", &image, Some(1)).unwrap_err();
        assert!(matches!(err, SnapshotError::DiskLimit(1)), "{err}");
        assert!(!store.overlays_dir().join("c1").exists());
        assert!(matches!(
            remove(&store, &db, "c1"),
            Err(SnapshotError::NotFound(_))
        ));
    }
}
