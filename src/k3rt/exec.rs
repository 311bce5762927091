//! `k3rt exec`: run a process in a running container.

use std::path::PathBuf;

use clap::Args;

use k3_runtime::container::exec::{self, ExecOpts};
use k3_runtime::container::Ctx;

/// `k3rt exec` arguments.
#[derive(Args, Debug)]
pub struct ExecArgs {
    /// Process JSON file (runtime-spec `process` object; replaces the command and the flags that set it)
    #[arg(short, long, allow_hyphen_values = true)]
    pub process: Option<PathBuf>,
    /// Allocate a pseudo-terminal for the process (needs --console-socket)
    #[arg(short, long)]
    pub tty: bool,
    /// Unix socket that receives the pty master (with --tty)
    #[arg(long = "console-socket", allow_hyphen_values = true)]
    pub console_socket: Option<PathBuf>,
    /// Working directory in the container [default: the container's process.cwd]
    #[arg(long, allow_hyphen_values = true)]
    pub cwd: Option<PathBuf>,
    /// Set an environment variable, KEY=VALUE (repeatable); added to the container's process.env
    #[arg(short, long, allow_hyphen_values = true)]
    pub env: Vec<String>,
    /// User to run as, UID[:GID] (numbers) [default: the container's process.user]
    #[arg(short, long, allow_hyphen_values = true)]
    pub user: Option<String>,
    /// Supplementary group id (repeatable)
    #[arg(short = 'g', long = "additional-gids", allow_hyphen_values = true)]
    pub additional_gids: Vec<u32>,
    /// Add a capability, e.g. `CAP_NET_ADMIN` (repeatable)
    #[arg(short, long = "cap", allow_hyphen_values = true)]
    pub cap: Vec<String>,
    /// Set no_new_privs on the process
    #[arg(long = "no-new-privs")]
    pub no_new_privs: bool,
    /// AppArmor profile for the process
    #[arg(long, allow_hyphen_values = true)]
    pub apparmor: Option<String>,
    /// SELinux label for the process
    #[arg(long = "process-label", allow_hyphen_values = true)]
    pub process_label: Option<String>,
    /// Return once the process has started; without it, wait and exit with its exit code
    #[arg(short, long)]
    pub detach: bool,
    /// Write the process's pid to this file
    #[arg(long = "pid-file", allow_hyphen_values = true)]
    pub pid_file: Option<PathBuf>,
    /// Pass N descriptors after stdio (3..3+N) to the process
    #[arg(long = "preserve-fds", default_value_t = 0, allow_hyphen_values = true)]
    pub preserve_fds: i32,
    /// Accepted for runc compatibility: the process joins the container's cgroup
    #[arg(long, allow_hyphen_values = true)]
    pub cgroup: Option<String>,
    /// Container id
    pub id: String,
    /// Command and arguments to run (unless --process)
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
    Ok(crate::cli::exit_code(code))
}
