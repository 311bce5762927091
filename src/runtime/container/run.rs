//! `run`: create and start in one process. In the foreground k3rt forwards signals
//! to the init, reaps it, cleans up like `delete`, and exits with its code. Signals
//! are blocked before the init exists, so an init that exits at once is never missed.

use crate::container::create::{
    connect_pidfd_socket, launch, send_pidfd, CreateOpts, Loaded, Mode,
};
use crate::container::delete::destroy;
use crate::container::start::poststart;
use crate::container::GlobalFlags;
use crate::process::channel::Msg;
use k3_oci::state::Status;
use std::os::fd::AsRawFd;

use crate::process::reaper::{block_signals, wait_child, wait_child_with_pty};
use crate::process::tty;
use crate::Result;

/// `k3rt run [--detach] ID`; returns the container's exit code (0 when detached).
/// `loaded`: the bundle as the caller read it (`None`: read here), so that config.json
/// is parsed once per run.
pub fn run(
    ctx: &GlobalFlags,
    opts: &CreateOpts,
    detach: bool,
    loaded: Option<Loaded>,
) -> Result<i32> {
    let pidfd_socket = connect_pidfd_socket(opts)?;
    if detach {
        let mut l = launch(ctx, opts, Mode::Channel, None, loaded)?;
        send_pidfd(ctx, &l, pidfd_socket.as_ref())?;
        let notify = super::notify::bind(&l.dir)?;
        l.chan.send(&Msg::Start)?;
        poststart(ctx, &l.dir, &l.state)?;
        if let Some(n) = notify {
            n.forward_until_ready(&l.state)?;
        }
        l.state.status = Status::Running;
        l.dir.save(&l.state)?;
        ctx.log.debug("finish");
        return Ok(0);
    }
    let (set, old) = block_signals()?;
    // an init behind an intermediate process is re-parented to us
    let _ = nix::sys::prctl::set_child_subreaper(true);
    let l = launch(ctx, opts, Mode::Channel, Some(old), loaded)?;
    send_pidfd(ctx, &l, pidfd_socket.as_ref())?;
    let master = match &l.console {
        Some(sock) => Some(tty::recv_fd(sock.as_raw_fd())?),
        None => None,
    };
    l.chan.send(&Msg::Start)?;
    poststart(ctx, &l.dir, &l.state)?;
    let code = match &master {
        Some(m) => wait_child_with_pty(l.state.pid, &set, m),
        None => wait_child(l.state.pid, &set),
    };
    destroy(ctx, &l.dir, &l.state)?;
    Ok(code)
}
