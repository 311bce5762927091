//! Seed 000's `createContainer` options: the input shape ([`CreateOptions`],
//! camelCase JSON like the seed) and its validation into [`Validated`], where
//! every value is parsed (memory in bytes, cpus as a quota, mounts, volumes,
//! ports, capabilities). Any unknown or malformed value is an
//! [`OptionsError`] naming the option and the value (`VALIDATION_ERROR`).
//!
//! The values are parsed by area: [`identity`] (id, image, host name),
//! [`command`] (args, env, signals), [`process`] (user, workdir, entrypoint,
//! env files, labels), [`resources`] (cpus, memory, disk, pids, cgroups),
//! [`restart`], [`mounts`], [`security`] (tmpfs, devices, ulimits, sysctls,
//! `--security-opt`, shm), [`network`] and [`caps`].

use std::net::Ipv4Addr;

use serde::{Deserialize, Serialize};

mod caps;
mod command;
mod identity;
mod mounts;
mod network;
mod process;
mod resources;
mod restart;
mod security;

pub use caps::{caps, ALL_CAPS, DEFAULT_CAPS};
pub use command::{args, env, signal};
pub use identity::{container_id, hostname};
pub use mounts::{bind_mount, name_ok};
pub use network::{ip, mac, port_mapping};
pub use process::{entrypoint, env_entry, env_file_entries, label, user, workdir};
pub use resources::{cgroup_conf, cgroupns, cpus, memory, pids_limit};
pub use security::{
    device, security_opts, shm_size, sysctl, tmpfs, ulimit, DeviceMapping, Seccomp, SecurityOpts,
    TmpfsMount, Ulimit,
};

use identity::image_ref;
use mounts::{mount_flag, volume_flag, Spec};
use network::{network_aliases, network_name, publish};
use resources::disk_limit;
use restart::{attempts, restart, seconds, MAX_RESTART_DELAY_S, MAX_RESTART_WINDOW_S};

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
    /// The container's name (and id).
    pub container_id: String,
    /// The image name, possibly with a tag or digest.
    pub image: String,
    /// The image tag (default: `latest`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tag: Option<String>,
    /// The hostname (default: the container's id).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub hostname: Option<String>,
    /// The command line; split like a shell would (quotes, no expansion).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub args: Option<String>,
    /// Extra environment, `KEY=VALUE` each.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub env: Vec<String>,
    /// CPUs allowed, e.g. `1.5` (becomes a CFS quota).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cpus: Option<f64>,
    /// The memory limit, a number with an optional `k`, `m` or `g` suffix.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub memory: Option<String>,
    /// The writable layer's size limit, MiB.
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
    /// Bind mounts, `HOST:CONTAINER[:ro]` each.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub mount: Vec<String>,
    /// Named volumes, `NAME:CONTAINER[:ro]` each.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub volume: Vec<String>,
    /// The network to join (default: the default bridge).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub network: Option<String>,
    /// A static IPv4 address on the network.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ip: Option<String>,
    /// A static MAC address, `aa:bb:cc:dd:ee:ff`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub mac: Option<String>,
    /// More names of the container on a user network's DNS (`--network-alias`).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub network_alias: Vec<String>,
    /// Published ports, `[IP:]HOST:CONTAINER[/PROTO]` each.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub publish: Vec<String>,
    /// All capabilities and the host's devices.
    #[serde(default)]
    pub privileged: bool,
    /// Capabilities added to the default set, `CAP_*` names.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub cap_add: Vec<String>,
    /// Capabilities removed from the default set, `CAP_*` names.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub cap_drop: Vec<String>,
    /// The restart policy: `no`, `always`, `unless-stopped` or `on-failure`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub restart: Option<String>,
    /// The first restart delay, seconds (doubled each restart).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub restart_delay: Option<u64>,
    /// Restarts are counted within this many seconds (0: since creation).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub restart_window: Option<u64>,
    /// The most restarts within the window (0: unlimited).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub max_attempts: Option<u32>,
    /// Passed to the runtime as `--no-new-keyring`.
    #[serde(default)]
    pub no_new_keyring: bool,
    /// Passed to the runtime as `--no-pivot`.
    #[serde(default)]
    pub no_pivot: bool,
    /// Pins the container to CPUs no other container uses.
    #[serde(default)]
    pub no_shared: bool,
    /// Keep the container's stdin open (`-i`): the monitor holds a pipe to it.
    #[serde(default)]
    pub interactive: bool,
    /// A pseudo-terminal for the container (`-t`): the monitor holds its master.
    #[serde(default)]
    pub tty: bool,
    /// The working directory in the container (default: the image's).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub workdir: Option<String>,
    /// The user: `name`, `uid`, `name:group` or `uid:gid` (default: the image's).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub user: Option<String>,
    /// The entrypoint: one program, or a JSON array of words; empty: none.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub entrypoint: Option<String>,
    /// Files of `KEY=VALUE` lines read into the environment (before `env`).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub env_file: Vec<String>,
    /// Labels, `KEY=VALUE` each.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub label: Vec<String>,
    /// The root filesystem mounted read-only (tmpfs on `/tmp`, `/var/tmp`, `/run`).
    #[serde(default)]
    pub read_only: bool,
    /// tmpfs mounts, `/path[:opts]` each.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub tmpfs: Vec<String>,
    /// Host devices, `/dev/host[:/dev/container][:rwm]` each.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub device: Vec<String>,
    /// Resource limits, `NAME=SOFT[:HARD]` each.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub ulimit: Vec<String>,
    /// Namespaced sysctls, `KEY=VALUE` each.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub sysctl: Vec<String>,
    /// `seccomp=unconfined|PATH`, `no-new-privileges`, `apparmor=...` (ignored).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub security_opt: Vec<String>,
    /// The size of `/dev/shm` (default `64m`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub shm_size: Option<String>,
    /// A small init as PID 1 that reaps zombies and forwards signals.
    #[serde(default)]
    pub init: bool,
    /// The signal `stop` sends first (default: the image's, else `TERM`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub stop_signal: Option<String>,
    /// Removed once it exits (`run -d --rm`; the monitor removes it).
    #[serde(default)]
    pub auto_remove: bool,
    /// Runs the runtime with `--debug` and keeps its trace.
    #[serde(default)]
    pub debug: bool,
}

/// A restart policy (enforced by the container's monitor, `supervisor::restart`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum RestartPolicy {
    /// `no`: never restart.
    None,
    /// `always`: restart whenever it exits.
    Always,
    /// `unless-stopped`: as `always`, but not after a user's stop.
    UnlessStopped,
    /// `on-failure`: restart on a non-zero exit.
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

/// A bind mount `host:container[:ro|rw]`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct BindMount {
    /// The host path.
    pub host: String,
    /// The path in the container.
    pub container: String,
    /// Mounted read-only.
    pub readonly: bool,
}

/// A named volume `name:/path[:ro]`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct VolumeMount {
    /// The volume's name.
    pub name: String,
    /// The path in the container.
    pub container: String,
    /// Mounted read-only.
    pub readonly: bool,
    /// Not filled from the image's directory when new (`nocopy`,
    /// `volume-nocopy`).
    #[serde(default)]
    pub nocopy: bool,
}

/// A transport protocol of a published port.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Proto {
    /// TCP.
    Tcp,
    /// UDP.
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
    /// The host address to bind (None: all).
    pub host_ip: Option<Ipv4Addr>,
    /// The port on the host.
    pub host_port: u16,
    /// The port in the container.
    pub container_port: u16,
    /// TCP or UDP.
    pub proto: Proto,
}

/// Every option parsed and checked.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Validated {
    /// The container's name (and id).
    pub id: String,
    /// `image:tag` (or `image@digest`).
    pub image_ref: String,
    /// The hostname (None: the container's id).
    pub hostname: Option<String>,
    /// The command line split into words (`None`: the image's Cmd).
    pub args: Option<Vec<String>>,
    /// Extra environment, (key, value) each.
    pub env: Vec<(String, String)>,
    /// CFS quota for `CPU_PERIOD`.
    pub cpu_quota: Option<i64>,
    /// The memory limit, bytes.
    pub memory_bytes: Option<i64>,
    /// The writable layer's size limit, MiB.
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
    /// Bind mounts.
    pub mounts: Vec<BindMount>,
    /// Named volume mounts.
    pub volumes: Vec<VolumeMount>,
    /// The network to join.
    pub network: String,
    /// A static address on the network (None: the next free one).
    pub ip: Option<Ipv4Addr>,
    /// A static MAC address (None: derived from the address).
    pub mac: Option<[u8; 6]>,
    /// The container's other names on its network's DNS, as given (without
    /// repeats, any case once).
    #[serde(default)]
    pub network_aliases: Vec<String>,
    /// Published ports.
    pub publish: Vec<PortMapping>,
    /// All capabilities and the host's devices.
    pub privileged: bool,
    /// `CAP_*` names.
    pub cap_add: Vec<String>,
    /// `CAP_*` names removed from the default set.
    pub cap_drop: Vec<String>,
    /// The restart policy.
    pub restart: RestartPolicy,
    /// The first restart delay, seconds (0: the default).
    pub restart_delay: u64,
    /// Restarts are counted within this many seconds (0: since creation).
    pub restart_window: u64,
    /// The most restarts within the window (0: unlimited).
    pub max_attempts: u32,
    /// Passed to the runtime as `--no-new-keyring`.
    pub no_new_keyring: bool,
    /// Passed to the runtime as `--no-pivot`.
    pub no_pivot: bool,
    /// Pins the container to CPUs no other container uses.
    pub no_shared: bool,
    /// Keep the container's stdin open (`-i`).
    #[serde(default)]
    pub interactive: bool,
    /// A pseudo-terminal for the container (`-t`).
    #[serde(default)]
    pub tty: bool,
    /// The working directory (None: the image's).
    #[serde(default)]
    pub workdir: Option<String>,
    /// The user (None: the image's).
    #[serde(default)]
    pub user: Option<String>,
    /// The entrypoint (None: the image's; empty: none).
    #[serde(default)]
    pub entrypoint: Option<Vec<String>>,
    /// Labels, in order given (a later key wins).
    #[serde(default)]
    pub labels: Vec<(String, String)>,
    /// The root filesystem is read-only.
    #[serde(default)]
    pub read_only: bool,
    /// tmpfs mounts.
    #[serde(default)]
    pub tmpfs: Vec<TmpfsMount>,
    /// Host devices.
    #[serde(default)]
    pub devices: Vec<DeviceMapping>,
    /// Resource limits (replacing the default `RLIMIT_NOFILE` when named).
    #[serde(default)]
    pub ulimits: Vec<Ulimit>,
    /// Sysctls, (key, value) each.
    #[serde(default)]
    pub sysctls: Vec<(String, String)>,
    /// The seccomp filter.
    #[serde(default)]
    pub seccomp: Seccomp,
    /// `no_new_privileges` for the process.
    #[serde(default)]
    pub no_new_privileges: bool,
    /// The size of `/dev/shm`, bytes (None: 64 MiB).
    #[serde(default)]
    pub shm_size: Option<i64>,
    /// A reaper as PID 1.
    #[serde(default)]
    pub init: bool,
    /// The signal `stop` sends first (None: the image's, else `TERM`).
    #[serde(default)]
    pub stop_signal: Option<String>,
    /// Removed once it exits.
    #[serde(default)]
    pub auto_remove: bool,
    /// Runs the runtime with `--debug` and keeps its trace.
    pub debug: bool,
}

impl CreateOptions {
    /// Parses and checks every option. `KEY` entries of `env` and
    /// `envFile` take their value from this process' environment (see
    /// [`CreateOptions::resolve_caller_env`] for a client's).
    pub fn validate(&self) -> Result<Validated, OptionsError> {
        let id = container_id(&self.container_id)?;
        let lookup = |k: &str| std::env::var(k).ok();
        let mut env_list = Vec::new();
        for f in &self.env_file {
            env_list.extend(env_file_entries(f)?);
        }
        env_list.extend(self.env.iter().cloned());
        let env = env_list
            .iter()
            .map(|e| env_entry(e, &lookup))
            .collect::<Result<Vec<_>, _>>()?
            .into_iter()
            .flatten()
            .collect();
        let mut specs: Vec<(&'static str, Spec)> = Vec::new();
        for m in &self.mount {
            specs.push(("mount", mount_flag(m)?));
        }
        for v in &self.volume {
            specs.push(("volume", volume_flag(v)?));
        }
        for t in &self.tmpfs {
            specs.push(("tmpfs", Spec::Tmpfs(tmpfs(t)?)));
        }
        let (mounts, volumes, tmpfs) = split_mounts(specs)?;
        let security = security_opts(&self.security_opt)?;
        Ok(Validated {
            image_ref: image_ref(&self.image, self.tag.as_deref())?,
            hostname: self.hostname.as_deref().map(hostname).transpose()?,
            args: self.args.as_deref().map(args).transpose()?,
            env,
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
            mounts,
            volumes,
            network: network_name(self.network.as_deref().unwrap_or(DEFAULT_NETWORK))?,
            ip: self.ip.as_deref().map(ip).transpose()?,
            mac: self.mac.as_deref().map(mac).transpose()?,
            network_aliases: network_aliases(&self.network_alias)?,
            publish: publish(&self.publish)?,
            privileged: self.privileged,
            cap_add: caps("capAdd", &self.cap_add)?,
            cap_drop: caps("capDrop", &self.cap_drop)?,
            restart: restart(self.restart.as_deref().unwrap_or("none"))?,
            restart_delay: seconds("restartDelay", self.restart_delay, MAX_RESTART_DELAY_S)?,
            restart_window: seconds("restartWindow", self.restart_window, MAX_RESTART_WINDOW_S)?,
            max_attempts: attempts(self.restart.as_deref(), self.max_attempts)?,
            no_new_keyring: self.no_new_keyring,
            no_pivot: self.no_pivot,
            no_shared: self.no_shared,
            interactive: self.interactive,
            tty: self.tty,
            debug: self.debug,
            workdir: self.workdir.as_deref().map(workdir).transpose()?,
            user: self.user.as_deref().map(user).transpose()?,
            entrypoint: self.entrypoint.as_deref().map(entrypoint).transpose()?,
            labels: self
                .label
                .iter()
                .map(|l| label(l))
                .collect::<Result<_, _>>()?,
            read_only: self.read_only,
            tmpfs,
            devices: self
                .device
                .iter()
                .map(|d| device(d))
                .collect::<Result<_, _>>()?,
            ulimits: self
                .ulimit
                .iter()
                .map(|u| ulimit(u))
                .collect::<Result<_, _>>()?,
            sysctls: self
                .sysctl
                .iter()
                .map(|s| sysctl(s))
                .collect::<Result<_, _>>()?,
            seccomp: security.seccomp,
            no_new_privileges: security.no_new_privileges,
            shm_size: self.shm_size.as_deref().map(shm_size).transpose()?,
            init: self.init,
            stop_signal: self
                .stop_signal
                .as_deref()
                .map(|s| {
                    signal(s)
                        .map(|()| s.to_string())
                        .map_err(|e| bad("stopSignal", s, e.reason))
                })
                .transpose()?,
            auto_remove: self.auto_remove,
            id,
        })
        .and_then(check_combinations)
    }
}

/// Mounts by kind; two on one container path are refused (docker's
/// "duplicate mount point"), naming the later one's option.
#[allow(clippy::type_complexity)]
fn split_mounts(
    specs: Vec<(&'static str, Spec)>,
) -> Result<(Vec<BindMount>, Vec<VolumeMount>, Vec<TmpfsMount>), OptionsError> {
    let (mut binds, mut vols, mut tmpfs) = (Vec::new(), Vec::new(), Vec::new());
    let mut seen: Vec<String> = Vec::new();
    for (option, spec) in specs {
        let path = spec.container().trim_end_matches('/').to_string();
        if seen.contains(&path) {
            return Err(bad(
                option,
                spec.container(),
                "that path is already mounted",
            ));
        }
        seen.push(path);
        match spec {
            Spec::Bind(b) => binds.push(b),
            Spec::Volume(v) => vols.push(v),
            Spec::Tmpfs(t) => tmpfs.push(t),
        }
    }
    Ok((binds, vols, tmpfs))
}

impl CreateOptions {
    /// Resolves what only the caller's side knows, before the options go to
    /// a daemon: `--env-file`s are read into `env`, and `KEY` entries take
    /// the caller's value (dropped when unset, as docker).
    pub fn resolve_caller_env(&mut self) -> Result<(), OptionsError> {
        let mut list = Vec::new();
        for f in self.env_file.drain(..) {
            list.extend(env_file_entries(&f)?);
        }
        list.append(&mut self.env);
        for e in list {
            if let Some((k, v)) = env_entry(&e, &|k: &str| std::env::var(k).ok())? {
                self.env.push(format!("{k}={v}"));
            }
        }
        Ok(())
    }
}

fn check_combinations(v: Validated) -> Result<Validated, OptionsError> {
    if v.auto_remove && v.restart != RestartPolicy::None {
        return Err(bad(
            "restart",
            serde_json::to_value(v.restart)
                .unwrap_or_default()
                .as_str()
                .unwrap_or(""),
            "a container removed when it exits cannot be restarted (`--rm`)",
        ));
    }
    if v.network == "host" {
        if let Some((k, _)) = v.sysctls.iter().find(|(k, _)| k.starts_with("net.")) {
            return Err(bad(
                "sysctl",
                k,
                "the host's network: a `net.*` sysctl would change the host",
            ));
        }
    }
    if let Some(a) = v.network_aliases.first() {
        if v.network == "host" || v.network == "none" || v.network == DEFAULT_NETWORK {
            let why = format!(
                "`--network-alias` is for user networks (`k3 network create`), not `{}`",
                v.network
            );
            return Err(bad("networkAlias", a, why));
        }
    }
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

#[cfg(test)]
mod tests {
    use super::*;

    pub(super) fn opts() -> CreateOptions {
        CreateOptions {
            container_id: "web-1".into(),
            image: "alpine".into(),
            ..Default::default()
        }
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

    #[test]
    fn network_aliases_only_on_user_networks() {
        let mut o = opts();
        o.network_alias = vec!["db".into(), "DB".into(), "cache".into()];
        for n in [None, Some("kb0"), Some("host"), Some("none")] {
            o.network = n.map(String::from);
            let e = o.validate().unwrap_err();
            assert_eq!(
                (e.option, e.value.as_str()),
                ("networkAlias", "db"),
                "{n:?}"
            );
            assert!(e.reason.contains(n.unwrap_or("kb0")), "{e}");
        }
        o.network = Some("app".into());
        assert_eq!(o.validate().unwrap().network_aliases, vec!["db", "cache"]);
        let j: CreateOptions = serde_json::from_str(
            r#"{"containerId":"w","image":"x","network":"app","networkAlias":["a b"]}"#,
        )
        .unwrap();
        assert_eq!(j.validate().unwrap_err().option, "networkAlias");
    }
}
