//! `k3rt create`: set up a container whose process waits for `start`.

use std::path::PathBuf;

use clap::Args;

use k3_runtime::container::create::{self, CreateOpts};
use k3_runtime::container::Ctx;

/// `k3rt create` arguments (also `run`'s).
#[derive(Args, Debug)]
pub struct CreateArgs {
    /// Bundle directory (holds config.json and the rootfs)
    #[arg(short, long, default_value = ".", allow_hyphen_values = true)]
    pub bundle: PathBuf,
    /// Write the container init's pid to this file
    #[arg(long = "pid-file", allow_hyphen_values = true)]
    pub pid_file: Option<PathBuf>,
    /// Unix socket that receives the pty master when process.terminal is true
    #[arg(long = "console-socket", allow_hyphen_values = true)]
    pub console_socket: Option<PathBuf>,
    /// Enter the rootfs with MS_MOVE + chroot instead of pivot_root (for a rootfs on a ramdisk)
    #[arg(long = "no-pivot")]
    pub no_pivot: bool,
    /// Keep the caller's session keyring instead of a new one for the container
    #[arg(long = "no-new-keyring")]
    pub no_new_keyring: bool,
    /// Pass N descriptors after stdio (3..3+N) to the container's process
    #[arg(long = "preserve-fds", default_value_t = 0, allow_hyphen_values = true)]
    pub preserve_fds: i32,
    /// Container id (letters, digits, `_`, `+`, `-`, `.`; unique under --root)
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
