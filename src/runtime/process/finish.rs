//! The last steps before the exec, shared by the container init and by processes
//! `exec` starts in a running container: no_new_privs, the user switch with
//! capabilities, the cwd check, and the pid as k3rt sees it.

use std::path::Path;

use oci_spec::runtime::Process;

use crate::caps::CapSets;
use crate::error::CredentialsError;
use crate::{Error, Result};
use k3_sys::Creds;

/// `process.noNewPrivileges` is set.
pub fn no_new_privs(process: &Process) -> bool {
    process.no_new_privileges() == Some(true)
}

/// `process.noNewPrivileges`.
pub fn set_no_new_privs(process: &Process) -> Result<()> {
    if no_new_privs(process) {
        nix::sys::prctl::set_no_new_privs().map_err(|e| CredentialsError::NoNewPrivs(e.into()))?;
    }
    Ok(())
}

/// Groups, gid, uid, umask, keeping the listed capabilities across the uid change;
/// the bounding set is always reduced to `caps.bounding`.
pub fn switch_user(
    process: &Process,
    caps: &CapSets,
    in_userns: bool,
    creds: &dyn Creds,
) -> Result<()> {
    let u = process.user();
    creds
        .keep_caps(true)
        .map_err(CredentialsError::KeepCapabilities)?;
    caps.drop_bounding(creds)?;
    let gids: &[u32] = u.additional_gids().as_deref().unwrap_or_default();
    if let Err(source) = creds.setgroups(gids) {
        // a user namespace without a gid map refuses setgroups; nothing to set anyway
        if !(gids.is_empty() && in_userns) {
            return Err(CredentialsError::Groups {
                gids: gids.to_vec(),
                source,
            }
            .into());
        }
    }
    creds
        .setresgid(u.gid())
        .map_err(|source| CredentialsError::Gid {
            gid: u.gid(),
            source,
        })?;
    creds
        .setresuid(u.uid())
        .map_err(|source| CredentialsError::Uid {
            uid: u.uid(),
            source,
        })?;
    caps.apply(creds)?;
    // dropping the flag cannot fail once it could be set
    let _ = creds.keep_caps(false);
    creds.umask(u.umask().unwrap_or(0o022));
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

#[cfg(test)]
mod tests {
    use super::*;
    use k3_sys::fake::{CredCall, RecordingCreds};

    fn process(user: &str) -> Process {
        serde_json::from_str(&format!(r#"{{"cwd":"/","user":{user}}}"#)).unwrap()
    }

    fn caps() -> CapSets {
        // everything but capability 0 is dropped from the bounding set
        let all: Vec<u8> = (1..=crate::caps::last_cap()).collect();
        CapSets {
            bounding: all,
            effective: vec![1],
            permitted: vec![1, 33],
            inheritable: vec![1],
            ambient: vec![1],
        }
    }

    #[test]
    fn the_user_switch_keeps_caps_across_the_uid_change_in_order() {
        let creds = RecordingCreds::default();
        let p = process(r#"{"uid":1000,"gid":100,"additionalGids":[10,11],"umask":63}"#);
        switch_user(&p, &caps(), false, &creds).unwrap();
        assert_eq!(
            creds.calls(),
            [
                CredCall::KeepCaps(true),
                CredCall::DropBounding(0),
                CredCall::Groups(vec![10, 11]),
                CredCall::Gid(100),
                CredCall::Uid(1000),
                CredCall::Capset(1 << 1, (1 << 1) | (1 << 33), 1 << 1),
                CredCall::Ambient(1),
                CredCall::KeepCaps(false),
                CredCall::Umask(0o77),
            ]
        );
    }

    #[test]
    fn a_refused_uid_stops_before_the_capabilities_and_names_the_uid() {
        let creds = RecordingCreds {
            fail_at: Some(CredCall::Uid(1000)),
            ..Default::default()
        };
        let p = process(r#"{"uid":1000,"gid":100}"#);
        let e = switch_user(&p, &caps(), false, &creds).unwrap_err();
        assert!(e.to_string().starts_with("set uid `1000`: "), "{e}");
        assert_eq!(creds.calls().last(), Some(&CredCall::Uid(1000)));
        assert!(!creds
            .calls()
            .iter()
            .any(|c| matches!(c, CredCall::Capset(..))));
    }

    #[test]
    fn empty_groups_refused_in_a_user_namespace_are_not_an_error() {
        let creds = RecordingCreds {
            fail_at: Some(CredCall::Groups(vec![])),
            ..Default::default()
        };
        let p = process(r#"{"uid":0,"gid":0}"#);
        switch_user(&p, &caps(), true, &creds).unwrap();
        let e = switch_user(
            &p,
            &caps(),
            false,
            &RecordingCreds {
                fail_at: Some(CredCall::Groups(vec![])),
                ..Default::default()
            },
        )
        .unwrap_err();
        assert!(
            e.to_string().starts_with("set additional gids `[]`: "),
            "{e}"
        );
    }
}
