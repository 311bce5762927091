//! `k3 create`: the seed 000 options as flags (or `--options-json`), prints
//! the id (and with `--debug` the runtime's trace first).

use clap::Args;

use crate::cli::Failure;
use k3_engine::context::Engine;
use k3_engine::create::{self, Created};
use k3_engine::error::EngineError;
use k3_engine::options::{CreateOptions, OptionsError};

/// The options of `createContainer` as docker-style flags.
#[derive(Args, Debug, Clone)]
pub struct CreateArgs {
    /// Container id [default: a random `k3-…` name]
    #[arg(long = "name", visible_alias = "id", allow_hyphen_values = true)]
    pub name: Option<String>,
    /// Image tag [default: the one in IMAGE, else `latest`]
    #[arg(long, allow_hyphen_values = true)]
    pub tag: Option<String>,
    /// Hostname in the container [default: the first 12 hex digits of the container's hash]
    #[arg(long, allow_hyphen_values = true)]
    pub hostname: Option<String>,
    /// Environment variable `KEY=VALUE` (repeatable)
    #[arg(long = "env", short = 'e', allow_hyphen_values = true)]
    pub env: Vec<String>,
    /// CPU limit in CPUs, fractions allowed (`0.5`: half a CPU) [default: unlimited]
    #[arg(long, allow_hyphen_values = true)]
    pub cpus: Option<f64>,
    /// Memory limit: bytes or with a unit, `512m`, `1GB`, `2048MB` [default: unlimited]
    #[arg(long, short = 'm', allow_hyphen_values = true)]
    pub memory: Option<String>,
    /// Most processes in the container (`pids.max`); `0` or `-1`: unlimited
    #[arg(long, allow_hyphen_values = true)]
    pub pids_limit: Option<i64>,
    /// Cgroup namespace: `private` or `host` [default: private on cgroup v2, host on v1]
    #[arg(long)]
    pub cgroupns: Option<String>,
    /// A cgroup v2 file of the container and the value to write, `KEY=VALUE` (repeatable; cgroup v2 only)
    #[arg(long)]
    pub cgroup_conf: Vec<String>,
    /// Size limit of the writable layer, in MB [default: unlimited]
    #[arg(long, allow_hyphen_values = true)]
    pub disk_limit: Option<u64>,
    /// Mount: `type=bind|volume|tmpfs,source=…,target=…[,readonly][,volume-nocopy]` or `HOST:CONTAINER[:ro]` (repeatable)
    #[arg(long, allow_hyphen_values = true)]
    pub mount: Vec<String>,
    /// Named volume `NAME:/PATH[:ro][,nocopy]` (created if missing; filled from the image's `/PATH` while empty, unless `nocopy`) or bind mount `/HOST:/PATH[:ro]` (repeatable)
    #[arg(long = "volume", short = 'v', allow_hyphen_values = true)]
    pub volume: Vec<String>,
    /// Network: a bridge network name, `host` or `none` [default: kb0]
    #[arg(long = "network", alias = "net", allow_hyphen_values = true)]
    pub network: Option<String>,
    /// IPv4 address on the bridge network [default: the next free one]
    #[arg(long, allow_hyphen_values = true)]
    pub ip: Option<String>,
    /// MAC address on the bridge network, `aa:bb:cc:dd:ee:ff` [default: derived from the IP]
    #[arg(long = "mac-address", alias = "mac", allow_hyphen_values = true)]
    pub mac: Option<String>,
    /// Another name of the container on its user network's DNS, a host name (repeatable; not on kb0, host or none)
    #[arg(
        long = "network-alias",
        alias = "net-alias",
        allow_hyphen_values = true
    )]
    pub network_alias: Vec<String>,
    /// Publish a port, `[HOST_IP:]HOST_PORT:CONTAINER_PORT[/tcp|udp]` (repeatable)
    #[arg(long = "publish", short = 'p', allow_hyphen_values = true)]
    pub publish: Vec<String>,
    /// All capabilities, the host's devices, no masked paths and no seccomp filter
    #[arg(long)]
    pub privileged: bool,
    /// Add a capability, e.g. `NET_ADMIN` or `ALL` (repeatable)
    #[arg(long, allow_hyphen_values = true)]
    pub cap_add: Vec<String>,
    /// Drop a capability, e.g. `CHOWN` or `ALL` (repeatable)
    #[arg(long, allow_hyphen_values = true)]
    pub cap_drop: Vec<String>,
    /// Restart policy, enforced with or without `k3 serve`: `no`, `always`, `unless-stopped`, `on-failure[:N]` [default: no]
    #[arg(long, allow_hyphen_values = true)]
    pub restart: Option<String>,
    /// First delay before a restart, in seconds, doubled each time (at most 86400) [default: 0.1 s]
    #[arg(long, allow_hyphen_values = true)]
    pub restart_delay: Option<u64>,
    /// Window in seconds over which --max-attempts counts restarts (0: since creation) [default: 0]
    #[arg(long, allow_hyphen_values = true)]
    pub restart_window: Option<u64>,
    /// Most restarts within --restart-window (0: unlimited) [default: 0]
    #[arg(long, allow_hyphen_values = true)]
    pub max_attempts: Option<u32>,
    /// Keep the runtime's session keyring instead of a new one for the container
    #[arg(long)]
    pub no_new_keyring: bool,
    /// Enter the rootfs with MS_MOVE + chroot instead of pivot_root
    #[arg(long)]
    pub no_pivot: bool,
    /// Give the container a CPU of its own (a cpuset no other such container uses)
    #[arg(long)]
    pub no_shared: bool,
    /// Working directory in the container [default: the image's, else `/`]
    #[arg(long, short = 'w', allow_hyphen_values = true)]
    pub workdir: Option<String>,
    /// User: NAME or UID, optionally `:GROUP` or `:GID`, resolved in the image [default: the image's]
    #[arg(long, short = 'u', allow_hyphen_values = true)]
    pub user: Option<String>,
    /// Entrypoint: a program, or a JSON array of words; `""` drops the image's [default: the image's]
    #[arg(long, allow_hyphen_values = true)]
    pub entrypoint: Option<String>,
    /// Read environment variables from a file of `KEY=VALUE` lines (repeatable)
    #[arg(long, allow_hyphen_values = true)]
    pub env_file: Vec<String>,
    /// A label `KEY=VALUE` (repeatable)
    #[arg(long, short = 'l', allow_hyphen_values = true)]
    pub label: Vec<String>,
    /// Mount the root filesystem read-only (tmpfs on /tmp, /var/tmp and /run, as podman)
    #[arg(long)]
    pub read_only: bool,
    /// Mount a tmpfs, `/PATH[:OPTIONS]` (repeatable) [default options: rw,nosuid,nodev]
    #[arg(long, allow_hyphen_values = true)]
    pub tmpfs: Vec<String>,
    /// Give a host device, `/dev/HOST[:/dev/CONTAINER][:rwm]` (repeatable)
    #[arg(long, allow_hyphen_values = true)]
    pub device: Vec<String>,
    /// A resource limit, `NAME=SOFT[:HARD]`, e.g. `nofile=1024:2048` (repeatable) [default: nofile=1024]
    #[arg(long, allow_hyphen_values = true)]
    pub ulimit: Vec<String>,
    /// A namespaced sysctl `KEY=VALUE`, e.g. `net.ipv4.ip_forward=1` (repeatable)
    #[arg(long, allow_hyphen_values = true)]
    pub sysctl: Vec<String>,
    /// `seccomp=unconfined`, `seccomp=PROFILE.json`, `no-new-privileges`; `apparmor=`/`label=` are ignored (repeatable)
    #[arg(long, allow_hyphen_values = true)]
    pub security_opt: Vec<String>,
    /// Size of /dev/shm, e.g. `128m` [default: 64m]
    #[arg(long, allow_hyphen_values = true)]
    pub shm_size: Option<String>,
    /// Run a small init as PID 1 that forwards signals and reaps zombies
    #[arg(long)]
    pub init: bool,
    /// Signal `stop` sends first, e.g. `SIGINT` [default: the image's, else SIGTERM]
    #[arg(long, allow_hyphen_values = true)]
    pub stop_signal: Option<String>,
    /// Keep the container's stdin open (`run` and `attach` connect to it)
    #[arg(long, short = 'i')]
    pub interactive: bool,
    /// Allocate a pseudo-terminal for the container
    #[arg(long, short = 't')]
    pub tty: bool,
    /// Print the runtime's debug trace of the creation
    #[arg(long)]
    pub debug: bool,
    /// Removed by its monitor when it exits (`run -d --rm`).
    #[arg(skip)]
    pub auto_remove: bool,
    /// Print the result (or the error object) as JSON.
    #[arg(long)]
    pub json: bool,
    /// All the options as one JSON object (camelCase names, e.g. `{"containerId":"a","image":"busybox"}`); other flags are ignored
    #[arg(long, conflicts_with = "image", allow_hyphen_values = true)]
    pub options_json: Option<String>,
    /// Image reference: NAME[:TAG|@DIGEST]
    pub image: Option<String>,
    /// Command and arguments [default: the image's entrypoint and cmd]
    #[arg(trailing_var_arg = true, allow_hyphen_values = true)]
    pub args: Vec<String>,
}

fn quote(a: &str) -> String {
    if !a.is_empty()
        && a.chars()
            .all(|c| c.is_ascii_alphanumeric() || "-_./=:,@%+".contains(c))
    {
        a.to_string()
    } else {
        format!("'{}'", a.replace('\'', r"'\''"))
    }
}

impl CreateArgs {
    /// The engine's create options for these flags (or `--options-json`),
    /// with what only the caller knows resolved: env files read, `-e KEY`
    /// given the caller's value.
    pub fn options(&self) -> Result<CreateOptions, OptionsError> {
        let mut o = self.options_as_given()?;
        o.auto_remove |= self.auto_remove;
        o.resolve_caller_env()?;
        Ok(o)
    }

    fn options_as_given(&self) -> Result<CreateOptions, OptionsError> {
        if let Some(j) = &self.options_json {
            return serde_json::from_str(j).map_err(|e| OptionsError {
                option: "options",
                value: j.clone(),
                reason: format!("--options-json: {e}"),
            });
        }
        let name = self.name.clone().unwrap_or_else(random_name);
        Ok(CreateOptions {
            container_id: name,
            image: self.image.clone().unwrap_or_default(),
            tag: self.tag.clone(),
            hostname: self.hostname.clone(),
            args: (!self.args.is_empty()).then(|| {
                self.args
                    .iter()
                    .map(|a| quote(a))
                    .collect::<Vec<_>>()
                    .join(" ")
            }),
            env: self.env.clone(),
            cpus: self.cpus,
            memory: self.memory.clone(),
            disk_limit: self.disk_limit,
            pids_limit: self.pids_limit,
            cgroupns: self.cgroupns.clone(),
            cgroup_conf: self.cgroup_conf.clone(),
            mount: self.mount.clone(),
            volume: self.volume.clone(),
            network: self.network.clone(),
            ip: self.ip.clone(),
            mac: self.mac.clone(),
            network_alias: self.network_alias.clone(),
            publish: self.publish.clone(),
            privileged: self.privileged,
            cap_add: self.cap_add.clone(),
            cap_drop: self.cap_drop.clone(),
            restart: self.restart.clone(),
            restart_delay: self.restart_delay,
            restart_window: self.restart_window,
            max_attempts: self.max_attempts,
            no_new_keyring: self.no_new_keyring,
            no_pivot: self.no_pivot,
            no_shared: self.no_shared,
            interactive: self.interactive,
            tty: self.tty,
            debug: self.debug,
            workdir: self.workdir.clone(),
            user: self.user.clone(),
            entrypoint: self.entrypoint.clone(),
            env_file: self.env_file.clone(),
            label: self.label.clone(),
            read_only: self.read_only,
            tmpfs: self.tmpfs.clone(),
            device: self.device.clone(),
            ulimit: self.ulimit.clone(),
            sysctl: self.sysctl.clone(),
            security_opt: self.security_opt.clone(),
            shm_size: self.shm_size.clone(),
            init: self.init,
            stop_signal: self.stop_signal.clone(),
            auto_remove: self.auto_remove,
        })
    }
}

fn random_name() -> String {
    let n = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_nanos());
    format!(
        "k3-{:x}",
        (n ^ u128::from(std::process::id()) << 40) & 0xffff_ffff_ffff
    )
}

/// Runs the creation; a failure carries the options as its input.
pub fn create_from(ctx: &mut Engine, a: &CreateArgs) -> Result<Created, Failure> {
    let opts = a.options().map_err(|e| Failure {
        error: Box::new(EngineError::Create(create::CreateError::Options(e))),
        json: a.json,
        input: serde_json::Value::Null,
        container_id: None,
    })?;
    let input = serde_json::to_value(&opts).unwrap_or_default();
    create::create(ctx, &opts).map_err(|e| Failure {
        error: Box::new(EngineError::Create(e)),
        json: a.json,
        input,
        container_id: Some(opts.container_id.clone()),
    })
}

/// Prints what `create` made.
pub fn print_created(c: &Created, a: &CreateArgs) {
    if a.json {
        crate::cli::print_json(c);
        return;
    }
    for line in &c.trace {
        println!("{line}");
    }
    println!("{}", c.id);
}

/// `k3 create`.
pub fn run(ctx: &mut Engine, a: CreateArgs) -> Result<i32, Failure> {
    let c = create_from(ctx, &a)?;
    print_created(&c, &a);
    Ok(0)
}

#[cfg(test)]
mod tests {
    use clap::Parser;

    use super::*;

    #[derive(Parser)]
    struct Wrap {
        #[command(flatten)]
        create: CreateArgs,
    }

    fn parse(args: &[&str]) -> CreateOptions {
        let w = Wrap::try_parse_from(std::iter::once("k3").chain(args.iter().copied())).unwrap();
        w.create.options().unwrap()
    }

    #[test]
    fn docker_flags_become_options() {
        let o = parse(&[
            "-w",
            "/srv",
            "-u",
            "app:staff",
            "--entrypoint",
            "sh",
            "-l",
            "a=b",
            "--read-only",
            "--tmpfs",
            "/t",
            "--ulimit",
            "nofile=5",
            "--sysctl",
            "net.x.y=1",
            "--security-opt",
            "no-new-privileges",
            "--shm-size",
            "1g",
            "--init",
            "--stop-signal",
            "INT",
            "-v",
            "/tmp:/h:ro",
            "--name",
            "my_app.1",
            "busybox",
            "echo",
            "hi",
        ]);
        assert_eq!(o.workdir.as_deref(), Some("/srv"));
        assert_eq!(o.user.as_deref(), Some("app:staff"));
        assert_eq!(o.entrypoint.as_deref(), Some("sh"));
        assert_eq!((o.label.len(), o.read_only, o.init), (1, true, true));
        assert_eq!(o.stop_signal.as_deref(), Some("INT"));
        let v = o.validate().unwrap();
        assert_eq!(v.id, "my_app.1");
        assert_eq!(v.mounts[0].host, "/tmp");
        assert!(v.volumes.is_empty() && v.no_new_privileges && !v.auto_remove);
        assert_eq!(v.shm_size, Some(1 << 30));
        assert_eq!(v.args, Some(vec!["echo".to_string(), "hi".to_string()]));
    }

    #[test]
    fn env_keys_and_files_take_the_callers_values() {
        let d = tempfile::tempdir().unwrap();
        let f = d.path().join("env");
        std::fs::write(&f, "FROM_FILE=1\nPATH\nK3_TEST_SURELY_UNSET\n").unwrap();
        let path = std::env::var("PATH").unwrap();
        let o = parse(&[
            "--env-file",
            f.to_str().unwrap(),
            "-e",
            "PATH",
            "-e",
            "A=b",
            "img",
        ]);
        assert!(o.env_file.is_empty());
        assert_eq!(
            o.env,
            vec![
                "FROM_FILE=1".to_string(),
                format!("PATH={path}"),
                format!("PATH={path}"),
                "A=b".into()
            ]
        );
        let w = Wrap::try_parse_from(["k3", "--env-file", "/nonexistent-k3", "img"]).unwrap();
        assert_eq!(w.create.options().unwrap_err().option, "envFile");
        let w = Wrap::try_parse_from(["k3", "--options-json", "{"]).unwrap();
        assert_eq!(w.create.options().unwrap_err().option, "options");
    }
}
