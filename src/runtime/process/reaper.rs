//! Waiting for a container process in the foreground (`run`, `exec`): signals are
//! blocked before the process exists, forwarded to it while it runs, and every
//! exited child is reaped (k3rt is a subreaper, so grandchildren come back to it).

use crate::runtime::{Error, Result};

/// Signals passed on to the container process.
pub const FORWARDED: &[i32] = &[
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

/// Blocks SIGCHLD and the forwarded signals; returns (the set, the old mask).
pub fn block_signals() -> Result<(libc::sigset_t, libc::sigset_t)> {
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

/// Forwards signals to `init` until it exits; returns its exit code (128+N for a signal).
pub fn wait_child(init: i32, set: &libc::sigset_t) -> i32 {
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
