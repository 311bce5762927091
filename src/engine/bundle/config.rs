//! The `config.json` document.

use std::fs;
use std::path::{Path, PathBuf};

use serde_json::{json, Value};

use super::{capabilities, ProcessPlan, OCI_VERSION};
use crate::options::{CgroupNs, Validated, CPU_PERIOD};

/// Where the network puts the container.
#[derive(Debug, Clone, PartialEq)]
pub enum NetMode {
    /// The host's network namespace.
    Host,
    /// A new namespace with loopback only (the runtime makes it).
    None,
    /// A namespace k3 prepared (a bridge network), joined by path.
    Path(PathBuf),
}

/// Inputs of [`generate`] besides the options.
pub struct BundleInputs<'a> {
    pub rootfs: &'a Path,
    pub bundle: &'a Path,
    pub hash: &'a str,
    pub hostname: &'a str,
    pub process: &'a ProcessPlan,
    pub uid: u32,
    pub gid: u32,
    pub net: &'a NetMode,
    /// Named volumes: (host dir, container path, readonly).
    pub volumes: &'a [(PathBuf, String, bool)],
    /// Host devices for a privileged container.
    pub host_devices: &'a [Value],
    /// The CPU pinned for `noShared`.
    pub cpuset: Option<u32>,
    /// The engine's capability bounding set (what "all capabilities" means).
    pub cap_bounding: u64,
    /// The host runs cgroup v2 only (the default cgroup namespace is then private).
    pub cgroup_v2: bool,
}

/// Whether this host's /sys/fs/cgroup is a pure cgroup v2 hierarchy.
pub fn host_cgroup_v2() -> bool {
    nix::sys::statfs::statfs("/sys/fs/cgroup")
        .is_ok_and(|fs| fs.filesystem_type() == nix::sys::statfs::CGROUP2_SUPER_MAGIC)
}

/// Whether the container gets a cgroup namespace of its own: as asked, else as
/// podman does (private on a cgroup v2 host, the host's on v1).
pub fn private_cgroupns(v: &Validated, cgroup_v2: bool) -> bool {
    match v.cgroupns {
        Some(CgroupNs::Private) => true,
        Some(CgroupNs::Host) => false,
        None => cgroup_v2,
    }
}

/// The whole `config.json`.
pub fn generate(v: &Validated, i: &BundleInputs<'_>) -> Value {
    let caps = capabilities(v, i.cap_bounding);
    json!({
        "ociVersion": OCI_VERSION,
        "process": {
            "terminal": false,
            "user": {"uid": i.uid, "gid": i.gid},
            "args": i.process.args,
            "env": i.process.env,
            "cwd": i.process.cwd,
            "capabilities": {
                "bounding": caps, "effective": caps, "permitted": caps,
            },
            "rlimits": [{"type": "RLIMIT_NOFILE", "hard": 1024, "soft": 1024}],
            "noNewPrivileges": false,
        },
        "root": {"path": i.rootfs, "readonly": false},
        "hostname": i.hostname,
        "mounts": mounts(v, i),
        "annotations": {
            "io.k3.container.id": v.id,
            "io.k3.image": v.image_ref,
        },
        "linux": linux(v, i),
    })
}

fn mounts(v: &Validated, i: &BundleInputs<'_>) -> Vec<Value> {
    let sys_opts = if v.privileged {
        json!(["nosuid", "noexec", "nodev"])
    } else {
        json!(["nosuid", "noexec", "nodev", "ro"])
    };
    let mut m = vec![
        json!({"destination": "/proc", "type": "proc", "source": "proc"}),
        json!({"destination": "/dev", "type": "tmpfs", "source": "tmpfs", "options": ["nosuid", "strictatime", "mode=755", "size=65536k"]}),
        json!({"destination": "/dev/pts", "type": "devpts", "source": "devpts", "options": ["nosuid", "noexec", "newinstance", "ptmxmode=0666", "mode=0620", "gid=5"]}),
        json!({"destination": "/dev/shm", "type": "tmpfs", "source": "shm", "options": ["nosuid", "noexec", "nodev", "mode=1777", "size=65536k"]}),
        json!({"destination": "/dev/mqueue", "type": "mqueue", "source": "mqueue", "options": ["nosuid", "noexec", "nodev"]}),
        json!({"destination": "/sys", "type": "sysfs", "source": "sysfs", "options": sys_opts}),
        // The container's own cgroup (the runtime mounts cgroup2, or on v1 each
        // hierarchy rooted at the container's directory); writable only when
        // privileged, as docker and podman.
        json!({"destination": "/sys/fs/cgroup", "type": "cgroup", "source": "cgroup",
               "options": ["rprivate", "nosuid", "noexec", "nodev", "relatime",
                           if v.privileged { "rw" } else { "ro" }]}),
    ];
    for f in ["hosts", "hostname", "resolv.conf"] {
        m.push(bind(&i.bundle.join(f), &format!("/etc/{f}"), false));
    }
    for b in &v.mounts {
        m.push(bind(Path::new(&b.host), &b.container, b.readonly));
    }
    for (host, dest, ro) in i.volumes {
        m.push(bind(host, dest, *ro));
    }
    m
}

fn bind(src: &Path, dest: &str, ro: bool) -> Value {
    let mut opts = vec!["rbind", "rprivate"];
    if ro {
        opts.push("ro");
    }
    json!({"destination": dest, "type": "bind", "source": src, "options": opts})
}

fn linux(v: &Validated, i: &BundleInputs<'_>) -> Value {
    let mut namespaces = vec![
        json!({"type": "pid"}),
        json!({"type": "ipc"}),
        json!({"type": "uts"}),
        json!({"type": "mount"}),
    ];
    match i.net {
        NetMode::Host => {}
        NetMode::None => namespaces.push(json!({"type": "network"})),
        NetMode::Path(p) => namespaces.push(json!({"type": "network", "path": p})),
    }
    if private_cgroupns(v, i.cgroup_v2) {
        namespaces.push(json!({"type": "cgroup"}));
    }
    let mut l = json!({
        "namespaces": namespaces,
        "cgroupsPath": format!("/k3/{}", i.hash),
        "resources": resources(v, i),
    });
    if v.privileged {
        l["devices"] = json!(i.host_devices);
    } else {
        l["maskedPaths"] = json!(MASKED);
        l["readonlyPaths"] = json!(READONLY);
        l["seccomp"] = crate::seccomp::default_profile(&capabilities(v, i.cap_bounding));
    }
    l
}

fn resources(v: &Validated, i: &BundleInputs<'_>) -> Value {
    let devices = if v.privileged {
        json!([{"allow": true, "access": "rwm"}])
    } else {
        json!([{"allow": false, "access": "rwm"}])
    };
    let mut r = json!({"devices": devices});
    if let Some(b) = v.memory_bytes {
        r["memory"] = json!({"limit": b});
    }
    let mut cpu = serde_json::Map::new();
    if let Some(q) = v.cpu_quota {
        cpu.insert("quota".into(), json!(q));
        cpu.insert("period".into(), json!(CPU_PERIOD));
    }
    if let Some(c) = i.cpuset {
        cpu.insert("cpus".into(), json!(c.to_string()));
    }
    if !cpu.is_empty() {
        r["cpu"] = Value::Object(cpu);
    }
    if let Some(n) = v.pids_limit {
        r["pids"] = json!({"limit": n});
    }
    if !v.cgroup_conf.is_empty() {
        let unified: serde_json::Map<String, Value> = v
            .cgroup_conf
            .iter()
            .map(|(k, val)| (k.clone(), json!(val)))
            .collect();
        r["unified"] = Value::Object(unified);
    }
    r
}

const MASKED: &[&str] = &[
    "/proc/acpi",
    "/proc/asound",
    "/proc/kcore",
    "/proc/keys",
    "/proc/latency_stats",
    "/proc/timer_list",
    "/proc/timer_stats",
    "/proc/sched_debug",
    "/sys/firmware",
    "/proc/scsi",
];

const READONLY: &[&str] = &[
    "/proc/bus",
    "/proc/fs",
    "/proc/irq",
    "/proc/sys",
    "/proc/sysrq-trigger",
];

/// Host char/block devices under `/dev` (top level), as `linux.devices`
/// entries for a privileged container.
pub fn host_devices() -> Vec<Value> {
    use std::os::unix::fs::{FileTypeExt, MetadataExt};
    let Ok(entries) = fs::read_dir("/dev") else {
        return Vec::new();
    };
    let mut out = Vec::new();
    for e in entries.flatten() {
        let Ok(m) = e.metadata() else { continue };
        let kind = if m.file_type().is_char_device() {
            "c"
        } else if m.file_type().is_block_device() {
            "b"
        } else {
            continue;
        };
        let name = e.file_name().to_string_lossy().to_string();
        // The runtime provides these itself.
        if ["console", "ptmx", "tty", "pts", "shm", "mqueue"].contains(&name.as_str()) {
            continue;
        }
        let rdev = m.rdev();
        out.push(json!({
            "path": format!("/dev/{name}"), "type": kind,
            "major": libc::major(rdev), "minor": libc::minor(rdev),
            "fileMode": m.mode() & 0o777, "uid": m.uid(), "gid": m.gid(),
        }));
    }
    out
}
#[cfg(test)]
mod tests {
    use super::*;
    use crate::bundle::merge_process;
    use crate::bundle::testutil::{image, validated};

    fn strings(v: &Value) -> Vec<String> {
        v.as_array()
            .map(|a| {
                a.iter()
                    .filter_map(|s| s.as_str().map(str::to_string))
                    .collect()
            })
            .unwrap_or_default()
    }

    #[test]
    fn config_has_limits_and_version() {
        let v = validated(|o| {
            o.memory = Some("512MB".into());
            o.cpus = Some(1.5);
        });
        let c = config_with(&v, false, Some(1));
        assert_eq!(c["ociVersion"], "1.0.2");
        assert_eq!(c["linux"]["resources"]["memory"]["limit"], 512 << 20);
        assert_eq!(c["linux"]["resources"]["cpu"]["quota"], 150_000);
        assert_eq!(c["linux"]["resources"]["cpu"]["cpus"], "1");
        assert_eq!(c["linux"]["cgroupsPath"], "/k3/abc");
        assert!(c["linux"]["seccomp"].is_object());
        let ns = c["linux"]["namespaces"].as_array().unwrap();
        assert!(ns.iter().any(|n| n["type"] == "network"));
        assert!(c["mounts"]
            .as_array()
            .unwrap()
            .iter()
            .any(|m| m["destination"] == "/etc/hosts"));
    }

    fn config_of(v: &Validated, cgroup_v2: bool) -> Value {
        config_with(v, cgroup_v2, None)
    }

    fn config_with(v: &Validated, cgroup_v2: bool, cpuset: Option<u32>) -> Value {
        let p = merge_process(&image(), v, "h").unwrap();
        generate(
            v,
            &BundleInputs {
                rootfs: Path::new("/r"),
                bundle: Path::new("/b"),
                hash: "abc",
                hostname: "h",
                process: &p,
                uid: 0,
                gid: 0,
                net: &NetMode::None,
                volumes: &[],
                host_devices: &[],
                cpuset,
                cap_bounding: u64::MAX,
                cgroup_v2,
            },
        )
    }

    fn cgroup_mount(c: &Value) -> Value {
        let m: Vec<&Value> = c["mounts"]
            .as_array()
            .unwrap()
            .iter()
            .filter(|m| m["destination"] == "/sys/fs/cgroup")
            .collect();
        assert_eq!(m.len(), 1, "one /sys/fs/cgroup mount: {m:?}");
        m[0].clone()
    }

    fn has_cgroupns(c: &Value) -> bool {
        c["linux"]["namespaces"]
            .as_array()
            .unwrap()
            .iter()
            .any(|n| n["type"] == "cgroup" && n.get("path").is_none())
    }

    #[test]
    fn cgroup_view_is_mounted_read_only_unless_privileged() {
        let c = config_of(&validated(|_| {}), false);
        let m = cgroup_mount(&c);
        assert_eq!(m["type"], "cgroup");
        assert_eq!(m["source"], "cgroup");
        let opts = strings(&m["options"]);
        assert!(opts.contains(&"ro".to_string()), "{opts:?}");
        for o in ["nosuid", "noexec", "nodev"] {
            assert!(opts.contains(&o.to_string()), "{o} in {opts:?}");
        }
        // after /sys, so it lands on the new sysfs
        let dests: Vec<String> = c["mounts"]
            .as_array()
            .unwrap()
            .iter()
            .map(|m| m["destination"].as_str().unwrap().to_string())
            .collect();
        let pos = |d: &str| dests.iter().position(|x| x == d).unwrap();
        assert!(pos("/sys") < pos("/sys/fs/cgroup"));
        let c = config_of(&validated(|o| o.privileged = true), false);
        let opts = strings(&cgroup_mount(&c)["options"]);
        assert!(opts.contains(&"rw".to_string()) && !opts.contains(&"ro".to_string()));
    }

    #[test]
    fn cgroupns_defaults_like_podman() {
        // v1 host: the host's namespace; v2 host: a private one
        assert!(!has_cgroupns(&config_of(&validated(|_| {}), false)));
        assert!(has_cgroupns(&config_of(&validated(|_| {}), true)));
        for v2 in [false, true] {
            let private = validated(|o| o.cgroupns = Some("private".into()));
            assert!(has_cgroupns(&config_of(&private, v2)));
            let host = validated(|o| o.cgroupns = Some("host".into()));
            assert!(!has_cgroupns(&config_of(&host, v2)));
        }
    }

    #[test]
    fn pids_limit_is_a_resource() {
        let c = config_of(&validated(|o| o.pids_limit = Some(50)), false);
        assert_eq!(c["linux"]["resources"]["pids"]["limit"], 50);
        for unlimited in [0, -1] {
            let c = config_of(&validated(|o| o.pids_limit = Some(unlimited)), false);
            assert!(c["linux"]["resources"].get("pids").is_none());
        }
        let c = config_of(&validated(|_| {}), false);
        assert!(c["linux"]["resources"].get("pids").is_none());
        assert!(c["linux"]["resources"].get("unified").is_none());
    }

    #[test]
    fn cgroup_conf_goes_to_unified() {
        let v = validated(|o| {
            o.cgroup_conf = vec![
                "memory.high=50000000".into(),
                "cgroup.max.descendants=5".into(),
                "memory.high=60000000".into(),
            ]
        });
        let c = config_of(&v, true);
        assert_eq!(
            c["linux"]["resources"]["unified"],
            json!({"memory.high": "60000000", "cgroup.max.descendants": "5"})
        );
    }
}
