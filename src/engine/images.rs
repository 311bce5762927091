//! Image management verbs: list, inspect, remove (`rmi`) and `prune`.

use std::collections::HashSet;

use serde::Serialize;

use crate::db::images::{self, ImageRecord};
use crate::db::snapshots as snapshot_records;
use crate::db::{Db, DbError};
use crate::digest::{self, Digest};
use crate::image::reference::{self, ReferenceError, ReferenceExt};
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
    /// A bad `--filter` (or `filters` query) value.
    #[error(transparent)]
    Filter(#[from] crate::options::OptionsError),
    /// A tag target names a digest.
    #[error("invalid target image `{0}`: a tag names `NAME[:TAG]`, not a digest")]
    TagDigest(String),
}

/// All image records.
pub fn list(db: &Db) -> Result<Vec<ImageRecord>, ImagesError> {
    Ok(images::list(db.conn())?)
}

/// The record `input` names (`name[:tag]`, `name@digest`, or a config digest).
pub fn find(db: &Db, input: &str, default_registry: &str) -> Result<ImageRecord, ImagesError> {
    if let Ok(d) = digest::parse(input) {
        let d = d.to_string();
        let all = images::list(db.conn())?;
        return all
            .into_iter()
            .find(|r| r.config_digest == d || r.digest == d || r.manifest_digest == d)
            .ok_or_else(|| ImagesError::NotFound(input.to_string()));
    }
    let r = match reference::parse(input, default_registry) {
        Ok(r) => Some(r),
        Err(_) if is_id_prefix(input) => None,
        Err(e) => return Err(e.into()),
    };
    let found = match r.as_ref().map(|r| (r, r.digest(), r.tag())) {
        Some((r, Some(d), _)) => images::find_by_digest(db.conn(), &r.name(), d)?,
        Some((r, None, Some(t))) => images::get(db.conn(), &r.name(), t)?,
        _ => None,
    };
    if let Some(rec) = found {
        return Ok(rec);
    }
    // an image id as `images` shows it (a prefix of the config digest)
    if is_id_prefix(input) {
        let hex = |r: &ImageRecord| r.config_digest.strip_prefix("sha256:").map(str::to_string);
        let all: Vec<ImageRecord> = images::list(db.conn())?
            .into_iter()
            .filter(|r| hex(r).is_some_and(|h| h.starts_with(input)))
            .collect();
        let ids: HashSet<&str> = all.iter().map(|r| r.config_digest.as_str()).collect();
        if ids.len() == 1 {
            return Ok(all[0].clone());
        }
    }
    Err(ImagesError::NotFound(input.to_string()))
}

/// Whether `s` can be an image id (a prefix of a config digest's hex).
fn is_id_prefix(s: &str) -> bool {
    (4..=64).contains(&s.len())
        && s.bytes()
            .all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b))
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
    // as docker: a name of an image in use goes only while the image keeps
    // another name and no container was made from this one
    let other_names = images::list(db.conn())?
        .iter()
        .any(|r| r.config_digest == rec.config_digest && (r.name != rec.name || r.tag != rec.tag));
    let snapshots: Vec<_> = snapshot_records::list(db.conn())?
        .into_iter()
        .filter(|s| s.config_digest == rec.config_digest)
        .collect();
    let by_this_name = snapshots
        .iter()
        .any(|s| s.image_name == rec.name && s.image_tag == rec.tag);
    let users: Vec<String> = snapshots.into_iter().map(|s| s.container_id).collect();
    if !users.is_empty() && (!other_names || by_this_name) {
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

/// Records `target` (`NAME[:TAG]`) as another name of the image `source`
/// names; an existing `target` is moved. The new record.
pub fn tag(
    db: &Db,
    source: &str,
    target: &str,
    default_registry: &str,
) -> Result<ImageRecord, ImagesError> {
    let rec = find(db, source, default_registry)?;
    let t = reference::parse(target, default_registry)?;
    if t.digest().is_some() {
        return Err(ImagesError::TagDigest(target.to_string()));
    }
    let tagged = ImageRecord {
        name: t.name(),
        tag: t.record_tag(),
        // the old reference digest belongs to the old name's manifest (or
        // index): under the new name the platform manifest is what exists
        digest: rec.manifest_digest.clone(),
        created_at: crate::db::now(),
        ..rec
    };
    images::put(db.conn(), &tagged)?;
    Ok(tagged)
}

/// Which images `prune_images` removes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ImagePrune {
    /// Untagged images (docker's and podman's dangling images).
    Dangling,
    /// Every image no container uses.
    Unused,
}

/// What `prune_images` removed.
#[derive(Debug, Default, Serialize)]
pub struct PrunedImages {
    /// The references of the records removed.
    pub untagged: Vec<String>,
    /// Blobs deleted.
    pub blobs: usize,
    /// Layer snapshots deleted.
    pub layers: usize,
    /// Bytes of the blobs deleted.
    pub reclaimed: u64,
}

/// Removes the image records `which` selects (never one a container uses)
/// and the blobs and layers only they used.
pub fn prune_images(
    store: &Store,
    db: &Db,
    which: ImagePrune,
) -> Result<PrunedImages, ImagesError> {
    let _lock = store.lock(true)?;
    let mut out = PrunedImages::default();
    for rec in images::list(db.conn())? {
        let selected = match which {
            ImagePrune::Dangling => rec.tag.is_empty(),
            ImagePrune::Unused => true,
        };
        if !selected || !snapshot_records::users_of(db.conn(), &rec.config_digest)?.is_empty() {
            continue;
        }
        images::delete(db.conn(), &rec.name, &rec.tag)?;
        let before = blob_bytes(store)?;
        let (blobs, layers) = collect_garbage(store, db, Some(&rec))?;
        out.reclaimed += before.saturating_sub(blob_bytes(store)?);
        out.blobs += blobs;
        out.layers += layers;
        out.untagged.push(rec.reference());
    }
    Ok(out)
}

/// Bytes of all stored blobs.
fn blob_bytes(store: &Store) -> Result<u64, ImagesError> {
    Ok(store
        .list_blobs()?
        .iter()
        .filter_map(|d| std::fs::metadata(store.blob_path(d)).ok())
        .map(|m| m.len())
        .sum())
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
            let parsed: Vec<Digest> = all.iter().filter_map(|d| digest::parse(d).ok()).collect();
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::db::images::tests::sample;
    use crate::db::snapshots::SnapshotRecord;

    fn setup() -> (tempfile::TempDir, Store, Db) {
        let d = tempfile::tempdir().unwrap();
        let store = Store::open(d.path()).unwrap();
        let db = Db::open_in_memory().unwrap();
        images::upsert(db.conn(), &sample("v1")).unwrap();
        (d, store, db)
    }

    fn used_by(db: &Db, container: &str) {
        snapshot_records::insert(
            db.conn(),
            &SnapshotRecord {
                container_id: container.into(),
                image_name: "127.0.0.1:5000/x".into(),
                image_tag: "v1".into(),
                config_digest: "sha256:cc".into(),
                rootfs: "/r".into(),
                disk_limit_mb: None,
                layers: vec![],
                created_at: 1,
            },
        )
        .unwrap();
    }

    #[test]
    fn tag_adds_a_name_by_reference_or_id_and_refuses_digests() {
        let (_d, _store, db) = setup();
        let t = tag(&db, "127.0.0.1:5000/x:v1", "other/name", "127.0.0.1:5000").unwrap();
        assert_eq!(
            (t.name.as_str(), t.tag.as_str()),
            ("127.0.0.1:5000/other/name", "latest")
        );
        assert_eq!(t.config_digest, "sha256:cc");
        assert_eq!(t.digest, t.manifest_digest);
        // by image id (the config digest's hex; `cc` is too short an id)
        let mut rec = sample("v9");
        rec.name = "127.0.0.1:5000/y".into();
        rec.config_digest = format!("sha256:{}", "ab".repeat(32));
        images::upsert(db.conn(), &rec).unwrap();
        let t = tag(&db, "abababababab", "127.0.0.1:5000/z:1", "docker.io").unwrap();
        assert_eq!(t.config_digest, rec.config_digest);
        assert!(matches!(
            tag(
                &db,
                "127.0.0.1:5000/x:v1",
                &format!("a@sha256:{}", "0".repeat(64)),
                "docker.io"
            ),
            Err(ImagesError::TagDigest(_))
        ));
        assert!(matches!(
            tag(&db, "nope:v1", "a:b", "docker.io"),
            Err(ImagesError::NotFound(_))
        ));
    }

    #[test]
    fn rmi_of_one_name_of_an_image_in_use_untags_it() {
        let (_d, store, db) = setup();
        tag(
            &db,
            "127.0.0.1:5000/x:v1",
            "127.0.0.1:5000/x:v2",
            "docker.io",
        )
        .unwrap();
        used_by(&db, "c1");
        // the name the container was made from stays while it exists
        assert!(matches!(
            remove(&store, &db, "127.0.0.1:5000/x:v1", "docker.io"),
            Err(ImagesError::InUse { .. })
        ));
        remove(&store, &db, "127.0.0.1:5000/x:v2", "docker.io").unwrap();
        // and the last name of an image in use stays
        assert!(matches!(
            remove(&store, &db, "127.0.0.1:5000/x:v1", "docker.io"),
            Err(ImagesError::InUse { .. })
        ));
    }

    #[test]
    fn prune_takes_untagged_images_then_all_unused_ones() {
        let (_d, store, db) = setup();
        let mut dangling = sample("");
        dangling.name = "127.0.0.1:5000/d".into();
        dangling.config_digest = "sha256:ee".into();
        images::upsert(db.conn(), &dangling).unwrap();
        let p = prune_images(&store, &db, ImagePrune::Dangling).unwrap();
        assert_eq!(p.untagged, vec!["127.0.0.1:5000/d@sha256:aa"]);
        assert_eq!(list(&db).unwrap().len(), 1);
        used_by(&db, "c1");
        let p = prune_images(&store, &db, ImagePrune::Unused).unwrap();
        assert!(p.untagged.is_empty(), "an image in use is kept");
        snapshot_records::delete(db.conn(), "c1").unwrap();
        let p = prune_images(&store, &db, ImagePrune::Unused).unwrap();
        assert_eq!(p.untagged, vec!["127.0.0.1:5000/x:v1"]);
        assert!(list(&db).unwrap().is_empty());
    }
}
