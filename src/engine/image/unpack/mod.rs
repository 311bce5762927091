//! Safe, one-pass extraction of a layer tar into its snapshot directory in
//! overlayfs form.
//!
//! Every entry's parent is opened with `openat2(RESOLVE_BENEATH |
//! RESOLVE_NO_MAGICLINKS)` from the snapshot root fd, and the entry itself is
//! created relative to that parent fd with `O_NOFOLLOW`/`O_EXCL` semantics, so
//! nothing is ever created or written outside the snapshot: a `..` path, a
//! parent that walks through a symlink out of the root, or a hard link whose
//! target lies outside is rejected and the whole layer fails. Ownership,
//! modes, timestamps, xattrs, hard links, symlinks and device nodes are kept;
//! whiteouts become overlayfs whiteouts (see [`whiteout`]).

pub mod resolve;
pub mod whiteout;

use std::ffi::{CString, OsStr, OsString};
use std::fs::File;
use std::io::{self, Read, Write};
use std::os::fd::{AsFd, AsRawFd, BorrowedFd, FromRawFd, OwnedFd};
use std::path::Path;

use resolve::{cstr, is_escape, join, open_beneath, proc_path};
use whiteout::Whiteout;

/// A layer that could not be unpacked.
#[derive(Debug, thiserror::Error)]
pub enum UnpackError {
    /// The tar stream is malformed (or its source failed).
    #[error("malformed layer tar")]
    Tar(#[source] io::Error),
    /// An entry path holds `..`.
    #[error("entry `{0}` escapes the snapshot with `..`: layer rejected")]
    Traversal(String),
    /// An entry's parent resolves outside the snapshot through a link.
    #[error("entry `{0}` resolves outside the snapshot through a symlink: layer rejected")]
    Escape(String),
    /// A hard link points outside the snapshot.
    #[error("hard link `{path}` -> `{target}` points outside the snapshot: layer rejected")]
    LinkEscape {
        /// The link entry.
        path: String,
        /// Its target.
        target: String,
    },
    /// An owner id that does not fit 32 bits (a cast would wrap it, maybe to root).
    #[error("entry `{path}` has `{field}` `{value}`: not a 32-bit id: layer rejected")]
    Owner {
        /// The entry.
        path: String,
        /// `uid` or `gid`.
        field: &'static str,
        /// The value in the tar header or pax record.
        value: String,
    },
    /// A filesystem call failed.
    #[error("cannot {op} `{path}`")]
    Io {
        /// What was tried.
        op: &'static str,
        /// The entry.
        path: String,
        /// Why.
        #[source]
        source: io::Error,
    },
}

/// How to unpack.
#[derive(Debug, Clone, Copy)]
pub struct UnpackOptions {
    /// Apply tar ownership and create device nodes (needs root).
    pub same_owner: bool,
}

impl Default for UnpackOptions {
    fn default() -> Self {
        UnpackOptions {
            // SAFETY: geteuid has no preconditions and cannot fail.
            same_owner: unsafe { libc::geteuid() } == 0,
        }
    }
}

/// What an unpack wrote.
#[derive(Debug, Default, Clone, Copy)]
pub struct UnpackStats {
    /// Entries applied.
    pub entries: u64,
    /// Bytes of regular file content written.
    pub bytes: u64,
}

/// Metadata of one entry.
struct Meta {
    mode: u32,
    uid: u32,
    gid: u32,
    mtime: i64,
    xattrs: Vec<(CString, Vec<u8>)>,
}

/// Unpacks the tar `reader` into the existing, empty directory `dest`.
pub fn unpack<R: Read>(
    reader: R,
    dest: &Path,
    opts: UnpackOptions,
) -> Result<UnpackStats, UnpackError> {
    let root = File::open(dest).map_err(|source| UnpackError::Io {
        op: "open snapshot root",
        path: dest.display().to_string(),
        source,
    })?;
    let mut u = Unpacker {
        root: OwnedFd::from(root),
        opts,
        dirs: Vec::new(),
        buf: vec![0; 1 << 20],
        stats: UnpackStats::default(),
    };
    let mut archive = tar::Archive::new(reader);
    for entry in archive.entries().map_err(UnpackError::Tar)? {
        let mut entry = entry.map_err(UnpackError::Tar)?;
        u.apply(&mut entry)?;
        u.stats.entries += 1;
    }
    u.finish_dirs()?;
    Ok(u.stats)
}

struct Unpacker {
    root: OwnedFd,
    opts: UnpackOptions,
    dirs: Vec<(Vec<OsString>, i64)>,
    buf: Vec<u8>,
    stats: UnpackStats,
}

fn io_err<'a>(op: &'static str, path: &'a Path) -> impl FnOnce(io::Error) -> UnpackError + 'a {
    move |source| UnpackError::Io {
        op,
        path: path.display().to_string(),
        source,
    }
}

fn cvt(ret: libc::c_int) -> io::Result<()> {
    if ret < 0 {
        Err(io::Error::last_os_error())
    } else {
        Ok(())
    }
}

impl Unpacker {
    fn apply<R: Read>(&mut self, entry: &mut tar::Entry<'_, R>) -> Result<(), UnpackError> {
        let path = entry.path().map_err(UnpackError::Tar)?.into_owned();
        let shown = path.display().to_string();
        let comps =
            resolve::components(&path).ok_or_else(|| UnpackError::Traversal(shown.clone()))?;
        let meta = read_meta(entry, &shown)?;
        let kind = entry.header().entry_type();
        let Some((name, parent_comps)) = comps.split_last() else {
            return self.root_entry(kind, &meta, &path);
        };
        match whiteout::classify(name) {
            Whiteout::None => {}
            Whiteout::Skip => return Ok(()),
            Whiteout::Opaque => return self.opaque(parent_comps, &path),
            Whiteout::Remove(target) => {
                let parent = self.parent(parent_comps, &path)?;
                return self.whiteout(parent.as_fd(), target, &path);
            }
        }
        let parent = self.parent(parent_comps, &path)?;
        let p = parent.as_fd();
        use tar::EntryType as T;
        match kind {
            T::Directory => self.dir(p, name, &comps, &meta, &path),
            T::Regular | T::Continuous | T::GNUSparse => self.file(p, name, entry, &meta, &path),
            T::Symlink => self.symlink(p, name, entry, &meta, &path),
            T::Link => self.hardlink(p, name, entry, &path),
            T::Char | T::Block | T::Fifo => self.node(p, name, kind, entry, &meta, &path),
            _ => Ok(()),
        }
    }

    /// Opens (creating missing directories) the parent of an entry.
    fn parent(&self, comps: &[OsString], path: &Path) -> Result<OwnedFd, UnpackError> {
        let flags = libc::O_PATH | libc::O_DIRECTORY;
        match open_beneath(self.root.as_fd(), &join(comps), flags) {
            Ok(fd) => return Ok(fd),
            Err(e) if is_escape(&e) => return Err(UnpackError::Escape(path.display().to_string())),
            Err(e) if e.raw_os_error() == Some(libc::ENOENT) => {}
            Err(e) => return Err(io_err("open parent of", path)(e)),
        }
        let mut fd = open_beneath(self.root.as_fd(), Path::new("."), flags)
            .map_err(io_err("open root for", path))?;
        for i in 0..comps.len() {
            fd = match open_beneath(self.root.as_fd(), &join(&comps[..=i]), flags) {
                Ok(next) => next,
                Err(e) if is_escape(&e) => {
                    return Err(UnpackError::Escape(path.display().to_string()))
                }
                Err(e) if e.raw_os_error() == Some(libc::ENOENT) => {
                    let name = cstr(&comps[i]).map_err(io_err("name", path))?;
                    // SAFETY: valid fd and NUL-terminated name.
                    cvt(unsafe { libc::mkdirat(fd.as_raw_fd(), name.as_ptr(), 0o755) })
                        .map_err(io_err("create parent directory of", path))?;
                    open_beneath(self.root.as_fd(), &join(&comps[..=i]), flags)
                        .map_err(io_err("open parent of", path))?
                }
                Err(e) => return Err(io_err("open parent of", path)(e)),
            };
        }
        Ok(fd)
    }

    /// Removes whatever sits at `parent/name` (a directory only if `!keep_dir`);
    /// returns whether a directory was kept.
    fn clear(
        &self,
        parent: BorrowedFd<'_>,
        name: &OsStr,
        keep_dir: bool,
        path: &Path,
    ) -> Result<bool, UnpackError> {
        let c = cstr(name).map_err(io_err("name", path))?;
        // SAFETY: zeroed stat is a valid out-buffer for fstatat.
        let mut st: libc::stat = unsafe { std::mem::zeroed() };
        // SAFETY: valid fd, NUL-terminated name, valid out pointer.
        let ret = unsafe {
            libc::fstatat(
                parent.as_raw_fd(),
                c.as_ptr(),
                &mut st,
                libc::AT_SYMLINK_NOFOLLOW,
            )
        };
        if ret < 0 {
            let e = io::Error::last_os_error();
            if e.raw_os_error() == Some(libc::ENOENT) {
                return Ok(false);
            }
            return Err(io_err("stat", path)(e));
        }
        let is_dir = st.st_mode & libc::S_IFMT == libc::S_IFDIR;
        if is_dir && keep_dir {
            return Ok(true);
        }
        if is_dir {
            std::fs::remove_dir_all(proc_path(parent, name))
                .map_err(io_err("replace directory", path))?;
        } else {
            // SAFETY: valid fd and NUL-terminated name.
            cvt(unsafe { libc::unlinkat(parent.as_raw_fd(), c.as_ptr(), 0) })
                .map_err(io_err("replace", path))?;
        }
        Ok(false)
    }

    fn root_entry(
        &mut self,
        kind: tar::EntryType,
        meta: &Meta,
        path: &Path,
    ) -> Result<(), UnpackError> {
        if kind != tar::EntryType::Directory {
            return Ok(());
        }
        let fd = open_beneath(
            self.root.as_fd(),
            Path::new("."),
            libc::O_RDONLY | libc::O_DIRECTORY,
        )
        .map_err(io_err("open", path))?;
        self.set_fd_meta(fd.as_fd(), meta, path)?;
        self.dirs.push((Vec::new(), meta.mtime));
        Ok(())
    }

    fn dir(
        &mut self,
        p: BorrowedFd<'_>,
        name: &OsStr,
        comps: &[OsString],
        meta: &Meta,
        path: &Path,
    ) -> Result<(), UnpackError> {
        if !self.clear(p, name, true, path)? {
            let c = cstr(name).map_err(io_err("name", path))?;
            // SAFETY: valid fd and NUL-terminated name.
            cvt(unsafe { libc::mkdirat(p.as_raw_fd(), c.as_ptr(), 0o700) })
                .map_err(io_err("create directory", path))?;
        }
        let fd = openat(
            p,
            name,
            libc::O_RDONLY | libc::O_DIRECTORY | libc::O_NOFOLLOW,
            0,
        )
        .map_err(io_err("open", path))?;
        self.set_fd_meta(fd.as_fd(), meta, path)?;
        self.dirs.push((comps.to_vec(), meta.mtime));
        Ok(())
    }

    fn file<R: Read>(
        &mut self,
        p: BorrowedFd<'_>,
        name: &OsStr,
        entry: &mut R,
        meta: &Meta,
        path: &Path,
    ) -> Result<(), UnpackError> {
        self.clear(p, name, false, path)?;
        let flags = libc::O_WRONLY | libc::O_CREAT | libc::O_EXCL | libc::O_NOFOLLOW;
        let fd = openat(p, name, flags, 0o600).map_err(io_err("create file", path))?;
        let mut file = File::from(fd);
        loop {
            let n = match entry.read(&mut self.buf) {
                Ok(0) => break,
                Ok(n) => n,
                Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
                Err(e) => return Err(UnpackError::Tar(e)),
            };
            file.write_all(&self.buf[..n])
                .map_err(io_err("write", path))?;
            self.stats.bytes += n as u64;
        }
        self.set_fd_meta(file.as_fd(), meta, path)?;
        set_fd_times(file.as_fd(), meta.mtime).map_err(io_err("set times of", path))
    }

    fn symlink<R: Read>(
        &mut self,
        p: BorrowedFd<'_>,
        name: &OsStr,
        entry: &tar::Entry<'_, R>,
        meta: &Meta,
        path: &Path,
    ) -> Result<(), UnpackError> {
        let target = entry
            .link_name()
            .map_err(UnpackError::Tar)?
            .unwrap_or_default();
        self.clear(p, name, false, path)?;
        let t = cstr(target.as_os_str()).map_err(io_err("name", path))?;
        let c = cstr(name).map_err(io_err("name", path))?;
        // SAFETY: valid fd and NUL-terminated strings.
        cvt(unsafe { libc::symlinkat(t.as_ptr(), p.as_raw_fd(), c.as_ptr()) })
            .map_err(io_err("create symlink", path))?;
        self.set_path_meta(p, name, meta, false, path)
    }

    fn hardlink<R: Read>(
        &mut self,
        p: BorrowedFd<'_>,
        name: &OsStr,
        entry: &tar::Entry<'_, R>,
        path: &Path,
    ) -> Result<(), UnpackError> {
        let target = entry
            .link_name()
            .map_err(UnpackError::Tar)?
            .unwrap_or_default();
        let escape = || UnpackError::LinkEscape {
            path: path.display().to_string(),
            target: target.display().to_string(),
        };
        let tcomps = resolve::components(&target).ok_or_else(escape)?;
        if tcomps.is_empty() {
            return Err(escape());
        }
        let tfd = match open_beneath(
            self.root.as_fd(),
            &join(&tcomps),
            libc::O_PATH | libc::O_NOFOLLOW,
        ) {
            Ok(fd) => fd,
            Err(e) if is_escape(&e) => return Err(escape()),
            Err(e) => return Err(io_err("find hard link target of", path)(e)),
        };
        self.clear(p, name, false, path)?;
        let c = cstr(name).map_err(io_err("name", path))?;
        // SAFETY: valid fds; "" with AT_EMPTY_PATH links the file `tfd` refers to.
        cvt(unsafe {
            libc::linkat(
                tfd.as_raw_fd(),
                c"".as_ptr(),
                p.as_raw_fd(),
                c.as_ptr(),
                libc::AT_EMPTY_PATH,
            )
        })
        .map_err(io_err("create hard link", path))
    }

    fn node<R: Read>(
        &mut self,
        p: BorrowedFd<'_>,
        name: &OsStr,
        kind: tar::EntryType,
        entry: &tar::Entry<'_, R>,
        meta: &Meta,
        path: &Path,
    ) -> Result<(), UnpackError> {
        let fmt = match kind {
            tar::EntryType::Char => libc::S_IFCHR,
            tar::EntryType::Block => libc::S_IFBLK,
            _ => libc::S_IFIFO,
        };
        if fmt != libc::S_IFIFO && !self.opts.same_owner {
            return Ok(());
        }
        let h = entry.header();
        // FIFOs often carry empty device fields.
        let major = h.device_major().ok().flatten().unwrap_or(0);
        let minor = h.device_minor().ok().flatten().unwrap_or(0);
        self.clear(p, name, false, path)?;
        mknod(
            p,
            name,
            fmt | (meta.mode & 0o7777),
            libc::makedev(major, minor),
        )
        .map_err(io_err("create device node", path))?;
        self.set_path_meta(p, name, meta, true, path)
    }

    fn whiteout(
        &mut self,
        p: BorrowedFd<'_>,
        target: &OsStr,
        path: &Path,
    ) -> Result<(), UnpackError> {
        self.clear(p, target, false, path)?;
        mknod(p, target, libc::S_IFCHR, 0).map_err(io_err("create whiteout", path))
    }

    fn opaque(&mut self, parent_comps: &[OsString], path: &Path) -> Result<(), UnpackError> {
        drop(self.parent(parent_comps, path)?);
        let fd = open_beneath(
            self.root.as_fd(),
            &join(parent_comps),
            libc::O_RDONLY | libc::O_DIRECTORY,
        )
        .map_err(io_err("open opaque directory", path))?;
        let name = CString::new(whiteout::OPAQUE_XATTR)
            .map_err(|_| io_err("name", path)(io::Error::from_raw_os_error(libc::EINVAL)))?;
        fsetxattr(fd.as_fd(), &name, b"y").map_err(io_err("mark opaque", path))
    }

    fn set_fd_meta(&self, fd: BorrowedFd<'_>, meta: &Meta, path: &Path) -> Result<(), UnpackError> {
        let raw = fd.as_raw_fd();
        if self.opts.same_owner {
            // SAFETY: valid fd.
            cvt(unsafe { libc::fchown(raw, meta.uid, meta.gid) }).map_err(io_err("chown", path))?;
        }
        // SAFETY: valid fd.
        cvt(unsafe { libc::fchmod(raw, meta.mode & 0o7777) }).map_err(io_err("chmod", path))?;
        for (k, v) in &meta.xattrs {
            fsetxattr(fd, k, v).map_err(io_err("set xattr on", path))?;
        }
        Ok(())
    }

    /// Ownership, mode (unless a symlink), xattrs and times by name.
    fn set_path_meta(
        &self,
        p: BorrowedFd<'_>,
        name: &OsStr,
        meta: &Meta,
        chmod: bool,
        path: &Path,
    ) -> Result<(), UnpackError> {
        let c = cstr(name).map_err(io_err("name", path))?;
        let raw = p.as_raw_fd();
        if self.opts.same_owner {
            // SAFETY: valid fd and NUL-terminated name.
            cvt(unsafe {
                libc::fchownat(
                    raw,
                    c.as_ptr(),
                    meta.uid,
                    meta.gid,
                    libc::AT_SYMLINK_NOFOLLOW,
                )
            })
            .map_err(io_err("chown", path))?;
        }
        if chmod {
            // SAFETY: valid fd and name; the node was just created by us and is not a symlink.
            cvt(unsafe { libc::fchmodat(raw, c.as_ptr(), meta.mode & 0o7777, 0) })
                .map_err(io_err("chmod", path))?;
        }
        if !meta.xattrs.is_empty() {
            let full = proc_path(p, name);
            let cfull = cstr(full.as_os_str()).map_err(io_err("name", path))?;
            for (k, v) in &meta.xattrs {
                // SAFETY: valid strings and buffer; l-variant does not follow the last link.
                cvt(unsafe {
                    libc::lsetxattr(cfull.as_ptr(), k.as_ptr(), v.as_ptr().cast(), v.len(), 0)
                })
                .map_err(io_err("set xattr on", path))?;
            }
        }
        let ts = times(meta.mtime);
        // SAFETY: valid fd, name and a two-element timespec array.
        cvt(unsafe { libc::utimensat(raw, c.as_ptr(), ts.as_ptr(), libc::AT_SYMLINK_NOFOLLOW) })
            .map_err(io_err("set times of", path))
    }

    /// Directory times last, deepest first, as children change them.
    fn finish_dirs(&mut self) -> Result<(), UnpackError> {
        let dirs = std::mem::take(&mut self.dirs);
        for (comps, mtime) in dirs.iter().rev() {
            let rel = join(comps);
            let fd = open_beneath(
                self.root.as_fd(),
                &rel,
                libc::O_RDONLY | libc::O_DIRECTORY | libc::O_NOFOLLOW,
            )
            .map_err(io_err("open", &rel))?;
            set_fd_times(fd.as_fd(), *mtime).map_err(io_err("set times of", &rel))?;
        }
        Ok(())
    }
}

fn read_meta<R: Read>(entry: &mut tar::Entry<'_, R>, path: &str) -> Result<Meta, UnpackError> {
    let h = entry.header();
    let id = |field, v: u64| {
        u32::try_from(v).map_err(|_| UnpackError::Owner {
            path: path.to_string(),
            field,
            value: v.to_string(),
        })
    };
    let mut meta = Meta {
        mode: h.mode().map_err(UnpackError::Tar)?,
        uid: id("uid", h.uid().map_err(UnpackError::Tar)?)?,
        gid: id("gid", h.gid().map_err(UnpackError::Tar)?)?,
        mtime: i64::try_from(h.mtime().map_err(UnpackError::Tar)?).unwrap_or(i64::MAX),
        xattrs: Vec::new(),
    };
    let Some(exts) = entry.pax_extensions().map_err(UnpackError::Tar)? else {
        return Ok(meta);
    };
    for ext in exts {
        let ext = ext.map_err(UnpackError::Tar)?;
        let Ok(key) = ext.key() else { continue };
        let value = ext.value_bytes();
        let num = || {
            ext.value()
                .ok()
                .and_then(|v| v.split('.').next()?.parse::<i64>().ok())
        };
        // an unreadable pax id keeps the header's; one out of range is refused
        let pax_id = |field, current: u32| match num() {
            None => Ok(current),
            Some(n) => u32::try_from(n).map_err(|_| UnpackError::Owner {
                path: path.to_string(),
                field,
                value: n.to_string(),
            }),
        };
        match key {
            "uid" => meta.uid = pax_id("uid", meta.uid)?,
            "gid" => meta.gid = pax_id("gid", meta.gid)?,
            "mtime" => meta.mtime = num().unwrap_or(meta.mtime),
            _ => {
                let Some(name) = key.strip_prefix("SCHILY.xattr.") else {
                    continue;
                };
                // Overlay metadata from a layer could redirect into other layers.
                if name.starts_with("trusted.overlay.") {
                    continue;
                }
                if let Ok(c) = CString::new(name) {
                    meta.xattrs.push((c, value.to_vec()));
                }
            }
        }
    }
    Ok(meta)
}

fn openat(
    dir: BorrowedFd<'_>,
    name: &OsStr,
    flags: i32,
    mode: libc::mode_t,
) -> io::Result<OwnedFd> {
    let c = cstr(name)?;
    // SAFETY: valid fd and NUL-terminated name; returns a new fd or -1.
    let fd = unsafe { libc::openat(dir.as_raw_fd(), c.as_ptr(), flags | libc::O_CLOEXEC, mode) };
    if fd < 0 {
        return Err(io::Error::last_os_error());
    }
    // SAFETY: the kernel just handed us this fd.
    Ok(unsafe { OwnedFd::from_raw_fd(fd) })
}

fn mknod(dir: BorrowedFd<'_>, name: &OsStr, mode: u32, dev: libc::dev_t) -> io::Result<()> {
    let c = cstr(name)?;
    // SAFETY: valid fd and NUL-terminated name.
    cvt(unsafe { libc::mknodat(dir.as_raw_fd(), c.as_ptr(), mode, dev) })
}

fn fsetxattr(fd: BorrowedFd<'_>, name: &CString, value: &[u8]) -> io::Result<()> {
    // SAFETY: valid fd, NUL-terminated name, value pointer/length pair.
    cvt(unsafe {
        libc::fsetxattr(
            fd.as_raw_fd(),
            name.as_ptr(),
            value.as_ptr().cast(),
            value.len(),
            0,
        )
    })
}

fn times(mtime: i64) -> [libc::timespec; 2] {
    let t = libc::timespec {
        tv_sec: mtime as libc::time_t,
        tv_nsec: 0,
    };
    [t, t]
}

fn set_fd_times(fd: BorrowedFd<'_>, mtime: i64) -> io::Result<()> {
    let ts = times(mtime);
    // SAFETY: valid fd and a two-element timespec array.
    cvt(unsafe { libc::futimens(fd.as_raw_fd(), ts.as_ptr()) })
}

#[cfg(test)]
mod tests;
