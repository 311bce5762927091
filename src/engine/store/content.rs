//! Content-addressed blobs and unpacked layer directories. Everything is
//! written under `tmp/` first and renamed into place only once complete and
//! verified, so a present path is always whole.

use std::fs::{self, File};
use std::io::{self, Write};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};

use crate::image::digest::{Algorithm, Digest, DigestError};

/// The default k3 root.
pub const DEFAULT_ROOT: &str = "/var/lib/k3";

/// A store failure.
#[derive(Debug, thiserror::Error)]
pub enum ContentError {
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
    /// A stored blob does not match its name.
    #[error("stored blob `{path}` is corrupt")]
    Corrupt {
        /// The blob file.
        path: PathBuf,
        /// The mismatch.
        #[source]
        source: DigestError,
    },
}

fn io_err<'a>(op: &'static str, path: &'a Path) -> impl FnOnce(io::Error) -> ContentError + 'a {
    move |source| ContentError::Io {
        op,
        path: path.to_path_buf(),
        source,
    }
}

static COUNTER: AtomicU64 = AtomicU64::new(0);

/// The k3 root and its layout.
#[derive(Debug, Clone)]
pub struct Store {
    root: PathBuf,
}

impl Store {
    /// Opens the store at `root`, creating its directories.
    pub fn open(root: &Path) -> Result<Store, ContentError> {
        let store = Store {
            root: root.to_path_buf(),
        };
        for alg in [Algorithm::Sha256, Algorithm::Sha512] {
            for kind in ["blobs", "snapshots"] {
                let dir = root.join(kind).join(alg.name());
                fs::create_dir_all(&dir).map_err(io_err("create", &dir))?;
            }
        }
        for dir in [store.tmp_dir(), store.overlays_dir()] {
            fs::create_dir_all(&dir).map_err(io_err("create", &dir))?;
        }
        Ok(store)
    }

    /// The root directory.
    pub fn root(&self) -> &Path {
        &self.root
    }

    /// The SQLite database file.
    pub fn db_path(&self) -> PathBuf {
        self.root.join("k3.db")
    }

    /// Where work files live before being renamed into place.
    pub fn tmp_dir(&self) -> PathBuf {
        self.root.join("tmp")
    }

    /// Where container snapshots live.
    pub fn overlays_dir(&self) -> PathBuf {
        self.root.join("overlays")
    }

    /// The path of a blob.
    pub fn blob_path(&self, d: &Digest) -> PathBuf {
        self.root
            .join("blobs")
            .join(d.algorithm().name())
            .join(d.hex())
    }

    /// The directory of a layer's unpacked snapshot.
    pub fn layer_path(&self, d: &Digest) -> PathBuf {
        self.root
            .join("snapshots")
            .join(d.algorithm().name())
            .join(d.hex())
    }

    /// Whether a blob is present.
    pub fn has_blob(&self, d: &Digest) -> bool {
        self.blob_path(d).is_file()
    }

    /// Whether a layer snapshot is present.
    pub fn has_layer(&self, d: &Digest) -> bool {
        self.layer_path(d).is_dir()
    }

    /// A unique path under `tmp/` with `prefix`.
    pub fn tmp_path(&self, prefix: &str) -> PathBuf {
        let n = COUNTER.fetch_add(1, Ordering::Relaxed);
        let nanos = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0, |d| d.subsec_nanos());
        self.tmp_dir()
            .join(format!("{prefix}-{}-{n}-{nanos}", std::process::id()))
    }

    /// Writes a verified blob (tmp + rename); whether it was new.
    pub fn write_blob(&self, d: &Digest, data: &[u8]) -> Result<bool, ContentError> {
        let dest = self.blob_path(d);
        if dest.is_file() {
            return Ok(false);
        }
        d.verify(data).map_err(|source| ContentError::Corrupt {
            path: dest.clone(),
            source,
        })?;
        let tmp = self.tmp_path("blob");
        let mut f = File::create(&tmp).map_err(io_err("create", &tmp))?;
        f.write_all(data).map_err(io_err("write", &tmp))?;
        drop(f);
        self.commit_blob(&tmp, d)
    }

    /// Renames a complete, verified tmp file into place; whether it was new.
    pub fn commit_blob(&self, tmp: &Path, d: &Digest) -> Result<bool, ContentError> {
        let dest = self.blob_path(d);
        if dest.is_file() {
            let _ = fs::remove_file(tmp);
            return Ok(false);
        }
        fs::rename(tmp, &dest).map_err(io_err("rename into place", &dest))?;
        Ok(true)
    }

    /// Reads a blob and checks it against its digest.
    pub fn read_blob(&self, d: &Digest) -> Result<Vec<u8>, ContentError> {
        let path = self.blob_path(d);
        let data = fs::read(&path).map_err(io_err("read", &path))?;
        d.verify(&data)
            .map_err(|source| ContentError::Corrupt { path, source })?;
        Ok(data)
    }

    /// Renames a complete tmp layer directory into place; whether it was new
    /// (a concurrent pull may have won the race).
    pub fn commit_layer(&self, tmp: &Path, d: &Digest) -> Result<bool, ContentError> {
        let dest = self.layer_path(d);
        match fs::rename(tmp, &dest) {
            Ok(()) => Ok(true),
            Err(e)
                if dest.is_dir()
                    && matches!(e.raw_os_error(), Some(libc::ENOTEMPTY) | Some(libc::EEXIST)) =>
            {
                remove_tree(tmp)?;
                Ok(false)
            }
            Err(e) => Err(io_err("rename into place", &dest)(e)),
        }
    }

    /// Removes a blob (absent is fine).
    pub fn remove_blob(&self, d: &Digest) -> Result<(), ContentError> {
        let p = self.blob_path(d);
        match fs::remove_file(&p) {
            Err(e) if e.kind() != io::ErrorKind::NotFound => Err(io_err("remove", &p)(e)),
            _ => Ok(()),
        }
    }

    /// Removes a layer snapshot (absent is fine).
    pub fn remove_layer(&self, d: &Digest) -> Result<(), ContentError> {
        remove_tree(&self.layer_path(d))
    }

    /// Every stored blob digest.
    pub fn list_blobs(&self) -> Result<Vec<Digest>, ContentError> {
        self.list_digests("blobs")
    }

    /// Every stored layer snapshot digest.
    pub fn list_layers(&self) -> Result<Vec<Digest>, ContentError> {
        self.list_digests("snapshots")
    }

    fn list_digests(&self, kind: &str) -> Result<Vec<Digest>, ContentError> {
        let mut out = Vec::new();
        for alg in [Algorithm::Sha256, Algorithm::Sha512] {
            let dir = self.root.join(kind).join(alg.name());
            for entry in fs::read_dir(&dir).map_err(io_err("list", &dir))? {
                let entry = entry.map_err(io_err("list", &dir))?;
                let name = format!("{}:{}", alg.name(), entry.file_name().to_string_lossy());
                if let Ok(d) = name.parse() {
                    out.push(d);
                }
            }
        }
        Ok(out)
    }

    /// Empties `tmp/` (leftovers of interrupted work).
    pub fn clean_tmp(&self) -> Result<usize, ContentError> {
        let dir = self.tmp_dir();
        let mut n = 0;
        for entry in fs::read_dir(&dir).map_err(io_err("list", &dir))? {
            let entry = entry.map_err(io_err("list", &dir))?;
            remove_tree(&entry.path())?;
            n += 1;
        }
        Ok(n)
    }
}

/// A held store lock, released on drop.
pub struct StoreLock(#[allow(dead_code)] File);

impl Store {
    /// Takes the store lock: shared for pulls and snapshot work, exclusive
    /// for garbage collection (`rmi`, `prune`), so a collection never
    /// removes what a pull in progress has not recorded yet.
    pub fn lock(&self, exclusive: bool) -> Result<StoreLock, ContentError> {
        let path = self.root.join("lock");
        let file = File::options()
            .create(true)
            .truncate(false)
            .write(true)
            .open(&path)
            .map_err(io_err("open", &path))?;
        let op = if exclusive {
            libc::LOCK_EX
        } else {
            libc::LOCK_SH
        };
        // SAFETY: a valid open fd; flock blocks until the lock is granted.
        if unsafe { libc::flock(std::os::fd::AsRawFd::as_raw_fd(&file), op) } < 0 {
            return Err(io_err("lock", &path)(io::Error::last_os_error()));
        }
        Ok(StoreLock(file))
    }
}

/// Removes a file or directory tree without following symlinks (absent is fine).
pub fn remove_tree(path: &Path) -> Result<(), ContentError> {
    let meta = match fs::symlink_metadata(path) {
        Ok(m) => m,
        Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(()),
        Err(e) => return Err(io_err("stat", path)(e)),
    };
    let result = if meta.is_dir() {
        fs::remove_dir_all(path)
    } else {
        fs::remove_file(path)
    };
    result.map_err(io_err("remove", path))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn blobs_are_verified_and_content_addressed() {
        let dir = tempfile::tempdir().unwrap();
        let store = Store::open(dir.path()).unwrap();
        let d = Digest::of(Algorithm::Sha256, b"hello");
        assert!(store.write_blob(&d, b"hello").unwrap());
        assert!(!store.write_blob(&d, b"hello").unwrap());
        assert_eq!(store.read_blob(&d).unwrap(), b"hello");
        let other = Digest::of(Algorithm::Sha256, b"other");
        assert!(matches!(
            store.write_blob(&other, b"hello"),
            Err(ContentError::Corrupt { .. })
        ));
        assert!(!store.has_blob(&other));
        assert_eq!(store.list_blobs().unwrap(), vec![d.clone()]);
        assert_eq!(fs::read_dir(store.tmp_dir()).unwrap().count(), 0);
        std::fs::write(store.blob_path(&d), b"tampered").unwrap();
        assert!(matches!(
            store.read_blob(&d),
            Err(ContentError::Corrupt { .. })
        ));
    }

    #[test]
    fn layer_commit_tolerates_a_race() {
        let dir = tempfile::tempdir().unwrap();
        let store = Store::open(dir.path()).unwrap();
        let d = Digest::of(Algorithm::Sha256, b"layer");
        for _ in 0..2 {
            let tmp = store.tmp_path("layer");
            fs::create_dir(&tmp).unwrap();
            fs::write(tmp.join("f"), b"x").unwrap();
            store.commit_layer(&tmp, &d).unwrap();
            assert!(!tmp.exists());
        }
        assert!(store.has_layer(&d));
        store.remove_layer(&d).unwrap();
        assert!(!store.has_layer(&d));
    }
}
