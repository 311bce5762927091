//! `k3 create`: the seed 000 options as flags (or `--options-json`), prints
//! the id (and with `--debug` the runtime's trace first).

use clap::Args;

use crate::cli::Failure;
use k3_engine::context::Engine;
use k3_engine::create::{self, Created};
use k3_engine::error::EngineError;
use k3_engine::options::CreateOptions;

/// The options of `createContainer` as docker-style flags.
#[derive(Args, Debug, Clone)]
pub struct CreateArgs {
    /// Container id (`containerId`).
    #[arg(long = "name", visible_alias = "id", allow_hyphen_values = true)]
    pub name: Option<String>,
    /// Image tag (default `latest`, or the one in IMAGE).
    #[arg(long, allow_hyphen_values = true)]
    pub tag: Option<String>,
    #[arg(long, allow_hyphen_values = true)]
    pub hostname: Option<String>,
    /// `KEY=VALUE` (repeatable).
    #[arg(long = "env", short = 'e', allow_hyphen_values = true)]
    pub env: Vec<String>,
    /// CPUs (fractions allowed).
    #[arg(long, allow_hyphen_values = true)]
    pub cpus: Option<f64>,
    /// Memory limit: `512m`, `1GB`, `2048MB`.
    #[arg(long, short = 'm', allow_hyphen_values = true)]
    pub memory: Option<String>,
    /// Most processes (`pids.max`); `0` or `-1`: unlimited.
    #[arg(long, allow_hyphen_values = true)]
    pub pids_limit: Option<i64>,
    /// Cgroup namespace: `private` or `host` (default: private on cgroup v2, host on v1).
    #[arg(long)]
    pub cgroupns: Option<String>,
    /// `KEY=VALUE`: a cgroup v2 file of the container and its value (repeatable; v2 only).
    #[arg(long)]
    pub cgroup_conf: Vec<String>,
    /// Writable layer limit in MB.
    #[arg(long, allow_hyphen_values = true)]
    pub disk_limit: Option<u64>,
    /// Bind mount `host:container[:ro]` (repeatable).
    #[arg(long, allow_hyphen_values = true)]
    pub mount: Vec<String>,
    /// Named volume `name:/path[:ro]` (repeatable).
    #[arg(long = "volume", short = 'v', allow_hyphen_values = true)]
    pub volume: Vec<String>,
    /// Network: a bridge network name (default `kb0`), `host` or `none`.
    #[arg(long = "network", alias = "net", allow_hyphen_values = true)]
    pub network: Option<String>,
    #[arg(long, allow_hyphen_values = true)]
    pub ip: Option<String>,
    #[arg(long = "mac-address", alias = "mac", allow_hyphen_values = true)]
    pub mac: Option<String>,
    /// `[hostIP:]hostPort:containerPort[/proto]` (repeatable).
    #[arg(long = "publish", short = 'p', allow_hyphen_values = true)]
    pub publish: Vec<String>,
    #[arg(long)]
    pub privileged: bool,
    #[arg(long, allow_hyphen_values = true)]
    pub cap_add: Vec<String>,
    #[arg(long, allow_hyphen_values = true)]
    pub cap_drop: Vec<String>,
    /// `none`, `always`, `unless-stopped`, `on-failure`.
    #[arg(long, allow_hyphen_values = true)]
    pub restart: Option<String>,
    #[arg(long, allow_hyphen_values = true)]
    pub restart_delay: Option<u64>,
    #[arg(long, allow_hyphen_values = true)]
    pub restart_window: Option<u64>,
    #[arg(long, allow_hyphen_values = true)]
    pub max_attempts: Option<u32>,
    #[arg(long)]
    pub no_new_keyring: bool,
    #[arg(long)]
    pub no_pivot: bool,
    /// A dedicated CPU.
    #[arg(long)]
    pub no_shared: bool,
    /// Print the runtime's debug trace of the creation.
    #[arg(long)]
    pub debug: bool,
    /// Print the result (or the error object) as JSON.
    #[arg(long)]
    pub json: bool,
    /// All options as seed 000 JSON (flags given too override nothing).
    #[arg(long, conflicts_with = "image", allow_hyphen_values = true)]
    pub options_json: Option<String>,
    /// The image.
    pub image: Option<String>,
    /// The command and its arguments (`args`).
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
    /// The seed 000 options.
    pub fn options(&self) -> Result<CreateOptions, String> {
        if let Some(j) = &self.options_json {
            return serde_json::from_str(j).map_err(|e| format!("--options-json: {e}"));
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
            debug: self.debug,
        })
    }
}

fn random_name() -> String {
    let n = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_nanos());
    format!(
        "k3-{:x}",
        (n ^ (std::process::id() as u128) << 40) & 0xffff_ffff_ffff
    )
}

/// Runs the creation; a failure as seed 000's error.
pub fn create_from(ctx: &mut Engine, a: &CreateArgs) -> Result<Created, Failure> {
    let opts = a.options().map_err(|e| Failure {
        error: Box::new(EngineError::Create(create::CreateError::Options(
            k3_engine::options::OptionsError {
                option: "options",
                value: a.options_json.clone().unwrap_or_default(),
                reason: e,
            },
        ))),
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
