//! Creates in progress, as other k3 processes (and threads) see them:
//! `ROOT/creating/<name>`, a file held with `flock` for as long as the create
//! runs and unlinked when it ends. A crashed create's lock goes with its
//! process, so a reconciler can tell a create in progress from the leftovers
//! of a crashed one, whatever step either had reached.
//!
//! Two kinds: `id-<id>` reserves a container id for the whole create (a
//! second create of the same id waits, then finds the record at step 2), and
//! `<hash>` marks the namespace, veth and lease of that hash as in use before
//! any of them exists (see `network::reconcile`).

use std::fs::{self, File};
use std::io;
use std::os::fd::AsRawFd;
use std::os::unix::fs::MetadataExt;
use std::path::{Path, PathBuf};

/// A held marker; dropping it removes the file, then releases the lock.
#[derive(Debug)]
pub struct Marker {
    path: PathBuf,
    file: File,
}

fn dir(root: &Path) -> PathBuf {
    root.join("creating")
}

fn flock(f: &File, op: libc::c_int) -> io::Result<()> {
    loop {
        // SAFETY: a valid fd owned by `f`.
        if unsafe { libc::flock(f.as_raw_fd(), op) } == 0 {
            return Ok(());
        }
        let e = io::Error::last_os_error();
        if e.kind() != io::ErrorKind::Interrupted {
            return Err(e);
        }
    }
}

/// Whether `f` is still the file at `path` (a holder unlinks its marker
/// before it lets go of the lock; whoever got the lock of an unlinked file
/// must take the new one).
fn is_at(f: &File, path: &Path) -> bool {
    match (f.metadata(), fs::metadata(path)) {
        (Ok(a), Ok(b)) => a.dev() == b.dev() && a.ino() == b.ino(),
        _ => false,
    }
}

impl Marker {
    /// Takes marker `name`, waiting while another create holds it.
    pub fn take(root: &Path, name: &str) -> io::Result<Marker> {
        let d = dir(root);
        fs::create_dir_all(&d)?;
        let path = d.join(name);
        loop {
            let file = File::options()
                .create(true)
                .truncate(false)
                .write(true)
                .open(&path)?;
            flock(&file, libc::LOCK_EX)?;
            if is_at(&file, &path) {
                return Ok(Marker { path, file });
            }
        }
    }
}

/// The marker name of container id `id` (hash markers are bare hex).
pub fn id_name(id: &str) -> String {
    format!("id-{id}")
}

impl Drop for Marker {
    fn drop(&mut self) {
        // Unlinked while still locked; the lock goes when `file` closes.
        if is_at(&self.file, &self.path) {
            let _ = fs::remove_file(&self.path);
        }
    }
}

/// Whether a create whose hash starts with `hash_prefix` is in progress (a
/// live holder). A marker nobody holds is a crashed create's and is removed.
pub fn in_progress(root: &Path, hash_prefix: &str) -> bool {
    let Ok(entries) = fs::read_dir(dir(root)) else {
        return false;
    };
    let mut held = false;
    for e in entries.flatten() {
        if !e.file_name().to_string_lossy().starts_with(hash_prefix) {
            continue;
        }
        let path = e.path();
        let Ok(f) = File::open(&path) else {
            continue; // gone: its create ended
        };
        match flock(&f, libc::LOCK_EX | libc::LOCK_NB) {
            Err(e) if e.raw_os_error() == Some(libc::EWOULDBLOCK) => held = true,
            Ok(()) if is_at(&f, &path) => {
                let _ = fs::remove_file(&path);
            }
            _ => {}
        }
    }
    held
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn held_while_alive_gone_after() {
        let d = tempfile::tempdir().unwrap();
        let root = d.path();
        assert!(!in_progress(root, "0123456789ab"));
        let m = Marker::take(root, "0123456789abcdef").unwrap();
        assert!(in_progress(root, "0123456789ab"));
        assert!(in_progress(root, "0123456789abcdef"));
        assert!(!in_progress(root, "fedcba987654"));
        drop(m);
        assert!(!in_progress(root, "0123456789ab"));
        assert!(!root.join("creating/0123456789abcdef").exists());
    }

    #[test]
    fn a_stale_marker_is_not_in_progress_and_is_removed() {
        let d = tempfile::tempdir().unwrap();
        let root = d.path();
        fs::create_dir_all(root.join("creating")).unwrap();
        fs::write(root.join("creating/aaaaaaaaaaaa0000"), "").unwrap();
        assert!(!in_progress(root, "aaaaaaaaaaaa"));
        assert!(!root.join("creating/aaaaaaaaaaaa0000").exists());
    }

    #[test]
    fn same_id_waits_for_the_holder() {
        let d = tempfile::tempdir().unwrap();
        let root = d.path().to_path_buf();
        let first = Marker::take(&root, &id_name("web")).unwrap();
        let (tx, rx) = std::sync::mpsc::channel();
        let r = root.clone();
        let t = std::thread::spawn(move || {
            let m = Marker::take(&r, &id_name("web")).unwrap();
            tx.send(()).unwrap();
            drop(m);
        });
        assert!(rx
            .recv_timeout(std::time::Duration::from_millis(200))
            .is_err());
        drop(first);
        rx.recv_timeout(std::time::Duration::from_secs(5)).unwrap();
        t.join().unwrap();
        assert!(!root.join("creating/id-web").exists());
    }
}
