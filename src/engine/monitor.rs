//! The per-container monitor (`k3 __monitor`), k3's conmon: it detaches
//! (fork + `setsid`), becomes a child subreaper, runs the runtime's `create`
//! with the container's stdout/stderr on pipes it holds, reports the result
//! (`{"pid":N}` or `{"error":...}`, one JSON line on its stdout) to the `k3`
//! that started it, then writes the container's output to `ctr.log` (JSON
//! lines `{"stream","log","time"}`), reaps the init when it exits, records the
//! exit code (STOPPED) in SQLite and deletes the runtime's container.
//!
//! [`spawn`] is the caller's side.

use std::fs::{self, File, OpenOptions};
use std::io::{BufRead, BufReader, Read, Write};
use std::os::fd::{AsFd, AsRawFd, OwnedFd};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use nix::poll::{poll, PollFd, PollFlags, PollTimeout};
use nix::sys::wait::{waitpid, WaitPidFlag, WaitStatus};
use nix::unistd::{fork, pipe2, setsid, ForkResult, Pid};
use serde::{Deserialize, Serialize};

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

/// close_range(3, ~0): nothing of this process owns a descriptor yet.
fn close_inherited() {
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
    match create(spec) {
        Ok((pid, out, err)) => {
            quiet_stdout();
            supervise(spec, pid, out, err);
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

/// Runs the runtime's `create`; reports and returns the init pid and the
/// read ends of its stdout/stderr.
fn create(spec: &MonitorSpec) -> Result<(i64, OwnedFd, OwnedFd), Report> {
    let fail = |e: String| Report {
        error: Some(e),
        trace: debug_trace(&runtime_log(&spec.bundle)),
        ..Default::default()
    };
    let (out_r, out_w) = pipe2(nix::fcntl::OFlag::O_CLOEXEC).map_err(|e| fail(e.to_string()))?;
    let (err_r, err_w) = pipe2(nix::fcntl::OFlag::O_CLOEXEC).map_err(|e| fail(e.to_string()))?;
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
    cmd.arg("--bundle")
        .arg(&spec.bundle)
        .arg("--pid-file")
        .arg(&pidf)
        .arg(&spec.hash)
        .stdin(Stdio::null())
        .stdout(Stdio::from(out_w))
        .stderr(Stdio::from(err_w));
    let status = cmd
        .status()
        .map_err(|e| fail(format!("cannot run runtime: {e}")))?;
    drop(cmd);
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
        monitor_pid: std::process::id() as i64,
        ..Default::default()
    });
    Ok((pid, out_r, err_r))
}

/// Copies output to the log until the init is reaped, then records its exit.
fn supervise(spec: &MonitorSpec, pid: i64, out: OwnedFd, err: OwnedFd) {
    let mut log = OpenOptions::new()
        .create(true)
        .append(true)
        .open(ctr_log(&spec.bundle))
        .ok();
    let mut streams: Vec<(OwnedFd, &str, Vec<u8>)> =
        vec![(out, "stdout", Vec::new()), (err, "stderr", Vec::new())];
    let mut exit: Option<i64> = None;
    let mut deadline: Option<Instant> = None;
    loop {
        let open = pump(&mut streams, &mut log);
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
        if exit.is_some() && (!open || deadline.is_some_and(|d| Instant::now() > d)) {
            break;
        }
    }
    for (_, name, rest) in &mut streams {
        if !rest.is_empty() {
            write_line(&mut log, name, &String::from_utf8_lossy(rest));
        }
    }
    finish(spec, pid, exit.unwrap_or(255));
}

/// Polls the pipes once (200 ms); returns whether any is still open.
fn pump(streams: &mut Vec<(OwnedFd, &str, Vec<u8>)>, log: &mut Option<File>) -> bool {
    if streams.is_empty() {
        std::thread::sleep(Duration::from_millis(100));
        return false;
    }
    let ready: Vec<bool> = {
        let mut fds: Vec<PollFd> = streams
            .iter()
            .map(|(fd, _, _)| PollFd::new(fd.as_fd(), PollFlags::POLLIN))
            .collect();
        let _ = poll(&mut fds, PollTimeout::from(200u16));
        fds.iter()
            .map(|f| f.revents().is_some_and(|r| !r.is_empty()))
            .collect()
    };
    let mut closed = Vec::new();
    for (i, (fd, name, buf)) in streams.iter_mut().enumerate() {
        if !ready[i] {
            continue;
        }
        let mut chunk = [0u8; 8192];
        match nix::unistd::read(fd.as_raw_fd(), &mut chunk) {
            Ok(0) | Err(_) => closed.push(i),
            Ok(n) => {
                buf.extend_from_slice(&chunk[..n]);
                while let Some(pos) = buf.iter().position(|b| *b == b'\n') {
                    let line: Vec<u8> = buf.drain(..=pos).collect();
                    write_line(log, name, &String::from_utf8_lossy(&line));
                }
            }
        }
    }
    for i in closed.into_iter().rev() {
        let (_, name, rest) = streams.remove(i);
        if !rest.is_empty() {
            write_line(log, name, &String::from_utf8_lossy(&rest));
        }
    }
    !streams.is_empty()
}

fn write_line(log: &mut Option<File>, stream: &str, text: &str) {
    if let Some(f) = log {
        let obj = serde_json::json!({"stream": stream, "log": text, "time": db::now()});
        let _ = writeln!(f, "{obj}");
    }
}

/// Reaps children without blocking; the exit code of `pid` if it was reaped
/// (128 + signal for a signal).
fn reap(pid: i64) -> Option<i64> {
    let mut code = None;
    loop {
        match waitpid(Pid::from_raw(-1), Some(WaitPidFlag::WNOHANG)) {
            Ok(WaitStatus::Exited(p, c)) if i64::from(p.as_raw()) == pid => code = Some(c as i64),
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

fn finish(spec: &MonitorSpec, pid: i64, code: i64) {
    let log = runtime_log(&spec.bundle);
    let _ = spec.runtime.delete(&log, &spec.hash, true);
    if let Some(root) = spec.db.parent() {
        crate::network::release_at(&crate::network::Linux, root, &spec.hash);
    }
    if let Ok(mut db) = Db::open(&spec.db) {
        let now = db::now();
        let _ = db.write("record exit", |c| {
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
    }
}
