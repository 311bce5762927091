//! `k3rt checkpoint` and `k3rt restore`: a container's processes saved and
//! brought back with CRIU.

use std::path::PathBuf;

use clap::Args;

use k3_runtime::container::checkpoint::{self, CriuOpts};
use k3_runtime::container::Ctx;

/// The CRIU options `checkpoint` and `restore` share.
#[derive(Args, Debug)]
pub struct CriuArgs {
    /// Directory CRIU writes the images to (checkpoint) or reads them from (restore)
    #[arg(
        long = "image-path",
        default_value = "checkpoint",
        allow_hyphen_values = true
    )]
    pub image_path: PathBuf,
    /// Directory for CRIU's logs and work files [default: the image path]
    #[arg(long = "work-path", allow_hyphen_values = true)]
    pub work_path: Option<PathBuf>,
    /// Save and restore established TCP connections
    #[arg(long = "tcp-established")]
    pub tcp_established: bool,
    /// Allow external unix sockets
    #[arg(long = "ext-unix-sk")]
    pub ext_unix_sk: bool,
    /// Allow a process that is a shell job (attached to a terminal)
    #[arg(long = "shell-job")]
    pub shell_job: bool,
    /// Save and restore file locks
    #[arg(long = "file-locks")]
    pub file_locks: bool,
}

impl CriuArgs {
    fn opts(&self, leave_running: bool) -> CriuOpts {
        CriuOpts {
            image_path: self.image_path.clone(),
            work_path: self.work_path.clone(),
            leave_running,
            tcp_established: self.tcp_established,
            ext_unix_sk: self.ext_unix_sk,
            shell_job: self.shell_job,
            file_locks: self.file_locks,
        }
    }
}

/// `k3rt checkpoint` arguments.
#[derive(Args, Debug)]
pub struct CheckpointArgs {
    /// The CRIU options.
    #[command(flatten)]
    pub criu: CriuArgs,
    /// Keep the container running after the dump
    #[arg(long = "leave-running")]
    pub leave_running: bool,
    /// Container id
    pub id: String,
}

/// `k3rt restore` arguments.
#[derive(Args, Debug)]
pub struct RestoreArgs {
    /// The CRIU options.
    #[command(flatten)]
    pub criu: CriuArgs,
    /// Bundle directory of the container to restore
    #[arg(short, long, default_value = ".", allow_hyphen_values = true)]
    pub bundle: PathBuf,
    /// Accepted for runc compatibility: the restored container always runs detached
    #[arg(short, long)]
    pub detach: bool,
    /// Write the restored init's pid to this file
    #[arg(long = "pid-file", allow_hyphen_values = true)]
    pub pid_file: Option<PathBuf>,
    /// Container id
    pub id: String,
}

/// `k3rt checkpoint`.
pub fn checkpoint(ctx: &Ctx, a: &CheckpointArgs) -> k3_runtime::Result<u8> {
    checkpoint::checkpoint(ctx, &a.id, &a.criu.opts(a.leave_running))?;
    Ok(0)
}

/// `k3rt restore`.
pub fn restore(ctx: &Ctx, a: &RestoreArgs) -> k3_runtime::Result<u8> {
    checkpoint::restore(
        ctx,
        &a.id,
        &a.bundle,
        &a.criu.opts(false),
        a.pid_file.as_deref(),
    )?;
    Ok(0)
}
