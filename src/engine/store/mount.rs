//! The mounts container snapshots need: overlayfs built with the new mount
//! API (`fsopen`/`fsconfig("lowerdir+")`/`fsmount`/`move_mount`, so the
//! number of layers is not bounded by the one-page option string of
//! `mount(2)`), an ext4 filesystem on a loop device, and unmounting.

use std::ffi::CString;
use std::io;
use std::os::fd::{AsRawFd, FromRawFd, OwnedFd};
use std::os::unix::ffi::OsStrExt;
use std::path::Path;

const FSOPEN_CLOEXEC: libc::c_uint = 1;
const FSCONFIG_SET_STRING: libc::c_uint = 1;
const FSCONFIG_CMD_CREATE: libc::c_uint = 6;
const FSMOUNT_CLOEXEC: libc::c_uint = 1;
const MOVE_MOUNT_F_EMPTY_PATH: libc::c_uint = 4;

fn cpath(p: &Path) -> io::Result<CString> {
    CString::new(p.as_os_str().as_bytes()).map_err(|_| io::Error::from_raw_os_error(libc::EINVAL))
}

/// A raw syscall's return: negative is the error in `errno`.
fn syscall_ret(ret: libc::c_long) -> io::Result<libc::c_long> {
    if ret < 0 {
        Err(io::Error::last_os_error())
    } else {
        Ok(ret)
    }
}

fn owned(ret: libc::c_long) -> io::Result<OwnedFd> {
    let fd = syscall_ret(ret)? as i32;
    // SAFETY: the kernel just returned this new fd; nothing else owns it.
    Ok(unsafe { OwnedFd::from_raw_fd(fd) })
}

fn set_string(fs: &OwnedFd, key: &str, value: &CString) -> io::Result<()> {
    let key = CString::new(key).map_err(|_| io::Error::from_raw_os_error(libc::EINVAL))?;
    // SAFETY: valid fs context fd and NUL-terminated key/value strings.
    syscall_ret(unsafe {
        libc::syscall(
            libc::SYS_fsconfig,
            fs.as_raw_fd(),
            FSCONFIG_SET_STRING,
            key.as_ptr(),
            value.as_ptr(),
            0,
        )
    })
    .map(|_| ())
}

/// Mounts overlayfs on `target` with `lowers` (top first), `upper`, `work`.
pub fn mount_overlay(lowers: &[&Path], upper: &Path, work: &Path, target: &Path) -> io::Result<()> {
    // SAFETY: a NUL-terminated fs name and a flags word.
    let fs =
        owned(unsafe { libc::syscall(libc::SYS_fsopen, c"overlay".as_ptr(), FSOPEN_CLOEXEC) })?;
    for lower in lowers {
        set_string(&fs, "lowerdir+", &cpath(lower)?)?;
    }
    set_string(&fs, "upperdir", &cpath(upper)?)?;
    set_string(&fs, "workdir", &cpath(work)?)?;
    // SAFETY: valid fs context fd; CMD_CREATE takes no key or value.
    syscall_ret(unsafe {
        libc::syscall(
            libc::SYS_fsconfig,
            fs.as_raw_fd(),
            FSCONFIG_CMD_CREATE,
            std::ptr::null::<u8>(),
            std::ptr::null::<u8>(),
            0,
        )
    })?;
    // SAFETY: valid fs context fd and flags.
    let mnt =
        owned(unsafe { libc::syscall(libc::SYS_fsmount, fs.as_raw_fd(), FSMOUNT_CLOEXEC, 0) })?;
    let t = cpath(target)?;
    // SAFETY: valid mount fd, an empty path with F_EMPTY_PATH, and a target path.
    syscall_ret(unsafe {
        libc::syscall(
            libc::SYS_move_mount,
            mnt.as_raw_fd(),
            c"".as_ptr(),
            libc::AT_FDCWD,
            t.as_ptr(),
            MOVE_MOUNT_F_EMPTY_PATH,
        )
    })
    .map(|_| ())
}

/// Mounts the ext4 filesystem on block device `dev` at `target`.
pub fn mount_ext4(dev: &Path, target: &Path) -> io::Result<()> {
    let d = cpath(dev)?;
    let t = cpath(target)?;
    let flags = libc::MS_NOSUID | libc::MS_NODEV;
    // SAFETY: valid NUL-terminated strings; no data.
    syscall_ret(unsafe {
        libc::mount(
            d.as_ptr(),
            t.as_ptr(),
            c"ext4".as_ptr(),
            flags,
            std::ptr::null(),
        )
    } as libc::c_long)
    .map(|_| ())
}

/// Unmounts `target`; `Ok(false)` if nothing was mounted there.
pub fn unmount(target: &Path) -> io::Result<bool> {
    let t = cpath(target)?;
    // SAFETY: valid NUL-terminated path.
    let ret = unsafe { libc::umount2(t.as_ptr(), libc::UMOUNT_NOFOLLOW) };
    if ret == 0 {
        return Ok(true);
    }
    let err = io::Error::last_os_error();
    match err.raw_os_error() {
        Some(libc::EINVAL) | Some(libc::ENOENT) => Ok(false),
        Some(libc::EBUSY) => {
            // SAFETY: as above; a lazy detach for a busy mount.
            syscall_ret(unsafe {
                libc::umount2(t.as_ptr(), libc::MNT_DETACH | libc::UMOUNT_NOFOLLOW)
            } as libc::c_long)
            .map(|_| true)
        }
        _ => Err(err),
    }
}
