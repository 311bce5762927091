//! The OCI bundle of a container: `config.json` generated from the validated
//! options merged with the image config (docker's rules for Entrypoint, Cmd,
//! Env, WorkingDir, User, Volumes), and the files docker's init layer
//! provides (`/etc/hosts`, `/etc/hostname`, `/etc/resolv.conf`), written in
//! the bundle directory and bind-mounted into the container.
//!
//! Everything here is pure data except [`write_etc_files`] and
//! [`resolve_user`], so the merge rules are unit-tested without root.

use std::collections::BTreeMap;
use std::fs;
use std::io;
use std::net::Ipv4Addr;
use std::path::{Path, PathBuf};

use serde_json::{json, Value};

use crate::options::{CgroupNs, Validated, ALL_CAPS, CPU_PERIOD, DEFAULT_CAPS};

/// The `ociVersion` written (crun 1.8 refuses newer ones).
pub const OCI_VERSION: &str = "1.0.2";
/// `PATH` when the image sets none.
pub const DEFAULT_PATH: &str = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin";

/// A bundle failure.
#[derive(Debug, thiserror::Error)]
pub enum BundleError {
    /// Neither the options nor the image give a command.
    #[error("no command: the image `{0}` has no Entrypoint or Cmd and no `args` were given")]
    NoCommand(String),
    /// The image's `User` names a user the rootfs does not define.
    #[error("user `{user}` not found in the image's `/etc/{file}`")]
    UnknownUser { user: String, file: &'static str },
    /// A file could not be written or read.
    #[error("cannot {op} `{path}`")]
    Io {
        op: &'static str,
        path: PathBuf,
        #[source]
        source: io::Error,
    },
}

fn io_err<'a>(op: &'static str, path: &'a Path) -> impl FnOnce(io::Error) -> BundleError + 'a {
    move |source| BundleError::Io {
        op,
        path: path.to_path_buf(),
        source,
    }
}

/// The parts of an image config (`config` object of the image JSON) k3 uses.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct ImageConfig {
    pub entrypoint: Vec<String>,
    pub cmd: Vec<String>,
    pub env: Vec<String>,
    pub working_dir: String,
    pub user: String,
    pub exposed_ports: Vec<String>,
    pub volumes: Vec<String>,
}

fn strings(v: &Value) -> Vec<String> {
    v.as_array()
        .map(|a| {
            a.iter()
                .filter_map(|s| s.as_str().map(str::to_string))
                .collect()
        })
        .unwrap_or_default()
}

fn keys(v: &Value) -> Vec<String> {
    v.as_object()
        .map(|o| o.keys().cloned().collect())
        .unwrap_or_default()
}

impl ImageConfig {
    /// Reads the image JSON (the whole config blob).
    pub fn from_image_json(image: &Value) -> ImageConfig {
        let c = &image["config"];
        ImageConfig {
            entrypoint: strings(&c["Entrypoint"]),
            cmd: strings(&c["Cmd"]),
            env: strings(&c["Env"]),
            working_dir: c["WorkingDir"].as_str().unwrap_or("").to_string(),
            user: c["User"].as_str().unwrap_or("").to_string(),
            exposed_ports: keys(&c["ExposedPorts"]),
            volumes: keys(&c["Volumes"]),
        }
    }
}

/// The process part of the config, before users are resolved.
#[derive(Debug, Clone, PartialEq)]
pub struct ProcessPlan {
    pub args: Vec<String>,
    pub env: Vec<String>,
    pub cwd: String,
    pub user: String,
}

/// Docker's merge: `args` replace Cmd (the Entrypoint stays); options' env
/// override the image's by key; `PATH` and `HOSTNAME` are always set; the
/// working dir defaults to `/`.
pub fn merge_process(
    img: &ImageConfig,
    v: &Validated,
    hostname: &str,
) -> Result<ProcessPlan, BundleError> {
    let mut args = img.entrypoint.clone();
    args.extend(v.args.clone().unwrap_or_else(|| img.cmd.clone()));
    if args.is_empty() {
        return Err(BundleError::NoCommand(v.image_ref.clone()));
    }
    let mut env: BTreeMap<String, (usize, String)> = BTreeMap::new();
    let mut order = 0;
    let mut put = |k: &str, val: &str| {
        let pos = env.get(k).map_or_else(
            || {
                order += 1;
                order
            },
            |e| e.0,
        );
        env.insert(k.to_string(), (pos, val.to_string()));
    };
    put("PATH", DEFAULT_PATH);
    put("HOSTNAME", hostname);
    for e in &img.env {
        if let Some((k, val)) = e.split_once('=') {
            put(k, val);
        }
    }
    for (k, val) in &v.env {
        put(k, val);
    }
    let mut env: Vec<(usize, String)> = env
        .into_iter()
        .map(|(k, (pos, val))| (pos, format!("{k}={val}")))
        .collect();
    env.sort();
    Ok(ProcessPlan {
        args,
        env: env.into_iter().map(|(_, e)| e).collect(),
        cwd: if img.working_dir.is_empty() {
            "/".into()
        } else {
            img.working_dir.clone()
        },
        user: img.user.clone(),
    })
}

/// The capability set: docker's default (or, when privileged, every
/// capability in `bounding`), with `capAdd` and `capDrop` applied (`ALL`
/// allowed in both, meaning the same as privileged's set).
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
            .filter(|(n, _)| bounding.checked_shr(*n as u32).unwrap_or(0) & 1 == 1)
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

/// Resolves `user[:group]` (names or numbers) against the rootfs'
/// `/etc/passwd` and `/etc/group`; symlinked files are not followed.
pub fn resolve_user(rootfs: &Path, spec: &str) -> Result<(u32, u32), BundleError> {
    if spec.is_empty() {
        return Ok((0, 0));
    }
    let (u, g) = spec
        .split_once(':')
        .map_or((spec, None), |(a, b)| (a, Some(b)));
    let passwd = read_etc(rootfs, "passwd");
    let (uid, primary) = match u.parse::<u32>() {
        Ok(n) => (
            n,
            lookup(&passwd, |f| f[2] == u).map_or(n, |f| f[3].parse().unwrap_or(n)),
        ),
        Err(_) => {
            let f = lookup(&passwd, |f| f[0] == u).ok_or_else(|| BundleError::UnknownUser {
                user: u.into(),
                file: "passwd",
            })?;
            (f[2].parse().unwrap_or(0), f[3].parse().unwrap_or(0))
        }
    };
    let gid = match g {
        None => primary,
        Some(g) => match g.parse::<u32>() {
            Ok(n) => n,
            Err(_) => lookup(&read_etc(rootfs, "group"), |f| f[0] == g)
                .and_then(|f| f[2].parse().ok())
                .ok_or_else(|| BundleError::UnknownUser {
                    user: g.into(),
                    file: "group",
                })?,
        },
    };
    Ok((uid, gid))
}

fn read_etc(rootfs: &Path, name: &str) -> String {
    let etc = rootfs.join("etc");
    let file = etc.join(name);
    let plain = |p: &Path| fs::symlink_metadata(p).map(|m| !m.file_type().is_symlink());
    match (plain(&etc), plain(&file)) {
        (Ok(true), Ok(true)) => fs::read_to_string(file).unwrap_or_default(),
        _ => String::new(),
    }
}

fn lookup(text: &str, pred: impl Fn(&[&str]) -> bool) -> Option<Vec<String>> {
    text.lines()
        .map(|l| l.split(':').collect::<Vec<_>>())
        .filter(|f| f.len() >= 4)
        .find(|f| pred(f))
        .map(|f| f.iter().map(|s| s.to_string()).collect())
}

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

/// `/etc/hosts` content.
pub fn hosts_file(hostname: &str, ip: Option<Ipv4Addr>) -> String {
    let mut s = String::from(
        "127.0.0.1\tlocalhost\n::1\tlocalhost ip6-localhost ip6-loopback\nfe00::0\tip6-localnet\nff00::0\tip6-mcastprefix\nff02::1\tip6-allnodes\nff02::2\tip6-allrouters\n",
    );
    match ip {
        Some(ip) => s.push_str(&format!("{ip}\t{hostname}\n")),
        None => s.push_str(&format!("127.0.1.1\t{hostname}\n")),
    }
    s
}

/// The host's `resolv.conf` for a container: with its own network
/// namespace, loopback resolvers (`127.0.0.53` of systemd-resolved) cannot
/// be reached, so they are dropped, and if none is left docker's public
/// fallbacks are used. On the host network it is copied as is.
pub fn resolv_conf(host: &str, host_network: bool) -> String {
    if host_network {
        return host.to_string();
    }
    let mut kept = Vec::new();
    let mut servers = 0;
    for line in host.lines() {
        let words: Vec<&str> = line.split_whitespace().collect();
        if words.first() == Some(&"nameserver") {
            let loopback = words
                .get(1)
                .is_some_and(|a| a.starts_with("127.") || *a == "::1");
            if loopback {
                continue;
            }
            servers += 1;
        }
        kept.push(line.to_string());
    }
    if servers == 0 {
        kept.push("nameserver 8.8.8.8".into());
        kept.push("nameserver 8.8.4.4".into());
    }
    kept.join("\n") + "\n"
}

/// Writes `hosts`, `hostname` and `resolv.conf` into the bundle directory.
pub fn write_etc_files(
    bundle: &Path,
    hostname: &str,
    ip: Option<Ipv4Addr>,
    host_network: bool,
) -> Result<(), BundleError> {
    let host_resolv = fs::read_to_string("/etc/resolv.conf").unwrap_or_default();
    let hosts = if host_network {
        fs::read_to_string("/etc/hosts").unwrap_or_else(|_| hosts_file(hostname, None))
    } else {
        hosts_file(hostname, ip)
    };
    let files = [
        ("hosts", hosts),
        ("hostname", format!("{hostname}\n")),
        ("resolv.conf", resolv_conf(&host_resolv, host_network)),
    ];
    for (name, text) in files {
        let p = bundle.join(name);
        fs::write(&p, text).map_err(io_err("write", &p))?;
    }
    Ok(())
}

/// Writes `config.json` (tmp + rename).
pub fn write_config(bundle: &Path, config: &Value) -> Result<PathBuf, BundleError> {
    let p = bundle.join("config.json");
    let tmp = bundle.join("config.json.tmp");
    let text = serde_json::to_vec_pretty(config).unwrap_or_default();
    fs::write(&tmp, text).map_err(io_err("write", &tmp))?;
    fs::rename(&tmp, &p).map_err(io_err("rename", &p))?;
    Ok(p)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::options::CreateOptions;

    fn validated(f: impl FnOnce(&mut CreateOptions)) -> Validated {
        let mut o = CreateOptions {
            container_id: "c".into(),
            image: "node".into(),
            ..Default::default()
        };
        f(&mut o);
        o.validate().unwrap()
    }

    fn image() -> ImageConfig {
        ImageConfig::from_image_json(&json!({"config": {
            "Entrypoint": ["docker-entrypoint.sh"], "Cmd": ["node"],
            "Env": ["PATH=/usr/local/bin:/bin", "NODE_VERSION=18", "NODE_ENV=dev"],
            "WorkingDir": "/app", "User": "node",
            "ExposedPorts": {"3000/tcp": {}}, "Volumes": {"/data": {}}
        }}))
    }

    #[test]
    fn image_config_is_read() {
        let i = image();
        assert_eq!(i.exposed_ports, vec!["3000/tcp"]);
        assert_eq!(i.volumes, vec!["/data"]);
        assert_eq!(
            ImageConfig::from_image_json(&json!({})),
            ImageConfig::default()
        );
    }

    #[test]
    fn args_replace_cmd_but_keep_entrypoint() {
        let v = validated(|o| o.args = Some("npm start".into()));
        let p = merge_process(&image(), &v, "h").unwrap();
        assert_eq!(p.args, vec!["docker-entrypoint.sh", "npm", "start"]);
        let v = validated(|_| {});
        assert_eq!(
            merge_process(&image(), &v, "h").unwrap().args,
            vec!["docker-entrypoint.sh", "node"]
        );
        let err = merge_process(&ImageConfig::default(), &v, "h").unwrap_err();
        assert!(matches!(err, BundleError::NoCommand(_)));
    }

    #[test]
    fn env_overrides_by_key_in_order() {
        let v = validated(|o| o.env = vec!["NODE_ENV=production".into(), "API_PORT=3000".into()]);
        let p = merge_process(&image(), &v, "web").unwrap();
        assert_eq!(
            p.env,
            vec![
                "PATH=/usr/local/bin:/bin",
                "HOSTNAME=web",
                "NODE_VERSION=18",
                "NODE_ENV=production",
                "API_PORT=3000"
            ]
        );
        assert_eq!(p.cwd, "/app");
        assert_eq!(p.user, "node");
        let p = merge_process(
            &ImageConfig {
                cmd: vec!["sh".into()],
                ..Default::default()
            },
            &v,
            "x",
        )
        .unwrap();
        assert_eq!(p.env[0], format!("PATH={DEFAULT_PATH}"));
        assert_eq!(p.cwd, "/");
    }

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

    #[test]
    fn users_resolve_from_the_rootfs() {
        let d = tempfile::tempdir().unwrap();
        fs::create_dir(d.path().join("etc")).unwrap();
        fs::write(
            d.path().join("etc/passwd"),
            "root:x:0:0::/root:/bin/sh\nnode:x:1000:1001::/home/node:/bin/sh\n",
        )
        .unwrap();
        fs::write(d.path().join("etc/group"), "root:x:0:\nstaff:x:50:\n").unwrap();
        assert_eq!(resolve_user(d.path(), "").unwrap(), (0, 0));
        assert_eq!(resolve_user(d.path(), "node").unwrap(), (1000, 1001));
        assert_eq!(resolve_user(d.path(), "node:staff").unwrap(), (1000, 50));
        assert_eq!(resolve_user(d.path(), "123:7").unwrap(), (123, 7));
        assert_eq!(resolve_user(d.path(), "1000").unwrap(), (1000, 1001));
        assert!(resolve_user(d.path(), "nobody").is_err());
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

    #[test]
    fn resolv_conf_drops_loopback_servers() {
        let host = "nameserver 127.0.0.53\noptions edns0\nsearch lan\n";
        let c = resolv_conf(host, false);
        assert!(!c.contains("127.0.0.53"));
        assert!(c.contains("nameserver 8.8.8.8") && c.contains("search lan"));
        assert_eq!(resolv_conf(host, true), host);
        let c = resolv_conf("nameserver 10.0.0.1\nnameserver 127.0.0.1\n", false);
        assert_eq!(c, "nameserver 10.0.0.1\n");
        assert!(hosts_file("web", Some(Ipv4Addr::new(10, 0, 0, 2))).contains("10.0.0.2\tweb"));
    }
}
