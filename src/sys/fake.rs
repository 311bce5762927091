//! A [`Sys`] that records calls instead of making them, for unit tests without root.

use std::cell::RefCell;
use std::io;
use std::path::{Path, PathBuf};

use super::{Kind, Resolved, Sys};

/// Records every call as one line, e.g. `mount proc -> /r/proc type=proc flags=0xe`.
#[derive(Debug, Default)]
pub struct RecordingSys {
    /// Every call so far, one line each, in order.
    pub calls: RefCell<Vec<String>>,
    /// Calls whose line starts with one of these fail with EPERM.
    pub fail_prefixes: Vec<String>,
}

impl RecordingSys {
    /// A copy of the calls recorded so far.
    pub fn calls(&self) -> Vec<String> {
        self.calls.borrow().clone()
    }

    fn record(&self, line: String) -> io::Result<()> {
        let fail = self
            .fail_prefixes
            .iter()
            .any(|p| line.starts_with(p.as_str()));
        self.calls.borrow_mut().push(line);
        if fail {
            return Err(io::Error::from_raw_os_error(libc::EPERM));
        }
        Ok(())
    }
}

fn s(p: &Path) -> String {
    p.display().to_string()
}

impl Sys for RecordingSys {
    fn resolve_in_root(
        &self,
        root: &Path,
        rel: &Path,
        create: Option<Kind>,
    ) -> io::Result<Resolved> {
        let rel = rel.strip_prefix("/").unwrap_or(rel);
        let path: PathBuf = root.join(rel);
        if let Some(k) = create {
            self.record(format!("ensure {k:?} {}", s(&path)))?;
        }
        Ok(Resolved::new(path, None))
    }
    fn mount(
        &self,
        src: Option<&Path>,
        target: &Path,
        fstype: Option<&str>,
        flags: u64,
        data: Option<&str>,
    ) -> io::Result<()> {
        self.record(format!(
            "mount {} -> {} type={} flags={flags:#x} data={}",
            src.map(s).unwrap_or_default(),
            s(target),
            fstype.unwrap_or(""),
            data.unwrap_or("")
        ))
    }
    fn umount(&self, target: &Path, flags: i32) -> io::Result<()> {
        self.record(format!("umount {} flags={flags:#x}", s(target)))
    }
    fn pivot_root(&self, new_root: &Path) -> io::Result<()> {
        self.record(format!("pivot_root {}", s(new_root)))
    }
    fn move_root(&self, new_root: &Path) -> io::Result<()> {
        self.record(format!("move_root {}", s(new_root)))
    }
    fn mknod(&self, path: &Path, mode: u32, dev: u64) -> io::Result<()> {
        self.record(format!("mknod {} mode={mode:o} dev={dev:#x}", s(path)))
    }
    fn symlink(&self, target: &Path, link: &Path) -> io::Result<()> {
        self.record(format!("symlink {} -> {}", s(link), s(target)))
    }
    fn chown(&self, path: &Path, uid: u32, gid: u32) -> io::Result<()> {
        self.record(format!("chown {} {uid}:{gid}", s(path)))
    }
    fn chmod(&self, path: &Path, mode: u32) -> io::Result<()> {
        self.record(format!("chmod {} {mode:o}", s(path)))
    }
    fn sethostname(&self, name: &str) -> io::Result<()> {
        self.record(format!("sethostname {name}"))
    }
    fn setdomainname(&self, name: &str) -> io::Result<()> {
        self.record(format!("setdomainname {name}"))
    }
    fn mount_flags(&self, _path: &Path) -> io::Result<u64> {
        Ok(0)
    }
}
