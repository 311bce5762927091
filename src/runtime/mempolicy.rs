//! `linux.memoryPolicy` (runtime-spec 1.3): the NUMA memory policy of the container,
//! set with set_mempolicy(2). k3rt sets it on itself just before it clones the init,
//! which inherits it; a policy the kernel refuses fails create before anything runs.

use oci_spec::runtime::{MemoryPolicyFlagType, MemoryPolicyModeType, Spec};

use crate::{Error, Result};

const FIELD: &str = "linux.memoryPolicy";
/// Bits in one word of a nodemask.
const WORD: usize = libc::c_ulong::BITS as usize;
/// The most node numbers accepted (the kernel's MAX_NUMNODES is at most 1 << 10).
const MAX_NODES: usize = 1 << 10;

/// A validated policy, ready for set_mempolicy.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MemPolicy {
    /// The mode with its flags or-ed in.
    mode: i32,
    /// One bit per node.
    mask: Vec<libc::c_ulong>,
    /// `linux.memoryPolicy` as given, for errors.
    text: String,
}

fn mode_number(m: MemoryPolicyModeType) -> i32 {
    match m {
        MemoryPolicyModeType::MpolDefault => 0,
        MemoryPolicyModeType::MpolPreferred => 1,
        MemoryPolicyModeType::MpolBind => 2,
        MemoryPolicyModeType::MpolInterleave => 3,
        MemoryPolicyModeType::MpolLocal => 4,
        MemoryPolicyModeType::MpolPreferredMany => 5,
        MemoryPolicyModeType::MpolWeightedInterleave => 6,
    }
}

fn flag_number(f: MemoryPolicyFlagType) -> i32 {
    match f {
        MemoryPolicyFlagType::MpolFNumaBalancing => 1 << 13,
        MemoryPolicyFlagType::MpolFRelativeNodes => 1 << 14,
        MemoryPolicyFlagType::MpolFStaticNodes => 1 << 15,
    }
}

/// `0-3,7` → a nodemask.
fn parse_nodes(s: &str) -> std::result::Result<Vec<libc::c_ulong>, String> {
    let mut mask = Vec::new();
    for part in s.split(',') {
        let (a, b) = part.split_once('-').unwrap_or((part, part));
        let num = |t: &str| {
            t.trim()
                .parse::<usize>()
                .ok()
                .filter(|&n| n < MAX_NODES)
                .ok_or_else(|| format!("`{part}` is not a node number or range below {MAX_NODES}"))
        };
        let (a, b) = (num(a)?, num(b)?);
        if a > b {
            return Err(format!("range `{part}` is backwards"));
        }
        for n in a..=b {
            if mask.len() <= n / WORD {
                mask.resize(n / WORD + 1, 0);
            }
            mask[n / WORD] |= 1 << (n % WORD);
        }
    }
    Ok(mask)
}

/// The spec's policy, checked as far as it can be without the kernel.
pub fn from_spec(spec: &Spec) -> Result<Option<MemPolicy>> {
    let Some(p) = spec
        .linux()
        .as_ref()
        .and_then(|l| l.memory_policy().as_ref())
    else {
        return Ok(None);
    };
    let text = serde_json::to_string(p).unwrap_or_default();
    let nodes = p.nodes().as_deref().filter(|n| !n.is_empty());
    let mask = match nodes {
        Some(n) => {
            parse_nodes(n).map_err(|why| Error::invalid("linux.memoryPolicy.nodes", n, why))?
        }
        None => Vec::new(),
    };
    let mode = p.mode();
    let mode_name = mode.to_string();
    match mode {
        MemoryPolicyModeType::MpolDefault | MemoryPolicyModeType::MpolLocal if nodes.is_some() => {
            return Err(Error::invalid(
                "linux.memoryPolicy.nodes",
                nodes.unwrap_or_default(),
                format!("`{mode_name}` takes no nodes"),
            ));
        }
        MemoryPolicyModeType::MpolBind
        | MemoryPolicyModeType::MpolInterleave
        | MemoryPolicyModeType::MpolWeightedInterleave
        | MemoryPolicyModeType::MpolPreferredMany
            if nodes.is_none() =>
        {
            return Err(Error::invalid(
                "linux.memoryPolicy.nodes",
                "",
                format!("`{mode_name}` needs at least one node"),
            ));
        }
        _ => {}
    }
    let flags = p
        .flags()
        .iter()
        .flatten()
        .fold(0, |acc, f| acc | flag_number(*f));
    Ok(Some(MemPolicy {
        mode: mode_number(mode) | flags,
        mask,
        text,
    }))
}

impl MemPolicy {
    /// set_mempolicy on the calling thread; children cloned after inherit it.
    pub fn apply(&self) -> Result<()> {
        let maxnode = (self.mask.len() * WORD) as libc::c_ulong;
        let ptr = if self.mask.is_empty() {
            std::ptr::null()
        } else {
            self.mask.as_ptr()
        };
        // SAFETY: the mask holds maxnode bits (or is null with maxnode 0).
        let r = unsafe { libc::syscall(libc::SYS_set_mempolicy, self.mode, ptr, maxnode + 1) };
        if r < 0 {
            let e = std::io::Error::last_os_error();
            return Err(Error::invalid(
                FIELD,
                &self.text,
                format!("the kernel refused set_mempolicy: {e}"),
            ));
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn spec(policy: &str) -> Spec {
        serde_json::from_str(&format!(
            r#"{{"ociVersion":"1.3.0","linux":{{"memoryPolicy":{policy}}}}}"#
        ))
        .unwrap()
    }

    #[test]
    fn nodes_become_a_mask() {
        assert_eq!(parse_nodes("0-3,7").unwrap(), vec![0b1000_1111]);
        assert_eq!(parse_nodes("64").unwrap(), vec![0, 1]);
        assert!(parse_nodes("3-1").is_err());
        assert!(parse_nodes("x").is_err());
        assert!(parse_nodes("99999").is_err());
    }

    #[test]
    fn modes_and_flags() {
        let p = from_spec(&spec(
            r#"{"mode":"MPOL_INTERLEAVE","nodes":"0","flags":["MPOL_F_STATIC_NODES"]}"#,
        ))
        .unwrap()
        .unwrap();
        assert_eq!(p.mode, 3 | 1 << 15);
        assert_eq!(p.mask, vec![1]);
        assert!(from_spec(&spec(r#"{"mode":"MPOL_LOCAL"}"#))
            .unwrap()
            .is_some());
    }

    #[test]
    fn bad_policies_name_the_field() {
        for (policy, want) in [
            (r#"{"mode":"MPOL_BIND"}"#, "needs at least one node"),
            (r#"{"mode":"MPOL_DEFAULT","nodes":"0"}"#, "takes no nodes"),
            (r#"{"mode":"MPOL_BIND","nodes":"0-"}"#, "not a node number"),
        ] {
            let e = from_spec(&spec(policy)).unwrap_err().to_string();
            assert!(e.contains("linux.memoryPolicy.nodes"), "{e}");
            assert!(e.contains(want), "{e}");
        }
    }
}
