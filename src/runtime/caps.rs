//! Capabilities: the five sets of `process.capabilities`. A name the kernel does not
//! know is skipped with a warning (engines list newer ones); made-up names never get
//! this far (config parsing refuses them).
//!
//! As runc: an absent `capabilities` object or an absent list is an empty set, and the
//! bounding set is always reduced to what is listed. Engines send `"capabilities": {}`
//! (Go `omitempty`) for `--cap-drop ALL`; reading that as "leave the set alone" would
//! hand a uid-0 process every capability back at execve.

use std::collections::HashSet;

use oci_spec::runtime::{Capability as SpecCap, LinuxCapabilities};

use crate::error::CredentialsError;
use crate::trace::Log;
use crate::Result;
use k3_sys::Creds;

/// Capability numbers per set; every set is exactly what is listed (none when absent).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct CapSets {
    /// `process.capabilities.bounding`.
    pub bounding: Vec<u8>,
    /// `process.capabilities.effective`.
    pub effective: Vec<u8>,
    /// `process.capabilities.permitted`.
    pub permitted: Vec<u8>,
    /// `process.capabilities.inheritable`.
    pub inheritable: Vec<u8>,
    /// `process.capabilities.ambient` (only raisable ones).
    pub ambient: Vec<u8>,
}

/// The highest capability number this kernel knows, read once (by k3rt, before the
/// clone: the init may no longer be able to open files when it drops the sets).
pub fn last_cap() -> u8 {
    static LAST: std::sync::OnceLock<u8> = std::sync::OnceLock::new();
    *LAST.get_or_init(|| {
        std::fs::read_to_string("/proc/sys/kernel/cap_last_cap")
            .ok()
            .and_then(|s| s.trim().parse().ok())
            .unwrap_or(40)
    })
}

/// `CAP_SYS_ADMIN` → 21 (the `caps` crate's table).
pub fn number(c: SpecCap) -> Option<u8> {
    let name = format!("CAP_{c}");
    name.parse::<caps::Capability>().ok().map(|c| c.index())
}

fn set_of(names: Option<&HashSet<SpecCap>>, last: u8, log: &Log) -> Vec<u8> {
    let mut out: Vec<u8> = Vec::new();
    for c in names.into_iter().flatten() {
        match number(*c) {
            Some(n) if n <= last => out.push(n),
            _ => log.warn(format!(
                "capability `CAP_{c}` is not supported by this kernel, skipped"
            )),
        }
    }
    out.sort_unstable();
    out
}

impl CapSets {
    /// The sets of `process.capabilities`; an absent object is five empty sets.
    pub fn from_spec(c: Option<&LinuxCapabilities>, log: &Log) -> CapSets {
        let last = last_cap();
        let Some(c) = c else {
            return CapSets::default();
        };
        let mut s = CapSets {
            bounding: set_of(c.bounding().as_ref(), last, log),
            effective: set_of(c.effective().as_ref(), last, log),
            permitted: set_of(c.permitted().as_ref(), last, log),
            inheritable: set_of(c.inheritable().as_ref(), last, log),
            ambient: set_of(c.ambient().as_ref(), last, log),
        };
        s.keep_raisable_ambient(log);
        s
    }

    /// The kernel raises an ambient capability only when it is both permitted and
    /// inheritable (EPERM otherwise). runc and crun then leave it out and run the
    /// container (`crun spec`'s default lists ambient caps with an empty inheritable
    /// set); so do we, with a warning.
    fn keep_raisable_ambient(&mut self, log: &Log) {
        let (p, i) = (&self.permitted, &self.inheritable);
        self.ambient.retain(|n| {
            let ok = p.contains(n) && i.contains(n);
            if !ok {
                log.warn(format!(
                    "ambient capability `{n}` is not both permitted and inheritable, not raised"
                ));
            }
            ok
        });
    }

    /// Drops from the bounding set whatever is not listed (needs CAP_SETPCAP: call before setuid).
    pub fn drop_bounding(&self, creds: &dyn Creds) -> Result<()> {
        for n in 0..=last_cap() {
            if self.bounding.contains(&n) {
                continue;
            }
            creds
                .drop_bounding(n)
                .map_err(|source| CredentialsError::DropBounding { cap: n, source })?;
        }
        Ok(())
    }

    /// Sets effective, permitted and inheritable at once, then raises the ambient set.
    pub fn apply(&self, creds: &dyn Creds) -> Result<()> {
        let mask = |v: &[u8]| v.iter().fold(0u64, |m, n| m | (1u64 << n));
        let (e, p, i) = (
            mask(&self.effective),
            mask(&self.permitted),
            mask(&self.inheritable),
        );
        creds
            .capset(e, p, i)
            .map_err(|source| CredentialsError::SetCapabilities {
                effective: e,
                permitted: p,
                inheritable: i,
                source,
            })?;
        // only raisable ones are left (`keep_raisable_ambient`): a failure is real
        for n in &self.ambient {
            creds
                .raise_ambient(*n)
                .map_err(|source| CredentialsError::RaiseAmbient { cap: *n, source })?;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_map_to_kernel_numbers() {
        assert_eq!(number(SpecCap::Chown), Some(0));
        assert_eq!(number(SpecCap::SysAdmin), Some(21));
        assert_eq!(number(SpecCap::NetBindService), Some(10));
        assert_eq!(number(SpecCap::CheckpointRestore), Some(40));
    }

    #[test]
    fn sets_are_sorted_numbers_and_an_absent_list_is_empty() {
        let c: LinuxCapabilities = serde_json::from_str(
            r#"{"effective":["CAP_KILL","CAP_CHOWN"],"permitted":["CAP_KILL","CAP_CHOWN"]}"#,
        )
        .unwrap();
        let s = CapSets::from_spec(Some(&c), &Log::default());
        assert_eq!(s.effective, vec![0, 5]);
        assert!(
            s.bounding.is_empty(),
            "absent bounding list drops every capability"
        );
        assert!(s.ambient.is_empty());
    }

    #[test]
    fn ambient_keeps_only_what_is_permitted_and_inheritable() {
        // `crun spec`: ambient listed, inheritable empty; runc and crun run it
        let c: LinuxCapabilities = serde_json::from_str(
            r#"{"bounding":["CAP_KILL","CAP_CHOWN"],"permitted":["CAP_KILL","CAP_CHOWN"],
                "effective":["CAP_KILL","CAP_CHOWN"],"inheritable":["CAP_CHOWN"],
                "ambient":["CAP_KILL","CAP_CHOWN"]}"#,
        )
        .unwrap();
        let s = CapSets::from_spec(Some(&c), &Log::default());
        assert_eq!(s.ambient, vec![0], "CAP_KILL is not inheritable");
        assert_eq!(s.permitted, vec![0, 5], "the other sets are untouched");
    }

    #[test]
    fn an_empty_or_absent_object_is_no_capability_at_all() {
        // what podman --cap-drop ALL and a CRI pod with drop: [ALL] send
        let empty: LinuxCapabilities = serde_json::from_str("{}").unwrap();
        assert_eq!(
            CapSets::from_spec(Some(&empty), &Log::default()),
            CapSets::default()
        );
        assert_eq!(
            CapSets::from_spec(None, &Log::default()),
            CapSets::default()
        );
    }
}
