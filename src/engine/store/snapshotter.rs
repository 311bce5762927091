//! [`Snapshotter`]: a container's root filesystem, the seam between the
//! engine's create and the kernel's mounts. [`Overlay`] (overlayfs over the
//! image's layer snapshots, see `snapshots`) is the real one;
//! `fake::FakeSnapshotter` records the calls.

use std::path::PathBuf;

use crate::db::images::ImageRecord;
use crate::db::Db;
use crate::store::content::Store;
use crate::store::snapshots::{self, SnapshotError};

/// Makes and removes container snapshots.
pub trait Snapshotter: Send + Sync {
    /// The snapshot of container `id` from `image` (with a disk limit of
    /// `disk_limit_mb` MB when given) and its record; returns the rootfs
    /// (`overlays/<id>/rootfs`).
    fn prepare(
        &self,
        store: &Store,
        db: &Db,
        id: &str,
        image: &ImageRecord,
        disk_limit_mb: Option<u64>,
    ) -> Result<PathBuf, SnapshotError>;

    /// Unmounts and deletes the snapshot of container `id` and its record.
    fn remove(&self, store: &Store, db: &Db, id: &str) -> Result<(), SnapshotError>;
}

/// Overlay snapshots (root: mounts).
#[derive(Debug, Clone, Copy, Default)]
pub struct Overlay;

impl Snapshotter for Overlay {
    fn prepare(
        &self,
        store: &Store,
        db: &Db,
        id: &str,
        image: &ImageRecord,
        disk_limit_mb: Option<u64>,
    ) -> Result<PathBuf, SnapshotError> {
        snapshots::prepare(store, db, id, image, disk_limit_mb)
    }

    fn remove(&self, store: &Store, db: &Db, id: &str) -> Result<(), SnapshotError> {
        snapshots::remove(store, db, id)
    }
}
