//! `k3rt create`: set up a container whose process waits for `start`.

use std::path::PathBuf;

use clap::Args;

use k3_runtime::container::create::{self, CreateOpts};
use k3_runtime::container::Ctx;

#[derive(Args, Debug)]
pub struct CreateArgs {
    /// Path to the bundle directory
    #[arg(short, long, default_value = ".", allow_hyphen_values = true)]
    pub bundle: PathBuf,
    /// File to write the init's pid to
    #[arg(long = "pid-file", allow_hyphen_values = true)]
    pub pid_file: Option<PathBuf>,
    /// Unix socket that receives the pty master
    #[arg(long = "console-socket", allow_hyphen_values = true)]
    pub console_socket: Option<PathBuf>,
    /// Use MS_MOVE + chroot instead of pivot_root
    #[arg(long = "no-pivot")]
    pub no_pivot: bool,
    /// Keep the caller's session keyring
    #[arg(long = "no-new-keyring")]
    pub no_new_keyring: bool,
    /// Pass N extra descriptors (3..3+N) to the container
    #[arg(long = "preserve-fds", default_value_t = 0, allow_hyphen_values = true)]
    pub preserve_fds: i32,
    /// Container id
    pub id: String,
}

impl CreateArgs {
    /// The runtime's options for these arguments.
    pub fn opts(&self) -> CreateOpts {
        CreateOpts {
            id: self.id.clone(),
            bundle: self.bundle.clone(),
            pid_file: self.pid_file.clone(),
            console_socket: self.console_socket.clone(),
            no_pivot: self.no_pivot,
            no_new_keyring: self.no_new_keyring,
            preserve_fds: self.preserve_fds,
        }
    }
}

/// `k3rt create`.
pub fn run(ctx: &Ctx, a: &CreateArgs) -> k3_runtime::Result<u8> {
    create::create(ctx, &a.opts())?;
    Ok(0)
}
