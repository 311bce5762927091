//! The real [`Sys`]: raw syscalls through `libc`. Every `unsafe` block is a single
//! syscall on arguments that live for the duration of the call.

use std::ffi::{CString, OsStr};
use std::io;
use std::os::fd::{AsRawFd, FromRawFd, OwnedFd, RawFd};
use std::os::unix::ffi::OsStrExt;
use std::path::{Component, Path, PathBuf};

use super::{Creds, Kind, Resolved, Sys};

/// Performs the operations on the running kernel.
#[derive(Debug, Default, Clone, Copy)]
pub struct LinuxSys;

/// `p` as a C string; a NUL byte inside is `EINVAL`.
pub fn cstr(p: &OsStr) -> io::Result<CString> {
    CString::new(p.as_bytes()).map_err(|_| io::Error::from_raw_os_error(libc::EINVAL))
}

/// A syscall's return value: negative is the last OS error (errno), anything else is
/// the result. The one errno check the runtime's kernel calls go through.
pub fn or_errno<T: Into<i64> + Copy>(r: T) -> io::Result<T> {
    if r.into() < 0 {
        Err(io::Error::last_os_error())
    } else {
        Ok(r)
    }
}

/// [`or_errno`] for calls whose result is only success or failure.
pub fn ok_or_errno<T: Into<i64> + Copy>(r: T) -> io::Result<()> {
    or_errno(r).map(|_| ())
}

/// Takes ownership of the descriptor a syscall just returned (checked with [`or_errno`]).
pub fn owned_fd(r: libc::c_long) -> io::Result<OwnedFd> {
    let fd =
        RawFd::try_from(or_errno(r)?).map_err(|_| io::Error::from_raw_os_error(libc::EBADF))?;
    // SAFETY: the kernel returned a new descriptor that nothing else owns.
    Ok(unsafe { OwnedFd::from_raw_fd(fd) })
}

#[repr(C)]
struct OpenHow {
    flags: u64,
    mode: u64,
    resolve: u64,
}

const RESOLVE_NO_MAGICLINKS: u64 = 0x02;
const RESOLVE_IN_ROOT: u64 = 0x10;

/// `openat2(dirfd, path, flags, RESOLVE_IN_ROOT | RESOLVE_NO_MAGICLINKS)`: `path` cannot leave `dirfd`.
pub fn openat_in_root(dirfd: RawFd, path: &Path, flags: i32) -> io::Result<OwnedFd> {
    let c = cstr(path.as_os_str())?;
    let how = OpenHow {
        flags: u64::try_from(flags | libc::O_CLOEXEC)
            .map_err(|_| io::Error::from_raw_os_error(libc::EINVAL))?,
        mode: 0,
        resolve: RESOLVE_IN_ROOT | RESOLVE_NO_MAGICLINKS,
    };
    // SAFETY: c and how outlive the call; the kernel copies `how` (size given).
    let fd = unsafe {
        libc::syscall(
            libc::SYS_openat2,
            dirfd,
            c.as_ptr(),
            &how as *const OpenHow,
            size_of::<OpenHow>(),
        )
    };
    owned_fd(fd)
}

/// Opens a directory `O_PATH` (host path, following symlinks).
pub fn open_path(p: &Path, flags: i32) -> io::Result<OwnedFd> {
    let c = cstr(p.as_os_str())?;
    // SAFETY: c outlives the call.
    let fd = unsafe { libc::open(c.as_ptr(), flags | libc::O_CLOEXEC) };
    owned_fd(fd.into())
}

fn proc_fd_path(fd: &OwnedFd) -> PathBuf {
    PathBuf::from(format!("/proc/self/fd/{}", fd.as_raw_fd()))
}

/// Creates the missing components of `rel` one directory at a time, each parent
/// resolved in the root, so a symlink planted (or swapped in) cannot redirect us out.
fn create_in_root(root: &OwnedFd, rel: &Path, kind: Kind) -> io::Result<()> {
    let comps: Vec<&OsStr> = rel
        .components()
        .filter_map(|c| match c {
            Component::Normal(n) => Some(n),
            _ => None,
        })
        .collect();
    let mut prefix = PathBuf::new();
    for (i, name) in comps.iter().enumerate() {
        let last = i + 1 == comps.len();
        let here = if prefix.as_os_str().is_empty() {
            Path::new(".")
        } else {
            prefix.as_path()
        };
        let parent = openat_in_root(root.as_raw_fd(), here, libc::O_PATH | libc::O_DIRECTORY)?;
        prefix.push(name);
        if openat_in_root(root.as_raw_fd(), &prefix, libc::O_PATH).is_ok() {
            continue;
        }
        let c = cstr(name)?;
        if last && kind == Kind::File {
            let flags = libc::O_CREAT | libc::O_WRONLY | libc::O_NOFOLLOW | libc::O_CLOEXEC;
            // SAFETY: c outlives the call; the new fd is closed right away.
            let fd = unsafe { libc::openat(parent.as_raw_fd(), c.as_ptr(), flags, 0o644) };
            drop(owned_fd(fd.into())?);
        } else {
            // SAFETY: c outlives the call.
            let r = unsafe { libc::mkdirat(parent.as_raw_fd(), c.as_ptr(), 0o755) };
            if r < 0 && io::Error::last_os_error().raw_os_error() != Some(libc::EEXIST) {
                return Err(io::Error::last_os_error());
            }
        }
    }
    Ok(())
}

impl Sys for LinuxSys {
    fn resolve_in_root(
        &self,
        root: &Path,
        rel: &Path,
        create: Option<Kind>,
    ) -> io::Result<Resolved> {
        let rel = rel.strip_prefix("/").unwrap_or(rel);
        let rootfd = open_path(root, libc::O_PATH | libc::O_DIRECTORY)?;
        let rel = if rel.as_os_str().is_empty() {
            Path::new(".")
        } else {
            rel
        };
        let fd = match openat_in_root(rootfd.as_raw_fd(), rel, libc::O_PATH) {
            Ok(fd) => fd,
            Err(e) if e.raw_os_error() == Some(libc::ENOENT) && create.is_some() => {
                create_in_root(&rootfd, rel, create.unwrap_or(Kind::Dir))?;
                openat_in_root(rootfd.as_raw_fd(), rel, libc::O_PATH)?
            }
            Err(e) => return Err(e),
        };
        Ok(Resolved::new(proc_fd_path(&fd), Some(fd)))
    }

    fn mount(
        &self,
        src: Option<&Path>,
        target: &Path,
        fstype: Option<&str>,
        flags: u64,
        data: Option<&str>,
    ) -> io::Result<()> {
        let src = src.map(|s| cstr(s.as_os_str())).transpose()?;
        let target = cstr(target.as_os_str())?;
        let fstype = fstype.map(|t| cstr(OsStr::new(t))).transpose()?;
        let data = data.map(|d| cstr(OsStr::new(d))).transpose()?;
        let ptr = |c: &Option<CString>| c.as_ref().map_or(std::ptr::null(), |c| c.as_ptr());
        // SAFETY: every pointer is null or a CString that outlives the call.
        ok_or_errno(unsafe {
            libc::mount(
                ptr(&src),
                target.as_ptr(),
                ptr(&fstype),
                flags as libc::c_ulong,
                ptr(&data).cast::<libc::c_void>(),
            )
        })
    }

    fn umount(&self, target: &Path, flags: i32) -> io::Result<()> {
        let t = cstr(target.as_os_str())?;
        // SAFETY: t outlives the call.
        ok_or_errno(unsafe { libc::umount2(t.as_ptr(), flags) })
    }

    fn pivot_root(&self, new_root: &Path) -> io::Result<()> {
        let dir = open_path(new_root, libc::O_RDONLY | libc::O_DIRECTORY)?;
        // SAFETY: fchdir on a descriptor we own.
        ok_or_errno(unsafe { libc::fchdir(dir.as_raw_fd()) })?;
        let dot = c".";
        // SAFETY: static C strings.
        ok_or_errno(unsafe { libc::syscall(libc::SYS_pivot_root, dot.as_ptr(), dot.as_ptr()) })?;
        // The old root now sits on top of "/": make it a slave so the detach does not
        // propagate to the host, then drop it.
        self.mount(
            None,
            Path::new("."),
            None,
            libc::MS_SLAVE | libc::MS_REC,
            None,
        )?;
        self.umount(Path::new("."), libc::MNT_DETACH)?;
        // SAFETY: static C string.
        ok_or_errno(unsafe { libc::chdir(c"/".as_ptr()) })
    }

    fn move_root(&self, new_root: &Path) -> io::Result<()> {
        let c = cstr(new_root.as_os_str())?;
        // SAFETY: c outlives the call.
        ok_or_errno(unsafe { libc::chdir(c.as_ptr()) })?;
        self.mount(Some(new_root), Path::new("/"), None, libc::MS_MOVE, None)?;
        // SAFETY: static C strings.
        ok_or_errno(unsafe { libc::chroot(c".".as_ptr()) })?;
        // SAFETY: static C string.
        ok_or_errno(unsafe { libc::chdir(c"/".as_ptr()) })
    }

    fn mknod(&self, path: &Path, mode: u32, dev: u64) -> io::Result<()> {
        let c = cstr(path.as_os_str())?;
        // SAFETY: c outlives the call.
        ok_or_errno(unsafe { libc::mknod(c.as_ptr(), mode, dev) })
    }

    fn symlink(&self, target: &Path, link: &Path) -> io::Result<()> {
        std::os::unix::fs::symlink(target, link)
    }

    fn chown(&self, path: &Path, uid: u32, gid: u32) -> io::Result<()> {
        std::os::unix::fs::lchown(path, Some(uid), Some(gid))
    }

    fn chmod(&self, path: &Path, mode: u32) -> io::Result<()> {
        let c = cstr(path.as_os_str())?;
        // SAFETY: c outlives the call.
        ok_or_errno(unsafe { libc::chmod(c.as_ptr(), mode) })
    }

    fn sethostname(&self, name: &str) -> io::Result<()> {
        // SAFETY: pointer and length describe `name`.
        ok_or_errno(unsafe { libc::sethostname(name.as_ptr().cast(), name.len()) })
    }

    fn setdomainname(&self, name: &str) -> io::Result<()> {
        // SAFETY: pointer and length describe `name`.
        ok_or_errno(unsafe { libc::setdomainname(name.as_ptr().cast(), name.len()) })
    }

    fn mount_flags(&self, path: &Path) -> io::Result<u64> {
        let c = cstr(path.as_os_str())?;
        // SAFETY: zeroed statvfs is a valid out-parameter.
        let mut st: libc::statvfs = unsafe { std::mem::zeroed() };
        // SAFETY: c and st outlive the call.
        ok_or_errno(unsafe { libc::statvfs(c.as_ptr(), &mut st) })?;
        Ok(st.f_flag as u64)
    }

    fn attach_tree(&self, tree: &OwnedFd, target: &Path) -> io::Result<()> {
        move_mount_to(tree, target)
    }

    fn set_attrs_recursive(&self, target: &Path, set: u64, clear: u64) -> io::Result<()> {
        let fd = open_path(target, libc::O_PATH)?;
        setattr(&fd, AT_RECURSIVE, set, clear, 0, 0)
    }
}

/// `_LINUX_CAPABILITY_VERSION_3` header of capset(2).
#[repr(C)]
struct CapHeader {
    version: u32,
    pid: i32,
}

/// One 32-bit half of the three capability masks.
#[repr(C)]
struct CapData {
    effective: u32,
    permitted: u32,
    inheritable: u32,
}

/// The low and high 32 bits of a capability mask.
fn halves(mask: u64) -> (u32, u32) {
    let [a, b, c, d, e, f, g, h] = mask.to_le_bytes();
    (
        u32::from_le_bytes([a, b, c, d]),
        u32::from_le_bytes([e, f, g, h]),
    )
}

impl Creds for LinuxSys {
    fn keep_caps(&self, keep: bool) -> io::Result<()> {
        nix::sys::prctl::set_keepcaps(keep).map_err(io::Error::from)
    }

    fn drop_bounding(&self, cap: u8) -> io::Result<()> {
        // SAFETY: prctl with integer arguments.
        ok_or_errno(unsafe {
            libc::prctl(libc::PR_CAPBSET_DROP, libc::c_ulong::from(cap), 0, 0, 0)
        })
    }

    fn setgroups(&self, gids: &[u32]) -> io::Result<()> {
        // raw: nix's setgroups wants `&[Gid]`, a copy of the list on this path
        // SAFETY: pointer and length describe `gids`.
        ok_or_errno(unsafe { libc::setgroups(gids.len(), gids.as_ptr()) })
    }

    fn setresgid(&self, gid: u32) -> io::Result<()> {
        let g = nix::unistd::Gid::from_raw(gid);
        nix::unistd::setresgid(g, g, g).map_err(io::Error::from)
    }

    fn setresuid(&self, uid: u32) -> io::Result<()> {
        let u = nix::unistd::Uid::from_raw(uid);
        nix::unistd::setresuid(u, u, u).map_err(io::Error::from)
    }

    fn capset(&self, effective: u64, permitted: u64, inheritable: u64) -> io::Result<()> {
        let header = CapHeader {
            version: 0x2008_0522,
            pid: 0,
        };
        let (e, p, i) = (halves(effective), halves(permitted), halves(inheritable));
        let data = [
            CapData {
                effective: e.0,
                permitted: p.0,
                inheritable: i.0,
            },
            CapData {
                effective: e.1,
                permitted: p.1,
                inheritable: i.1,
            },
        ];
        // SAFETY: header and data have the kernel's v3 layout and outlive the call.
        ok_or_errno(unsafe { libc::syscall(libc::SYS_capset, &raw const header, data.as_ptr()) })
    }

    fn raise_ambient(&self, cap: u8) -> io::Result<()> {
        // SAFETY: prctl with integer arguments.
        ok_or_errno(unsafe {
            libc::prctl(
                libc::PR_CAP_AMBIENT,
                libc::c_ulong::try_from(libc::PR_CAP_AMBIENT_RAISE).unwrap_or_default(),
                libc::c_ulong::from(cap),
                0,
                0,
            )
        })
    }

    fn umask(&self, mask: u32) {
        nix::sys::stat::umask(nix::sys::stat::Mode::from_bits_truncate(mask));
    }
}

/// `OPEN_TREE_CLONE`: open_tree(2) returns a detached copy of the mount.
const OPEN_TREE_CLONE: u32 = 1;
/// `MOVE_MOUNT_F_EMPTY_PATH`: move_mount(2)'s source is the descriptor itself.
const MOVE_MOUNT_F_EMPTY_PATH: u32 = 0x4;
/// `O_CLOEXEC`, `AT_RECURSIVE`, `AT_EMPTY_PATH` as the unsigned flags of the new mount calls.
const O_CLOEXEC: u32 = 0o2_000_000;
const AT_RECURSIVE: u32 = 0x8000;
const AT_EMPTY_PATH: u32 = 0x1000;
/// `MOUNT_ATTR_IDMAP` of mount_setattr(2).
const MOUNT_ATTR_IDMAP: u64 = 0x0010_0000;

/// `struct mount_attr` of mount_setattr(2).
#[repr(C)]
struct MountAttr {
    attr_set: u64,
    attr_clr: u64,
    propagation: u64,
    userns_fd: u64,
}

/// open_tree(2) with `OPEN_TREE_CLONE`: a detached copy of the mount at `path` (with
/// its submounts when `recursive`), not yet visible anywhere.
pub fn open_tree_clone(path: &Path, recursive: bool) -> io::Result<OwnedFd> {
    let c = cstr(path.as_os_str())?;
    let mut flags = OPEN_TREE_CLONE | O_CLOEXEC;
    if recursive {
        flags |= AT_RECURSIVE;
    }
    // SAFETY: c outlives the call.
    let fd = unsafe { libc::syscall(libc::SYS_open_tree, libc::AT_FDCWD, c.as_ptr(), flags) };
    owned_fd(fd)
}

/// mount_setattr(2) on the mount `fd` itself (`AT_EMPTY_PATH`), with `flags` added.
fn setattr(
    fd: &OwnedFd,
    flags: u32,
    set: u64,
    clear: u64,
    propagation: u64,
    userns: u64,
) -> io::Result<()> {
    let attr = MountAttr {
        attr_set: set,
        attr_clr: clear,
        propagation,
        userns_fd: userns,
    };
    // SAFETY: attr and the empty path outlive the call; the size is attr's.
    let r = unsafe {
        libc::syscall(
            libc::SYS_mount_setattr,
            fd.as_raw_fd(),
            c"".as_ptr(),
            AT_EMPTY_PATH | flags,
            &attr as *const MountAttr,
            size_of::<MountAttr>(),
        )
    };
    ok_or_errno(r)
}

/// mount_setattr(2) with `MOUNT_ATTR_IDMAP`: the detached mount `tree` shows ids
/// through the mappings of the user namespace `userns` (every submount when `recursive`).
pub fn set_idmap(tree: &OwnedFd, userns: &OwnedFd, recursive: bool) -> io::Result<()> {
    let ns =
        u64::try_from(userns.as_raw_fd()).map_err(|_| io::Error::from_raw_os_error(libc::EBADF))?;
    let flags = if recursive { AT_RECURSIVE } else { 0 };
    setattr(tree, flags, MOUNT_ATTR_IDMAP, 0, 0, ns)
}

/// mount_setattr(2) of the propagation of a whole detached tree to `MS_SLAVE`: a clone
/// of a shared mount is in the host's peer group, and what the container mounts under
/// it must not show on the host (the plain bind path gets the same from the slave `/`).
pub fn make_slave(tree: &OwnedFd) -> io::Result<()> {
    setattr(tree, AT_RECURSIVE, 0, 0, libc::MS_SLAVE, 0)
}

/// `MOVE_MOUNT_T_EMPTY_PATH`: move_mount(2)'s target is the descriptor itself.
const MOVE_MOUNT_T_EMPTY_PATH: u32 = 0x40;

/// move_mount(2) of the detached mount `tree` onto `target`. The target goes by a
/// descriptor: through a `/proc/self/fd/N` path the kernel refuses the move (EINVAL).
pub fn move_mount_to(tree: &OwnedFd, target: &Path) -> io::Result<()> {
    let to = open_path(target, libc::O_PATH)?;
    // SAFETY: the empty paths outlive the call.
    let r = unsafe {
        libc::syscall(
            libc::SYS_move_mount,
            tree.as_raw_fd(),
            c"".as_ptr(),
            to.as_raw_fd(),
            c"".as_ptr(),
            MOVE_MOUNT_F_EMPTY_PATH | MOVE_MOUNT_T_EMPTY_PATH,
        )
    };
    ok_or_errno(r)
}

const FSOPEN_CLOEXEC: u32 = 1;
const FSCONFIG_SET_STRING: u32 = 1;
const FSCONFIG_CMD_CREATE: u32 = 6;
const FSMOUNT_CLOEXEC: u32 = 1;
const MOUNT_ATTR_RDONLY: u32 = 0x1;
const MOUNT_ATTR_NOSUID: u32 = 0x2;
const MOUNT_ATTR_NODEV: u32 = 0x4;

/// fsconfig(2) `FSCONFIG_SET_STRING` of `key` to `value` on the context `fs`.
fn fsconfig_string(fs: &OwnedFd, key: &std::ffi::CStr, value: &std::ffi::CStr) -> io::Result<()> {
    // SAFETY: the key and value outlive the call.
    let r = unsafe {
        libc::syscall(
            libc::SYS_fsconfig,
            fs.as_raw_fd(),
            FSCONFIG_SET_STRING,
            key.as_ptr(),
            value.as_ptr(),
            0,
        )
    };
    ok_or_errno(r)
}

/// `path` as one layer of overlayfs' `lowerdir` list: `:` and `\` escaped.
fn lowerdir_escape(path: &Path) -> Vec<u8> {
    let mut out = Vec::with_capacity(path.as_os_str().len());
    for &b in path.as_os_str().as_bytes() {
        if b == b':' || b == b'\\' {
            out.push(b'\\');
        }
        out.push(b);
    }
    out
}

/// The file `name` of directory `dir`, opened `O_PATH` through a new read-only
/// overlayfs (lower layers `dir` on top of the empty-or-not `filler`, no upper layer)
/// that is mounted nowhere (fsopen/fsmount). Nothing can write the file through this
/// descriptor or any path derived from it (`/proc/PID/exe` of a process executed from
/// it): the mount is read-only, and overlayfs without an upper layer refuses writes
/// and a read-write remount. Overlayfs needs two lower layers to run without an upper
/// one; `filler` must not overlap `dir`, and a file called `name` in it stays hidden.
pub fn readonly_overlay_file(dir: &Path, filler: &Path, name: &OsStr) -> io::Result<OwnedFd> {
    // SAFETY: a NUL-terminated fs name and a flags word.
    let fs =
        owned_fd(unsafe { libc::syscall(libc::SYS_fsopen, c"overlay".as_ptr(), FSOPEN_CLOEXEC) })?;
    let mut lower = lowerdir_escape(dir);
    lower.push(b':');
    lower.extend(lowerdir_escape(filler));
    let lower = CString::new(lower).map_err(|_| io::Error::from_raw_os_error(libc::EINVAL))?;
    fsconfig_string(&fs, c"lowerdir", &lower)?;
    // xino would be turned on when the layers are on different filesystems, with a
    // kernel log line each time; inode numbers do not matter here (older kernels do
    // not know the option: ignored)
    let _ = fsconfig_string(&fs, c"xino", c"off");
    // SAFETY: CMD_CREATE takes no key or value.
    ok_or_errno(unsafe {
        libc::syscall(
            libc::SYS_fsconfig,
            fs.as_raw_fd(),
            FSCONFIG_CMD_CREATE,
            std::ptr::null::<libc::c_char>(),
            std::ptr::null::<libc::c_char>(),
            0,
        )
    })?;
    let attrs = MOUNT_ATTR_RDONLY | MOUNT_ATTR_NOSUID | MOUNT_ATTR_NODEV;
    // SAFETY: a valid fs context descriptor and flag words.
    let mnt = owned_fd(unsafe {
        libc::syscall(libc::SYS_fsmount, fs.as_raw_fd(), FSMOUNT_CLOEXEC, attrs)
    })?;
    let n = cstr(name)?;
    // SAFETY: n outlives the call.
    let fd = unsafe {
        libc::openat(
            mnt.as_raw_fd(),
            n.as_ptr(),
            libc::O_PATH | libc::O_NOFOLLOW | libc::O_CLOEXEC,
        )
    };
    owned_fd(libc::c_long::from(fd))
}

#[cfg(test)]
mod overlay_tests {
    use super::lowerdir_escape;
    use std::path::Path;

    #[test]
    fn lowerdir_layers_escape_colons_and_backslashes() {
        assert_eq!(lowerdir_escape(Path::new("/usr/bin")), b"/usr/bin");
        assert_eq!(lowerdir_escape(Path::new("/a:b\\c")), b"/a\\:b\\\\c");
    }
}
