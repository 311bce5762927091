//! Path handling for safe extraction: tar paths split into plain components
//! (`..` rejected, a leading `/` taken as the snapshot root), and every lookup
//! done with `openat2(RESOLVE_BENEATH | RESOLVE_NO_MAGICLINKS)` relative to
//! the snapshot root fd, so the kernel refuses any walk (through `..` or a
//! symlink, absolute or relative) that would leave the snapshot.

use std::ffi::{CString, OsString};
use std::io;
use std::os::fd::{AsRawFd, BorrowedFd, FromRawFd, OwnedFd};
use std::os::unix::ffi::OsStrExt;
use std::path::{Component, Path, PathBuf};

/// Splits a tar path into normal components; `None` if it holds `..`.
pub fn components(path: &Path) -> Option<Vec<OsString>> {
    let mut out = Vec::new();
    for c in path.components() {
        match c {
            Component::Normal(n) => out.push(n.to_os_string()),
            Component::RootDir | Component::CurDir | Component::Prefix(_) => {}
            Component::ParentDir => return None,
        }
    }
    Some(out)
}

/// Joins components into a relative path (`.` when empty).
pub fn join(comps: &[OsString]) -> PathBuf {
    if comps.is_empty() {
        return PathBuf::from(".");
    }
    comps.iter().collect()
}

/// A C string of a path or name.
pub fn cstr(p: &std::ffi::OsStr) -> io::Result<CString> {
    CString::new(p.as_bytes()).map_err(|_| io::Error::from_raw_os_error(libc::EINVAL))
}

/// Opens `rel` under `root` with `openat2`, never leaving `root`: an escape
/// attempt fails with `EXDEV` (or `ELOOP` for magic links).
pub fn open_beneath(root: BorrowedFd<'_>, rel: &Path, flags: i32) -> io::Result<OwnedFd> {
    let path = cstr(rel.as_os_str())?;
    // SAFETY: `open_how` is plain old data; all-zero is a valid value.
    let mut how: libc::open_how = unsafe { std::mem::zeroed() };
    let flags = flags | libc::O_CLOEXEC;
    how.flags = u64::try_from(flags).map_err(|_| {
        io::Error::new(
            io::ErrorKind::InvalidInput,
            format!("open flags `{flags:#x}`"),
        )
    })?;
    how.resolve = libc::RESOLVE_BENEATH | libc::RESOLVE_NO_MAGICLINKS;
    loop {
        // SAFETY: `path` is a valid NUL-terminated string and `how` a valid
        // `open_how` whose size we pass; the kernel returns a new fd or -1.
        let ret = unsafe {
            libc::syscall(
                libc::SYS_openat2,
                root.as_raw_fd(),
                path.as_ptr(),
                &how as *const libc::open_how,
                size_of::<libc::open_how>(),
            )
        };
        if ret >= 0 {
            let fd = i32::try_from(ret)
                .map_err(|_| io::Error::other(format!("openat2 returned fd `{ret}`")))?;
            // SAFETY: the kernel just handed us this fd; nothing else owns it.
            return Ok(unsafe { OwnedFd::from_raw_fd(fd) });
        }
        let err = io::Error::last_os_error();
        if err.raw_os_error() != Some(libc::EAGAIN) {
            return Err(err);
        }
    }
}

/// Whether an `openat2` error means the walk tried to leave the root.
pub fn is_escape(err: &io::Error) -> bool {
    matches!(err.raw_os_error(), Some(libc::EXDEV) | Some(libc::ELOOP))
}

/// `/proc/self/fd/N/name`: a path to `name` inside the directory `dir` for
/// the few calls that only take paths (`lsetxattr`, `remove_dir_all`); the
/// final component is never followed by those calls.
pub fn proc_path(dir: BorrowedFd<'_>, name: &std::ffi::OsStr) -> PathBuf {
    Path::new(&format!("/proc/self/fd/{}", dir.as_raw_fd())).join(name)
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::os::fd::AsFd;

    #[test]
    fn components_strip_root_and_reject_parent() {
        let c = components(Path::new("/a/./b/")).unwrap();
        assert_eq!(c, vec![OsString::from("a"), OsString::from("b")]);
        assert!(components(Path::new("a/../b")).is_none());
        assert!(components(Path::new("../../etc/passwd")).is_none());
        assert_eq!(components(Path::new("./")).unwrap(), Vec::<OsString>::new());
    }

    #[test]
    fn open_beneath_refuses_escapes() {
        let dir = tempfile::tempdir().unwrap();
        let root = dir.path().join("root");
        std::fs::create_dir_all(root.join("sub")).unwrap();
        std::os::unix::fs::symlink("/etc", root.join("abs")).unwrap();
        std::os::unix::fs::symlink("../..", root.join("sub/up")).unwrap();
        std::os::unix::fs::symlink("sub", root.join("rel")).unwrap();
        let fd = std::fs::File::open(&root).unwrap();
        let flags = libc::O_PATH | libc::O_DIRECTORY;
        assert!(open_beneath(fd.as_fd(), Path::new("rel"), flags).is_ok());
        assert!(open_beneath(fd.as_fd(), Path::new("sub"), flags).is_ok());
        for bad in ["abs", "sub/up", "..", "/etc", "sub/../.."] {
            let err = open_beneath(fd.as_fd(), Path::new(bad), flags).unwrap_err();
            assert!(is_escape(&err), "{bad}: {err}");
        }
    }
}
