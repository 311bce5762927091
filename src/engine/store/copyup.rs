//! Copy-up of a new named volume: the first time a volume is mounted over a
//! directory that has content in the image, the volume is filled from it
//! (docker and podman do the same), keeping owners, modes, extended
//! attributes, times, symlinks (as links), hard links and device nodes. The
//! volume's own directory takes the image directory's owner and mode.
//!
//! The source is an image snapshot no process runs in yet; its path is
//! resolved inside the rootfs ([`RootDir::dir`]) and nothing under it is
//! followed (`lstat`, `lchown`, links copied as links).

use std::collections::HashMap;
use std::ffi::CString;
use std::fs;
use std::io;
use std::os::fd::AsRawFd;
use std::os::unix::ffi::OsStrExt;
use std::os::unix::fs::{symlink, MetadataExt, PermissionsExt};
use std::path::{Path, PathBuf};

use super::copy::{CopyError, RootDir};

/// A copy-up that failed.
#[derive(Debug, thiserror::Error)]
pub enum CopyUpError {
    /// The image's directory could not be opened.
    #[error(transparent)]
    Open(#[from] CopyError),
    /// A file could not be read or written.
    #[error("cannot {op} `{path}` while filling the volume from the image")]
    Io {
        /// What was being done.
        op: &'static str,
        /// The path (host side).
        path: PathBuf,
        /// The underlying error.
        #[source]
        source: io::Error,
    },
}

fn io_err<'a>(op: &'static str, path: &'a Path) -> impl FnOnce(io::Error) -> CopyUpError + 'a {
    move |source| CopyUpError::Io {
        op,
        path: path.to_path_buf(),
        source,
    }
}

/// Whether the volume directory `dir` is empty (a missing one counts).
pub fn is_empty(dir: &Path) -> bool {
    fs::read_dir(dir).map_or(true, |mut d| d.next().is_none())
}

/// Fills the empty volume directory `vol` from `path` of `rootfs` when that
/// is a directory; whether anything was copied (`false`: no such
/// directory in the image).
pub fn copy_up(rootfs: &Path, path: &str, vol: &Path) -> Result<bool, CopyUpError> {
    let root = RootDir::open(rootfs)?;
    let Some(fd) = root.dir(path)? else {
        return Ok(false);
    };
    // `/.`: the directory itself, not the descriptor's magic link
    let src = PathBuf::from(format!("/proc/self/fd/{}/.", fd.as_raw_fd()));
    let mut links = HashMap::new();
    copy_dir(&src, vol, &mut links)?;
    drop(fd);
    Ok(true)
}

/// Removes everything under `dir`, keeping `dir` (undo of a copy-up into a
/// volume that existed, empty, before the create).
pub fn empty(dir: &Path) -> io::Result<()> {
    for e in fs::read_dir(dir)? {
        let p = e?.path();
        if fs::symlink_metadata(&p)?.is_dir() {
            fs::remove_dir_all(&p)?;
        } else {
            fs::remove_file(&p)?;
        }
    }
    Ok(())
}

/// Copies the content of `src` into the existing `dst`, then `src`'s
/// owner, mode, xattrs and times onto `dst`.
fn copy_dir(
    src: &Path,
    dst: &Path,
    links: &mut HashMap<(u64, u64), PathBuf>,
) -> Result<(), CopyUpError> {
    for e in fs::read_dir(src).map_err(io_err("read", src))? {
        let e = e.map_err(io_err("read", src))?;
        copy_entry(&e.path(), &dst.join(e.file_name()), links)?;
    }
    let md = fs::symlink_metadata(src).map_err(io_err("stat", src))?;
    set_meta(src, dst, &md)
}

fn copy_entry(
    src: &Path,
    dst: &Path,
    links: &mut HashMap<(u64, u64), PathBuf>,
) -> Result<(), CopyUpError> {
    let md = fs::symlink_metadata(src).map_err(io_err("stat", src))?;
    let ft = md.file_type();
    if !ft.is_dir() && md.nlink() > 1 {
        if let Some(first) = links.get(&(md.dev(), md.ino())) {
            return fs::hard_link(first, dst).map_err(io_err("link", dst));
        }
        links.insert((md.dev(), md.ino()), dst.to_path_buf());
    }
    if ft.is_dir() {
        fs::create_dir(dst).map_err(io_err("create", dst))?;
        return copy_dir(src, dst, links);
    }
    if ft.is_symlink() {
        let target = fs::read_link(src).map_err(io_err("read link", src))?;
        symlink(&target, dst).map_err(io_err("create link", dst))?;
    } else if ft.is_file() {
        fs::copy(src, dst).map_err(io_err("copy", dst))?;
    } else {
        // fifo, device, socket: the same node
        let c = cstr(dst)?;
        // SAFETY: a NUL-terminated path; mknod reads it only.
        if unsafe { libc::mknod(c.as_ptr(), md.mode(), md.rdev()) } < 0 {
            return Err(io_err("create node", dst)(io::Error::last_os_error()));
        }
    }
    set_meta(src, dst, &md)
}

fn cstr(p: &Path) -> Result<CString, CopyUpError> {
    CString::new(p.as_os_str().as_bytes())
        .map_err(|e| io_err("name", p)(io::Error::new(io::ErrorKind::InvalidInput, e)))
}

/// Owner, xattrs, mode (after the owner: chown clears set-id bits) and
/// times of `src` onto `dst`, links not followed.
fn set_meta(src: &Path, dst: &Path, md: &fs::Metadata) -> Result<(), CopyUpError> {
    std::os::unix::fs::lchown(dst, Some(md.uid()), Some(md.gid())).map_err(io_err("chown", dst))?;
    copy_xattrs(src, dst)?;
    let link = md.file_type().is_symlink();
    if !link {
        fs::set_permissions(dst, fs::Permissions::from_mode(md.mode() & 0o7777))
            .map_err(io_err("chmod", dst))?;
    }
    let c = cstr(dst)?;
    let times = [
        libc::timespec {
            tv_sec: md.atime(),
            tv_nsec: md.atime_nsec(),
        },
        libc::timespec {
            tv_sec: md.mtime(),
            tv_nsec: md.mtime_nsec(),
        },
    ];
    // SAFETY: a NUL-terminated path and an array of two timespecs.
    let r = unsafe {
        libc::utimensat(
            libc::AT_FDCWD,
            c.as_ptr(),
            times.as_ptr(),
            libc::AT_SYMLINK_NOFOLLOW,
        )
    };
    if r < 0 {
        return Err(io_err("set times of", dst)(io::Error::last_os_error()));
    }
    Ok(())
}

/// The xattrs of `src` onto `dst` (links not followed); overlayfs' own
/// (`trusted.overlay.*`) are not the file's and are left out.
fn copy_xattrs(src: &Path, dst: &Path) -> Result<(), CopyUpError> {
    let (s, d) = (cstr(src)?, cstr(dst)?);
    for name in xattr_names(&s).map_err(io_err("list xattrs of", src))? {
        if name.as_bytes().starts_with(b"trusted.overlay.") {
            continue;
        }
        let value = xattr_value(&s, &name).map_err(io_err("read xattr of", src))?;
        // SAFETY: NUL-terminated names and a buffer of `value.len()` bytes.
        let r = unsafe {
            libc::lsetxattr(
                d.as_ptr(),
                name.as_ptr(),
                value.as_ptr().cast(),
                value.len(),
                0,
            )
        };
        if r < 0 {
            return Err(io_err("set xattr of", dst)(io::Error::last_os_error()));
        }
    }
    Ok(())
}

/// The size a libc call returned, or its error (a negative return).
fn size(n: isize) -> io::Result<usize> {
    usize::try_from(n).map_err(|_| io::Error::last_os_error())
}

fn xattr_names(p: &CString) -> io::Result<Vec<CString>> {
    // SAFETY: a NUL-terminated path; a null buffer of size 0 asks the size.
    let n = match size(unsafe { libc::llistxattr(p.as_ptr(), std::ptr::null_mut(), 0) }) {
        Err(e) if e.raw_os_error() == Some(libc::ENOTSUP) => return Ok(Vec::new()),
        n => n?,
    };
    let mut buf = vec![0u8; n];
    // SAFETY: a buffer of `buf.len()` bytes.
    let n = size(unsafe { libc::llistxattr(p.as_ptr(), buf.as_mut_ptr().cast(), buf.len()) })?;
    buf.truncate(n);
    Ok(buf
        .split(|b| *b == 0)
        .filter(|n| !n.is_empty())
        .filter_map(|n| CString::new(n).ok())
        .collect())
}

fn xattr_value(p: &CString, name: &CString) -> io::Result<Vec<u8>> {
    // SAFETY: NUL-terminated strings; a null buffer of size 0 asks the size.
    let n = size(unsafe { libc::lgetxattr(p.as_ptr(), name.as_ptr(), std::ptr::null_mut(), 0) })?;
    let mut buf = vec![0u8; n];
    // SAFETY: a buffer of `buf.len()` bytes.
    let n = size(unsafe {
        libc::lgetxattr(
            p.as_ptr(),
            name.as_ptr(),
            buf.as_mut_ptr().cast(),
            buf.len(),
        )
    })?;
    buf.truncate(n);
    Ok(buf)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fills_from_the_image_dir_keeping_links_modes_and_times() {
        let d = tempfile::tempdir().unwrap();
        let rootfs = d.path().join("rootfs");
        let data = rootfs.join("srv/data");
        fs::create_dir_all(data.join("sub")).unwrap();
        fs::write(data.join("f"), "hello").unwrap();
        fs::set_permissions(data.join("f"), fs::Permissions::from_mode(0o640)).unwrap();
        fs::set_permissions(&data, fs::Permissions::from_mode(0o751)).unwrap();
        fs::hard_link(data.join("f"), data.join("sub/hard")).unwrap();
        symlink("../../../etc/shadow", data.join("sub/ln")).unwrap();
        // the mount point reached through a symlink of the image
        symlink("/srv/data", rootfs.join("data")).unwrap();
        let vol = d.path().join("vol");
        fs::create_dir(&vol).unwrap();
        assert!(is_empty(&vol));
        assert!(copy_up(&rootfs, "/data", &vol).unwrap());
        assert_eq!(fs::read_to_string(vol.join("f")).unwrap(), "hello");
        let m = fs::metadata(vol.join("f")).unwrap();
        assert_eq!(m.mode() & 0o7777, 0o640);
        assert_eq!(m.nlink(), 2, "hard link kept");
        assert_eq!(
            m.mtime(),
            fs::metadata(data.join("f")).unwrap().mtime(),
            "times kept"
        );
        assert_eq!(
            fs::read_link(vol.join("sub/ln")).unwrap(),
            PathBuf::from("../../../etc/shadow")
        );
        assert_eq!(fs::metadata(&vol).unwrap().mode() & 0o7777, 0o751);
        assert!(!is_empty(&vol));
        empty(&vol).unwrap();
        assert!(is_empty(&vol) && vol.is_dir());
        // no such directory (or a file) in the image: nothing copied
        assert!(!copy_up(&rootfs, "/nope", &vol).unwrap());
        assert!(!copy_up(&rootfs, "/data/f", &vol).unwrap());
        // `..` and absolute links stop at the rootfs
        assert!(!copy_up(&rootfs, "/../../etc", &vol).unwrap());
    }
}
