//! Named network namespaces (like `ip netns add`): a new namespace made on
//! a short-lived thread and kept alive by a bind mount of its nsfs file on
//! `ROOT/netns/<hash>`; removing it is a lazy unmount plus unlink.

use std::fs::{self, File};
use std::io;
use std::path::{Path, PathBuf};

use nix::mount::{mount, umount2, MntFlags, MsFlags};
use nix::sched::{unshare, CloneFlags};

/// The namespace file of container `hash` under the k3 root.
pub fn path(root: &Path, hash: &str) -> PathBuf {
    root.join("netns").join(hash)
}

/// Makes a new network namespace pinned at `target`.
pub fn create(target: &Path) -> io::Result<()> {
    if let Some(dir) = target.parent() {
        fs::create_dir_all(dir)?;
    }
    File::options().write(true).create_new(true).open(target)?;
    let t = target.to_path_buf();
    let made = std::thread::spawn(move || -> io::Result<()> {
        unshare(CloneFlags::CLONE_NEWNET).map_err(io::Error::from)?;
        // SAFETY: gettid has no preconditions.
        let tid = unsafe { libc::syscall(libc::SYS_gettid) };
        let src = format!("/proc/self/task/{tid}/ns/net");
        mount(
            Some(src.as_str()),
            &t,
            None::<&str>,
            MsFlags::MS_BIND,
            None::<&str>,
        )
        .map_err(io::Error::from)
    })
    .join()
    .map_err(|_| io::Error::other("netns thread panicked"))?;
    if let Err(e) = made {
        let _ = fs::remove_file(target);
        return Err(e);
    }
    Ok(())
}

/// Unpins and removes the namespace file (absent is fine).
pub fn remove(target: &Path) -> io::Result<()> {
    if !target.exists() {
        return Ok(());
    }
    match umount2(target, MntFlags::MNT_DETACH) {
        Ok(()) | Err(nix::errno::Errno::EINVAL) | Err(nix::errno::Errno::ENOENT) => {}
        Err(e) => return Err(e.into()),
    }
    match fs::remove_file(target) {
        Err(e) if e.kind() != io::ErrorKind::NotFound => Err(e),
        _ => Ok(()),
    }
}

/// Opens the namespace file.
pub fn open(target: &Path) -> io::Result<File> {
    File::open(target)
}
