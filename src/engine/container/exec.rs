//! `exec`: a new process in a running container, always through the runtime's own
//! `exec` (`RUNTIME exec [--tty] [--env K=V] [--cwd D] ID ARGS...`, as runc, crun and
//! k3rt have it). k3 never enters a container itself: the runtime's exec carries every
//! defence (sealed binary, non-dumpable until the exec, cwd checked inside the
//! container, the container's seccomp, capabilities and user, no leaked descriptors).
//! The exit code is the process' own. With a pty, the detach keys leave the
//! process running (docker's `exec -it`): a `k3 __ptyhold` keeps its terminal
//! open, reading what it writes, until it ends.

use std::io::Write;
use std::os::fd::{AsFd, AsRawFd, BorrowedFd};
use std::process::{Command, Stdio};

use crate::console::{self, ConsoleSocket};
use crate::container::{load, Container, ContainerError};
use crate::context::Engine;
use crate::db::container_state::Status;
use crate::detach::{Keys, Matcher};
use crate::relay::Peer;

/// What to run.
#[derive(Debug, Clone, Default)]
pub struct ExecSpec {
    /// The command and its arguments.
    pub args: Vec<String>,
    /// Extra environment, `KEY=VALUE` each, over the container's.
    pub env: Vec<String>,
    /// The working directory (None: the container's).
    pub cwd: Option<String>,
    /// Whether the process gets a terminal.
    pub tty: bool,
    /// The caller's stdin goes to the process (`-i`); otherwise it reads /dev/null.
    pub interactive: bool,
    /// The keys that detach from the process' pty (`--detach-keys`).
    pub detach_keys: Keys,
}

/// Runs `spec` in `id`; returns the exit code.
pub fn exec(ctx: &mut Engine, id: &str, spec: &ExecSpec) -> Result<i32, ContainerError> {
    validate(spec)?;
    let l = load(ctx, id)?;
    let pid = l.state.pid.unwrap_or(0);
    if l.state.status != Status::Running || pid <= 0 {
        return Err(ContainerError::State {
            id: id.to_string(),
            status: l.state.status.as_str(),
            hint: "container not running",
        });
    }
    let rt = l.runtime(ctx);
    runtime_exec(&l, &rt, spec, &ctx.k3_exe)
}

/// The values of an exec, refused before the runtime runs (named, 422).
fn validate(spec: &ExecSpec) -> Result<(), crate::options::OptionsError> {
    use crate::options::{env, OptionsError};
    let bad = |option, value: &str, reason: &str| OptionsError {
        option,
        value: value.to_string(),
        reason: reason.to_string(),
    };
    if spec.args.first().is_none_or(|a| a.is_empty()) {
        return Err(bad("cmd", "", "must name the program to run"));
    }
    if let Some(w) = &spec.cwd {
        if !w.starts_with('/') {
            return Err(bad("workdir", w, "must be an absolute path"));
        }
    }
    for e in &spec.env {
        env(e)?;
    }
    Ok(())
}

fn runtime_exec(
    l: &Container,
    rt: &crate::oci_runtime::OciRuntime,
    spec: &ExecSpec,
    k3_exe: &std::path::Path,
) -> Result<i32, ContainerError> {
    let mut c: Command = rt.command(&l.runtime_log(), false, "exec");
    let console = if spec.tty {
        let tag = l.record.hash.get(..12).unwrap_or(&l.record.hash);
        let sock = ConsoleSocket::bind(tag).map_err(|e| ContainerError::Exec {
            id: l.record.id.clone(),
            msg: format!("console socket: {e}"),
        })?;
        c.arg("--tty").arg("--console-socket").arg(sock.path());
        Some(sock)
    } else {
        None
    };
    for e in &spec.env {
        c.arg("--env").arg(e);
    }
    if let Some(d) = &spec.cwd {
        c.arg("--cwd").arg(d);
    }
    // `--`: a command such as `--help` is the container's program, not a runtime flag
    c.arg("--").arg(&l.record.hash).args(&spec.args);
    let log = l.runtime_log();
    let before = std::fs::metadata(&log).map(|m| m.len()).unwrap_or(0);
    let exec_err = |e: std::io::Error| ContainerError::Exec {
        id: l.record.id.clone(),
        msg: e.to_string(),
    };
    let stdin = if spec.interactive && console.is_none() {
        Stdio::inherit()
    } else {
        Stdio::null()
    };
    let mut child = c.stdin(stdin).spawn().map_err(exec_err)?;
    if let Some(sock) = &console {
        let got = sock.receive(std::time::Duration::from_secs(60), || {
            matches!(child.try_wait(), Ok(None))
        });
        if let Ok(master) = got {
            if relay_pty(&master, spec) == Ended::Detached {
                // the process runs on, its runtime waits for it: both outlive k3
                hold_pty(k3_exe, master).map_err(exec_err)?;
                return Ok(0);
            }
        }
    }
    let status = child.wait().map_err(exec_err)?;
    let code = status.code().unwrap_or(128 + status_signal(&status));
    if code != 0 {
        // the runtime's own failure (the process never ran) is an error, not the
        // process' exit code: the CLI maps it as docker does (127 not found, 126)
        if let Some(msg) = runtime_error_since(&log, before) {
            return Err(ContainerError::Exec {
                id: l.record.id.clone(),
                msg,
            });
        }
    }
    Ok(code)
}

/// How the relay of an exec's pty ended.
#[derive(Debug, PartialEq, Eq)]
enum Ended {
    /// The process closed its side.
    Closed,
    /// The caller typed the detach keys (with `-i`): the process runs on.
    Detached,
}

/// Relays between the caller's terminal (stdin, stdout) and the pty `master`
/// until the process has closed its side (or the detach keys); SIGWINCH
/// resizes the pty.
fn relay_pty(master: &std::os::fd::OwnedFd, spec: &ExecSpec) -> Ended {
    let stdin = std::io::stdin();
    let term = console::is_tty(0).then(|| stdin.as_fd());
    let input = spec.interactive.then(|| stdin.as_fd());
    let (mut out, mut err) = (std::io::stdout(), std::io::stderr());
    Pty(master, &spec.detach_keys).relay(input, term, &mut out, &mut err)
}

/// After a detach: `k3 __ptyhold` (in a process group of its own, no
/// descriptor but the master) keeps the pty's master open and reads what the
/// process writes, so it neither gets a hangup nor blocks on a full terminal.
fn hold_pty(k3_exe: &std::path::Path, master: std::os::fd::OwnedFd) -> std::io::Result<()> {
    use std::os::unix::process::CommandExt;
    Command::new(k3_exe)
        .arg("__ptyhold")
        .stdin(Stdio::from(master))
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .process_group(0)
        .spawn()
        .map(drop)
}

/// `k3 __ptyhold`: reads stdin (a pty's master) until the last process on the
/// terminal has closed it; never returns.
pub fn hold_main() -> ! {
    // SAFETY: setting a signal's disposition before any thread starts.
    unsafe { libc::signal(libc::SIGHUP, libc::SIG_IGN) };
    let mut buf = [0u8; 16384];
    while console::read_some(0, &mut buf).is_ok_and(|n| n > 0) {}
    std::process::exit(0)
}

/// An exec's pty as the other side of a relay: bytes unframed both ways.
struct Pty<'a>(&'a std::os::fd::OwnedFd, &'a Keys);

impl Peer for Pty<'_> {
    type End = Ended;

    fn detach_keys(&self) -> Option<Matcher> {
        self.1.matcher()
    }

    fn fd(&self) -> BorrowedFd<'_> {
        self.0.as_fd()
    }

    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        console::read_some(self.0.as_raw_fd(), buf)
    }

    /// The pty starts at the caller's size (when stdin is a terminal).
    fn begin(&mut self, _out: &mut dyn Write, _err: &mut dyn Write) {
        if let Some((r, c)) = console::window_size(0) {
            console::set_window_size(self.0.as_raw_fd(), r, c);
        }
    }

    fn output(&mut self, data: &[u8], out: &mut dyn Write, _err: &mut dyn Write) -> Option<Ended> {
        let _ = out.write_all(data);
        let _ = out.flush();
        None
    }

    fn send(&mut self, data: &[u8]) -> std::io::Result<()> {
        let _ = nix::unistd::write(self.0, data);
        Ok(())
    }

    /// Nothing to send: the process reads its pty.
    fn input_ended(&mut self) {}

    fn resize(&mut self, term: BorrowedFd<'_>) {
        if let Some((r, c)) = console::window_size(term.as_raw_fd()) {
            console::set_window_size(self.0.as_raw_fd(), r, c);
        }
    }

    fn closed(&mut self) -> Ended {
        Ended::Closed
    }

    fn detached(&mut self) -> Ended {
        Ended::Detached
    }
}

/// The last error the runtime logged (`--log-format json`) after byte `from` of `log`.
fn runtime_error_since(log: &std::path::Path, from: u64) -> Option<String> {
    use std::io::{Read, Seek, SeekFrom};
    let mut f = std::fs::File::open(log).ok()?;
    f.seek(SeekFrom::Start(from)).ok()?;
    let mut text = String::new();
    f.take(1 << 20).read_to_string(&mut text).ok()?;
    text.lines()
        .rev()
        .filter_map(|l| serde_json::from_str::<serde_json::Value>(l).ok())
        .filter(|v| v["level"] == "error")
        .find_map(|v| v["msg"].as_str().map(str::to_string))
}

fn status_signal(s: &std::process::ExitStatus) -> i32 {
    use std::os::unix::process::ExitStatusExt;
    s.signal().unwrap_or(127)
}
