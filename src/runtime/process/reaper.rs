//! Waiting for a container process in the foreground (`run`, `exec`): signals are
//! blocked before the process exists, forwarded to it while it runs, and every
//! exited child is reaped (k3rt is a subreaper, so grandchildren come back to it).

use crate::error::{Call, ProcessError};
use crate::Result;

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
            return Err(ProcessError::last(Call::BlockSignals).into());
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

/// Like [`wait_child`], while relaying between our stdio and the container's pty
/// master (`run -t` without a console socket). Window size changes follow SIGWINCH.
pub fn wait_child_with_pty(init: i32, set: &libc::sigset_t, master: &std::os::fd::OwnedFd) -> i32 {
    use std::os::fd::AsRawFd;
    let m = master.as_raw_fd();
    let _raw = crate::process::tty::RawMode::enter(0);
    crate::process::tty::copy_winsize(0, m);
    // SAFETY: signalfd over the blocked set; closed at exit.
    let sfd = unsafe { libc::signalfd(-1, set, libc::SFD_CLOEXEC) };
    let mut stdin_open = true;
    let mut buf = [0u8; 8192];
    loop {
        if let Some(code) = reap_children(init) {
            drain(m, &mut buf);
            return code;
        }
        let mut fds = [
            libc::pollfd {
                fd: sfd,
                events: libc::POLLIN,
                revents: 0,
            },
            libc::pollfd {
                fd: m,
                events: libc::POLLIN,
                revents: 0,
            },
            libc::pollfd {
                fd: if stdin_open { 0 } else { -1 },
                events: libc::POLLIN,
                revents: 0,
            },
        ];
        // SAFETY: three valid pollfds.
        if unsafe { libc::poll(fds.as_mut_ptr(), 3, -1) } < 0 {
            continue;
        }
        if fds[0].revents & libc::POLLIN != 0 {
            // SAFETY: zeroed siginfo buffer of the right size.
            let mut info: libc::signalfd_siginfo = unsafe { std::mem::zeroed() };
            // SAFETY: reading one siginfo into our buffer.
            unsafe {
                libc::read(
                    sfd,
                    (&mut info as *mut libc::signalfd_siginfo).cast(),
                    size_of_val(&info),
                )
            };
            // signal numbers are small; 0 (no signal) for anything else
            match i32::try_from(info.ssi_signo).unwrap_or(0) {
                0 => {}
                libc::SIGCHLD => {}
                libc::SIGWINCH => crate::process::tty::copy_winsize(0, m),
                // SAFETY: kill with integer arguments.
                sig => unsafe {
                    libc::kill(init, sig);
                },
            }
        }
        if fds[1].revents & (libc::POLLIN | libc::POLLHUP) != 0 && !copy(m, 1, &mut buf) {
            fds[1].fd = -1;
        }
        if fds[2].revents & (libc::POLLIN | libc::POLLHUP) != 0 && !copy(0, m, &mut buf) {
            stdin_open = false;
        }
    }
}

/// Copies what is readable from `from` to `to`; false on EOF or error.
fn copy(from: i32, to: i32, buf: &mut [u8]) -> bool {
    // SAFETY: reading into our buffer.
    let n = unsafe { libc::read(from, buf.as_mut_ptr().cast(), buf.len()) };
    let Some(filled) = usize::try_from(n)
        .ok()
        .filter(|n| *n > 0)
        .map(|n| &buf[..n])
    else {
        return false;
    };
    let mut off = 0;
    while off < filled.len() {
        let rest = &filled[off..];
        // SAFETY: writing the part of our buffer that was filled.
        let w = unsafe { libc::write(to, rest.as_ptr().cast(), rest.len()) };
        match usize::try_from(w) {
            Ok(w) if w > 0 => off += w,
            _ => return false,
        }
    }
    true
}

/// Whatever output the pty still holds after the process exited.
fn drain(m: i32, buf: &mut [u8]) {
    loop {
        let mut p = libc::pollfd {
            fd: m,
            events: libc::POLLIN,
            revents: 0,
        };
        // SAFETY: one valid pollfd.
        if unsafe { libc::poll(&mut p, 1, 0) } <= 0 || !copy(m, 1, buf) {
            return;
        }
    }
}
