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
        op: &'static str,
        path: PathBuf,
        #[source]
        source: io::Error,
    },
    /// The volume does not exist.
    #[error("volume `{0}` not found")]
    NotFound(String),
    /// The volume is mounted by containers.
    #[error("volume `{name}` is in use by container(s) `{}`", users.join("`, `"))]
    InUse { name: String, users: Vec<String> },
    /// The record could not be read or written.
    #[error(transparent)]
    Db(#[from] DbError),
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
        remove(&store, &db, "data").unwrap();
        assert!(!p.exists());
        assert!(matches!(
            remove(&store, &db, "data"),
            Err(VolumeError::NotFound(_))
        ));
    }
}
