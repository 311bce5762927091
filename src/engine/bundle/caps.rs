//! The container's capability set.

use std::fs;

use crate::options::{Validated, ALL_CAPS, DEFAULT_CAPS};

///
/// `bounding` is the engine's own bounding set ([`own_bounding`]): like
/// podman and docker, a privileged container gets what the engine could
/// pass on, not capabilities the host withholds from the engine itself
/// (which the runtime could never grant: capset fails with EPERM).
pub fn capabilities(v: &Validated, bounding: u64) -> Vec<String> {
    let mut set: Vec<String> = if v.privileged || v.cap_add.iter().any(|c| c == "ALL") {
        ALL_CAPS
            .iter()
            .enumerate()
            .filter(|(n, _)| {
                u32::try_from(*n).map_or(0, |n| bounding.checked_shr(n).unwrap_or(0)) & 1 == 1
            })
            .map(|(_, c)| c.to_string())
            .collect()
    } else {
        DEFAULT_CAPS.iter().map(|c| c.to_string()).collect()
    };
    for c in &v.cap_add {
        if c != "ALL" && !set.contains(c) {
            set.push(c.clone());
        }
    }
    if v.cap_drop.iter().any(|c| c == "ALL") {
        set.retain(|c| v.cap_add.contains(c));
    }
    set.retain(|c| !v.cap_drop.contains(c));
    set
}

/// The calling process' capability bounding set (`CapBnd` in
/// `/proc/self/status`; every bit when it cannot be read). `ALL_CAPS` is in
/// capability-number order, so bit `n` is `ALL_CAPS[n]`.
pub fn own_bounding() -> u64 {
    fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|s| {
            s.lines()
                .find_map(|l| l.strip_prefix("CapBnd:"))
                .and_then(|h| u64::from_str_radix(h.trim(), 16).ok())
        })
        .unwrap_or(u64::MAX)
}
#[cfg(test)]
mod tests {
    use super::*;
    use crate::bundle::testutil::validated;

    #[test]
    fn capability_sets() {
        let v = validated(|o| {
            o.cap_add = vec!["NET_ADMIN".into(), "SYS_TIME".into()];
            o.cap_drop = vec!["NET_RAW".into()];
        });
        let c = capabilities(&v, u64::MAX);
        assert!(c.contains(&"CAP_NET_ADMIN".into()) && c.contains(&"CAP_SYS_TIME".into()));
        assert!(!c.contains(&"CAP_NET_RAW".into()));
        assert!(!c.contains(&"CAP_SYS_ADMIN".into()));
        let v = validated(|o| o.privileged = true);
        assert_eq!(capabilities(&v, u64::MAX).len(), ALL_CAPS.len());
        let v = validated(|o| {
            o.cap_drop = vec!["ALL".into()];
            o.cap_add = vec!["CHOWN".into()];
        });
        assert_eq!(capabilities(&v, u64::MAX), vec!["CAP_CHOWN"]);
    }

    #[test]
    fn privileged_gets_the_engines_bounding_set() {
        // A host whose bounding set lacks CAP_SYS_RESOURCE (24).
        let bnd = 0x1ff_feff_ffff_u64;
        let v = validated(|o| {
            o.privileged = true;
            o.cap_add = vec!["NET_ADMIN".into(), "SYS_TIME".into()];
            o.cap_drop = vec!["NET_RAW".into()];
        });
        let c = capabilities(&v, bnd);
        assert!(!c.contains(&"CAP_SYS_RESOURCE".into()), "{c:?}");
        assert!(!c.contains(&"CAP_NET_RAW".into()));
        assert!(c.contains(&"CAP_SYS_ADMIN".into()) && c.contains(&"CAP_NET_ADMIN".into()));
        assert_eq!(c.len(), ALL_CAPS.len() - 2);
        let v = validated(|o| o.cap_add = vec!["ALL".into()]);
        assert_eq!(capabilities(&v, bnd).len(), ALL_CAPS.len() - 1);
        // An explicit request is kept (the runtime reports it if it cannot).
        let v = validated(|o| o.cap_add = vec!["SYS_RESOURCE".into()]);
        assert!(capabilities(&v, bnd).contains(&"CAP_SYS_RESOURCE".into()));
        assert_ne!(own_bounding(), 0);
    }
}
