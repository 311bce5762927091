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

/// The credential calls of the last steps before the exec: the user switch with
/// capabilities kept across it. [`linux::LinuxSys`] makes them; [`fake::RecordingCreds`]
/// records them as [`fake::CredCall`] values.
pub trait Creds {
    /// `PR_SET_KEEPCAPS`: keep the permitted set across the uid change.
    fn keep_caps(&self, keep: bool) -> io::Result<()>;
    /// `PR_CAPBSET_DROP` of one capability number.
    fn drop_bounding(&self, cap: u8) -> io::Result<()>;
    /// setgroups(2).
    fn setgroups(&self, gids: &[u32]) -> io::Result<()>;
    /// setresgid(2) with the same real, effective and saved gid.
    fn setresgid(&self, gid: u32) -> io::Result<()>;
    /// setresuid(2) with the same real, effective and saved uid.
    fn setresuid(&self, uid: u32) -> io::Result<()>;
    /// capset(2) of the effective, permitted and inheritable masks (bit N = capability N).
    fn capset(&self, effective: u64, permitted: u64, inheritable: u64) -> io::Result<()>;
    /// `PR_CAP_AMBIENT_RAISE` of one capability number.
    fn raise_ambient(&self, cap: u8) -> io::Result<()>;
    /// umask(2); it cannot fail.
    fn umask(&self, mask: u32);
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
    /// move_mount(2) of a detached mount (an `open_tree` clone made by k3rt) onto `target`.
    fn attach_tree(&self, tree: &OwnedFd, target: &Path) -> io::Result<()>;
    /// mount_setattr(2) with `AT_RECURSIVE`: `MOUNT_ATTR_*` bits set and cleared on the
    /// mount at `target` and every mount under it.
    fn set_attrs_recursive(&self, target: &Path, set: u64, clear: u64) -> io::Result<()>;
}
