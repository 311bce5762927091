//! `features`: what this k3rt supports, in the runtime-spec `features` JSON format.

use serde_json::{json, Value};

use crate::security;

/// The newest runtime-spec whose fields k3rt implements (or refuses by name).
pub const OCI_VERSION_MAX: &str = "1.3.0";

const MOUNT_OPTIONS: &[&str] = &[
    "async",
    "atime",
    "bind",
    "defaults",
    "dev",
    "diratime",
    "dirsync",
    "exec",
    "lazytime",
    "loud",
    "mand",
    "noatime",
    "nodev",
    "nodiratime",
    "noexec",
    "nolazytime",
    "nomand",
    "norelatime",
    "nostrictatime",
    "nosuid",
    "nosymfollow",
    "private",
    "rbind",
    "relatime",
    "remount",
    "ro",
    "rprivate",
    "rshared",
    "rslave",
    "runbindable",
    "rw",
    "shared",
    "silent",
    "slave",
    "strictatime",
    "suid",
    "symfollow",
    "sync",
    "tmpcopyup",
    "unbindable",
];

/// What this kernel can do that `features` depends on, probed without side effects.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Kernel {
    /// mount_setattr(2) exists (Linux 5.12): id-mapped mounts.
    pub mount_setattr: bool,
    /// The seccomp filter flags the kernel accepts, by name.
    pub seccomp_flags: Vec<&'static str>,
    /// The seccomp actions the kernel has, by name.
    pub seccomp_actions: Vec<&'static str>,
}

/// The seccomp filter flags k3rt can set, with their values.
const SECCOMP_FLAGS: [(&str, u32); 3] = [
    ("SECCOMP_FILTER_FLAG_TSYNC", 1),
    ("SECCOMP_FILTER_FLAG_LOG", 2),
    ("SECCOMP_FILTER_FLAG_SPEC_ALLOW", 4),
];

/// The seccomp actions k3rt can use, with the kernel's return value for each.
const SECCOMP_ACTIONS: [(&str, u32); 9] = [
    ("SCMP_ACT_ALLOW", 0x7fff_0000),
    ("SCMP_ACT_ERRNO", 0x0005_0000),
    ("SCMP_ACT_KILL", 0),
    ("SCMP_ACT_KILL_PROCESS", 0x8000_0000),
    ("SCMP_ACT_KILL_THREAD", 0),
    ("SCMP_ACT_LOG", 0x7ffc_0000),
    ("SCMP_ACT_NOTIFY", 0x7fc0_0000),
    ("SCMP_ACT_TRACE", 0x7ff0_0000),
    ("SCMP_ACT_TRAP", 0x0003_0000),
];

impl Kernel {
    /// Probes the running kernel.
    pub fn probe() -> Kernel {
        // mount_setattr on a descriptor that is not open: EBADF where it exists
        // SAFETY: no pointer is dereferenced for an invalid descriptor.
        let r =
            unsafe { libc::syscall(libc::SYS_mount_setattr, -1, c"".as_ptr(), 0, 0usize, 0usize) };
        let mount_setattr = !(r < 0 && crate::error::errno().raw_os_error() == Some(libc::ENOSYS));
        // SECCOMP_SET_MODE_FILTER with a null program: EFAULT for a known flag, EINVAL else
        let seccomp_flags = SECCOMP_FLAGS
            .iter()
            .filter(|(_, f)| {
                // SAFETY: a null program is refused before anything is installed.
                let r = unsafe { libc::syscall(libc::SYS_seccomp, 1, *f, 0usize) };
                r < 0 && crate::error::errno().raw_os_error() == Some(libc::EFAULT)
            })
            .map(|(n, _)| *n)
            .collect();
        // SECCOMP_GET_ACTION_AVAIL
        let seccomp_actions = SECCOMP_ACTIONS
            .iter()
            .filter(|(_, a)| {
                // SAFETY: the pointer is to a live u32 for the duration of the call.
                unsafe { libc::syscall(libc::SYS_seccomp, 2, 0, a as *const u32) == 0 }
            })
            .map(|(n, _)| *n)
            .collect();
        Kernel {
            mount_setattr,
            seccomp_flags,
            seccomp_actions,
        }
    }
}

/// The features document of this build on this kernel.
pub fn features() -> Value {
    document(&Kernel::probe())
}

/// The features document for a kernel that can do what `k` says.
pub fn document(k: &Kernel) -> Value {
    let mut mount_options: Vec<&str> = MOUNT_OPTIONS.to_vec();
    if k.mount_setattr {
        // id-mapped mounts and the recursive options (`rro` ...) need mount_setattr
        mount_options.extend(["idmap", "ridmap"]);
        mount_options.extend(crate::mountopts::RECURSIVE);
        mount_options.sort_unstable();
    }
    let caps: Vec<String> = (0..=crate::caps::last_cap())
        .filter_map(|n| caps::all().into_iter().find(|c| c.index() == n))
        .map(|c| c.to_string())
        .collect();
    json!({
        "ociVersionMin": "1.0.0",
        "ociVersionMax": OCI_VERSION_MAX,
        "hooks": ["prestart", "createRuntime", "createContainer", "startContainer", "poststart", "poststop"],
        "mountOptions": mount_options,
        "linux": {
            "namespaces": ["cgroup", "ipc", "mount", "network", "pid", "time", "user", "uts"],
            "capabilities": caps,
            "cgroup": {"v1": true, "v2": true, "systemd": true, "systemdUser": false, "rdma": false},
            "seccomp": {
                "enabled": true,
                "actions": k.seccomp_actions,
                "operators": ["SCMP_CMP_EQ", "SCMP_CMP_GE", "SCMP_CMP_GT", "SCMP_CMP_LE", "SCMP_CMP_LT",
                              "SCMP_CMP_MASKED_EQ", "SCMP_CMP_NE"],
                "archs": ["SCMP_ARCH_X86", "SCMP_ARCH_X86_64", "SCMP_ARCH_X32"],
                "knownFlags": ["SECCOMP_FILTER_FLAG_LOG", "SECCOMP_FILTER_FLAG_SPEC_ALLOW", "SECCOMP_FILTER_FLAG_TSYNC"],
                "supportedFlags": k.seccomp_flags
            },
            "apparmor": {"enabled": security::apparmor_enabled()},
            "selinux": {"enabled": security::selinux_enabled()},
            "intelRdt": {"enabled": false},
            "memoryPolicy": {
                "modes": ["MPOL_DEFAULT", "MPOL_BIND", "MPOL_INTERLEAVE", "MPOL_WEIGHTED_INTERLEAVE",
                          "MPOL_PREFERRED", "MPOL_PREFERRED_MANY", "MPOL_LOCAL"],
                "flags": ["MPOL_F_NUMA_BALANCING", "MPOL_F_RELATIVE_NODES", "MPOL_F_STATIC_NODES"]
            },
            "netDevices": {"enabled": true},
            "mountExtensions": {"idmap": {"enabled": k.mount_setattr}}
        },
        "annotations": {"org.k3.k3rt.version": env!("CARGO_PKG_VERSION")}
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lists_every_namespace_and_known_capabilities() {
        let f = features();
        assert_eq!(f["linux"]["namespaces"].as_array().unwrap().len(), 8);
        let caps = f["linux"]["capabilities"].as_array().unwrap();
        assert!(caps.iter().any(|c| c == "CAP_SYS_ADMIN"));
        assert!(f["mountOptions"]
            .as_array()
            .unwrap()
            .iter()
            .any(|o| o == "tmpcopyup"));
    }

    #[test]
    fn what_the_kernel_lacks_is_not_advertised() {
        let old = Kernel {
            mount_setattr: false,
            seccomp_flags: vec!["SECCOMP_FILTER_FLAG_TSYNC"],
            seccomp_actions: vec!["SCMP_ACT_ALLOW", "SCMP_ACT_ERRNO"],
        };
        let f = document(&old);
        assert_eq!(f["linux"]["mountExtensions"]["idmap"]["enabled"], false);
        let opts = f["mountOptions"].as_array().unwrap();
        assert!(!opts
            .iter()
            .any(|o| o == "idmap" || o == "ridmap" || o == "rro"));
        assert_eq!(
            f["linux"]["seccomp"]["supportedFlags"],
            json!(["SECCOMP_FILTER_FLAG_TSYNC"])
        );
        assert_eq!(
            f["linux"]["seccomp"]["actions"].as_array().unwrap().len(),
            2
        );
        let new = Kernel {
            mount_setattr: true,
            ..old
        };
        let f = document(&new);
        assert_eq!(f["linux"]["mountExtensions"]["idmap"]["enabled"], true);
        let opts: Vec<&str> = f["mountOptions"]
            .as_array()
            .unwrap()
            .iter()
            .filter_map(|o| o.as_str())
            .collect();
        assert!(opts.contains(&"idmap") && opts.contains(&"ridmap") && opts.contains(&"rnosuid"));
        assert!(opts.windows(2).all(|w| w[0] <= w[1]), "sorted: {opts:?}");
    }
}
