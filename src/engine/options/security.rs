//! What the container may touch, as docker's flags set it: tmpfs mounts,
//! host devices, rlimits, sysctls, `--security-opt` and `/dev/shm`'s size.

use serde::{Deserialize, Serialize};
use serde_json::Value;

use super::{bad, OptionsError};

/// A tmpfs mount (`--tmpfs /path[:opts]`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct TmpfsMount {
    /// The path in the container.
    pub container: String,
    /// Mount options (`size=64m`, `mode=1777`, `noexec`, ...).
    pub options: Vec<String>,
}

/// A host device given to the container (`--device /dev/x[:/dev/y][:rwm]`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct DeviceMapping {
    /// The device on the host.
    pub host: String,
    /// Its path in the container.
    pub container: String,
    /// Cgroup access: some of `r`, `w`, `m`.
    pub access: String,
    /// `c` or `b`.
    pub kind: char,
    /// Major number.
    pub major: i64,
    /// Minor number.
    pub minor: i64,
    /// The device node's permission bits.
    pub mode: u32,
    /// The node's owner.
    pub uid: u32,
    /// The node's group.
    pub gid: u32,
}

/// A resource limit (`--ulimit nofile=1024:2048`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Ulimit {
    /// The OCI name, `RLIMIT_NOFILE`.
    pub name: String,
    /// Soft limit (`u64::MAX`: unlimited).
    pub soft: u64,
    /// Hard limit (`u64::MAX`: unlimited).
    pub hard: u64,
}

/// The seccomp filter asked for with `--security-opt seccomp=...`.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub enum Seccomp {
    /// k3's default profile (none when privileged).
    #[default]
    Default,
    /// No filter.
    Unconfined,
    /// A profile read from a file: docker's format or OCI's `linux.seccomp`.
    Profile(Value),
}

/// What `--security-opt` sets.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct SecurityOpts {
    /// The seccomp filter.
    pub seccomp: Seccomp,
    /// `no-new-privileges`.
    pub no_new_privileges: bool,
}

/// `--tmpfs /path[:opt,opt]`; without options docker's `rw,noexec,nosuid,nodev`.
pub fn tmpfs(s: &str) -> Result<TmpfsMount, OptionsError> {
    let (path, opts) = s.split_once(':').unwrap_or((s, ""));
    if !path.starts_with('/') || path.split('/').any(|c| c == "..") || s.contains('\0') {
        return Err(bad("tmpfs", s, format!("`{path}` is not an absolute path")));
    }
    let mut options: Vec<String> = Vec::new();
    for o in opts.split(',').filter(|o| !o.is_empty()) {
        let (k, v) = o.split_once('=').unwrap_or((o, ""));
        let flag = [
            "rw",
            "ro",
            "exec",
            "noexec",
            "suid",
            "nosuid",
            "dev",
            "nodev",
            "atime",
            "noatime",
            "relatime",
            "strictatime",
            "nodiratime",
            "tmpcopyup",
            "notmpcopyup",
        ]
        .contains(&o);
        let valued = match k {
            "size" => {
                let digits = v.trim_end_matches(['k', 'K', 'm', 'M', 'g', 'G', '%']);
                !digits.is_empty() && digits.chars().all(|c| c.is_ascii_digit())
            }
            "mode" => !v.is_empty() && v.len() <= 4 && v.chars().all(|c| ('0'..='7').contains(&c)),
            "uid" | "gid" | "nr_inodes" => v.parse::<u64>().is_ok(),
            _ => false,
        };
        if !(flag || valued) {
            return Err(bad(
                "tmpfs",
                s,
                format!("unknown tmpfs option `{o}` (size=, mode=, uid=, gid=, ro, noexec, ...)"),
            ));
        }
        // podman's copy-up markers are not mount options
        if !["tmpcopyup", "notmpcopyup"].contains(&o) {
            options.push(o.to_string());
        }
    }
    if opts.is_empty() {
        options = ["rw", "nosuid", "nodev"].map(String::from).to_vec();
    }
    Ok(TmpfsMount {
        container: path.to_string(),
        options,
    })
}

/// `--device HOST[:CONTAINER][:PERMS]`; HOST must be a device node.
pub fn device(s: &str) -> Result<DeviceMapping, OptionsError> {
    use std::os::unix::fs::{FileTypeExt, MetadataExt};
    let parts: Vec<&str> = s.split(':').collect();
    let perms_ok = |p: &str| !p.is_empty() && p.len() <= 3 && p.chars().all(|c| "rwm".contains(c));
    let (host, container, access) = match parts.as_slice() {
        [h] => (*h, *h, "rwm"),
        [h, p] if perms_ok(p) => (*h, *h, *p),
        [h, c] => (*h, *c, "rwm"),
        [h, c, p] if perms_ok(p) => (*h, *c, *p),
        [_, _, p] => {
            return Err(bad(
                "device",
                s,
                format!("`{p}` is not a permission (some of `r`, `w`, `m`)"),
            ))
        }
        _ => return Err(bad("device", s, "use `/dev/host[:/dev/container][:rwm]`")),
    };
    for p in [host, container] {
        if !p.starts_with('/') || p.split('/').any(|c| c == "..") {
            return Err(bad("device", s, format!("`{p}` is not an absolute path")));
        }
    }
    let m = std::fs::metadata(host)
        .map_err(|e| bad("device", s, format!("cannot use `{host}`: {e}")))?;
    let kind = if m.file_type().is_char_device() {
        'c'
    } else if m.file_type().is_block_device() {
        'b'
    } else {
        return Err(bad("device", s, format!("`{host}` is not a device node")));
    };
    Ok(DeviceMapping {
        host: host.to_string(),
        container: container.to_string(),
        access: access.to_string(),
        kind,
        major: i64::from(libc::major(m.rdev())),
        minor: i64::from(libc::minor(m.rdev())),
        mode: m.mode() & 0o777,
        uid: m.uid(),
        gid: m.gid(),
    })
}

const RLIMITS: &[&str] = &[
    "as",
    "core",
    "cpu",
    "data",
    "fsize",
    "locks",
    "memlock",
    "msgqueue",
    "nice",
    "nofile",
    "nproc",
    "rss",
    "rtprio",
    "rttime",
    "sigpending",
    "stack",
];

/// `--ulimit NAME=SOFT[:HARD]` (`-1`: unlimited).
pub fn ulimit(s: &str) -> Result<Ulimit, OptionsError> {
    let Some((name, vals)) = s.split_once('=') else {
        return Err(bad(
            "ulimit",
            s,
            "use `NAME=SOFT[:HARD]` (`nofile=1024:2048`)",
        ));
    };
    if !RLIMITS.contains(&name) {
        return Err(bad(
            "ulimit",
            s,
            format!("unknown limit `{name}` (one of {})", RLIMITS.join(", ")),
        ));
    }
    let num = |v: &str| match v {
        "-1" | "unlimited" => Ok(u64::MAX),
        v => v
            .parse::<u64>()
            .map_err(|_| bad("ulimit", s, format!("`{v}` is not a number"))),
    };
    let (soft, hard) = match vals.split_once(':') {
        Some((a, b)) => (num(a)?, num(b)?),
        None => (num(vals)?, num(vals)?),
    };
    if soft > hard {
        return Err(bad("ulimit", s, "the soft limit is above the hard limit"));
    }
    Ok(Ulimit {
        name: format!("RLIMIT_{}", name.to_ascii_uppercase()),
        soft,
        hard,
    })
}

/// `--sysctl KEY=VALUE`: only sysctls of the container's own namespaces, as
/// docker allows (IPC's `kernel.msg*`, `kernel.sem`, `kernel.shm*`,
/// `fs.mqueue.*`, UTS's `kernel.domainname`, and `net.*`).
pub fn sysctl(s: &str) -> Result<(String, String), OptionsError> {
    let Some((k, v)) = s.split_once('=') else {
        return Err(bad(
            "sysctl",
            s,
            "use `KEY=VALUE` (`net.ipv4.ip_forward=1`)",
        ));
    };
    let key_ok = !k.is_empty()
        && k.chars()
            .all(|c| c.is_ascii_alphanumeric() || "._-/".contains(c))
        && !k.split(['.', '/']).any(|p| p.is_empty() || p == "..");
    if !key_ok {
        return Err(bad("sysctl", s, format!("`{k}` is not a sysctl name")));
    }
    // the same rule as the runtime's; the hostname is `--hostname`'s, as in docker
    let namespaced = k3_oci::sysctl::namespace_of(k).is_some() && k != "kernel.hostname";
    if !namespaced {
        return Err(bad(
            "sysctl",
            s,
            format!("`{k}` is not namespaced: it would change the host"),
        ));
    }
    if v.is_empty() || v.contains(['\n', '\0']) {
        return Err(bad("sysctl", s, "the value must be one non-empty line"));
    }
    Ok((k.replace('/', "."), v.to_string()))
}

/// `--security-opt`: `seccomp=unconfined|PATH`, `no-new-privileges[=true|false]`;
/// `apparmor=...` and `label=...` are accepted and ignored, as podman on a host
/// without AppArmor or SELinux.
pub fn security_opts(list: &[String]) -> Result<SecurityOpts, OptionsError> {
    let mut out = SecurityOpts::default();
    for s in list {
        // docker's older `key:value` form too
        let (k, v) = s
            .split_once('=')
            .or_else(|| s.split_once(':'))
            .map_or((s.as_str(), None), |(k, v)| (k, Some(v)));
        match (k, v) {
            ("no-new-privileges", None | Some("true")) => out.no_new_privileges = true,
            ("no-new-privileges", Some("false")) => out.no_new_privileges = false,
            ("seccomp", Some("unconfined")) => out.seccomp = Seccomp::Unconfined,
            ("seccomp", Some(path)) if !path.is_empty() => {
                out.seccomp = Seccomp::Profile(seccomp_file(s, path)?)
            }
            ("apparmor" | "label", Some(_)) => {}
            _ => {
                return Err(bad(
                    "securityOpt",
                    s,
                    "use `seccomp=unconfined`, `seccomp=/path/profile.json`, `no-new-privileges`, `apparmor=...` or `label=...`",
                ))
            }
        }
    }
    Ok(out)
}

fn seccomp_file(s: &str, path: &str) -> Result<Value, OptionsError> {
    let text = std::fs::read_to_string(path)
        .map_err(|e| bad("securityOpt", s, format!("cannot read `{path}`: {e}")))?;
    let v: Value = serde_json::from_str(&text)
        .map_err(|e| bad("securityOpt", s, format!("`{path}` is not JSON: {e}")))?;
    if !v["defaultAction"].is_string() {
        return Err(bad(
            "securityOpt",
            s,
            format!("`{path}` is not a seccomp profile: no `defaultAction`"),
        ));
    }
    Ok(v)
}

/// `--shm-size`: bytes or with a unit (`64m`), more than 0.
pub fn shm_size(s: &str) -> Result<i64, OptionsError> {
    match super::resources::bytes(s) {
        Some(n) if n > 0 => Ok(n),
        _ => Err(bad("shmSize", s, "use a size above 0: `64m`, `1g`, bytes")),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tmpfs_mounts() {
        let t = tmpfs("/run/x").unwrap();
        assert_eq!(t.options, vec!["rw", "nosuid", "nodev"]);
        let t = tmpfs("/data:size=64m,mode=1777,exec").unwrap();
        assert_eq!(t.options, vec!["size=64m", "mode=1777", "exec"]);
        for b in ["data", "/a/../b", "/x:size=lots", "/x:bogus", "/x:mode=999"] {
            assert_eq!(tmpfs(b).unwrap_err().option, "tmpfs", "{b}");
        }
    }

    #[test]
    fn devices() {
        let d = device("/dev/null").unwrap();
        assert_eq!((d.kind, d.major, d.minor), ('c', 1, 3));
        assert_eq!(
            (d.container.as_str(), d.access.as_str()),
            ("/dev/null", "rwm")
        );
        let d = device("/dev/null:/dev/mynull:r").unwrap();
        assert_eq!(
            (d.container.as_str(), d.access.as_str()),
            ("/dev/mynull", "r")
        );
        assert_eq!(device("/dev/null:rw").unwrap().access, "rw");
        for b in [
            "/nonexistent-dev",
            "/tmp",
            "/dev/null:/x:q",
            "null",
            "/dev/null:a:b:c",
        ] {
            assert_eq!(device(b).unwrap_err().option, "device", "{b}");
        }
    }

    #[test]
    fn ulimits_and_sysctls() {
        let u = ulimit("nofile=512:1024").unwrap();
        assert_eq!(
            (u.name.as_str(), u.soft, u.hard),
            ("RLIMIT_NOFILE", 512, 1024)
        );
        assert_eq!(ulimit("core=-1").unwrap().hard, u64::MAX);
        for b in ["nofile", "bogus=1", "nofile=a", "nofile=2:1", "nofile=1:x"] {
            assert_eq!(ulimit(b).unwrap_err().option, "ulimit", "{b}");
        }
        assert_eq!(
            sysctl("net.ipv4.ip_forward=1").unwrap(),
            ("net.ipv4.ip_forward".into(), "1".into())
        );
        assert!(sysctl("kernel.shmmax=100000").is_ok());
        assert!(sysctl("fs.mqueue.msg_max=20").is_ok());
        for b in [
            "kernel.pid_max=10",
            "vm.swappiness=1",
            "net.x",
            "net..x=1",
            "net.a=",
        ] {
            assert_eq!(sysctl(b).unwrap_err().option, "sysctl", "{b}");
        }
    }

    #[test]
    fn security_options() {
        let o = |v: &[&str]| security_opts(&v.iter().map(|s| s.to_string()).collect::<Vec<_>>());
        assert_eq!(
            o(&["seccomp=unconfined"]).unwrap().seccomp,
            Seccomp::Unconfined
        );
        assert!(o(&["no-new-privileges"]).unwrap().no_new_privileges);
        assert!(o(&["no-new-privileges:true"]).unwrap().no_new_privileges);
        assert!(!o(&["no-new-privileges=false"]).unwrap().no_new_privileges);
        assert_eq!(
            o(&["apparmor=unconfined", "label=disable"]).unwrap(),
            SecurityOpts::default()
        );
        for b in [
            "seccomp=/nonexistent.json",
            "bogus",
            "seccomp=",
            "no-new-privileges=maybe",
        ] {
            assert_eq!(o(&[b]).unwrap_err().option, "securityOpt", "{b}");
        }
        let d = tempfile::tempdir().unwrap();
        let f = d.path().join("p.json");
        std::fs::write(&f, r#"{"defaultAction":"SCMP_ACT_ALLOW"}"#).unwrap();
        let s = format!("seccomp={}", f.display());
        assert!(matches!(o(&[&s]).unwrap().seccomp, Seccomp::Profile(_)));
        std::fs::write(&f, "{}").unwrap();
        assert!(o(&[&s]).unwrap_err().reason.contains("defaultAction"));
        assert_eq!(shm_size("64m").unwrap(), 64 << 20);
        assert_eq!(shm_size("0").unwrap_err().option, "shmSize");
        assert_eq!(shm_size("x").unwrap_err().option, "shmSize");
    }
}
