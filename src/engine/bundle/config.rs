//! The `config.json` document.

use std::fs;
use std::path::{Path, PathBuf};

use std::collections::HashMap;

use oci_spec::runtime::{
    Capabilities, Capability, Linux, LinuxBuilder, LinuxCapabilitiesBuilder, LinuxCpuBuilder,
    LinuxDevice, LinuxDeviceBuilder, LinuxDeviceCgroupBuilder, LinuxDeviceType, LinuxMemoryBuilder,
    LinuxNamespace, LinuxNamespaceBuilder, LinuxNamespaceType, LinuxPidsBuilder, LinuxResources,
    LinuxResourcesBuilder, Mount, MountBuilder, PosixRlimitBuilder, PosixRlimitType,
    ProcessBuilder, RootBuilder, Spec, SpecBuilder, UserBuilder,
};
use serde_json::Value;

use super::{capabilities, BundleError, ProcessPlan, OCI_VERSION};
use crate::options::{CgroupNs, Seccomp, Validated, CPU_PERIOD};

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
#[derive(Debug)]
pub struct BundleInputs<'a> {
    /// The container's root filesystem (the snapshot's mount).
    pub rootfs: &'a Path,
    /// The bundle directory `config.json` is written to.
    pub bundle: &'a Path,
    /// The container's hash, naming its host-side resources.
    pub hash: &'a str,
    /// The container's hostname.
    pub hostname: &'a str,
    /// The process to run: args, env, cwd, user.
    pub process: &'a ProcessPlan,
    /// The uid the process runs as.
    pub uid: u32,
    /// The gid the process runs as.
    pub gid: u32,
    /// The process' supplementary groups.
    pub groups: &'a [u32],
    /// The init (`--init`): the host file bind-mounted read-only at
    /// [`INIT_PATH`] and run as PID 1 before the command.
    pub init: Option<&'a Path>,
    /// The network mode: which namespaces to join or make.
    pub net: &'a NetMode,
    /// Named volumes: (host dir, container path, readonly).
    pub volumes: &'a [(PathBuf, String, bool)],
    /// Host devices for a privileged container.
    pub host_devices: &'a [LinuxDevice],
    /// The CPU pinned for `noShared`.
    pub cpuset: Option<u32>,
    /// The engine's capability bounding set (what "all capabilities" means).
    pub cap_bounding: u64,
    /// The host runs cgroup v2 only (the default cgroup namespace is then private).
    pub cgroup_v2: bool,
}

/// Where `--init`'s reaper is in the container (podman: `/run/podman-init`).
pub const INIT_PATH: &str = "/run/k3-init";

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

/// The whole `config.json`, as the document the runtime reads.
pub fn spec(v: &Validated, i: &BundleInputs<'_>) -> Result<Spec, BundleError> {
    let caps: Capabilities = capabilities(v, i.cap_bounding)
        .iter()
        .map(|c| capability(c))
        .collect::<Result<_, _>>()?;
    let mut caps = LinuxCapabilitiesBuilder::default()
        .bounding(caps.clone())
        .effective(caps.clone())
        .permitted(caps)
        .build()?;
    // the builders start from a default container; what k3 leaves out stays out
    caps.set_inheritable(None).set_ambient(None);
    let mut user = UserBuilder::default().uid(i.uid).gid(i.gid);
    if !i.groups.is_empty() {
        user = user.additional_gids(i.groups.to_vec());
    }
    let args = match i.init {
        Some(_) => [INIT_PATH.to_string(), "--".into()]
            .into_iter()
            .chain(i.process.args.iter().cloned())
            .collect(),
        None => i.process.args.clone(),
    };
    let process = ProcessBuilder::default()
        .terminal(v.tty)
        .user(user.build()?)
        .args(args)
        .env(i.process.env.clone())
        .cwd(&i.process.cwd)
        .capabilities(caps)
        .rlimits(rlimits(v)?)
        .no_new_privileges(v.no_new_privileges)
        .build()?;
    let annotations = HashMap::from([
        ("io.k3.container.id".to_string(), v.id.clone()),
        ("io.k3.image".to_string(), v.image_ref.clone()),
    ]);
    Ok(SpecBuilder::default()
        .version(OCI_VERSION)
        .process(process)
        .root(
            RootBuilder::default()
                .path(i.rootfs)
                .readonly(v.read_only)
                .build()?,
        )
        .hostname(i.hostname)
        .mounts(mounts(v, i)?)
        .annotations(annotations)
        .linux(linux(v, i)?)
        .build()?)
}

/// The whole `config.json` as JSON (what the container record keeps).
pub fn generate(v: &Validated, i: &BundleInputs<'_>) -> Result<Value, BundleError> {
    serde_json::to_value(spec(v, i)?).map_err(BundleError::Json)
}

/// `CAP_NAME` as oci-spec's capability.
fn capability(name: &str) -> Result<Capability, BundleError> {
    name.strip_prefix("CAP_")
        .and_then(|n| n.parse().ok())
        .ok_or_else(|| BundleError::Capability(name.to_string()))
}

/// `RLIMIT_NOFILE` 1024:1024 unless `--ulimit nofile` says otherwise, and
/// every `--ulimit`.
fn rlimits(v: &Validated) -> Result<Vec<oci_spec::runtime::PosixRlimit>, BundleError> {
    let mut out = Vec::new();
    if !v.ulimits.iter().any(|u| u.name == "RLIMIT_NOFILE") {
        out.push(
            PosixRlimitBuilder::default()
                .typ(PosixRlimitType::RlimitNofile)
                .hard(1024u64)
                .soft(1024u64)
                .build()?,
        );
    }
    for u in &v.ulimits {
        let typ: PosixRlimitType = serde_json::from_value(Value::String(u.name.clone()))
            .map_err(|_| BundleError::Capability(u.name.clone()))?;
        out.push(
            PosixRlimitBuilder::default()
                .typ(typ)
                .hard(u.hard)
                .soft(u.soft)
                .build()?,
        );
    }
    Ok(out)
}

fn mount(dest: &str, typ: &str, source: &str, options: &[&str]) -> Result<Mount, BundleError> {
    let m = MountBuilder::default()
        .destination(dest)
        .typ(typ)
        .source(source);
    let m = if options.is_empty() {
        m
    } else {
        m.options(options.iter().map(|o| o.to_string()).collect::<Vec<_>>())
    };
    Ok(m.build()?)
}

fn mounts(v: &Validated, i: &BundleInputs<'_>) -> Result<Vec<Mount>, BundleError> {
    let sys_opts: &[&str] = if v.privileged {
        &["nosuid", "noexec", "nodev"]
    } else {
        &["nosuid", "noexec", "nodev", "ro"]
    };
    let cgroup_rw = if v.privileged { "rw" } else { "ro" };
    let shm_size = match v.shm_size {
        Some(b) if b % 1024 == 0 => format!("size={}k", b / 1024),
        Some(b) => format!("size={b}"),
        None => "size=65536k".into(),
    };
    let mut m = vec![
        mount("/proc", "proc", "proc", &[])?,
        mount(
            "/dev",
            "tmpfs",
            "tmpfs",
            &["nosuid", "strictatime", "mode=755", "size=65536k"],
        )?,
        mount(
            "/dev/pts",
            "devpts",
            "devpts",
            &[
                "nosuid",
                "noexec",
                "newinstance",
                "ptmxmode=0666",
                "mode=0620",
                "gid=5",
            ],
        )?,
        mount(
            "/dev/shm",
            "tmpfs",
            "shm",
            &["nosuid", "noexec", "nodev", "mode=1777", &shm_size],
        )?,
        mount(
            "/dev/mqueue",
            "mqueue",
            "mqueue",
            &["nosuid", "noexec", "nodev"],
        )?,
        mount("/sys", "sysfs", "sysfs", sys_opts)?,
        // The container's own cgroup (the runtime mounts cgroup2, or on v1 each
        // hierarchy rooted at the container's directory); writable only when
        // privileged, as docker and podman.
        mount(
            "/sys/fs/cgroup",
            "cgroup",
            "cgroup",
            &[
                "rprivate", "nosuid", "noexec", "nodev", "relatime", cgroup_rw,
            ],
        )?,
    ];
    for f in ["hosts", "hostname", "resolv.conf"] {
        m.push(bind(&i.bundle.join(f), &format!("/etc/{f}"), false)?);
    }
    if v.read_only {
        // podman's --read-only-tmpfs: the places programs write stay writable
        let taken = |p: &str| {
            v.mounts.iter().any(|b| b.container == p)
                || v.tmpfs.iter().any(|t| t.container == p)
                || i.volumes.iter().any(|(_, d, _)| d == p)
        };
        for p in ["/tmp", "/var/tmp", "/run"] {
            if !taken(p) {
                m.push(mount(p, "tmpfs", "tmpfs", &["rw", "nosuid", "nodev"])?);
            }
        }
    }
    for b in &v.mounts {
        m.push(bind(Path::new(&b.host), &b.container, b.readonly)?);
    }
    for (host, dest, ro) in i.volumes {
        m.push(bind(host, dest, *ro)?);
    }
    for t in &v.tmpfs {
        let opts: Vec<&str> = t.options.iter().map(String::as_str).collect();
        m.push(mount(&t.container, "tmpfs", "tmpfs", &opts)?);
    }
    if let Some(init) = i.init {
        m.push(bind(init, INIT_PATH, true)?);
    }
    Ok(m)
}

fn bind(src: &Path, dest: &str, ro: bool) -> Result<Mount, BundleError> {
    let mut opts = vec!["rbind".to_string(), "rprivate".to_string()];
    if ro {
        opts.push("ro".into());
    }
    Ok(MountBuilder::default()
        .destination(dest)
        .typ("bind")
        .source(src)
        .options(opts)
        .build()?)
}

fn namespace(typ: LinuxNamespaceType, path: Option<&Path>) -> Result<LinuxNamespace, BundleError> {
    let ns = LinuxNamespaceBuilder::default().typ(typ);
    Ok(match path {
        Some(p) => ns.path(p),
        None => ns,
    }
    .build()?)
}

fn linux(v: &Validated, i: &BundleInputs<'_>) -> Result<Linux, BundleError> {
    use LinuxNamespaceType as T;
    let mut namespaces = vec![
        namespace(T::Pid, None)?,
        namespace(T::Ipc, None)?,
        namespace(T::Uts, None)?,
        namespace(T::Mount, None)?,
    ];
    match i.net {
        NetMode::Host => {}
        NetMode::None => namespaces.push(namespace(T::Network, None)?),
        NetMode::Path(p) => namespaces.push(namespace(T::Network, Some(p))?),
    }
    if private_cgroupns(v, i.cgroup_v2) {
        namespaces.push(namespace(T::Cgroup, None)?);
    }
    let mut l = LinuxBuilder::default()
        .namespaces(namespaces)
        .cgroups_path(format!("/k3/{}", i.hash))
        .resources(resources(v, i)?)
        .build()?;
    let mut devices: Vec<LinuxDevice> = if v.privileged {
        i.host_devices.to_vec()
    } else {
        Vec::new()
    };
    for d in &v.devices {
        devices.retain(|x| x.path() != Path::new(&d.container));
        devices.push(
            LinuxDeviceBuilder::default()
                .path(&d.container)
                .typ(device_type(d.kind))
                .major(d.major)
                .minor(d.minor)
                .file_mode(d.mode)
                .uid(d.uid)
                .gid(d.gid)
                .build()?,
        );
    }
    if v.privileged || !devices.is_empty() {
        l.set_devices(Some(devices));
    }
    if !v.sysctls.is_empty() {
        l.set_sysctl(Some(v.sysctls.iter().cloned().collect()));
    }
    if v.privileged {
        l.set_masked_paths(None).set_readonly_paths(None);
    } else {
        l.set_masked_paths(Some(strings(MASKED)))
            .set_readonly_paths(Some(strings(READONLY)));
    }
    let caps = capabilities(v, i.cap_bounding);
    let seccomp = match &v.seccomp {
        Seccomp::Default if v.privileged => None,
        Seccomp::Default => Some(crate::seccomp::default_profile(&caps)?),
        Seccomp::Unconfined => None,
        Seccomp::Profile(p) => Some(super::profile::from_file(p, &caps)?),
    };
    l.set_seccomp(seccomp);
    Ok(l)
}

fn device_type(kind: char) -> LinuxDeviceType {
    if kind == 'b' {
        LinuxDeviceType::B
    } else {
        LinuxDeviceType::C
    }
}

fn strings(list: &[&str]) -> Vec<String> {
    list.iter().map(|s| s.to_string()).collect()
}

fn resources(v: &Validated, i: &BundleInputs<'_>) -> Result<LinuxResources, BundleError> {
    let mut devices = vec![LinuxDeviceCgroupBuilder::default()
        .allow(v.privileged)
        .access("rwm")
        .build()?];
    for d in &v.devices {
        devices.push(
            LinuxDeviceCgroupBuilder::default()
                .allow(true)
                .typ(device_type(d.kind))
                .major(d.major)
                .minor(d.minor)
                .access(&d.access)
                .build()?,
        );
    }
    let mut r = LinuxResourcesBuilder::default().devices(devices);
    if let Some(b) = v.memory_bytes {
        r = r.memory(LinuxMemoryBuilder::default().limit(b).build()?);
    }
    if v.cpu_quota.is_some() || i.cpuset.is_some() {
        let mut cpu = LinuxCpuBuilder::default();
        if let Some(q) = v.cpu_quota {
            cpu = cpu.quota(q).period(CPU_PERIOD);
        }
        if let Some(c) = i.cpuset {
            cpu = cpu.cpus(c.to_string());
        }
        r = r.cpu(cpu.build()?);
    }
    if let Some(n) = v.pids_limit {
        r = r.pids(LinuxPidsBuilder::default().limit(n).build()?);
    }
    if !v.cgroup_conf.is_empty() {
        r = r.unified(v.cgroup_conf.iter().cloned().collect::<HashMap<_, _>>());
    }
    Ok(r.build()?)
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
pub fn host_devices() -> Vec<LinuxDevice> {
    use std::os::unix::fs::{FileTypeExt, MetadataExt};
    let Ok(entries) = fs::read_dir("/dev") else {
        return Vec::new();
    };
    let mut out = Vec::new();
    for e in entries.flatten() {
        let Ok(m) = e.metadata() else { continue };
        let kind = if m.file_type().is_char_device() {
            LinuxDeviceType::C
        } else if m.file_type().is_block_device() {
            LinuxDeviceType::B
        } else {
            continue;
        };
        let name = e.file_name().to_string_lossy().to_string();
        // The runtime provides these itself.
        if ["console", "ptmx", "tty", "pts", "shm", "mqueue"].contains(&name.as_str()) {
            continue;
        }
        let rdev = m.rdev();
        let device = LinuxDeviceBuilder::default()
            .path(format!("/dev/{name}"))
            .typ(kind)
            .major(i64::from(libc::major(rdev)))
            .minor(i64::from(libc::minor(rdev)))
            .file_mode(m.mode() & 0o777)
            .uid(m.uid())
            .gid(m.gid())
            .build();
        out.extend(device.ok());
    }
    out
}
#[cfg(test)]
mod tests {
    use serde_json::json;

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
                groups: &[],
                init: None,
                net: &NetMode::None,
                volumes: &[],
                host_devices: &[],
                cpuset,
                cap_bounding: u64::MAX,
                cgroup_v2,
            },
        )
        .unwrap()
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
