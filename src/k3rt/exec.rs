//! `k3rt exec`: run a process in a running container.

use std::path::PathBuf;

use clap::Args;

use k3_runtime::container::exec::{self, ExecOpts};
use k3_runtime::container::Ctx;

#[derive(Args, Debug)]
pub struct ExecArgs {
    /// Process JSON file (replaces the command line)
    #[arg(short, long, allow_hyphen_values = true)]
    pub process: Option<PathBuf>,
    #[arg(short, long)]
    pub tty: bool,
    #[arg(long = "console-socket", allow_hyphen_values = true)]
    pub console_socket: Option<PathBuf>,
    #[arg(long, allow_hyphen_values = true)]
    pub cwd: Option<PathBuf>,
    /// KEY=VALUE (repeatable)
    #[arg(short, long, allow_hyphen_values = true)]
    pub env: Vec<String>,
    /// UID[:GID]
    #[arg(short, long, allow_hyphen_values = true)]
    pub user: Option<String>,
    #[arg(short = 'g', long = "additional-gids", allow_hyphen_values = true)]
    pub additional_gids: Vec<u32>,
    /// Add a capability (repeatable)
    #[arg(short, long = "cap", allow_hyphen_values = true)]
    pub cap: Vec<String>,
    #[arg(long = "no-new-privs")]
    pub no_new_privs: bool,
    #[arg(long, allow_hyphen_values = true)]
    pub apparmor: Option<String>,
    #[arg(long = "process-label", allow_hyphen_values = true)]
    pub process_label: Option<String>,
    #[arg(short, long)]
    pub detach: bool,
    #[arg(long = "pid-file", allow_hyphen_values = true)]
    pub pid_file: Option<PathBuf>,
    #[arg(long = "preserve-fds", default_value_t = 0, allow_hyphen_values = true)]
    pub preserve_fds: i32,
    /// Accepted for runc compatibility: the process joins the container's cgroup
    #[arg(long, allow_hyphen_values = true)]
    pub cgroup: Option<String>,
    pub id: String,
    #[arg(trailing_var_arg = true, allow_hyphen_values = true)]
    pub command: Vec<String>,
}

impl ExecArgs {
    fn opts(self) -> ExecOpts {
        ExecOpts {
            id: self.id,
            process_file: self.process,
            args: self.command,
            tty: self.tty,
            console_socket: self.console_socket,
            cwd: self.cwd,
            env: self.env,
            user: self.user,
            additional_gids: self.additional_gids,
            caps: self.cap,
            no_new_privs: self.no_new_privs,
            apparmor: self.apparmor,
            process_label: self.process_label,
            detach: self.detach,
            pid_file: self.pid_file,
            preserve_fds: self.preserve_fds,
        }
    }
}

/// `k3rt exec`.
pub fn run(ctx: &Ctx, a: ExecArgs) -> k3_runtime::Result<u8> {
    let code = exec::exec(ctx, &a.opts())?;
    Ok(code.clamp(0, 255) as u8)
}
