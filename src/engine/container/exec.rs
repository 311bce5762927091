//! `exec`: a new process in a running container. Through the runtime's own
//! `exec` (`RUNTIME exec [--tty] [--env K=V] [--cwd D] ID ARGS...`, as runc
//! and crun have) when it has one; otherwise k3 enters the container itself,
//! nsenter-style: it joins the init's cgroups, then `setns` into its user?,
//! ipc, uts, net, pid, cgroup and mount namespaces, forks (so the pid
//! namespace applies), takes the container's uid/gid, capabilities, env and
//! cwd, and execs. The exit code is the process' own.

use std::ffi::CString;
use std::fs::{self, File};
use std::os::fd::AsFd;
use std::process::{Command, Stdio};

use nix::sched::{setns, CloneFlags};
use nix::sys::wait::{waitpid, WaitStatus};
use nix::unistd::{fork, ForkResult, Pid};

use crate::engine::container::stats::cgroup_dir;
use crate::engine::container::{load, ContainerError, Loaded};
use crate::engine::ctx::Ctx;
use crate::engine::db::container_state::Status;

/// What to run.
#[derive(Debug, Clone, Default)]
pub struct ExecSpec {
    pub args: Vec<String>,
    pub env: Vec<String>,
    pub cwd: Option<String>,
    pub tty: bool,
    /// Use k3's own setns path even if the runtime has `exec`.
    pub force_setns: bool,
}

/// Runs `spec` in `id`; returns the exit code.
pub fn exec(ctx: &mut Ctx, id: &str, spec: &ExecSpec) -> Result<i32, ContainerError> {
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
    if !spec.force_setns && rt.has_exec() {
        return runtime_exec(&l, &rt, spec);
    }
    setns_exec(&l, pid, spec)
}

fn runtime_exec(
    l: &Loaded,
    rt: &crate::engine::oci_runtime::OciRuntime,
    spec: &ExecSpec,
) -> Result<i32, ContainerError> {
    let mut c: Command = rt.command(&l.runtime_log(), false, "exec");
    if spec.tty {
        c.arg("--tty");
    }
    for e in &spec.env {
        c.arg("--env").arg(e);
    }
    if let Some(d) = &spec.cwd {
        c.arg("--cwd").arg(d);
    }
    c.arg(&l.record.hash).args(&spec.args);
    let status = c
        .stdin(Stdio::inherit())
        .status()
        .map_err(|e| ContainerError::Exec {
            id: l.record.id.clone(),
            msg: e.to_string(),
        })?;
    Ok(status.code().unwrap_or(128 + status_signal(&status)))
}

fn status_signal(s: &std::process::ExitStatus) -> i32 {
    use std::os::unix::process::ExitStatusExt;
    s.signal().unwrap_or(127)
}

const NAMESPACES: &[(&str, CloneFlags)] = &[
    ("ipc", CloneFlags::CLONE_NEWIPC),
    ("uts", CloneFlags::CLONE_NEWUTS),
    ("net", CloneFlags::CLONE_NEWNET),
    ("pid", CloneFlags::CLONE_NEWPID),
    ("cgroup", CloneFlags::CLONE_NEWCGROUP),
    ("mnt", CloneFlags::CLONE_NEWNS),
];

/// What the exec'd process becomes, from the container's config.
struct Target {
    argv: Vec<CString>,
    env: Vec<CString>,
    cwd: String,
    uid: u32,
    gid: u32,
    caps: Vec<String>,
}

fn target(l: &Loaded, spec: &ExecSpec) -> Result<Target, String> {
    let p = &l.record.config["process"];
    let cstr = |s: &str| CString::new(s).map_err(|e| e.to_string());
    let mut env: Vec<String> = p["env"]
        .as_array()
        .map(|a| {
            a.iter()
                .filter_map(|s| s.as_str().map(str::to_string))
                .collect()
        })
        .unwrap_or_default();
    for e in &spec.env {
        let key = e.split('=').next().unwrap_or("");
        env.retain(|x| x.split('=').next() != Some(key));
        env.push(e.clone());
    }
    Ok(Target {
        argv: spec
            .args
            .iter()
            .map(|a| cstr(a))
            .collect::<Result<_, _>>()?,
        env: env.iter().map(|a| cstr(a)).collect::<Result<_, _>>()?,
        cwd: spec
            .cwd
            .clone()
            .or_else(|| p["cwd"].as_str().map(str::to_string))
            .unwrap_or_else(|| "/".into()),
        uid: p["user"]["uid"].as_u64().unwrap_or(0) as u32,
        gid: p["user"]["gid"].as_u64().unwrap_or(0) as u32,
        caps: p["capabilities"]["bounding"]
            .as_array()
            .map(|a| {
                a.iter()
                    .filter_map(|s| s.as_str().map(str::to_string))
                    .collect()
            })
            .unwrap_or_default(),
    })
}

fn setns_exec(l: &Loaded, pid: i64, spec: &ExecSpec) -> Result<i32, ContainerError> {
    let fail = |msg: String| ContainerError::Exec {
        id: l.record.id.clone(),
        msg,
    };
    if spec.args.is_empty() {
        return Err(fail("no command given".into()));
    }
    let t = target(l, spec).map_err(fail)?;
    let mut ns = Vec::new();
    for (name, flag) in NAMESPACES {
        let path = format!("/proc/{pid}/ns/{name}");
        let own = fs::read_link(format!("/proc/self/ns/{name}")).ok();
        let theirs = fs::read_link(&path).ok();
        if theirs.is_some() && own != theirs {
            ns.push((
                File::open(&path).map_err(|e| fail(format!("open `{path}`: {e}")))?,
                *flag,
            ));
        }
    }
    // SAFETY: k3 is single-threaded here; the child only calls
    // async-signal-safe functions and exec (or exits).
    match unsafe { fork() }.map_err(|e| fail(format!("fork: {e}")))? {
        ForkResult::Child => {
            let code = enter(pid, &ns, &t);
            // SAFETY: leaving the forked child without running destructors.
            unsafe { libc::_exit(code) }
        }
        ForkResult::Parent { child } => Ok(wait_code(child)),
    }
}

fn wait_code(child: Pid) -> i32 {
    loop {
        match waitpid(child, None) {
            Ok(WaitStatus::Exited(_, c)) => return c,
            Ok(WaitStatus::Signaled(_, s, _)) => return 128 + s as i32,
            Ok(_) => continue,
            Err(nix::errno::Errno::EINTR) => continue,
            Err(_) => return 255,
        }
    }
}

/// In the forked child: cgroups, namespaces, fork again, become the target.
fn enter(pid: i64, ns: &[(File, CloneFlags)], t: &Target) -> i32 {
    for ctrl in [
        "memory", "cpu", "cpuacct", "pids", "cpuset", "devices", "blkio", "freezer", "",
    ] {
        if let Some(d) = cgroup_dir(pid, ctrl) {
            let _ = fs::write(d.join("cgroup.procs"), std::process::id().to_string());
        }
    }
    for (f, flag) in ns {
        if let Err(e) = setns(f.as_fd(), *flag) {
            eprintln!("k3: exec: setns {flag:?}: {e}");
            return 126;
        }
    }
    // SAFETY: as above; the grandchild is in the container's pid namespace.
    match unsafe { fork() } {
        Ok(ForkResult::Child) => become_target(t),
        Ok(ForkResult::Parent { child }) => wait_code(child),
        Err(_) => 126,
    }
}

fn become_target(t: &Target) -> i32 {
    if let Err(e) = nix::unistd::chdir(t.cwd.as_str()) {
        eprintln!("k3: exec: chdir `{}`: {e}", t.cwd);
        return 126;
    }
    drop_caps(&t.caps);
    let _ = nix::unistd::setgroups(&[nix::unistd::Gid::from_raw(t.gid)]);
    if nix::unistd::setgid(nix::unistd::Gid::from_raw(t.gid)).is_err()
        || nix::unistd::setuid(nix::unistd::Uid::from_raw(t.uid)).is_err()
    {
        eprintln!("k3: exec: cannot become `{}:{}`", t.uid, t.gid);
        return 126;
    }
    let path = t.env.iter().find_map(|e| {
        e.to_str()
            .ok()
            .and_then(|s| s.strip_prefix("PATH="))
            .map(str::to_string)
    });
    let err = exec_path(&t.argv, &t.env, path.as_deref());
    eprintln!("k3: exec `{}`: {err}", t.argv[0].to_string_lossy());
    if err == nix::errno::Errno::ENOENT {
        127
    } else {
        126
    }
}

fn exec_path(argv: &[CString], env: &[CString], path: Option<&str>) -> nix::errno::Errno {
    let name = argv[0].to_string_lossy().to_string();
    if name.contains('/') {
        return nix::unistd::execve(&argv[0], argv, env).unwrap_err();
    }
    let mut last = nix::errno::Errno::ENOENT;
    for dir in path
        .unwrap_or(crate::engine::bundle::DEFAULT_PATH)
        .split(':')
    {
        if let Ok(full) = CString::new(format!("{dir}/{name}")) {
            last = nix::unistd::execve(&full, argv, env).unwrap_err();
        }
    }
    last
}

fn drop_caps(keep: &[String]) {
    use caps::{CapSet, Capability};
    let set: caps::CapsHashSet = keep
        .iter()
        .filter_map(|c| c.parse::<Capability>().ok())
        .collect();
    for c in caps::all() {
        if !set.contains(&c) {
            let _ = caps::drop(None, CapSet::Bounding, c);
        }
    }
    let _ = caps::set(None, CapSet::Inheritable, &set);
    let _ = caps::set(None, CapSet::Effective, &set);
    let _ = caps::set(None, CapSet::Permitted, &set);
    // Keep them across setuid to a non-root user.
    // SAFETY: plain prctl.
    unsafe { libc::prctl(libc::PR_SET_KEEPCAPS, 1, 0, 0, 0) };
}
