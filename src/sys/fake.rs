//! A [`Sys`] that records calls instead of making them, for unit tests without root.

use std::cell::RefCell;
use std::io;
use std::os::fd::OwnedFd;
use std::path::{Path, PathBuf};

use super::{Creds, Kind, Resolved, Sys};

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
    fn attach_tree(&self, _tree: &OwnedFd, target: &Path) -> io::Result<()> {
        self.record(format!("attach tree -> {}", s(target)))
    }
    fn set_attrs_recursive(&self, target: &Path, set: u64, clear: u64) -> io::Result<()> {
        self.record(format!(
            "setattr -R {} set={set:#x} clear={clear:#x}",
            s(target)
        ))
    }
}

/// One credential call, as [`RecordingCreds`] records it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum CredCall {
    /// `PR_SET_KEEPCAPS`.
    KeepCaps(bool),
    /// `PR_CAPBSET_DROP`.
    DropBounding(u8),
    /// setgroups.
    Groups(Vec<u32>),
    /// setresgid.
    Gid(u32),
    /// setresuid.
    Uid(u32),
    /// capset: effective, permitted, inheritable.
    Capset(u64, u64, u64),
    /// `PR_CAP_AMBIENT_RAISE`.
    Ambient(u8),
    /// umask.
    Umask(u32),
}

/// A [`Creds`] that records typed calls instead of making them.
#[derive(Debug, Default)]
pub struct RecordingCreds {
    /// Every call so far, in order.
    pub calls: RefCell<Vec<CredCall>>,
    /// The first call equal to this one fails with EPERM.
    pub fail_at: Option<CredCall>,
}

impl RecordingCreds {
    /// A copy of the calls recorded so far.
    pub fn calls(&self) -> Vec<CredCall> {
        self.calls.borrow().clone()
    }

    fn record(&self, call: CredCall) -> io::Result<()> {
        let fail = self.fail_at.as_ref() == Some(&call);
        self.calls.borrow_mut().push(call);
        if fail {
            return Err(io::Error::from_raw_os_error(libc::EPERM));
        }
        Ok(())
    }
}

impl Creds for RecordingCreds {
    fn keep_caps(&self, keep: bool) -> io::Result<()> {
        self.record(CredCall::KeepCaps(keep))
    }
    fn drop_bounding(&self, cap: u8) -> io::Result<()> {
        self.record(CredCall::DropBounding(cap))
    }
    fn setgroups(&self, gids: &[u32]) -> io::Result<()> {
        self.record(CredCall::Groups(gids.to_vec()))
    }
    fn setresgid(&self, gid: u32) -> io::Result<()> {
        self.record(CredCall::Gid(gid))
    }
    fn setresuid(&self, uid: u32) -> io::Result<()> {
        self.record(CredCall::Uid(uid))
    }
    fn capset(&self, effective: u64, permitted: u64, inheritable: u64) -> io::Result<()> {
        self.record(CredCall::Capset(effective, permitted, inheritable))
    }
    fn raise_ambient(&self, cap: u8) -> io::Result<()> {
        self.record(CredCall::Ambient(cap))
    }
    fn umask(&self, mask: u32) {
        let _ = self.record(CredCall::Umask(mask));
    }
}
