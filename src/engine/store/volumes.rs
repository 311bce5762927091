//! Named volumes: `volumes/<name>/_data` under the k3 root, created on first
//! use and kept after the containers using them are removed (`k3 volume rm`
//! deletes one no container uses).

use std::fs;
use std::io;
use std::path::{Path, PathBuf};

use crate::db::volumes::{self as records, VolumeRecord};
use crate::db::{self, Db, DbError};
use crate::store::content::Store;

/// A volume failure.
#[derive(Debug, thiserror::Error)]
pub enum VolumeError {
    /// A filesystem call failed.
    #[error("cannot {op} volume directory `{path}`")]
    Io {
        /// What was being done, e.g. `create`.
        op: &'static str,
        /// The path.
        path: PathBuf,
        /// The underlying error.
        #[source]
        source: io::Error,
    },
    /// The volume does not exist.
    #[error("volume `{0}` not found")]
    NotFound(String),
    /// The volume is mounted by containers.
    #[error("volume `{name}` is in use by container(s) `{}`", users.join("`, `"))]
    InUse {
        /// The volume's name.
        name: String,
        /// The containers using it.
        users: Vec<String>,
    },
    /// The record could not be read or written.
    #[error(transparent)]
    Db(#[from] DbError),
    /// The name is not a volume name.
    #[error("invalid volume name `{0}`: use `[A-Za-z0-9][A-Za-z0-9_.-]`, at most 64 characters")]
    InvalidName(String),
    /// `create` of a volume that exists.
    #[error("volume `{0}` already exists")]
    Exists(String),
    /// A new volume could not be filled from the image.
    #[error("cannot fill volume `{name}` from the image's `{path}`")]
    CopyUp {
        /// The volume's name.
        name: String,
        /// The directory in the image.
        path: String,
        /// What failed.
        #[source]
        source: Box<crate::store::copyup::CopyUpError>,
    },
}

/// The data directory of volume `name`.
pub fn data_dir(store: &Store, name: &str) -> PathBuf {
    store.root().join("volumes").join(name).join("_data")
}

/// Makes sure volume `name` exists; returns its data dir and whether it was
/// created now (so a failed create can remove it again).
pub fn ensure(store: &Store, db: &Db, name: &str) -> Result<(PathBuf, bool), VolumeError> {
    let dir = data_dir(store, name);
    if let Some(r) = records::get(db.conn(), name)? {
        if Path::new(&r.path).is_dir() {
            return Ok((PathBuf::from(r.path), false));
        }
    }
    fs::create_dir_all(&dir).map_err(|source| VolumeError::Io {
        op: "create",
        path: dir.clone(),
        source,
    })?;
    let rec = VolumeRecord {
        name: name.to_string(),
        path: dir.display().to_string(),
        created_at: db::now(),
    };
    let created = records::insert_if_missing(db.conn(), &rec)?;
    Ok((dir, created))
}

/// Creates volume `name` (`volume create`); refused when it exists.
pub fn create(store: &Store, db: &Db, name: &str) -> Result<VolumeRecord, VolumeError> {
    if !crate::options::name_ok(name) {
        return Err(VolumeError::InvalidName(name.to_string()));
    }
    if records::get(db.conn(), name)?.is_some() {
        return Err(VolumeError::Exists(name.to_string()));
    }
    let (_, created) = ensure(store, db, name)?;
    if !created {
        return Err(VolumeError::Exists(name.to_string()));
    }
    records::get(db.conn(), name)?.ok_or_else(|| VolumeError::NotFound(name.to_string()))
}

/// A volume as `volume inspect` shows it (docker's field names).
#[derive(Debug, serde::Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct VolumeView {
    /// The volume's name.
    pub name: String,
    /// Always `local`.
    pub driver: &'static str,
    /// The data directory on the host.
    pub mountpoint: String,
    /// RFC 3339, UTC.
    pub created_at: String,
    /// Always `local`.
    pub scope: &'static str,
    /// No labels yet: `{}`.
    pub labels: serde_json::Map<String, serde_json::Value>,
    /// No driver options: `{}`.
    pub options: serde_json::Map<String, serde_json::Value>,
    /// The containers that mount it (k3's addition).
    pub used_by: Vec<String>,
}

/// The volume `name` as `volume inspect` shows it.
pub fn inspect(db: &Db, name: &str) -> Result<VolumeView, VolumeError> {
    let r =
        records::get(db.conn(), name)?.ok_or_else(|| VolumeError::NotFound(name.to_string()))?;
    Ok(VolumeView {
        used_by: records::users(db.conn(), name)?,
        name: r.name,
        driver: "local",
        mountpoint: r.path,
        created_at: k3_oci::time::format_rfc3339(r.created_at, 0),
        scope: "local",
        labels: serde_json::Map::new(),
        options: serde_json::Map::new(),
    })
}

/// Removes every volume no container mounts (podman's `volume prune`);
/// their names.
pub fn prune(store: &Store, db: &Db) -> Result<Vec<String>, VolumeError> {
    let mut removed = Vec::new();
    for r in records::list(db.conn())? {
        if records::users(db.conn(), &r.name)?.is_empty() {
            remove(store, db, &r.name)?;
            removed.push(r.name);
        }
    }
    Ok(removed)
}

/// Removes volume `name` (refused while a container mounts it).
pub fn remove(store: &Store, db: &Db, name: &str) -> Result<(), VolumeError> {
    if records::get(db.conn(), name)?.is_none() {
        return Err(VolumeError::NotFound(name.to_string()));
    }
    let users = records::users(db.conn(), name)?;
    if !users.is_empty() {
        return Err(VolumeError::InUse {
            name: name.to_string(),
            users,
        });
    }
    let dir = store.root().join("volumes").join(name);
    fs::remove_dir_all(&dir)
        .or_else(|e| {
            if e.kind() == io::ErrorKind::NotFound {
                Ok(())
            } else {
                Err(e)
            }
        })
        .map_err(|source| VolumeError::Io {
            op: "remove",
            path: dir,
            source,
        })?;
    records::delete(db.conn(), name)?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ensure_creates_once_and_remove_deletes() {
        let d = tempfile::tempdir().unwrap();
        let store = Store::open(d.path()).unwrap();
        let db = Db::open_in_memory().unwrap();
        let (p, created) = ensure(&store, &db, "data").unwrap();
        assert!(created && p.is_dir());
        fs::write(p.join("f"), "x").unwrap();
        let (p2, created) = ensure(&store, &db, "data").unwrap();
        assert!(!created);
        assert_eq!(p, p2);
        assert!(p.join("f").exists());
        assert!(matches!(
            create(&store, &db, "data"),
            Err(VolumeError::Exists(_))
        ));
        assert!(matches!(
            create(&store, &db, "../x"),
            Err(VolumeError::InvalidName(_))
        ));
        let v = inspect(&db, "data").unwrap();
        assert_eq!(
            (v.driver, v.mountpoint.as_str()),
            ("local", p.to_str().unwrap())
        );
        remove(&store, &db, "data").unwrap();
        assert!(!p.exists());
        assert!(matches!(
            remove(&store, &db, "data"),
            Err(VolumeError::NotFound(_))
        ));
    }

    #[test]
    fn prune_removes_only_unused_volumes() {
        let d = tempfile::tempdir().unwrap();
        let store = Store::open(d.path()).unwrap();
        let db = Db::open_in_memory().unwrap();
        create(&store, &db, "free").unwrap();
        create(&store, &db, "used").unwrap();
        db::containers::insert(db.conn(), &db::containers::tests::sample("c")).unwrap();
        records::attach(db.conn(), "c", "used", "/data", false).unwrap();
        assert_eq!(prune(&store, &db).unwrap(), vec!["free"]);
        assert!(records::get(db.conn(), "free").unwrap().is_none());
        assert!(data_dir(&store, "used").is_dir());
        assert!(!data_dir(&store, "free").exists());
    }
}
