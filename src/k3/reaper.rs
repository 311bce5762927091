//! `k3-init`, the init of `--init` (as docker's tini and podman's
//! catatonit): k3's own static binary, bind-mounted read-only at
//! `/run/k3-init` and run as the container's PID 1 with the command after
//! `--`. It starts the command in a process group of its own (the
//! terminal's foreground group with `-t`), forwards every signal it is sent
//! to it, reaps every process that ends up its child (orphans are
//! re-parented to PID 1), and exits as the command did: its exit code, or
//! 128 + the signal that killed it.

use std::ffi::CString;
use std::os::fd::AsFd;
use std::path::Path;

use nix::errno::Errno;
use nix::sys::signal::{kill, SigSet, SigmaskHow, Signal};
use nix::sys::wait::{waitpid, WaitPidFlag, WaitStatus};
use nix::unistd::{execvp, fork, getpid, isatty, setpgid, tcsetpgrp, ForkResult, Pid};

/// The name k3 answers to as the init (`argv[0]`'s file name).
pub const NAME: &str = "k3-init";

/// Whether this process was started as the init.
pub fn is_init(argv0: &str) -> bool {
    Path::new(argv0).file_name().and_then(|n| n.to_str()) == Some(NAME)
}

/// Runs the init: `args` are `argv[1..]` (`--` and the command).
pub fn main(args: &[String]) -> ! {
    let cmd = args.strip_prefix(&["--".to_string()]).unwrap_or(args);
    let words: Result<Vec<CString>, _> = cmd.iter().map(|a| CString::new(a.as_bytes())).collect();
    let words = match words {
        Ok(w) if !w.is_empty() => w,
        _ => {
            eprintln!("{NAME}: usage: {NAME} -- COMMAND [ARG...]");
            std::process::exit(125)
        }
    };
    let all = SigSet::all();
    let mut old = SigSet::empty();
    if let Err(e) = nix::sys::signal::sigprocmask(SigmaskHow::SIG_BLOCK, Some(&all), Some(&mut old))
    {
        eprintln!("{NAME}: cannot block signals: {e}");
        std::process::exit(125)
    }
    // SAFETY: single-threaded here; the child only calls async-signal-safe
    // functions (setpgid, tcsetpgrp, sigprocmask, execvp, write, _exit).
    match unsafe { fork() } {
        Ok(ForkResult::Child) => run_command(&words, &old),
        Ok(ForkResult::Parent { child }) => supervise(child, &all),
        Err(e) => {
            eprintln!("{NAME}: fork: {e}");
            std::process::exit(125)
        }
    }
}

fn run_command(words: &[CString], old: &SigSet) -> ! {
    let _ = setpgid(Pid::from_raw(0), Pid::from_raw(0));
    let stdin = std::io::stdin();
    if isatty(libc::STDIN_FILENO).unwrap_or(false) {
        // SIGTTOU is still blocked: a background group may take the terminal
        let _ = tcsetpgrp(stdin.as_fd(), getpid());
    }
    let _ = nix::sys::signal::sigprocmask(SigmaskHow::SIG_SETMASK, Some(old), None);
    let e = execvp(&words[0], words).unwrap_err();
    eprintln!(
        "{NAME}: cannot run `{}`: {}",
        words[0].to_string_lossy(),
        e.desc()
    );
    // SAFETY: _exit in the forked child, as after a failed exec
    unsafe { libc::_exit(if e == Errno::ENOENT { 127 } else { 126 }) }
}

/// Forwards signals to `child` and reaps until it has exited.
fn supervise(child: Pid, all: &SigSet) -> ! {
    loop {
        let sig = match all.wait() {
            Ok(s) => s,
            Err(_) => continue,
        };
        if sig != Signal::SIGCHLD {
            // the synchronous ones cannot come from kill(2) meaningfully; the
            // terminal's job-control stops are the command's own business
            if ![Signal::SIGTTIN, Signal::SIGTTOU, Signal::SIGTSTP].contains(&sig) {
                let _ = kill(child, sig);
            }
            continue;
        }
        if let Some(code) = reap(child) {
            std::process::exit(code)
        }
    }
}

/// Reaps every exited child; `child`'s exit code once it is among them.
fn reap(child: Pid) -> Option<i32> {
    let mut code = None;
    loop {
        match waitpid(Pid::from_raw(-1), Some(WaitPidFlag::WNOHANG)) {
            Ok(WaitStatus::Exited(p, c)) if p == child => code = Some(c),
            Ok(WaitStatus::Signaled(p, s, _)) if p == child => code = Some(128 + s as i32),
            Ok(WaitStatus::StillAlive) | Err(_) => return code,
            Ok(_) => {}
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn answers_to_its_name_only() {
        assert!(is_init("/run/k3-init"));
        assert!(is_init("k3-init"));
        assert!(!is_init("/usr/bin/k3"));
        assert!(!is_init("/run/k3-init2"));
    }
}
