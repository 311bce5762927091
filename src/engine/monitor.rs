//! The per-container monitor (`k3 __monitor`), k3's conmon: it detaches
//! (fork + `setsid`), becomes a child subreaper, runs the runtime's `create`
//! with the container's stdout/stderr on pipes it holds, reports the result
//! (`{"pid":N}` or `{"error":...}`, one JSON line on its stdout) to the `k3`
//! that started it, then writes the container's output to `ctr.log` (JSON
//! lines `{"stream","log","time","timeNano"}`), reaps the init when it exits, records the
//! exit code (STOPPED) in SQLite and deletes the runtime's container.
//!
//! [`spawn`] is the caller's side.

use std::fs::{self, File, OpenOptions};
use std::io::{BufRead, BufReader, Read, Write};
use std::os::fd::{AsFd, AsRawFd, FromRawFd, OwnedFd};
use std::os::unix::net::{UnixListener, UnixStream};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use nix::poll::{poll, PollFd, PollFlags, PollTimeout};
use nix::sys::wait::{waitpid, WaitPidFlag, WaitStatus};
use nix::unistd::{fork, pipe2, setsid, ForkResult, Pid};
use serde::{Deserialize, Serialize};

use crate::console;
use crate::db::{self, container_state, events, Db};
use crate::oci_runtime::{debug_trace, OciRuntime, RuntimeError};

/// What the monitor is told.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct MonitorSpec {
    /// The container id (SQLite key).
    pub id: String,
    /// The runtime's container id (the hash).
    pub hash: String,
    /// The bundle directory.
    pub bundle: PathBuf,
    /// The k3 database.
    pub db: PathBuf,
    /// The runtime.
    pub runtime: OciRuntime,
    /// `--debug` for the runtime.
    pub debug: bool,
    /// `--no-pivot`.
    pub no_pivot: bool,
    /// `--no-new-keyring`.
    pub no_new_keyring: bool,
    /// Stdin kept open (`-i`): a pipe whose write end the monitor holds.
    #[serde(default)]
    pub stdin: bool,
    /// A pseudo-terminal (`-t`): the monitor receives its master.
    #[serde(default)]
    pub tty: bool,
}

/// The monitor's report.
#[derive(Debug, Clone, Serialize, Deserialize, Default)]
pub struct Report {
    /// The init's pid.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub pid: Option<i64>,
    /// The runtime's failure.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
    /// The runtime's `--debug` trace.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub trace: Vec<String>,
    /// The monitor's pid.
    #[serde(default)]
    pub monitor_pid: i64,
}

/// Files of a container's bundle directory.
pub fn runtime_log(bundle: &Path) -> PathBuf {
    bundle.join("runtime.log")
}

/// The container output log.
pub fn ctr_log(bundle: &Path) -> PathBuf {
    bundle.join("ctr.log")
}

fn pid_file(bundle: &Path) -> PathBuf {
    bundle.join("init.pid")
}

/// The lock a monitor holds for its container's whole run: from before the
/// runtime's `create` until the exit is recorded and the runtime's state,
/// the network namespace and the attach socket are gone.
fn life_lock(bundle: &Path) -> PathBuf {
    bundle.join("monitor.lock")
}

/// How long a new run waits for the previous run's monitor to finish.
pub const PREVIOUS_RUN_WAIT: Duration = Duration::from_secs(30);

/// Takes the life lock of `bundle`, waiting up to `timeout` for a monitor
/// that holds it.
fn take_life_lock(bundle: &Path, timeout: Duration) -> Result<File, String> {
    let path = life_lock(bundle);
    let f = OpenOptions::new()
        .create(true)
        .truncate(false)
        .write(true)
        .open(&path)
        .map_err(|e| format!("open `{}`: {e}", path.display()))?;
    let end = Instant::now() + timeout;
    loop {
        // SAFETY: flock on a descriptor `f` owns.
        if unsafe { libc::flock(f.as_raw_fd(), libc::LOCK_EX | libc::LOCK_NB) } == 0 {
            return Ok(f);
        }
        let e = std::io::Error::last_os_error();
        if e.raw_os_error() != Some(libc::EWOULDBLOCK)
            && e.kind() != std::io::ErrorKind::Interrupted
        {
            return Err(format!("lock `{}`: {e}", path.display()));
        }
        if Instant::now() > end {
            return Err(format!(
                "the previous run's monitor still holds `{}` after {}s",
                path.display(),
                timeout.as_secs()
            ));
        }
        std::thread::sleep(Duration::from_millis(10));
    }
}

/// Waits until the monitor of the container's previous run (if any) has
/// finished with it. The exit can be recorded by someone else first (the
/// daemon's shutdown marks what outlived its grace as stopped), and a start
/// that ran meanwhile would have its new namespace, runtime state and
/// attach socket removed by the old monitor's cleanup.
pub fn wait_previous(bundle: &Path, timeout: Duration) -> Result<(), String> {
    take_life_lock(bundle, timeout).map(drop)
}

/// Starts the monitor for `spec` and waits for its report.
pub fn spawn(k3_exe: &Path, spec: &MonitorSpec) -> Result<Report, RuntimeError> {
    let spawn_err = |source| RuntimeError::Spawn {
        runtime: "k3 __monitor".into(),
        source,
    };
    let mlog = spec.bundle.join("monitor.log");
    let stderr = OpenOptions::new()
        .create(true)
        .append(true)
        .open(&mlog)
        .map_err(spawn_err)?;
    let arg = serde_json::to_string(spec).unwrap_or_default();
    let mut child = Command::new(k3_exe)
        .arg("__monitor")
        .arg(arg)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(stderr)
        .spawn()
        .map_err(spawn_err)?;
    let mut line = String::new();
    if let Some(out) = child.stdout.take() {
        let _ = BufReader::new(out).read_line(&mut line);
    }
    let _ = child.wait();
    serde_json::from_str(line.trim()).map_err(|_| RuntimeError::Protocol {
        runtime: "k3 __monitor".into(),
        verb: "create".into(),
        msg: format!(
            "no report (see `{}`): {}",
            mlog.display(),
            fs::read_to_string(&mlog).unwrap_or_default().trim()
        ),
    })
}

/// Waits until monitor `pid` has exited (it is not our child: polled).
pub fn wait_exit(pid: i64, timeout: Duration) -> Result<(), String> {
    let end = Instant::now() + timeout;
    while crate::process::pid_running(pid) {
        if Instant::now() > end {
            return Err(format!("monitor `{pid}` did not exit"));
        }
        std::thread::sleep(Duration::from_millis(10));
    }
    Ok(())
}

/// The monitor process' main: never returns. Called first thing in the process: it
/// closes every descriptor above 2 it inherited (the caller's locks, pipes, sockets
/// must not live on for the container's whole life, nor reach the runtime).
pub fn main(spec_json: &str) -> ! {
    close_inherited();
    reset_signals();
    let code = match serde_json::from_str::<MonitorSpec>(spec_json) {
        Ok(spec) => detach_and_run(&spec),
        Err(e) => {
            report(&Report {
                error: Some(format!("bad monitor spec: {e}")),
                ..Default::default()
            });
            1
        }
    };
    std::process::exit(code)
}

/// The monitor starts as conmon does: every signal at its default action and
/// none blocked, so nothing of the caller's signal state reaches the runtime
/// or the container (a shell's `k3 run ... &` ignores SIGINT and SIGQUIT; a
/// foreground `k3 run` blocks the signals it forwards). SIGPIPE alone is
/// ignored: a container that closes its stdin while input is pending must
/// not end the monitor in the middle of a write (`k3` itself restores SIGPIPE's
/// default). The runtime is spawned with [`default_actions`].
fn reset_signals() {
    for sig in 1..=libc::SIGRTMAX() {
        if sig != libc::SIGKILL && sig != libc::SIGSTOP {
            // SAFETY: SIG_DFL is always valid; glibc refuses its own signals (EINVAL).
            unsafe { libc::signal(sig, libc::SIG_DFL) };
        }
    }
    // SAFETY: SIG_IGN is always valid.
    unsafe { libc::signal(libc::SIGPIPE, libc::SIG_IGN) };
    let _ = nix::sys::signal::SigSet::empty().thread_set_mask();
}

/// Run in the runtime's child between fork and exec: every signal to its
/// default action through the raw system call, glibc's two internal ones
/// (32, 33) included, which glibc's `signal` refuses to change and its
/// `posix_spawn` sets to ignored in every child — ignored, they would reach
/// the container (podman's containers have none ignored).
fn default_actions() -> std::io::Result<()> {
    /// The kernel's `struct sigaction` on the architectures k3 builds for.
    #[repr(C)]
    struct KernelSigaction {
        handler: usize,
        flags: libc::c_ulong,
        restorer: usize,
        mask: u64,
    }
    let dfl = KernelSigaction {
        handler: libc::SIG_DFL,
        flags: 0,
        restorer: 0,
        mask: 0,
    };
    for sig in 1..=64 {
        if sig != libc::SIGKILL && sig != libc::SIGSTOP {
            // SAFETY: async-signal-safe system call with a valid action and no old one.
            unsafe {
                libc::syscall(
                    libc::SYS_rt_sigaction,
                    sig,
                    &dfl as *const KernelSigaction,
                    std::ptr::null_mut::<KernelSigaction>(),
                    8usize,
                )
            };
        }
    }
    Ok(())
}

/// close_range(3, ~0): nothing of this process owns a descriptor yet.
pub(crate) fn close_inherited() {
    // SAFETY: plain syscall; no descriptor above 2 is owned by anything in this process.
    let r = unsafe { libc::syscall(libc::SYS_close_range, 3u32, u32::MAX, 0u32) };
    if r < 0 {
        // kernels before 5.9: close them one by one
        if let Ok(dir) = fs::read_dir("/proc/self/fd") {
            let fds: Vec<i32> = dir
                .filter_map(|e| e.ok()?.file_name().to_str()?.parse().ok())
                .filter(|fd| *fd > 2)
                .collect();
            for fd in fds {
                // SAFETY: as above (the read_dir descriptor is already closed).
                unsafe { libc::close(fd) };
            }
        }
    }
}

fn detach_and_run(spec: &MonitorSpec) -> i32 {
    // SAFETY: called first thing in a single-threaded process.
    match unsafe { fork() } {
        Ok(ForkResult::Parent { .. }) => return 0,
        Ok(ForkResult::Child) => {}
        Err(e) => {
            report(&Report {
                error: Some(format!("monitor fork: {e}")),
                ..Default::default()
            });
            return 1;
        }
    }
    let _ = setsid();
    // SAFETY: plain prctl with integer arguments.
    unsafe { libc::prctl(libc::PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0) };
    let life = match take_life_lock(&spec.bundle, PREVIOUS_RUN_WAIT) {
        Ok(f) => f,
        Err(e) => {
            report(&Report {
                error: Some(e),
                ..Default::default()
            });
            return 1;
        }
    };
    match create(spec) {
        Ok((pid, held)) => {
            quiet_stdout();
            let code = supervise(spec, pid, held);
            // a restart by the policy is a new run with its own monitor
            drop(life);
            crate::supervisor::restart::after_exit(spec, pid, code);
            0
        }
        Err(r) => {
            report(&r);
            1
        }
    }
}

fn report(r: &Report) {
    let mut out = std::io::stdout();
    let _ = writeln!(out, "{}", serde_json::to_string(r).unwrap_or_default());
    let _ = out.flush();
}

fn quiet_stdout() {
    if let Ok(null) = File::options().write(true).open("/dev/null") {
        // SAFETY: dup2 onto our own stdout.
        unsafe { libc::dup2(null.as_raw_fd(), 1) };
    }
}

/// The container's end of things the monitor holds: its output streams, its
/// stdin (a pipe's write end or the pty master), the pty master for resizes,
/// and the attach socket clients connect to.
struct Held {
    outputs: Vec<(OwnedFd, &'static str)>,
    stdin: Option<OwnedFd>,
    master: Option<OwnedFd>,
    listener: Option<UnixListener>,
}

/// Runs the runtime's `create`; reports and returns the init pid and what the
/// monitor holds of the container.
fn create(spec: &MonitorSpec) -> Result<(i64, Held), Report> {
    let fail = |e: String| Report {
        error: Some(e),
        trace: debug_trace(&runtime_log(&spec.bundle)),
        ..Default::default()
    };
    let cloexec = nix::fcntl::OFlag::O_CLOEXEC;
    let (out_r, out_w) = pipe2(cloexec).map_err(|e| fail(e.to_string()))?;
    let (err_r, err_w) = pipe2(cloexec).map_err(|e| fail(e.to_string()))?;
    let (in_r, in_w) = if spec.stdin && !spec.tty {
        let (r, w) = pipe2(cloexec).map_err(|e| fail(e.to_string()))?;
        (Some(r), Some(w))
    } else {
        (None, None)
    };
    let console = if spec.tty {
        let tag = spec.hash.get(..12).unwrap_or(&spec.hash);
        Some(console::ConsoleSocket::bind(tag).map_err(|e| fail(format!("console socket: {e}")))?)
    } else {
        None
    };
    // The attach socket is there before k3 hears of the container.
    let sock = console::attach_socket(&spec.bundle);
    let _ = fs::remove_file(&sock);
    let listener = console::short_path(&sock)
        .and_then(|(_dir, p)| UnixListener::bind(p))
        .map_err(|e| fail(format!("attach socket `{}`: {e}", sock.display())))?;
    let _ = listener.set_nonblocking(true);
    let log = runtime_log(&spec.bundle);
    let pidf = pid_file(&spec.bundle);
    let _ = fs::remove_file(&pidf);
    let mut cmd = spec.runtime.command(&log, spec.debug, "create");
    if spec.no_pivot {
        cmd.arg("--no-pivot");
    }
    if spec.no_new_keyring {
        cmd.arg("--no-new-keyring");
    }
    if let Some(c) = &console {
        cmd.arg("--console-socket").arg(c.path());
    }
    // SAFETY: `default_actions` makes only async-signal-safe system calls.
    unsafe { std::os::unix::process::CommandExt::pre_exec(&mut cmd, default_actions) };
    cmd.arg("--bundle")
        .arg(&spec.bundle)
        .arg("--pid-file")
        .arg(&pidf)
        .arg(&spec.hash)
        .stdin(in_r.map_or_else(Stdio::null, Stdio::from))
        .stdout(Stdio::from(out_w))
        .stderr(Stdio::from(err_w));
    let mut child = cmd
        .spawn()
        .map_err(|e| fail(format!("cannot run runtime: {e}")))?;
    drop(cmd);
    let master = match &console {
        Some(c) => {
            let got = c.receive(Duration::from_secs(60), || {
                matches!(child.try_wait(), Ok(None))
            });
            match got {
                Ok(m) => Some(m),
                Err(e) => {
                    let _ = child.kill();
                    let status = child.wait();
                    if status.is_ok_and(|s| !s.success()) {
                        None
                    } else {
                        return Err(fail(format!("console socket: {e}")));
                    }
                }
            }
        }
        None => None,
    };
    let status = child
        .wait()
        .map_err(|e| fail(format!("cannot run runtime: {e}")))?;
    drop(console);
    if !status.success() {
        let mut msg = String::new();
        let _ = File::from(err_r).read_to_string(&mut msg);
        return Err(match spec.runtime.failure("create", &log, &msg) {
            RuntimeError::Failed { msg, .. } => fail(msg),
            e => fail(e.to_string()),
        });
    }
    let pid = fs::read_to_string(&pidf)
        .ok()
        .and_then(|s| s.trim().parse::<i64>().ok())
        .unwrap_or(0);
    // The log exists before k3 hears of the container: a foreground `k3 run` follows
    // it right after start, possibly before `supervise` opens it.
    let _ = OpenOptions::new()
        .create(true)
        .append(true)
        .open(ctr_log(&spec.bundle));
    report(&Report {
        pid: Some(pid),
        trace: debug_trace(&log),
        monitor_pid: i64::from(std::process::id()),
        ..Default::default()
    });
    let mut outputs = vec![(out_r, "stdout"), (err_r, "stderr")];
    let mut stdin = in_w;
    if let Some(m) = &master {
        // the pty is the container's stdio: its output is the master's
        outputs.truncate(0);
        if let Ok(d) = m.try_clone() {
            outputs.push((d, "stdout"));
        }
        if spec.stdin {
            stdin = m.try_clone().ok();
        }
    }
    for (fd, _) in &outputs {
        set_nonblocking(fd);
    }
    if let Some(fd) = &stdin {
        set_nonblocking(fd);
    }
    Ok((
        pid,
        Held {
            outputs,
            stdin,
            master,
            listener: Some(listener),
        },
    ))
}

fn set_nonblocking(fd: &OwnedFd) {
    use nix::fcntl::{fcntl, FcntlArg, OFlag};
    if let Ok(fl) = fcntl(fd.as_raw_fd(), FcntlArg::F_GETFL) {
        let _ = fcntl(
            fd.as_raw_fd(),
            FcntlArg::F_SETFL(OFlag::from_bits_truncate(fl) | OFlag::O_NONBLOCK),
        );
    }
}

/// A connected `k3 run`/`k3 attach`.
struct Client {
    sock: UnixStream,
    inbuf: Vec<u8>,
    /// Gone (a failed read or write); dropped after the round.
    dead: bool,
}

/// Input for the container not written yet (its stdin is non-blocking: a
/// container that does not read must not stop the monitor reading its output).
const STDIN_BACKLOG: usize = 1 << 20;

/// Copies output to the log and to attached clients, and their input to the
/// container, until the init is reaped; then records its exit and tells the
/// clients. Returns the exit code.
fn supervise(spec: &MonitorSpec, pid: i64, held: Held) -> i64 {
    let Held {
        outputs,
        mut stdin,
        master,
        listener,
    } = held;
    let mut log = OpenOptions::new()
        .create(true)
        .append(true)
        .open(ctr_log(&spec.bundle))
        .ok();
    let mut streams: Vec<(OwnedFd, &str, Vec<u8>)> = outputs
        .into_iter()
        .map(|(fd, name)| (fd, name, Vec::new()))
        .collect();
    let pidfd = pidfd_open(pid);
    let memory_cgroup = crate::oom::memory_cgroup(pid);
    let mut clients: Vec<Client> = Vec::new();
    let mut pending: Vec<u8> = Vec::new();
    let mut stdin_eof = false;
    let mut exit: Option<i64> = None;
    let mut deadline: Option<Instant> = None;
    loop {
        // What to wait for: output, new clients, client input (while the
        // backlog is small), room in the container's stdin, the init's exit.
        let mut fds: Vec<PollFd> = Vec::new();
        for (fd, _, _) in &streams {
            fds.push(PollFd::new(fd.as_fd(), PollFlags::POLLIN));
        }
        let n_streams = fds.len();
        if let Some(l) = &listener {
            fds.push(PollFd::new(l.as_fd(), PollFlags::POLLIN));
        }
        let n_listen = fds.len();
        let read_clients = pending.len() < STDIN_BACKLOG;
        for c in &clients {
            let ev = if read_clients {
                PollFlags::POLLIN
            } else {
                PollFlags::empty()
            };
            fds.push(PollFd::new(c.sock.as_fd(), ev));
        }
        let n_clients = fds.len();
        let want_out = !pending.is_empty() && stdin.is_some();
        if let (true, Some(i)) = (want_out, &stdin) {
            fds.push(PollFd::new(i.as_fd(), PollFlags::POLLOUT));
        }
        let n_stdin = fds.len();
        if let (None, Some(p)) = (exit, &pidfd) {
            fds.push(PollFd::new(p.as_fd(), PollFlags::POLLIN));
        }
        let timeout: u16 = match (deadline, &pidfd) {
            (Some(d), _) => d
                .saturating_duration_since(Instant::now())
                .as_millis()
                .min(500) as u16,
            (None, Some(_)) => 1000,
            (None, None) => 100,
        };
        let _ = poll(&mut fds, PollTimeout::from(timeout));
        let ready: Vec<bool> = fds
            .iter()
            .map(|f| f.revents().is_some_and(|r| !r.is_empty()))
            .collect();
        drop(fds);
        // clients first: one that connected before the output it is owed
        // was read must get it (a foreground `run` connects before the start)
        if n_listen > n_streams && ready[n_streams] {
            if let Some(l) = &listener {
                accept_all(l, &mut clients);
            }
        }
        // output: the log by lines, the clients as it comes
        let mut closed = Vec::new();
        for (i, (fd, name, buf)) in streams.iter_mut().enumerate() {
            if !ready[i] {
                continue;
            }
            let mut chunk = [0u8; 8192];
            match nix::unistd::read(fd.as_raw_fd(), &mut chunk) {
                Err(nix::errno::Errno::EAGAIN) => {}
                Ok(0) | Err(_) => closed.push(i),
                Ok(n) => {
                    let kind = if *name == "stderr" {
                        console::STDERR
                    } else {
                        console::STDOUT
                    };
                    for c in clients.iter_mut().filter(|c| !c.dead) {
                        c.dead = console::write_frame(&mut c.sock, kind, &chunk[..n]).is_err();
                    }
                    buf.extend_from_slice(&chunk[..n]);
                    while let Some(pos) = buf.iter().position(|b| *b == b'\n') {
                        let line: Vec<u8> = buf.drain(..=pos).collect();
                        write_line(&mut log, name, &String::from_utf8_lossy(&line));
                    }
                }
            }
        }
        for i in closed.into_iter().rev() {
            let (_, name, rest) = streams.remove(i);
            if !rest.is_empty() {
                write_line(&mut log, name, &String::from_utf8_lossy(&rest));
            }
        }
        // client input (frames)
        for (k, c) in clients.iter_mut().enumerate() {
            if c.dead || n_listen + k >= n_clients || !ready[n_listen + k] {
                continue;
            }
            let mut chunk = [0u8; 8192];
            match c.sock.read(&mut chunk) {
                Ok(0) | Err(_) => c.dead = true,
                Ok(n) => {
                    c.inbuf.extend_from_slice(&chunk[..n]);
                    for (kind, data) in console::take_frames(&mut c.inbuf) {
                        match kind {
                            console::STDIN if !stdin_eof => pending.extend_from_slice(&data),
                            console::STDIN_EOF if master.is_none() => stdin_eof = true,
                            console::RESIZE if data.len() == 4 => {
                                if let Some(m) = &master {
                                    console::set_window_size(
                                        m.as_raw_fd(),
                                        u16::from_be_bytes([data[0], data[1]]),
                                        u16::from_be_bytes([data[2], data[3]]),
                                    );
                                }
                                // the API's resize answers only once the size is set
                                c.dead |= console::write_frame(&mut c.sock, console::RESIZED, &[])
                                    .is_err();
                            }
                            _ => {}
                        }
                    }
                }
            }
        }
        clients.retain(|c| !c.dead);
        // the container's stdin
        if let Some(i) = &stdin {
            if !pending.is_empty() && (!want_out || ready.get(n_clients).copied().unwrap_or(false))
            {
                match nix::unistd::write(i, &pending) {
                    Ok(n) => {
                        pending.drain(..n);
                    }
                    Err(nix::errno::Errno::EAGAIN) => {}
                    Err(_) => pending.clear(),
                }
            }
        }
        if stdin_eof && pending.is_empty() {
            stdin = None;
        }
        let _ = n_stdin;
        if exit.is_none() {
            exit = reap(pid);
            if exit.is_some() {
                // Output written just before the exit is still in the pipes;
                // a daemonized grandchild may hold them open forever.
                deadline = Some(Instant::now() + Duration::from_millis(500));
            }
        } else {
            let _ = reap(-1);
        }
        if exit.is_some() && (streams.is_empty() || deadline.is_some_and(|d| Instant::now() > d)) {
            break;
        }
    }
    for (_, name, rest) in &mut streams {
        if !rest.is_empty() {
            write_line(&mut log, name, &String::from_utf8_lossy(rest));
        }
    }
    if let Some(l) = &listener {
        accept_all(l, &mut clients);
    }
    drop(listener);
    let _ = fs::remove_file(console::attach_socket(&spec.bundle));
    let code = exit.unwrap_or(255);
    let oom_kills = memory_cgroup
        .as_deref()
        .map_or(0, |d| crate::oom::kills_at_exit(d, code));
    finish(spec, pid, code, oom_kills);
    for c in &mut clients {
        let _ = console::write_frame(
            &mut c.sock,
            console::EXIT,
            &i32::try_from(code).unwrap_or(255).to_be_bytes(),
        );
    }
    code
}

fn accept_all(l: &UnixListener, clients: &mut Vec<Client>) {
    while let Ok((sock, _)) = l.accept() {
        let _ = sock.set_nonblocking(false);
        clients.push(Client {
            sock,
            inbuf: Vec::new(),
            dead: false,
        });
    }
}

/// A descriptor that becomes readable when `pid` exits (`None` before Linux 5.3:
/// the loop then polls).
fn pidfd_open(pid: i64) -> Option<OwnedFd> {
    if pid <= 0 {
        return None;
    }
    let pid = libc::pid_t::try_from(pid).ok()?;
    // SAFETY: plain syscall; the new descriptor is owned below.
    let fd = unsafe { libc::syscall(libc::SYS_pidfd_open, pid, 0u32) };
    if fd < 0 {
        return None;
    }
    let fd = i32::try_from(fd).ok()?;
    // SAFETY: a new descriptor nobody else owns.
    Some(unsafe { OwnedFd::from_raw_fd(fd) })
}

fn write_line(log: &mut Option<File>, stream: &str, text: &str) {
    if let Some(f) = log {
        // `time` in seconds as before; `timeNano` for `logs --since/--timestamps`
        let ns = crate::container::when::now_ns();
        let obj = serde_json::json!({
            "stream": stream,
            "log": text,
            "time": ns.div_euclid(1_000_000_000),
            "timeNano": ns,
        });
        let _ = writeln!(f, "{obj}");
    }
}

/// Reaps children without blocking; the exit code of `pid` if it was reaped
/// (128 + signal for a signal).
fn reap(pid: i64) -> Option<i64> {
    let mut code = None;
    loop {
        match waitpid(Pid::from_raw(-1), Some(WaitPidFlag::WNOHANG)) {
            Ok(WaitStatus::Exited(p, c)) if i64::from(p.as_raw()) == pid => {
                code = Some(i64::from(c))
            }
            Ok(WaitStatus::Signaled(p, s, _)) if i64::from(p.as_raw()) == pid => {
                code = Some(128 + s as i64)
            }
            Ok(WaitStatus::StillAlive) | Err(_) => break,
            Ok(_) => {}
        }
    }
    if code.is_none() && pid > 0 && !Path::new(&format!("/proc/{pid}")).exists() {
        // Not our child (a runtime that does not leave the init to us).
        return Some(255);
    }
    code
}

/// Records the exit (`oom` first when the cgroup counted kills no event
/// stands for yet, then `die`) and deletes the runtime's container.
fn finish(spec: &MonitorSpec, pid: i64, code: i64, oom_kills: u64) {
    let log = runtime_log(&spec.bundle);
    let _ = spec.runtime.delete(&log, &spec.hash, true);
    if let Some(root) = spec.db.parent() {
        crate::network::release_at(&crate::network::Linux, root, &spec.hash);
    }
    if let Ok(mut db) = Db::open(&spec.db) {
        let now = db::now();
        let _ = db.write("record exit", |c| {
            crate::oom::record(c, &spec.id, oom_kills, now)?;
            if container_state::set_stopped(c, &spec.id, pid, code, now)? {
                events::record(
                    c,
                    &spec.id,
                    "die",
                    &serde_json::json!({"exitCode": code}),
                    now,
                )?;
            }
            Ok(())
        });
        let auto_remove = db::containers::get(db.conn(), &spec.id)
            .ok()
            .flatten()
            .is_some_and(|r| r.validated["auto_remove"] == serde_json::json!(true));
        if auto_remove {
            remove_later(spec);
        }
    }
}

/// `run -d --rm`: a `k3 rm` of the container, not waited for (it removes the
/// bundle this monitor is still finishing in).
fn remove_later(spec: &MonitorSpec) {
    let Some(root) = spec.db.parent() else { return };
    let _ = Command::new("/proc/self/exe")
        .arg("--root")
        .arg(root)
        .args(["rm", &spec.id])
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn();
}
