//! Seed 000's `createContainer` options: the input shape ([`CreateOptions`],
//! camelCase JSON like the seed) and its validation into [`Validated`], where
//! every value is parsed (memory in bytes, cpus as a quota, mounts, volumes,
//! ports, capabilities). Any unknown or malformed value is an
//! [`OptionsError`] naming the option and the value (`VALIDATION_ERROR`).

use std::net::Ipv4Addr;

use serde::{Deserialize, Serialize};

/// The default network.
pub const DEFAULT_NETWORK: &str = "kb0";
/// The CFS period used for `cpus`.
pub const CPU_PERIOD: u64 = 100_000;

/// A malformed option.
#[derive(Debug, thiserror::Error, PartialEq)]
#[error("invalid `{option}` value `{value}`: {reason}")]
pub struct OptionsError {
    /// The option's name as in seed 000 (`memory`, `publish`, ...).
    pub option: &'static str,
    /// The value given.
    pub value: String,
    /// What is wrong with it.
    pub reason: String,
}

fn bad(option: &'static str, value: impl ToString, reason: impl ToString) -> OptionsError {
    OptionsError {
        option,
        value: value.to_string(),
        reason: reason.to_string(),
    }
}

/// The options of `createContainer`, as given (seed 000 names).
#[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct CreateOptions {
    pub container_id: String,
    pub image: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tag: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub hostname: Option<String>,
    /// The command line; split like a shell would (quotes, no expansion).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub args: Option<String>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub env: Vec<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cpus: Option<f64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub memory: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub disk_limit: Option<u64>,
    /// Most processes in the container (`pids.max`); `0` or `-1`: unlimited.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub pids_limit: Option<i64>,
    /// The cgroup namespace: `private` or `host` (default: `private` on a cgroup v2
    /// host, `host` on v1, as podman).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cgroupns: Option<String>,
    /// `KEY=VALUE`: a cgroup v2 file of the container's cgroup and the value written
    /// to it (`linux.resources.unified`), as podman's `--cgroup-conf`.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub cgroup_conf: Vec<String>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub mount: Vec<String>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub volume: Vec<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub network: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ip: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub mac: Option<String>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub publish: Vec<String>,
    #[serde(default)]
    pub privileged: bool,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub cap_add: Vec<String>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub cap_drop: Vec<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub restart: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub restart_delay: Option<u64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub restart_window: Option<u64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub max_attempts: Option<u32>,
    #[serde(default)]
    pub no_new_keyring: bool,
    #[serde(default)]
    pub no_pivot: bool,
    #[serde(default)]
    pub no_shared: bool,
    #[serde(default)]
    pub debug: bool,
}

/// A restart policy (stored now; a later daemon enforces it).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum RestartPolicy {
    None,
    Always,
    UnlessStopped,
    OnFailure,
}

/// Whether the container gets a cgroup namespace of its own.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum CgroupNs {
    /// A new cgroup namespace rooted at the container's cgroup.
    Private,
    /// The engine's cgroup namespace (`/proc/self/cgroup` shows host paths).
    Host,
}

/// `--cgroupns`: `private` or `host`.
pub fn cgroupns(s: &str) -> Result<CgroupNs, OptionsError> {
    match s {
        "private" => Ok(CgroupNs::Private),
        "host" => Ok(CgroupNs::Host),
        _ => Err(bad("cgroupns", s, "use `private` or `host`")),
    }
}

/// `--cgroup-conf KEY=VALUE`: KEY a cgroup v2 interface file (`memory.high`,
/// `cpu.weight`: a controller, a dot, a name; no path), VALUE one line.
pub fn cgroup_conf(s: &str) -> Result<(String, String), OptionsError> {
    let Some((k, v)) = s.split_once('=') else {
        return Err(bad("cgroupConf", s, "use KEY=VALUE (`memory.high=64m`)"));
    };
    let part_ok = |p: &str| {
        !p.is_empty()
            && p.chars()
                .all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-')
    };
    match k.split_once('.') {
        Some((ctrl, file)) if part_ok(ctrl) && file.split('.').all(part_ok) => {}
        _ => {
            return Err(bad(
                "cgroupConf",
                s,
                format!("`{k}` is not a cgroup v2 file name (`memory.high`, `cpu.weight`)"),
            ))
        }
    }
    if v.is_empty() || v.contains('\n') || v.contains('\0') {
        return Err(bad("cgroupConf", s, "the value must be one non-empty line"));
    }
    Ok((k.to_string(), v.to_string()))
}

/// `--pids-limit`: a positive count, or `0`/`-1` for unlimited (as podman).
pub fn pids_limit(n: i64) -> Result<Option<i64>, OptionsError> {
    match n {
        -1 | 0 => Ok(None),
        n if n > 0 => Ok(Some(n)),
        _ => Err(bad(
            "pidsLimit",
            n,
            "use a positive number, or 0 or -1 for unlimited",
        )),
    }
}

/// A bind mount `host:container[:ro|rw]`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct BindMount {
    pub host: String,
    pub container: String,
    pub readonly: bool,
}

/// A named volume `name:/path[:ro]`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct VolumeMount {
    pub name: String,
    pub container: String,
    pub readonly: bool,
}

/// A transport protocol of a published port.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Proto {
    Tcp,
    Udp,
}

impl Proto {
    /// `tcp` or `udp`.
    pub fn as_str(self) -> &'static str {
        match self {
            Proto::Tcp => "tcp",
            Proto::Udp => "udp",
        }
    }
}

/// A published port `[hostIP:]hostPort:containerPort[/proto]`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PortMapping {
    pub host_ip: Option<Ipv4Addr>,
    pub host_port: u16,
    pub container_port: u16,
    pub proto: Proto,
}

/// Every option parsed and checked.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Validated {
    pub id: String,
    /// `image:tag` (or `image@digest`).
    pub image_ref: String,
    pub hostname: Option<String>,
    /// The command line split into words (`None`: the image's Cmd).
    pub args: Option<Vec<String>>,
    pub env: Vec<(String, String)>,
    /// CFS quota for `CPU_PERIOD`.
    pub cpu_quota: Option<i64>,
    pub memory_bytes: Option<i64>,
    pub disk_limit_mb: Option<u64>,
    /// `pids.max` (`None`: unlimited).
    #[serde(default)]
    pub pids_limit: Option<i64>,
    /// `None`: the host's default (private on cgroup v2, host on v1).
    #[serde(default)]
    pub cgroupns: Option<CgroupNs>,
    /// cgroup v2 files to write: (file, value), in order given (a later key wins).
    #[serde(default)]
    pub cgroup_conf: Vec<(String, String)>,
    pub mounts: Vec<BindMount>,
    pub volumes: Vec<VolumeMount>,
    pub network: String,
    pub ip: Option<Ipv4Addr>,
    pub mac: Option<[u8; 6]>,
    pub publish: Vec<PortMapping>,
    pub privileged: bool,
    /// `CAP_*` names.
    pub cap_add: Vec<String>,
    pub cap_drop: Vec<String>,
    pub restart: RestartPolicy,
    pub restart_delay: u64,
    pub restart_window: u64,
    pub max_attempts: u32,
    pub no_new_keyring: bool,
    pub no_pivot: bool,
    pub no_shared: bool,
    pub debug: bool,
}

/// Capabilities known to k3 (a made-up name is an error).
pub const ALL_CAPS: &[&str] = &[
    "CAP_CHOWN",
    "CAP_DAC_OVERRIDE",
    "CAP_DAC_READ_SEARCH",
    "CAP_FOWNER",
    "CAP_FSETID",
    "CAP_KILL",
    "CAP_SETGID",
    "CAP_SETUID",
    "CAP_SETPCAP",
    "CAP_LINUX_IMMUTABLE",
    "CAP_NET_BIND_SERVICE",
    "CAP_NET_BROADCAST",
    "CAP_NET_ADMIN",
    "CAP_NET_RAW",
    "CAP_IPC_LOCK",
    "CAP_IPC_OWNER",
    "CAP_SYS_MODULE",
    "CAP_SYS_RAWIO",
    "CAP_SYS_CHROOT",
    "CAP_SYS_PTRACE",
    "CAP_SYS_PACCT",
    "CAP_SYS_ADMIN",
    "CAP_SYS_BOOT",
    "CAP_SYS_NICE",
    "CAP_SYS_RESOURCE",
    "CAP_SYS_TIME",
    "CAP_SYS_TTY_CONFIG",
    "CAP_MKNOD",
    "CAP_LEASE",
    "CAP_AUDIT_WRITE",
    "CAP_AUDIT_CONTROL",
    "CAP_SETFCAP",
    "CAP_MAC_OVERRIDE",
    "CAP_MAC_ADMIN",
    "CAP_SYSLOG",
    "CAP_WAKE_ALARM",
    "CAP_BLOCK_SUSPEND",
    "CAP_AUDIT_READ",
    "CAP_PERFMON",
    "CAP_BPF",
    "CAP_CHECKPOINT_RESTORE",
];

/// Docker's default capability set.
pub const DEFAULT_CAPS: &[&str] = &[
    "CAP_CHOWN",
    "CAP_DAC_OVERRIDE",
    "CAP_FSETID",
    "CAP_FOWNER",
    "CAP_MKNOD",
    "CAP_NET_RAW",
    "CAP_SETGID",
    "CAP_SETUID",
    "CAP_SETFCAP",
    "CAP_SETPCAP",
    "CAP_NET_BIND_SERVICE",
    "CAP_SYS_CHROOT",
    "CAP_KILL",
    "CAP_AUDIT_WRITE",
];

impl CreateOptions {
    /// Parses and checks every option.
    pub fn validate(&self) -> Result<Validated, OptionsError> {
        let id = container_id(&self.container_id)?;
        Ok(Validated {
            image_ref: image_ref(&self.image, self.tag.as_deref())?,
            hostname: self.hostname.as_deref().map(hostname).transpose()?,
            args: self.args.as_deref().map(args).transpose()?,
            env: self.env.iter().map(|e| env(e)).collect::<Result<_, _>>()?,
            cpu_quota: self.cpus.map(cpus).transpose()?,
            memory_bytes: self.memory.as_deref().map(memory).transpose()?,
            disk_limit_mb: self.disk_limit.map(disk_limit).transpose()?,
            pids_limit: self.pids_limit.map(pids_limit).transpose()?.flatten(),
            cgroupns: self.cgroupns.as_deref().map(cgroupns).transpose()?,
            cgroup_conf: self
                .cgroup_conf
                .iter()
                .map(|c| cgroup_conf(c))
                .collect::<Result<_, _>>()?,
            mounts: self
                .mount
                .iter()
                .map(|m| bind_mount(m))
                .collect::<Result<_, _>>()?,
            volumes: volumes(&self.volume)?,
            network: network_name(self.network.as_deref().unwrap_or(DEFAULT_NETWORK))?,
            ip: self.ip.as_deref().map(ip).transpose()?,
            mac: self.mac.as_deref().map(mac).transpose()?,
            publish: publish(&self.publish)?,
            privileged: self.privileged,
            cap_add: caps("capAdd", &self.cap_add)?,
            cap_drop: caps("capDrop", &self.cap_drop)?,
            restart: restart(self.restart.as_deref().unwrap_or("none"))?,
            restart_delay: seconds("restartDelay", self.restart_delay, MAX_RESTART_DELAY_S)?,
            restart_window: seconds("restartWindow", self.restart_window, MAX_RESTART_WINDOW_S)?,
            max_attempts: self.max_attempts.unwrap_or(0),
            no_new_keyring: self.no_new_keyring,
            no_pivot: self.no_pivot,
            no_shared: self.no_shared,
            debug: self.debug,
            id,
        })
        .and_then(check_combinations)
    }
}

fn check_combinations(v: Validated) -> Result<Validated, OptionsError> {
    let special = v.network == "host" || v.network == "none";
    if special {
        if let Some(ip) = v.ip {
            return Err(bad(
                "ip",
                ip,
                format!("network `{}` takes no IP", v.network),
            ));
        }
        if v.mac.is_some() {
            return Err(bad(
                "mac",
                "",
                format!("network `{}` takes no MAC", v.network),
            ));
        }
        if let Some(p) = v.publish.first() {
            let why = format!("network `{}` cannot publish ports", v.network);
            return Err(bad("publish", p.host_port, why));
        }
    }
    Ok(v)
}

const SIGNALS: &[&str] = &[
    "HUP", "INT", "QUIT", "ILL", "TRAP", "ABRT", "IOT", "BUS", "FPE", "KILL", "USR1", "SEGV",
    "USR2", "PIPE", "ALRM", "TERM", "STKFLT", "CHLD", "CONT", "STOP", "TSTP", "TTIN", "TTOU",
    "URG", "XCPU", "XFSZ", "VTALRM", "PROF", "WINCH", "IO", "POLL", "PWR", "SYS",
];

/// A signal as `kill` takes it: `9`, `KILL`, `SIGKILL`, `sigterm`, `RTMIN+3`
/// (the runtimes' grammar, checked before one is run).
pub fn signal(s: &str) -> Result<(), OptionsError> {
    let err = || {
        bad(
            "signal",
            s,
            "use a number from 1 to 64 or a name like `TERM`",
        )
    };
    if let Ok(n) = s.parse::<i64>() {
        return if (1..=64).contains(&n) {
            Ok(())
        } else {
            Err(err())
        };
    }
    let up = s.to_ascii_uppercase();
    let name = up.strip_prefix("SIG").unwrap_or(&up);
    if SIGNALS.contains(&name) {
        return Ok(());
    }
    let (min, max) = (i64::from(libc::SIGRTMIN()), i64::from(libc::SIGRTMAX()));
    let rt = |base: i64, off: &str| {
        let o: i64 = if off.is_empty() {
            0
        } else {
            off.parse().map_err(|_| err())?
        };
        if (min..=max).contains(&(base + o)) {
            Ok(())
        } else {
            Err(err())
        }
    };
    if let Some(off) = name.strip_prefix("RTMIN") {
        return rt(min, off.strip_prefix('+').unwrap_or(off));
    }
    if let Some(off) = name.strip_prefix("RTMAX") {
        return rt(max, off);
    }
    Err(err())
}

/// `[A-Za-z0-9-]{1,64}`, not starting with `-`.
pub fn container_id(s: &str) -> Result<String, OptionsError> {
    let ok = !s.is_empty()
        && s.len() <= 64
        && !s.starts_with('-')
        && s.chars().all(|c| c.is_ascii_alphanumeric() || c == '-');
    if ok {
        Ok(s.to_string())
    } else {
        Err(bad(
            "containerId",
            s,
            "use 1 to 64 letters, digits and `-` (not first)",
        ))
    }
}

fn image_ref(image: &str, tag: Option<&str>) -> Result<String, OptionsError> {
    let r = image_ref_chars(image, tag)?;
    // the registry grammar (lowercase repository, 255 at most): refused here as
    // the caller's value, not later as a failed pull
    crate::image::reference::Reference::parse(&r, "docker.io")
        .map_err(|e| bad("image", image, e))?;
    Ok(r)
}

fn image_ref_chars(image: &str, tag: Option<&str>) -> Result<String, OptionsError> {
    let img_ok = !image.is_empty()
        && !image.starts_with(['-', '/', '.'])
        && image
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || "._-/:@".contains(c));
    if !img_ok {
        return Err(bad("image", image, "not an image name"));
    }
    match tag {
        None if image.contains('@') || has_tag(image) => Ok(image.to_string()),
        None => Ok(format!("{image}:latest")),
        Some(t) => {
            let ok = !t.is_empty()
                && t.len() <= 128
                && !t.starts_with(['.', '-'])
                && t.chars()
                    .all(|c| c.is_ascii_alphanumeric() || "._-".contains(c));
            if !ok {
                return Err(bad("tag", t, "use letters, digits, `.`, `_`, `-`"));
            }
            if has_tag(image) || image.contains('@') {
                return Err(bad("tag", t, format!("image `{image}` already names one")));
            }
            Ok(format!("{image}:{t}"))
        }
    }
}

fn has_tag(image: &str) -> bool {
    image
        .rsplit_once('/')
        .map_or(image, |(_, last)| last)
        .contains(':')
}

/// An RFC 1123 host name label sequence.
pub fn hostname(s: &str) -> Result<String, OptionsError> {
    let label_ok = |l: &str| {
        !l.is_empty()
            && l.len() <= 63
            && !l.starts_with('-')
            && !l.ends_with('-')
            && l.chars().all(|c| c.is_ascii_alphanumeric() || c == '-')
    };
    if s.len() <= 253 && s.split('.').all(label_ok) {
        Ok(s.to_string())
    } else {
        Err(bad("hostname", s, "not a valid host name"))
    }
}

/// Splits a command line like a POSIX shell (quotes and backslashes; no
/// expansion).
pub fn args(s: &str) -> Result<Vec<String>, OptionsError> {
    let mut words = Vec::new();
    let mut cur = String::new();
    let mut in_word = false;
    let mut chars = s.chars();
    let mut quote: Option<char> = None;
    while let Some(c) = chars.next() {
        match (quote, c) {
            (Some(q), c) if c == q => quote = None,
            (Some('"'), '\\') => match chars.next() {
                Some(n) if "\"\\$`".contains(n) => cur.push(n),
                Some(n) => {
                    cur.push('\\');
                    cur.push(n)
                }
                None => return Err(bad("args", s, "ends with a backslash")),
            },
            (Some(_), c) => cur.push(c),
            (None, '\'' | '"') => {
                quote = Some(c);
                in_word = true
            }
            (None, '\\') => {
                cur.push(
                    chars
                        .next()
                        .ok_or_else(|| bad("args", s, "ends with a backslash"))?,
                );
                in_word = true
            }
            (None, c) if c.is_whitespace() => {
                if in_word {
                    words.push(std::mem::take(&mut cur));
                    in_word = false
                }
            }
            (None, c) => {
                cur.push(c);
                in_word = true
            }
        }
    }
    if quote.is_some() {
        return Err(bad("args", s, "unterminated quote"));
    }
    if in_word {
        words.push(cur);
    }
    if words.is_empty() {
        return Err(bad("args", s, "empty command"));
    }
    Ok(words)
}

/// `KEY=VALUE` with a POSIX-ish key.
pub fn env(s: &str) -> Result<(String, String), OptionsError> {
    let (k, v) = s
        .split_once('=')
        .ok_or_else(|| bad("env", s, "use `KEY=VALUE`"))?;
    let key_ok = !k.is_empty()
        && !k.starts_with(|c: char| c.is_ascii_digit())
        && k.chars().all(|c| c.is_ascii_alphanumeric() || c == '_');
    if !key_ok || v.contains('\0') {
        return Err(bad("env", s, "the key must be letters, digits and `_`"));
    }
    Ok((k.to_string(), v.to_string()))
}

/// CPUs as a CFS quota for [`CPU_PERIOD`] (0.01 and up).
pub fn cpus(n: f64) -> Result<i64, OptionsError> {
    if !n.is_finite() || !(0.01..=1024.0).contains(&n) {
        return Err(bad("cpus", n, "use a number from 0.01 to 1024"));
    }
    Ok((n * CPU_PERIOD as f64).round() as i64)
}

/// Memory sizes: `512m`, `1GB`, `2048MB`, `512MB`, `1g`, `100k`, `1048576`
/// (bytes). Binary units (`1GB` = 2^30 bytes), as docker.
pub fn memory(s: &str) -> Result<i64, OptionsError> {
    let t = s.trim();
    let split = t
        .find(|c: char| !(c.is_ascii_digit() || c == '.'))
        .unwrap_or(t.len());
    let (num, unit) = t.split_at(split);
    let n: f64 = num
        .parse()
        .map_err(|_| bad("memory", s, "use a number with a unit: `512m`, `1GB`"))?;
    let mult: f64 = match unit.to_ascii_lowercase().as_str() {
        "" | "b" => 1.0,
        "k" | "kb" | "kib" => 1024.0,
        "m" | "mb" | "mib" => 1024.0 * 1024.0,
        "g" | "gb" | "gib" => 1024.0 * 1024.0 * 1024.0,
        "t" | "tb" | "tib" => 1024.0_f64.powi(4),
        _ => return Err(bad("memory", s, "unknown unit (use b, k, m, g, t)")),
    };
    let bytes = (n * mult).round();
    // Docker's minimum is 6 MB; below that the runtime's own init may not fit.
    if bytes < 6.0 * 1024.0 * 1024.0 {
        return Err(bad("memory", s, "the minimum is `6m`"));
    }
    if bytes > i64::MAX as f64 {
        return Err(bad("memory", s, "too large"));
    }
    Ok(bytes as i64)
}

/// The largest `diskLimit`: 16 TiB in MB, ext4's largest file (and far from the
/// overflow of MB × 2^20 in a u64, which once made a 6 MB disk of a huge limit).
const MAX_DISK_LIMIT_MB: u64 = 16 << 20;

fn disk_limit(mb: u64) -> Result<u64, OptionsError> {
    if mb < 8 {
        return Err(bad("diskLimit", mb, "the minimum is `8` MB"));
    }
    if mb > MAX_DISK_LIMIT_MB {
        return Err(bad(
            "diskLimit",
            mb,
            format!("the maximum is `{MAX_DISK_LIMIT_MB}` MB (16 TiB)"),
        ));
    }
    Ok(mb)
}

/// The longest `restartDelay`: one day (a delay of u64::MAX seconds overflowed
/// the supervisor's clock: an abort of the daemon when the container exited).
const MAX_RESTART_DELAY_S: u64 = 86_400;
/// The longest `restartWindow`: one year.
const MAX_RESTART_WINDOW_S: u64 = 365 * 86_400;

fn seconds(option: &'static str, v: Option<u64>, max: u64) -> Result<u64, OptionsError> {
    match v {
        Some(s) if s > max => Err(bad(option, s, format!("the maximum is `{max}` seconds"))),
        v => Ok(v.unwrap_or(0)),
    }
}

fn container_path(option: &'static str, whole: &str, p: &str) -> Result<String, OptionsError> {
    if !p.starts_with('/') || p.split('/').any(|c| c == "..") || p.contains('\0') {
        return Err(bad(option, whole, format!("`{p}` is not an absolute path")));
    }
    Ok(p.to_string())
}

fn ro_flag(option: &'static str, whole: &str, f: Option<&str>) -> Result<bool, OptionsError> {
    match f {
        None | Some("rw") => Ok(false),
        Some("ro") => Ok(true),
        Some(o) => Err(bad(
            option,
            whole,
            format!("unknown mode `{o}` (use ro or rw)"),
        )),
    }
}

/// `host:container[:ro|rw]`; the host path must exist.
pub fn bind_mount(s: &str) -> Result<BindMount, OptionsError> {
    let parts: Vec<&str> = s.split(':').collect();
    if !(2..=3).contains(&parts.len()) {
        return Err(bad("mount", s, "use `/host/path:/container/path[:ro]`"));
    }
    let host = container_path("mount", s, parts[0])?;
    if !std::path::Path::new(&host).exists() {
        return Err(bad(
            "mount",
            s,
            format!("host path `{host}` does not exist"),
        ));
    }
    Ok(BindMount {
        host,
        container: container_path("mount", s, parts[1])?,
        readonly: ro_flag("mount", s, parts.get(2).copied())?,
    })
}

/// A volume or network name: `[A-Za-z0-9][A-Za-z0-9_.-]{0,63}`.
pub fn name_ok(s: &str) -> bool {
    !s.is_empty()
        && s.len() <= 64
        && s.starts_with(|c: char| c.is_ascii_alphanumeric())
        && s.chars()
            .all(|c| c.is_ascii_alphanumeric() || "_.-".contains(c))
}

fn volumes(list: &[String]) -> Result<Vec<VolumeMount>, OptionsError> {
    let mut out: Vec<VolumeMount> = Vec::new();
    for s in list {
        let parts: Vec<&str> = s.split(':').collect();
        if !(2..=3).contains(&parts.len()) || !name_ok(parts[0]) {
            return Err(bad("volume", s, "use `name:/container/path[:ro]`"));
        }
        let v = VolumeMount {
            name: parts[0].to_string(),
            container: container_path("volume", s, parts[1])?,
            readonly: ro_flag("volume", s, parts.get(2).copied())?,
        };
        if out.iter().any(|o| o.container == v.container) {
            return Err(bad("volume", s, "that path is already mounted"));
        }
        out.push(v);
    }
    Ok(out)
}

/// A network name (a record's name, not a device name: a long one gets a
/// bridge device of its own name, see `network::bridge_name`). Whether the
/// network exists is step 6's question (`NETWORK_ERROR`), not validation's.
fn network_name(s: &str) -> Result<String, OptionsError> {
    if name_ok(s) {
        Ok(s.to_string())
    } else {
        Err(bad(
            "network",
            s,
            "use up to 64 letters, digits, `_.-`, starting with a letter or digit",
        ))
    }
}

/// A dotted IPv4 address.
pub fn ip(s: &str) -> Result<Ipv4Addr, OptionsError> {
    s.parse()
        .map_err(|_| bad("ip", s, "not an IPv4 address (`192.168.100.50`)"))
}

/// `aa:bb:cc:dd:ee:ff` (or `-`), unicast.
pub fn mac(s: &str) -> Result<[u8; 6], OptionsError> {
    let parts: Vec<&str> = s.split([':', '-']).collect();
    let mut out = [0u8; 6];
    if parts.len() != 6 {
        return Err(bad("mac", s, "use six hex pairs `aa:bb:cc:dd:ee:ff`"));
    }
    for (o, p) in out.iter_mut().zip(&parts) {
        if p.len() != 2 {
            return Err(bad("mac", s, "use six hex pairs `aa:bb:cc:dd:ee:ff`"));
        }
        *o = u8::from_str_radix(p, 16).map_err(|_| bad("mac", s, "not hexadecimal"))?;
    }
    if out[0] & 1 == 1 {
        return Err(bad(
            "mac",
            s,
            "a multicast address cannot be a NIC's address",
        ));
    }
    if out == [0; 6] {
        return Err(bad("mac", s, "the zero address cannot be a NIC's address"));
    }
    Ok(out)
}

fn port(whole: &str, s: &str) -> Result<u16, OptionsError> {
    match s.parse::<u16>() {
        Ok(p) if p > 0 => Ok(p),
        _ => Err(bad(
            "publish",
            whole,
            format!("`{s}` is not a port (1-65535)"),
        )),
    }
}

/// `[hostIP:]hostPort:containerPort[/tcp|udp]`.
pub fn port_mapping(s: &str) -> Result<PortMapping, OptionsError> {
    let (spec, proto) = match s.split_once('/') {
        None => (s, Proto::Tcp),
        Some((a, "tcp")) => (a, Proto::Tcp),
        Some((a, "udp")) => (a, Proto::Udp),
        Some((_, p)) => return Err(bad("publish", s, format!("unknown protocol `{p}`"))),
    };
    let parts: Vec<&str> = spec.split(':').collect();
    let (host_ip, hp, cp) = match parts.as_slice() {
        [h, c] => (None, *h, *c),
        [ip, h, c] => (
            Some(
                ip.parse()
                    .map_err(|_| bad("publish", s, format!("`{ip}` is not an IPv4 address")))?,
            ),
            *h,
            *c,
        ),
        _ => {
            return Err(bad(
                "publish",
                s,
                "use `[hostIP:]hostPort:containerPort[/proto]`",
            ))
        }
    };
    Ok(PortMapping {
        host_ip,
        host_port: port(s, hp)?,
        container_port: port(s, cp)?,
        proto,
    })
}

fn publish(list: &[String]) -> Result<Vec<PortMapping>, OptionsError> {
    let mut out: Vec<PortMapping> = Vec::new();
    for s in list {
        let p = port_mapping(s)?;
        if out
            .iter()
            .any(|o| o.host_port == p.host_port && o.proto == p.proto)
        {
            return Err(bad("publish", s, "host port given twice"));
        }
        out.push(p);
    }
    Ok(out)
}

/// `NET_ADMIN` or `CAP_NET_ADMIN` (any case) → `CAP_NET_ADMIN`; `ALL` allowed.
pub fn caps(option: &'static str, list: &[String]) -> Result<Vec<String>, OptionsError> {
    list.iter()
        .map(|c| {
            let up = c.to_ascii_uppercase();
            if up == "ALL" {
                return Ok(up);
            }
            let full = if up.starts_with("CAP_") {
                up
            } else {
                format!("CAP_{up}")
            };
            if ALL_CAPS.contains(&full.as_str()) {
                Ok(full)
            } else {
                Err(bad(option, c, "unknown capability"))
            }
        })
        .collect()
}

fn restart(s: &str) -> Result<RestartPolicy, OptionsError> {
    match s {
        "none" | "no" => Ok(RestartPolicy::None),
        "always" => Ok(RestartPolicy::Always),
        "unless-stopped" => Ok(RestartPolicy::UnlessStopped),
        "on-failure" => Ok(RestartPolicy::OnFailure),
        _ => Err(bad(
            "restart",
            s,
            "use `none`, `always`, `unless-stopped` or `on-failure`",
        )),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn opts() -> CreateOptions {
        CreateOptions {
            container_id: "web-1".into(),
            image: "alpine".into(),
            ..Default::default()
        }
    }

    #[test]
    fn cgroupns_and_pids_limit() {
        assert_eq!(cgroupns("private").unwrap(), CgroupNs::Private);
        assert_eq!(cgroupns("host").unwrap(), CgroupNs::Host);
        for b in ["", "Private", "none", "container:x"] {
            let e = cgroupns(b).unwrap_err();
            assert_eq!(e.option, "cgroupns", "{b}");
            assert!(e.to_string().contains(&format!("`{b}`")), "{e}");
        }
        assert_eq!(
            cgroup_conf("memory.high=50000000").unwrap(),
            ("memory.high".into(), "50000000".into())
        );
        assert_eq!(
            cgroup_conf("cgroup.max.descendants=5").unwrap().0,
            "cgroup.max.descendants"
        );
        assert_eq!(cgroup_conf("cpu.max=max 100000").unwrap().1, "max 100000");
        for b in [
            "bogus",
            "memory=1",
            "../x.y=1",
            "memory.high/x=1",
            ".high=1",
            "memory.high=",
            "memory.high=a\nb",
        ] {
            let e = cgroup_conf(b).unwrap_err();
            assert_eq!(e.option, "cgroupConf", "{b}");
        }
        assert_eq!(pids_limit(50).unwrap(), Some(50));
        assert_eq!(pids_limit(0).unwrap(), None);
        assert_eq!(pids_limit(-1).unwrap(), None);
        assert_eq!(pids_limit(-2).unwrap_err().option, "pidsLimit");
        let o = CreateOptions {
            container_id: "c".into(),
            image: "alpine".into(),
            cgroupns: Some("bogus".into()),
            ..Default::default()
        };
        assert_eq!(o.validate().unwrap_err().option, "cgroupns");
    }

    #[test]
    fn memory_units_are_binary() {
        assert_eq!(memory("512m").unwrap(), 512 << 20);
        assert_eq!(memory("512MB").unwrap(), 512 << 20);
        assert_eq!(memory("2048MB").unwrap(), 2048 << 20);
        assert_eq!(memory("1GB").unwrap(), 1 << 30);
        assert_eq!(memory("1g").unwrap(), 1 << 30);
        assert_eq!(memory("1.5g").unwrap(), 3 << 29);
        assert_eq!(memory("8388608").unwrap(), 8 << 20);
        for b in ["", "abc", "12x", "1m", "-5m", "m"] {
            let e = memory(b).unwrap_err();
            assert_eq!(e.option, "memory", "{b}");
        }
    }

    #[test]
    fn disk_limits_are_bounded() {
        assert_eq!(disk_limit(8).unwrap(), 8);
        assert_eq!(disk_limit(16 << 20).unwrap(), 16 << 20);
        for mb in [0, 7, (16 << 20) + 1, 17_592_186_044_424, u64::MAX] {
            let e = disk_limit(mb).unwrap_err();
            assert_eq!(e.option, "diskLimit", "{mb}");
        }
    }

    #[test]
    fn images_follow_the_reference_grammar() {
        for (img, tag) in [("UPPER", None), ("a//b", None), ("x", Some("é"))] {
            let e = image_ref(img, tag).unwrap_err();
            assert!(e.option == "image" || e.option == "tag", "{img}: {e}");
        }
        let e = image_ref(&"a".repeat(300), None).unwrap_err();
        assert_eq!(e.option, "image");
        assert_eq!(image_ref("busybox", None).unwrap(), "busybox:latest");
    }

    #[test]
    fn signals_as_the_runtimes_take_them() {
        for ok in [
            "9", "KILL", "SIGTERM", "sigusr1", "RTMIN+2", "RTMAX-1", "64",
        ] {
            assert!(signal(ok).is_ok(), "{ok}");
        }
        for b in [
            "",
            "0",
            "-1",
            "65",
            "99999999999",
            "NOSUCH",
            "SIG",
            "é",
            "RTMIN+99",
            "1e3",
        ] {
            assert_eq!(signal(b).unwrap_err().option, "signal", "{b}");
        }
    }

    #[test]
    fn restart_times_are_bounded() {
        let o = |delay: u64, window: u64| CreateOptions {
            container_id: "a".into(),
            image: "busybox".into(),
            restart_delay: Some(delay),
            restart_window: Some(window),
            ..Default::default()
        };
        let v = o(86_400, 365 * 86_400).validate().unwrap();
        assert_eq!((v.restart_delay, v.restart_window), (86_400, 365 * 86_400));
        // found by the fuzzer: u64::MAX seconds overflowed the supervisor's clock
        for (d, w, field) in [
            (u64::MAX, 0, "restartDelay"),
            (86_401, 0, "restartDelay"),
            (0, u64::MAX, "restartWindow"),
            (0, 1 << 63, "restartWindow"),
        ] {
            let e = o(d, w).validate().unwrap_err();
            assert_eq!(e.option, field, "{d} {w}");
            assert!(e.to_string().contains(field), "{e}");
        }
    }

    #[test]
    fn cpus_become_a_quota() {
        assert_eq!(cpus(1.0).unwrap(), 100_000);
        assert_eq!(cpus(0.5).unwrap(), 50_000);
        assert_eq!(cpus(2.0).unwrap(), 200_000);
        assert_eq!(cpus(0.25).unwrap(), 25_000);
        assert!(cpus(0.0).is_err());
        assert!(cpus(-1.0).is_err());
        assert!(cpus(f64::NAN).is_err());
    }

    #[test]
    fn args_split_like_a_shell() {
        assert_eq!(args("npm start").unwrap(), vec!["npm", "start"]);
        assert_eq!(
            args(r#"sh -c 'echo "a b"; exit 3'"#).unwrap(),
            vec!["sh", "-c", r#"echo "a b"; exit 3"#]
        );
        assert_eq!(args(r#"a\ b "c\"d" ''"#).unwrap(), vec!["a b", "c\"d", ""]);
        assert!(args("'open").is_err());
        assert!(args("   ").is_err());
    }

    #[test]
    fn ids_envs_hostnames() {
        assert!(container_id("simple-app").is_ok());
        for b in ["", "-x", "a_b", "a/b", "a b", &"a".repeat(65)] {
            assert!(container_id(b).is_err(), "{b}");
        }
        assert_eq!(env("A=b=c").unwrap(), ("A".into(), "b=c".into()));
        assert!(env("NOEQ").is_err());
        assert!(env("1A=x").is_err());
        assert!(env("A-B=x").is_err());
        assert!(hostname("app-server").is_ok());
        assert!(hostname("bad_host").is_err());
        assert!(hostname("-x").is_err());
    }

    #[test]
    fn image_and_tag() {
        let mut o = opts();
        assert_eq!(o.validate().unwrap().image_ref, "alpine:latest");
        o.tag = Some("3.19".into());
        assert_eq!(o.validate().unwrap().image_ref, "alpine:3.19");
        o.image = "127.0.0.1:5000/node".into();
        o.tag = Some("18".into());
        assert_eq!(o.validate().unwrap().image_ref, "127.0.0.1:5000/node:18");
        o.tag = None;
        assert_eq!(
            o.validate().unwrap().image_ref,
            "127.0.0.1:5000/node:latest"
        );
        o.tag = Some("bad tag".into());
        assert_eq!(o.validate().unwrap_err().option, "tag");
        o.image = "x:1".into();
        o.tag = Some("2".into());
        assert_eq!(o.validate().unwrap_err().option, "tag");
    }

    #[test]
    fn mounts_and_volumes() {
        let m = bind_mount("/tmp:/data:ro").unwrap();
        assert!(m.readonly);
        assert_eq!(m.container, "/data");
        assert!(bind_mount("/nonexistent-k3:/data").is_err());
        assert!(bind_mount("/tmp:data").is_err());
        assert!(bind_mount("/tmp:/data:rx").is_err());
        let v = volumes(&["db-data:/var/lib/db".into()]).unwrap();
        assert_eq!(v[0].name, "db-data");
        assert!(volumes(&["bad name:/x".into()]).is_err());
        assert!(volumes(&["a:/x".into(), "b:/x".into()]).is_err());
        assert!(volumes(&["a:/../x".into()]).is_err());
    }

    #[test]
    fn ports_ips_macs() {
        let p = port_mapping("8080:80").unwrap();
        assert_eq!(
            (p.host_port, p.container_port, p.proto),
            (8080, 80, Proto::Tcp)
        );
        let p = port_mapping("127.0.0.1:53:5353/udp").unwrap();
        assert_eq!(p.host_ip, Some(Ipv4Addr::LOCALHOST));
        assert_eq!(p.proto, Proto::Udp);
        for b in [
            "80",
            "0:80",
            "x:80",
            "8080:80/sctp",
            "1.2.3:1:2",
            "70000:80",
        ] {
            assert!(port_mapping(b).is_err(), "{b}");
        }
        assert!(publish(&["80:80".into(), "80:81".into()]).is_err());
        assert!(mac("AA:BB:CC:DD:EE:FF").is_ok());
        assert_eq!(mac("01:00:5e:00:00:01").unwrap_err().option, "mac");
        assert_eq!(
            mac("02:42:ac:11:00:02").unwrap(),
            [2, 0x42, 0xac, 0x11, 0, 2]
        );
        assert!(mac("02:42:ac:11:00").is_err());
        assert!(mac("zz:42:ac:11:00:02").is_err());
        assert!(ip("192.168.100.500").is_err());
        assert!(ip("192.168.100.50").is_ok());
    }

    #[test]
    fn caps_restart_and_json_names() {
        assert_eq!(
            caps("capAdd", &["net_admin".into(), "CAP_SYS_TIME".into()]).unwrap(),
            vec!["CAP_NET_ADMIN", "CAP_SYS_TIME"]
        );
        assert_eq!(
            caps("capAdd", &["CAP_TEST".into()]).unwrap_err().option,
            "capAdd"
        );
        assert_eq!(restart("on-failure").unwrap(), RestartPolicy::OnFailure);
        assert!(restart("sometimes").is_err());
        let o: CreateOptions = serde_json::from_str(
            r#"{"containerId":"w","image":"python","tag":"3.11","restart":"on-failure","restartDelay":5,"maxAttempts":10,"capAdd":["NET_ADMIN"],"noShared":true}"#,
        )
        .unwrap();
        let v = o.validate().unwrap();
        assert_eq!(v.max_attempts, 10);
        assert!(v.no_shared);
        assert!(serde_json::from_str::<CreateOptions>(
            r#"{"containerId":"w","image":"x","bogus":1}"#
        )
        .is_err());
    }

    #[test]
    fn special_networks_refuse_addresses() {
        let mut o = opts();
        o.network = Some("none".into());
        o.ip = Some("10.0.0.2".into());
        assert_eq!(o.validate().unwrap_err().option, "ip");
        o.ip = None;
        o.publish = vec!["80:80".into()];
        assert_eq!(o.validate().unwrap_err().option, "publish");
        o.network = Some("bad net!".into());
        assert_eq!(o.validate().unwrap_err().option, "network");
        // A name longer than a device name is still a valid network name.
        o.publish.clear();
        o.network = Some("nonexistent-network".into());
        assert_eq!(o.validate().unwrap().network, "nonexistent-network");
        o.network = Some("n".repeat(65));
        assert_eq!(o.validate().unwrap_err().option, "network");
    }
}
