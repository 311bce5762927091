//! The last steps before the exec, shared by the container init and by processes
//! `exec` starts in a running container: no_new_privs, the user switch with
//! capabilities, the cwd check, and the pid as k3rt sees it.

use std::path::Path;

use oci_spec::runtime::Process;

use crate::caps::CapSets;
use crate::error::{errno, CredentialsError};
use crate::{Error, Result};

pub fn no_new_privs(process: &Process) -> bool {
    process.no_new_privileges() == Some(true)
}

/// `process.noNewPrivileges`.
pub fn set_no_new_privs(process: &Process) -> Result<()> {
    if no_new_privs(process) {
        // SAFETY: prctl with integer arguments.
        if unsafe { libc::prctl(libc::PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) } < 0 {
            return Err(CredentialsError::NoNewPrivs(errno()).into());
        }
    }
    Ok(())
}

/// Groups, gid, uid, umask, keeping the listed capabilities across the uid change;
/// the bounding set is always reduced to `caps.bounding`.
pub fn switch_user(process: &Process, caps: &CapSets, in_userns: bool) -> Result<()> {
    let u = process.user();
    // SAFETY: prctl with integer arguments.
    if unsafe { libc::prctl(libc::PR_SET_KEEPCAPS, 1, 0, 0, 0) } < 0 {
        return Err(CredentialsError::KeepCapabilities(errno()).into());
    }
    caps.drop_bounding()?;
    let gids: Vec<libc::gid_t> = u.additional_gids().clone().unwrap_or_default();
    // SAFETY: pointer and length describe `gids`.
    let r = unsafe { libc::setgroups(gids.len(), gids.as_ptr()) };
    if r < 0 && !(gids.is_empty() && in_userns) {
        return Err(CredentialsError::Groups {
            gids,
            source: errno(),
        }
        .into());
    }
    // SAFETY: plain syscall.
    if unsafe { libc::setresgid(u.gid(), u.gid(), u.gid()) } < 0 {
        return Err(CredentialsError::Gid {
            gid: u.gid(),
            source: errno(),
        }
        .into());
    }
    // SAFETY: plain syscall.
    if unsafe { libc::setresuid(u.uid(), u.uid(), u.uid()) } < 0 {
        return Err(CredentialsError::Uid {
            uid: u.uid(),
            source: errno(),
        }
        .into());
    }
    caps.apply()?;
    // SAFETY: prctl with integer arguments.
    unsafe { libc::prctl(libc::PR_SET_KEEPCAPS, 0, 0, 0, 0) };
    // SAFETY: umask has no failure mode.
    unsafe { libc::umask(u.umask().unwrap_or(0o022) as libc::mode_t) };
    Ok(())
}

/// chdir, then check the cwd is inside the container (CVE-2024-21626).
pub fn enter_cwd(cwd: &Path) -> Result<()> {
    std::env::set_current_dir(cwd).map_err(|e| Error::io("chdir to process.cwd", cwd, e))?;
    // a cwd outside the container root makes getcwd fail
    std::env::current_dir().map_err(|e| Error::io("cwd is outside the container", cwd, e))?;
    Ok(())
}

/// Our pid in k3rt's pid namespace, read once through the host /proc (before any pivot).
pub fn host_pid() -> i32 {
    static PID: std::sync::OnceLock<i32> = std::sync::OnceLock::new();
    *PID.get_or_init(|| {
        std::fs::read_link("/proc/self")
            .ok()
            .and_then(|p| p.to_str().and_then(|s| s.parse().ok()))
            .unwrap_or(0)
    })
}
