//! Image management verbs: list, inspect, remove (`rmi`) and `prune`.

use std::collections::HashSet;

use serde::Serialize;

use crate::db::images::{self, ImageRecord};
use crate::db::snapshots as snapshot_records;
use crate::db::{Db, DbError};
use crate::image::digest::Digest;
use crate::image::reference::{Reference, ReferenceError};
use crate::store::content::{ContentError, Store};
use crate::store::snapshots::{self, SnapshotError};

/// An image verb that failed.
#[derive(Debug, thiserror::Error)]
pub enum ImagesError {
    /// The reference is malformed.
    #[error(transparent)]
    Reference(#[from] ReferenceError),
    /// No such image.
    #[error("image `{0}` not found")]
    NotFound(String),
    /// The image backs container snapshots.
    #[error("image `{image}` is in use by container snapshot(s) `{}`: remove them first", containers.join("`, `"))]
    InUse {
        /// The image.
        image: String,
        /// The containers using it.
        containers: Vec<String>,
    },
    /// The database failed.
    #[error(transparent)]
    Db(#[from] DbError),
    /// The store failed.
    #[error(transparent)]
    Content(#[from] ContentError),
    /// Removing an orphaned snapshot failed.
    #[error(transparent)]
    Snapshot(#[from] Box<SnapshotError>),
}

/// All image records.
pub fn list(db: &Db) -> Result<Vec<ImageRecord>, ImagesError> {
    Ok(images::list(db.conn())?)
}

/// The record `input` names (`name[:tag]`, `name@digest`, or a config digest).
pub fn find(db: &Db, input: &str, default_registry: &str) -> Result<ImageRecord, ImagesError> {
    if let Ok(d) = input.parse::<Digest>() {
        let d = d.to_string();
        let all = images::list(db.conn())?;
        return all
            .into_iter()
            .find(|r| r.config_digest == d || r.digest == d || r.manifest_digest == d)
            .ok_or_else(|| ImagesError::NotFound(input.to_string()));
    }
    let r = Reference::parse(input, default_registry)?;
    let found = match (&r.digest, &r.tag) {
        (Some(d), _) => images::find_by_digest(db.conn(), &r.name(), &d.to_string())?,
        (None, Some(t)) => images::get(db.conn(), &r.name(), t)?,
        (None, None) => None,
    };
    found.ok_or_else(|| ImagesError::NotFound(input.to_string()))
}

/// What `rmi` removed.
#[derive(Debug, Serialize)]
pub struct Removed {
    /// The record removed.
    pub untagged: String,
    /// Blobs deleted (no longer referenced).
    pub blobs: usize,
    /// Layer snapshots deleted.
    pub layers: usize,
}

/// Removes an image record and the blobs and layers only it used; refuses
/// while a container snapshot uses the image.
pub fn remove(
    store: &Store,
    db: &Db,
    input: &str,
    default_registry: &str,
) -> Result<Removed, ImagesError> {
    let _lock = store.lock(true)?;
    let rec = find(db, input, default_registry)?;
    let users = snapshot_records::users_of(db.conn(), &rec.config_digest)?;
    if !users.is_empty() {
        return Err(ImagesError::InUse {
            image: rec.reference(),
            containers: users,
        });
    }
    images::delete(db.conn(), &rec.name, &rec.tag)?;
    let (blobs, layers) = collect_garbage(store, db, Some(&rec))?;
    Ok(Removed {
        untagged: rec.reference(),
        blobs,
        layers,
    })
}

/// What `prune` removed.
#[derive(Debug, Default, Serialize)]
pub struct Pruned {
    /// Unreferenced blobs deleted.
    pub blobs: usize,
    /// Unreferenced layer snapshots deleted.
    pub layers: usize,
    /// Container snapshot directories without a record.
    pub snapshots: Vec<String>,
    /// Leftover tmp entries.
    pub tmp: usize,
}

/// Removes unreferenced blobs, layer snapshots, orphaned container
/// snapshots and tmp leftovers.
pub fn prune(store: &Store, db: &Db) -> Result<Pruned, ImagesError> {
    let _lock = store.lock(true)?;
    let snapshots = snapshots::prune_orphans(store, db).map_err(Box::new)?;
    let (blobs, layers) = collect_garbage(store, db, None)?;
    let tmp = store.clean_tmp()?;
    Ok(Pruned {
        blobs,
        layers,
        snapshots,
        tmp,
    })
}

/// Digests any image record or container snapshot still references.
fn referenced(db: &Db) -> Result<HashSet<String>, ImagesError> {
    let mut set = HashSet::new();
    for r in images::list(db.conn())? {
        set.extend([r.digest, r.manifest_digest, r.config_digest]);
        set.extend(r.layers.into_iter().map(|l| l.digest));
    }
    for s in snapshot_records::list(db.conn())? {
        set.extend(s.layers);
    }
    Ok(set)
}

/// Deletes unreferenced blobs and layers: of `only` if given, else all.
fn collect_garbage(
    store: &Store,
    db: &Db,
    only: Option<&ImageRecord>,
) -> Result<(usize, usize), ImagesError> {
    let keep = referenced(db)?;
    let (blob_candidates, layer_candidates): (Vec<Digest>, Vec<Digest>) = match only {
        Some(rec) => {
            let mut all: Vec<String> = vec![
                rec.digest.clone(),
                rec.manifest_digest.clone(),
                rec.config_digest.clone(),
            ];
            all.extend(rec.layers.iter().map(|l| l.digest.clone()));
            let parsed: Vec<Digest> = all.iter().filter_map(|d| d.parse().ok()).collect();
            (parsed.clone(), parsed)
        }
        None => (store.list_blobs()?, store.list_layers()?),
    };
    let mut blobs = 0;
    for d in blob_candidates
        .iter()
        .filter(|d| !keep.contains(&d.to_string()))
    {
        if store.has_blob(d) {
            store.remove_blob(d)?;
            blobs += 1;
        }
    }
    let mut layers = 0;
    for d in layer_candidates
        .iter()
        .filter(|d| !keep.contains(&d.to_string()))
    {
        if store.has_layer(d) {
            store.remove_layer(d)?;
            layers += 1;
        }
    }
    Ok((blobs, layers))
}
