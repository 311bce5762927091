//! The syscall seam: every mount, pivot and device-node operation the rootfs setup
//! performs goes through [`Sys`], so tests can record what would have happened
//! without root ([`fake::RecordingSys`]) while [`linux::LinuxSys`] does it for real.

pub mod fake;
pub mod linux;

use std::io;
use std::os::fd::OwnedFd;
use std::path::{Path, PathBuf};

/// What to create when a mount target does not exist yet.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    /// A directory (mount points of directories, `/dev`...).
    Dir,
    /// An empty regular file (bind mounts of files).
    File,
}

/// A path inside the rootfs resolved without leaving it. Mount through `path`
/// while this value lives (for the real system it is `/proc/self/fd/N`).
#[derive(Debug)]
pub struct Resolved {
    /// The path to mount through.
    pub path: PathBuf,
    _fd: Option<OwnedFd>,
}

impl Resolved {
    /// A resolved path, keeping `fd` open as long as the value lives.
    pub fn new(path: PathBuf, fd: Option<OwnedFd>) -> Self {
        Resolved { path, _fd: fd }
    }
}

/// Kernel operations used to build a container's filesystem view.
pub trait Sys {
    /// Resolves `rel` under `root` (symlinks may not leave it), creating it as `create` when missing.
    fn resolve_in_root(
        &self,
        root: &Path,
        rel: &Path,
        create: Option<Kind>,
    ) -> io::Result<Resolved>;
    /// mount(2): `flags` are `MS_*`, `data` the filesystem options.
    fn mount(
        &self,
        source: Option<&Path>,
        target: &Path,
        fstype: Option<&str>,
        flags: u64,
        data: Option<&str>,
    ) -> io::Result<()>;
    /// umount2(2) with `MNT_*` flags.
    fn umount(&self, target: &Path, flags: i32) -> io::Result<()>;
    /// `pivot_root(".", ".")` inside `new_root`, then detach the old root.
    fn pivot_root(&self, new_root: &Path) -> io::Result<()>;
    /// Moves `new_root` onto `/` and chroots into it (`--no-pivot`).
    fn move_root(&self, new_root: &Path) -> io::Result<()>;
    /// mknod(2) of a device node (`mode` includes the file type).
    fn mknod(&self, path: &Path, mode: u32, dev: u64) -> io::Result<()>;
    /// Creates the symlink `link` pointing to `target`.
    fn symlink(&self, target: &Path, link: &Path) -> io::Result<()>;
    /// lchown(2): the link itself, never its target.
    fn chown(&self, path: &Path, uid: u32, gid: u32) -> io::Result<()>;
    /// chmod(2).
    fn chmod(&self, path: &Path, mode: u32) -> io::Result<()>;
    /// sethostname(2) in the container's UTS namespace.
    fn sethostname(&self, name: &str) -> io::Result<()>;
    /// setdomainname(2) in the container's UTS namespace.
    fn setdomainname(&self, name: &str) -> io::Result<()>;
    /// Flags of the mount at `path` (statvfs `f_flag`), to keep locked flags on remount.
    fn mount_flags(&self, path: &Path) -> io::Result<u64>;
}
