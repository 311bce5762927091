//! `run`: create and start in one process. In the foreground k3rt forwards signals
//! to the init, reaps it, cleans up like `delete`, and exits with its code. Signals
//! are blocked before the init exists, so an init that exits at once is never missed.

use crate::oci::state::Status;
use crate::runtime::container::create::{launch, CreateOpts, Mode};
use crate::runtime::container::delete::destroy;
use crate::runtime::container::start::poststart;
use crate::runtime::container::Ctx;
use crate::runtime::process::channel::Msg;
use crate::runtime::{Error, Result};

const FORWARDED: &[i32] = &[
    libc::SIGHUP,
    libc::SIGINT,
    libc::SIGQUIT,
    libc::SIGTERM,
    libc::SIGUSR1,
    libc::SIGUSR2,
    libc::SIGWINCH,
    libc::SIGCONT,
    libc::SIGPIPE,
    libc::SIGALRM,
];

/// `k3rt run [--detach] ID`; returns the container's exit code (0 when detached).
pub fn run(ctx: &Ctx, opts: &CreateOpts, detach: bool) -> Result<i32> {
    if detach {
        let mut l = launch(ctx, opts, Mode::Channel, None)?;
        l.chan.send(&Msg::Start)?;
        poststart(ctx, &l.dir, &l.state);
        l.state.status = Status::Running;
        l.dir.save(&l.state)?;
        ctx.log.debug("finish");
        return Ok(0);
    }
    let (set, old) = block_signals()?;
    // an init behind an intermediate process is re-parented to us
    // SAFETY: prctl with integer arguments.
    unsafe { libc::prctl(libc::PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0) };
    let l = launch(ctx, opts, Mode::Channel, Some(old))?;
    l.chan.send(&Msg::Start)?;
    poststart(ctx, &l.dir, &l.state);
    let code = wait_init(l.state.pid, &set);
    destroy(ctx, &l.dir, &l.state)?;
    Ok(code)
}

fn block_signals() -> Result<(libc::sigset_t, libc::sigset_t)> {
    // SAFETY: sigset_t is plain data, initialised by sigemptyset.
    let mut set: libc::sigset_t = unsafe { std::mem::zeroed() };
    // SAFETY: as above.
    let mut old: libc::sigset_t = unsafe { std::mem::zeroed() };
    // SAFETY: valid pointers to local sigsets.
    unsafe {
        libc::sigemptyset(&mut set);
        libc::sigaddset(&mut set, libc::SIGCHLD);
        for s in FORWARDED {
            libc::sigaddset(&mut set, *s);
        }
        if libc::sigprocmask(libc::SIG_BLOCK, &set, &mut old) < 0 {
            return Err(Error::last("block signals"));
        }
    }
    Ok((set, old))
}

/// Forwards signals until the init exits; returns its exit code (128+N for a signal).
fn wait_init(init: i32, set: &libc::sigset_t) -> i32 {
    loop {
        if let Some(code) = reap_children(init) {
            return code;
        }
        // SAFETY: zeroed siginfo is a valid out-parameter; set is initialised.
        let mut info: libc::siginfo_t = unsafe { std::mem::zeroed() };
        // SAFETY: as above.
        let sig = unsafe { libc::sigwaitinfo(set, &mut info) };
        if sig > 0 && sig != libc::SIGCHLD {
            // SAFETY: kill with integer arguments.
            unsafe { libc::kill(init, sig) };
        }
    }
}

/// Reaps every exited child; the init's code when it is among them.
fn reap_children(init: i32) -> Option<i32> {
    let mut code = None;
    loop {
        let mut status = 0;
        // SAFETY: waitpid with a valid out-pointer.
        let pid = unsafe { libc::waitpid(-1, &mut status, libc::WNOHANG) };
        if pid <= 0 {
            return code;
        }
        if pid == init {
            code = Some(if libc::WIFEXITED(status) {
                libc::WEXITSTATUS(status)
            } else {
                128 + libc::WTERMSIG(status)
            });
        }
    }
}
