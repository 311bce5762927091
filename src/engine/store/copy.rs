//! `k3 cp`: files in and out of a container's rootfs as a tar stream, with
//! every path resolved inside the rootfs, never on the host.
//!
//! A container owns its rootfs and may make any name in it a symlink (`/etc
//! -> /`, `x -> ../../..`), also while a copy runs. So no path into the rootfs
//! is ever handed to a path-based call: [`RootDir`] holds the rootfs open and
//! resolves each path with `openat2(RESOLVE_IN_ROOT)`, under which `/`, `..`
//! and absolute symlinks stop at the rootfs as they do in a chroot, and
//! `RESOLVE_NO_MAGICLINKS` refuses `/proc/*/root`-style links. The last
//! component is then handled relative to its opened parent without
//! following it (`O_NOFOLLOW`, `AT_SYMLINK_NOFOLLOW`, `*at` calls), so a
//! symlink in the container is copied as a symlink and written through never.

use std::ffi::OsStr;
use std::fs::File;
use std::io::{self, Read, Write};
use std::os::fd::{AsFd, AsRawFd, FromRawFd, OwnedFd, RawFd};
use std::os::unix::ffi::OsStrExt;
use std::path::{Component, Path, PathBuf};

use nix::errno::Errno;
use nix::fcntl::{self, OFlag, OpenHow, ResolveFlag};
use nix::sys::stat::{self, FileStat, Mode, SFlag};
use nix::unistd::{self, UnlinkatFlags};

/// A copy that failed.
#[derive(Debug, thiserror::Error)]
pub enum CopyError {
    /// The path does not exist in the container.
    #[error("no such file or directory `{0}` in the container")]
    NotFound(String),
    /// A system call on a path in the container failed.
    #[error("cannot {op} `{path}` in the container")]
    Sys {
        /// What was tried.
        op: &'static str,
        /// The path in the container.
        path: String,
        /// Why.
        #[source]
        source: Errno,
    },
    /// Reading or writing the tar stream failed.
    #[error("cannot {op} the tar stream")]
    Stream {
        /// What was tried.
        op: &'static str,
        /// Why.
        #[source]
        source: io::Error,
    },
    /// A tar entry k3 does not write into a container.
    #[error("refusing tar entry `{name}`: {reason}")]
    Entry {
        /// The entry's name.
        name: String,
        /// Why.
        reason: &'static str,
    },
}

/// What a path names (the last component not followed).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    /// A directory.
    Dir,
    /// A symlink.
    Symlink,
    /// Anything else (a file, a device, a fifo).
    Other,
}

fn kind_of(st: &FileStat) -> Kind {
    match SFlag::from_bits_truncate(st.st_mode) & SFlag::S_IFMT {
        SFlag::S_IFDIR => Kind::Dir,
        SFlag::S_IFLNK => Kind::Symlink,
        _ => Kind::Other,
    }
}

/// `path` split into its parent and last component (`None` for the root).
fn split(path: &str) -> (String, Option<String>) {
    let parts: Vec<&str> = path
        .split('/')
        .filter(|c| !c.is_empty() && *c != ".")
        .collect();
    match parts.split_last() {
        None => ("/".to_string(), None),
        Some((last, parent)) => (format!("/{}", parent.join("/")), Some((*last).to_string())),
    }
}

/// A container's rootfs held open; every path is resolved inside it.
#[derive(Debug)]
pub struct RootDir {
    fd: OwnedFd,
}

impl RootDir {
    /// Opens the rootfs directory at `path` (a host path k3 made).
    pub fn open(path: &Path) -> Result<RootDir, CopyError> {
        let fd = fcntl::open(
            path,
            OFlag::O_PATH | OFlag::O_DIRECTORY | OFlag::O_CLOEXEC,
            Mode::empty(),
        )
        .map_err(|source| CopyError::Sys {
            op: "open the rootfs",
            path: path.display().to_string(),
            source,
        })?;
        // SAFETY: a descriptor just returned by open, owned by nobody else.
        let fd = unsafe { OwnedFd::from_raw_fd(fd) };
        Ok(RootDir { fd })
    }

    /// Opens `path` inside the root, following symlinks inside it only.
    fn open_in(&self, path: &str, flags: OFlag) -> Result<OwnedFd, CopyError> {
        let rel = path.trim_start_matches('/');
        let rel = if rel.is_empty() { "." } else { rel };
        let how = OpenHow::new()
            .flags(flags | OFlag::O_CLOEXEC)
            .resolve(ResolveFlag::RESOLVE_IN_ROOT | ResolveFlag::RESOLVE_NO_MAGICLINKS);
        match fcntl::openat2(self.fd.as_raw_fd(), rel, how) {
            // SAFETY: a descriptor just returned by openat2.
            Ok(fd) => Ok(unsafe { OwnedFd::from_raw_fd(fd) }),
            Err(Errno::ENOENT) => Err(CopyError::NotFound(path.to_string())),
            Err(source) => Err(CopyError::Sys {
                op: "open",
                path: path.to_string(),
                source,
            }),
        }
    }

    /// The directory `path` names (symlinks followed inside the root),
    /// held open; `None` when it is missing or not a directory.
    pub fn dir(&self, path: &str) -> Result<Option<OwnedFd>, CopyError> {
        match self.open_in(path, OFlag::O_PATH | OFlag::O_DIRECTORY) {
            Ok(fd) => Ok(Some(fd)),
            Err(CopyError::NotFound(_)) => Ok(None),
            Err(CopyError::Sys {
                source: Errno::ENOENT | Errno::ENOTDIR,
                ..
            }) => Ok(None),
            Err(e) => Err(e),
        }
    }

    /// What `path` names: the last component followed when `follow`; `None`
    /// when it does not exist.
    pub fn kind(&self, path: &str, follow: bool) -> Result<Option<Kind>, CopyError> {
        let (parent, name) = split(path);
        let result = match name {
            Some(name) if !follow => self
                .open_in(&parent, OFlag::O_PATH | OFlag::O_DIRECTORY)
                .and_then(|dir| {
                    stat::fstatat(
                        Some(dir.as_raw_fd()),
                        name.as_str(),
                        fcntl::AtFlags::AT_SYMLINK_NOFOLLOW,
                    )
                    .map_err(|source| sys("stat", path, source))
                }),
            _ => self.open_in(path, OFlag::O_PATH).and_then(|fd| {
                stat::fstat(fd.as_raw_fd()).map_err(|source| sys("stat", path, source))
            }),
        };
        match result {
            Ok(st) => Ok(Some(kind_of(&st))),
            Err(CopyError::NotFound(_)) => Ok(None),
            Err(CopyError::Sys {
                source: Errno::ENOENT | Errno::ENOTDIR,
                ..
            }) => Ok(None),
            Err(e) => Err(e),
        }
    }

    /// Writes `path` (a directory with everything under it) as a tar stream,
    /// its entries named under `top` (`.`: the directory's content only). A
    /// symlink is archived as a symlink, its target not followed, unless
    /// `follow` (a path ending in `/` or `/.`).
    pub fn archive(
        &self,
        path: &str,
        top: &str,
        follow: bool,
        out: impl Write,
    ) -> Result<(), CopyError> {
        let mut tar = tar::Builder::new(out);
        tar.mode(tar::HeaderMode::Complete);
        let (parent, name) = split(path);
        match name {
            Some(name) if !follow => {
                let dir = self.open_in(&parent, OFlag::O_PATH | OFlag::O_DIRECTORY)?;
                let st = stat::fstatat(
                    Some(dir.as_raw_fd()),
                    name.as_str(),
                    fcntl::AtFlags::AT_SYMLINK_NOFOLLOW,
                )
                .map_err(|source| not_found_or(path, "stat", source))?;
                add(
                    &mut tar,
                    dir.as_fd().as_raw_fd(),
                    OsStr::new(&name),
                    &st,
                    top,
                    path,
                )?;
            }
            _ => {
                // the root, or a path whose last symlink is followed: open it
                let fd = self.open_in(path, OFlag::O_PATH)?;
                let st = stat::fstat(fd.as_raw_fd()).map_err(|source| sys("stat", path, source))?;
                // re-open through /proc is refused (magic links); open "." of
                // the O_PATH descriptor instead, which names the same inode
                add(&mut tar, fd.as_raw_fd(), OsStr::new("."), &st, top, path)?;
            }
        }
        tar.into_inner()
            .and_then(|mut w| w.flush())
            .map_err(|source| CopyError::Stream {
                op: "write",
                source,
            })
    }

    /// Extracts the tar stream `input` into the directory `dest` of the
    /// container; the number of entries written. Entries are created as
    /// root, with the archive's modes; `..` in a name is refused.
    pub fn extract(&self, dest: &str, input: impl Read) -> Result<usize, CopyError> {
        match self.kind(dest, true)? {
            Some(Kind::Dir) => {}
            Some(_) => {
                return Err(sys("extract into", dest, Errno::ENOTDIR));
            }
            None => return Err(CopyError::NotFound(dest.to_string())),
        }
        let mut archive = tar::Archive::new(input);
        let mut n = 0;
        let entries = archive
            .entries()
            .map_err(|source| CopyError::Stream { op: "read", source })?;
        for entry in entries {
            let mut entry = entry.map_err(|source| CopyError::Stream { op: "read", source })?;
            let raw = entry
                .path()
                .map_err(|source| CopyError::Stream { op: "read", source })?
                .into_owned();
            let Some(rel) = clean(&raw)? else {
                continue;
            };
            self.write_entry(dest, &rel, &mut entry)?;
            n += 1;
        }
        Ok(n)
    }

    fn write_entry<R: Read>(
        &self,
        dest: &str,
        rel: &Path,
        entry: &mut tar::Entry<'_, R>,
    ) -> Result<(), CopyError> {
        let full = format!("{}/{}", dest.trim_end_matches('/'), rel.display());
        let (parent, name) = split(&full);
        let Some(name) = name else { return Ok(()) };
        let dir = self.open_in(&parent, OFlag::O_PATH | OFlag::O_DIRECTORY)?;
        let dirfd = dir.as_raw_fd();
        let header = entry.header();
        let mode = Mode::from_bits_truncate(header.mode().unwrap_or(0o644) & 0o7777);
        let kind = header.entry_type();
        let existing = stat::fstatat(
            Some(dirfd),
            name.as_str(),
            fcntl::AtFlags::AT_SYMLINK_NOFOLLOW,
        )
        .ok()
        .map(|st| kind_of(&st));
        if kind.is_dir() {
            match existing {
                Some(Kind::Dir) => {}
                Some(_) => {
                    unistd::unlinkat(Some(dirfd), name.as_str(), UnlinkatFlags::NoRemoveDir)
                        .map_err(|source| sys("replace", &full, source))?;
                    stat::mkdirat(Some(dirfd), name.as_str(), mode)
                        .map_err(|source| sys("create directory", &full, source))?;
                }
                None => stat::mkdirat(Some(dirfd), name.as_str(), mode)
                    .map_err(|source| sys("create directory", &full, source))?,
            }
            return Ok(());
        }
        match existing {
            Some(Kind::Dir) => return Err(sys("replace directory", &full, Errno::EISDIR)),
            Some(_) => unistd::unlinkat(Some(dirfd), name.as_str(), UnlinkatFlags::NoRemoveDir)
                .map_err(|source| sys("replace", &full, source))?,
            None => {}
        }
        let entry_name = rel.display().to_string();
        if kind.is_symlink() {
            let target = entry
                .link_name()
                .map_err(|source| CopyError::Stream { op: "read", source })?
                .ok_or(CopyError::Entry {
                    name: entry_name,
                    reason: "a symlink without a target",
                })?;
            return unistd::symlinkat(target.as_ref(), Some(dirfd), name.as_str())
                .map_err(|source| sys("create symlink", &full, source));
        }
        if kind.is_hard_link() {
            let target = entry
                .link_name()
                .map_err(|source| CopyError::Stream { op: "read", source })?
                .ok_or(CopyError::Entry {
                    name: entry_name.clone(),
                    reason: "a hard link without a target",
                })?;
            let Some(target) = clean(&target)? else {
                return Err(CopyError::Entry {
                    name: entry_name,
                    reason: "a hard link to the destination itself",
                });
            };
            let tfull = format!("{}/{}", dest.trim_end_matches('/'), target.display());
            let (tparent, tname) = split(&tfull);
            let tdir = self.open_in(&tparent, OFlag::O_PATH | OFlag::O_DIRECTORY)?;
            return unistd::linkat(
                Some(tdir.as_raw_fd()),
                tname.unwrap_or_default().as_str(),
                Some(dirfd),
                name.as_str(),
                fcntl::AtFlags::empty(),
            )
            .map_err(|source| sys("create hard link", &full, source));
        }
        if !kind.is_file() {
            return Err(CopyError::Entry {
                name: entry_name,
                reason: "only files, directories and links are copied into a container",
            });
        }
        let fd = fcntl::openat(
            Some(dirfd),
            name.as_str(),
            OFlag::O_WRONLY | OFlag::O_CREAT | OFlag::O_EXCL | OFlag::O_NOFOLLOW | OFlag::O_CLOEXEC,
            mode,
        )
        .map_err(|source| sys("create", &full, source))?;
        // SAFETY: a descriptor just returned by openat, owned by this File.
        let mut file = unsafe { File::from_raw_fd(fd) };
        io::copy(entry, &mut file).map_err(|source| CopyError::Stream { op: "read", source })?;
        // the umask narrowed the mode: give the archive's
        stat::fchmod(file.as_raw_fd(), mode).map_err(|source| sys("chmod", &full, source))
    }
}

/// A pipe (read end, write end) between the two sides of a copy.
pub fn pipe() -> io::Result<(File, File)> {
    let (r, w) = unistd::pipe2(OFlag::O_CLOEXEC).map_err(io::Error::from)?;
    Ok((File::from(r), File::from(w)))
}

/// Unpacks a tar stream from a container into the host directory `dir`
/// (the host side of a copy out): modes and times kept, owned by the caller.
pub fn unpack_on_host(input: impl Read, dir: &Path) -> io::Result<()> {
    let mut archive = tar::Archive::new(input);
    archive.set_preserve_permissions(true);
    archive.set_preserve_mtime(true);
    archive.set_overwrite(true);
    archive.unpack(dir)
}

/// Writes the host path `src` (a directory with everything under it) as a
/// tar stream named `top` (the host side of a copy in); symlinks stay links.
pub fn archive_host(src: &Path, top: &str, out: impl Write) -> io::Result<()> {
    let mut b = tar::Builder::new(out);
    b.follow_symlinks(false);
    if std::fs::symlink_metadata(src)?.is_dir() {
        b.append_dir_all(top, src)?;
    } else {
        b.append_path_with_name(src, top)?;
    }
    b.into_inner()?.flush()
}

fn sys(op: &'static str, path: &str, source: Errno) -> CopyError {
    CopyError::Sys {
        op,
        path: path.to_string(),
        source,
    }
}

fn not_found_or(path: &str, op: &'static str, source: Errno) -> CopyError {
    if source == Errno::ENOENT {
        CopyError::NotFound(path.to_string())
    } else {
        sys(op, path, source)
    }
}

/// An entry name relative to the destination: `./` and `/` dropped, `..`
/// refused; `None` for the destination itself.
fn clean(raw: &Path) -> Result<Option<PathBuf>, CopyError> {
    let mut out = PathBuf::new();
    for c in raw.components() {
        match c {
            Component::Normal(p) => out.push(p),
            Component::CurDir | Component::RootDir => {}
            Component::ParentDir | Component::Prefix(_) => {
                return Err(CopyError::Entry {
                    name: raw.display().to_string(),
                    reason: "`..` in a name",
                })
            }
        }
    }
    Ok((!out.as_os_str().is_empty()).then_some(out))
}

fn header_of(st: &FileStat, kind: tar::EntryType, size: u64) -> tar::Header {
    let mut h = tar::Header::new_gnu();
    h.set_entry_type(kind);
    h.set_size(size);
    h.set_mode(st.st_mode & 0o7777);
    h.set_uid(u64::from(st.st_uid));
    h.set_gid(u64::from(st.st_gid));
    h.set_mtime(u64::try_from(st.st_mtime).unwrap_or(0));
    h
}

/// Appends `name` of the directory `dir` as `tar_path` (recursively).
fn add<W: Write>(
    tar: &mut tar::Builder<W>,
    dir: RawFd,
    name: &OsStr,
    st: &FileStat,
    tar_path: &str,
    shown: &str,
) -> Result<(), CopyError> {
    let werr = |source| CopyError::Stream {
        op: "write",
        source,
    };
    let fmt = SFlag::from_bits_truncate(st.st_mode) & SFlag::S_IFMT;
    match fmt {
        SFlag::S_IFDIR => {
            if tar_path != "." {
                let mut h = header_of(st, tar::EntryType::Directory, 0);
                tar.append_data(&mut h, format!("{tar_path}/"), io::empty())
                    .map_err(werr)?;
            }
            let fd = fcntl::openat(
                Some(dir),
                name,
                OFlag::O_RDONLY | OFlag::O_DIRECTORY | OFlag::O_NOFOLLOW | OFlag::O_CLOEXEC,
                Mode::empty(),
            )
            .map_err(|source| sys("open directory", shown, source))?;
            let mut d = nix::dir::Dir::from_fd(fd).map_err(|source| sys("list", shown, source))?;
            let dfd = d.as_raw_fd();
            let mut names: Vec<Vec<u8>> = d
                .iter()
                .filter_map(Result::ok)
                .map(|e| e.file_name().to_bytes().to_vec())
                .filter(|n| n != b"." && n != b"..")
                .collect();
            names.sort();
            for n in names {
                let child = OsStr::from_bytes(&n);
                let child_shown = format!("{shown}/{}", child.to_string_lossy());
                let Ok(cst) = stat::fstatat(Some(dfd), child, fcntl::AtFlags::AT_SYMLINK_NOFOLLOW)
                else {
                    continue; // removed while copying
                };
                let child_path = if tar_path == "." {
                    child.to_string_lossy().into_owned()
                } else {
                    format!("{tar_path}/{}", child.to_string_lossy())
                };
                add(tar, dfd, child, &cst, &child_path, &child_shown)?;
            }
            Ok(())
        }
        SFlag::S_IFREG => {
            let fd = fcntl::openat(
                Some(dir),
                name,
                OFlag::O_RDONLY | OFlag::O_NOFOLLOW | OFlag::O_NONBLOCK | OFlag::O_CLOEXEC,
                Mode::empty(),
            )
            .map_err(|source| sys("open", shown, source))?;
            // SAFETY: a descriptor just returned by openat, owned by this File.
            let file = unsafe { File::from_raw_fd(fd) };
            let st = stat::fstat(file.as_raw_fd()).map_err(|source| sys("stat", shown, source))?;
            let size = u64::try_from(st.st_size).unwrap_or(0);
            let mut h = header_of(&st, tar::EntryType::Regular, size);
            // exactly `size` bytes even if the file changes while it is read
            let data = file.take(size).chain(io::repeat(0)).take(size);
            tar.append_data(&mut h, tar_path, data).map_err(werr)
        }
        SFlag::S_IFLNK => {
            let target = fcntl::readlinkat(Some(dir), name)
                .map_err(|source| sys("read symlink", shown, source))?;
            let mut h = header_of(st, tar::EntryType::Symlink, 0);
            tar.append_link(&mut h, tar_path, target).map_err(werr)
        }
        SFlag::S_IFIFO | SFlag::S_IFCHR | SFlag::S_IFBLK => {
            let kind = match fmt {
                SFlag::S_IFIFO => tar::EntryType::Fifo,
                SFlag::S_IFCHR => tar::EntryType::Char,
                _ => tar::EntryType::Block,
            };
            let mut h = header_of(st, kind, 0);
            let (major, minor) = (stat::major(st.st_rdev), stat::minor(st.st_rdev));
            h.set_device_major(u32::try_from(major).unwrap_or(0))
                .map_err(werr)?;
            h.set_device_minor(u32::try_from(minor).unwrap_or(0))
                .map_err(werr)?;
            tar.append_data(&mut h, tar_path, io::empty()).map_err(werr)
        }
        // sockets cannot be archived
        _ => Ok(()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::os::unix::fs::symlink;

    fn rootfs() -> (tempfile::TempDir, PathBuf) {
        let d = tempfile::tempdir().unwrap();
        let root = d.path().join("rootfs");
        std::fs::create_dir_all(root.join("etc/sub")).unwrap();
        std::fs::write(root.join("etc/hostname"), "ctr\n").unwrap();
        std::fs::write(root.join("etc/sub/f"), "deep").unwrap();
        // escapes, as a hostile container would make them
        symlink("/", root.join("up")).unwrap();
        symlink("../../../../..", root.join("etc/rel")).unwrap();
        std::fs::write(d.path().join("host-secret"), "host").unwrap();
        (d, root)
    }

    fn names(tar_bytes: &[u8]) -> Vec<String> {
        let mut a = tar::Archive::new(tar_bytes);
        a.entries()
            .unwrap()
            .map(|e| e.unwrap().path().unwrap().display().to_string())
            .collect()
    }

    #[test]
    fn archive_names_entries_under_top_and_keeps_symlinks() {
        let (_d, root) = rootfs();
        let r = RootDir::open(&root).unwrap();
        let mut out = Vec::new();
        r.archive("/etc", "etc", false, &mut out).unwrap();
        assert_eq!(
            names(&out),
            ["etc/", "etc/hostname", "etc/rel", "etc/sub/", "etc/sub/f"]
        );
        let mut out = Vec::new();
        r.archive("/etc/.", ".", true, &mut out).unwrap();
        assert_eq!(names(&out), ["hostname", "rel", "sub/", "sub/f"]);
    }

    #[test]
    fn reads_resolve_inside_the_root() {
        let (d, root) = rootfs();
        std::fs::write(root.join("host-secret"), "in-root").unwrap();
        let r = RootDir::open(&root).unwrap();
        // `/up/../host-secret` and `/etc/rel/host-secret` stay in the rootfs
        for p in [
            "/up/../host-secret",
            "/etc/rel/host-secret",
            "/../host-secret",
        ] {
            let mut out = Vec::new();
            r.archive(p, "x", false, &mut out).unwrap();
            let mut a = tar::Archive::new(&out[..]);
            let mut e = a.entries().unwrap().next().unwrap().unwrap();
            let mut s = String::new();
            e.read_to_string(&mut s).unwrap();
            assert_eq!(s, "in-root", "{p}");
        }
        assert_eq!(
            std::fs::read_to_string(d.path().join("host-secret")).unwrap(),
            "host"
        );
        assert!(matches!(
            r.archive("/nope", "x", false, Vec::new()),
            Err(CopyError::NotFound(_))
        ));
        assert_eq!(r.kind("/up", false).unwrap(), Some(Kind::Symlink));
        assert_eq!(r.kind("/up", true).unwrap(), Some(Kind::Dir));
        assert_eq!(r.kind("/etc/hostname/x", true).unwrap(), None);
    }

    fn tar_of(entries: &[(&str, tar::EntryType, &[u8], Option<&str>)]) -> Vec<u8> {
        let mut b = tar::Builder::new(Vec::new());
        for (name, kind, data, link) in entries {
            let mut h = tar::Header::new_gnu();
            h.set_entry_type(*kind);
            h.set_size(data.len() as u64);
            h.set_mode(0o640);
            match link {
                Some(l) => b.append_link(&mut h, name, l).unwrap(),
                None => b.append_data(&mut h, name, *data).unwrap(),
            }
        }
        b.into_inner().unwrap()
    }

    #[test]
    fn writes_through_container_symlinks_stay_inside() {
        let (d, root) = rootfs();
        let r = RootDir::open(&root).unwrap();
        let t = tar_of(&[
            ("a/", tar::EntryType::Directory, b"", None),
            ("a/f", tar::EntryType::Regular, b"data", None),
            ("a/l", tar::EntryType::Symlink, b"", Some("/etc/hostname")),
            ("a/h", tar::EntryType::Link, b"", Some("a/f")),
        ]);
        assert!(matches!(
            r.extract("/up/etc/rel/dst", &t[..]),
            Err(CopyError::NotFound(_))
        ));
        std::fs::create_dir(root.join("dst")).unwrap();
        // through `/up` (-> `/`) and `etc/rel` (-> far above): the rootfs's /dst
        assert_eq!(r.extract("/up/etc/rel/dst", &t[..]).unwrap(), 4);
        assert_eq!(
            std::fs::read_to_string(root.join("dst/a/f")).unwrap(),
            "data"
        );
        assert_eq!(
            std::fs::read_link(root.join("dst/a/l")).unwrap(),
            Path::new("/etc/hostname")
        );
        use std::os::unix::fs::{MetadataExt, PermissionsExt};
        let m = std::fs::metadata(root.join("dst/a/f")).unwrap();
        assert_eq!(m.permissions().mode() & 0o777, 0o640);
        assert_eq!(m.nlink(), 2);
        assert!(!d.path().join("dst").exists());
        // a file entry over a symlink replaces the link, never writes through it
        let t = tar_of(&[("l", tar::EntryType::Regular, b"over", None)]);
        symlink("/etc/hostname", root.join("dst/l")).unwrap();
        r.extract("/dst", &t[..]).unwrap();
        assert_eq!(
            std::fs::read_to_string(root.join("etc/hostname")).unwrap(),
            "ctr\n"
        );
        assert_eq!(std::fs::read_to_string(root.join("dst/l")).unwrap(), "over");
    }

    #[test]
    fn refuses_dotdot_entries() {
        let (d, root) = rootfs();
        let r = RootDir::open(&root).unwrap();
        let mut b = tar::Builder::new(Vec::new());
        let mut h = tar::Header::new_gnu();
        h.set_size(1);
        h.set_mode(0o644);
        // set the name bytes directly: the builder itself refuses `..`
        h.as_gnu_mut().unwrap().name[..12].copy_from_slice(b"../../escape");
        h.set_cksum();
        b.append(&h, &b"x"[..]).unwrap();
        let t = b.into_inner().unwrap();
        let err = r.extract("/etc", &t[..]).unwrap_err();
        assert!(matches!(err, CopyError::Entry { .. }), "{err}");
        assert!(!d.path().join("escape").exists() && !root.join("escape").exists());
    }
}
