//! `exec`: run another process in a running container — from `--process FILE` or
//! from the container's own process with the command line's overrides — joining its
//! namespaces, cgroup, seccomp, capabilities and user. Foreground waits and returns
//! the exit code; `--detach` returns once the exec happened.

use nix::sys::signal::{kill, Signal};
use nix::unistd::Pid;
use std::path::PathBuf;

use oci_spec::runtime::{Capability, LinuxCapabilities, Process, Spec};

use crate::caps::CapSets;
use crate::container::create::write_pid_file;
use crate::container::GlobalFlags;
use crate::error::{ProcessError, Protocol, StateError};
use crate::process::channel::{self, Msg};
use crate::process::exec::Dmz;
use crate::process::join::{self, JoinConfig};
use crate::process::reaper::{block_signals, wait_child};
use crate::process::spawn::reap;
use crate::process::tty;
use crate::{seccomp, Error, Result};
use k3_cgroups::{self as cgroups, Placement};
use k3_oci::spec;

/// `exec` flags.
#[derive(Debug, Clone, Default)]
pub struct ExecOpts {
    /// The container id.
    pub id: String,
    /// `--process`: a process.json to run instead of the arguments.
    pub process_file: Option<PathBuf>,
    /// The command and its arguments.
    pub args: Vec<String>,
    /// `--tty`: allocate a pty.
    pub tty: bool,
    /// `--console-socket`: where to send the pty master.
    pub console_socket: Option<PathBuf>,
    /// `--cwd`: the working directory (default: the container's).
    pub cwd: Option<PathBuf>,
    /// `--env`: `KEY=VALUE` added to the container's environment.
    pub env: Vec<String>,
    /// `UID[:GID]`
    pub user: Option<String>,
    /// `--additional-gids`.
    pub additional_gids: Vec<u32>,
    /// `--cap`: capabilities added to the container's.
    pub caps: Vec<String>,
    /// `--no-new-privs`.
    pub no_new_privs: bool,
    /// `--apparmor`: the AppArmor profile.
    pub apparmor: Option<String>,
    /// `--process-label`: the SELinux label.
    pub process_label: Option<String>,
    /// `--detach`: return once the process runs.
    pub detach: bool,
    /// `--pid-file`: where to write the process's pid.
    pub pid_file: Option<PathBuf>,
    /// `--preserve-fds`: descriptors past stdio passed to the process.
    pub preserve_fds: i32,
}

/// `k3rt exec`; returns the process's exit code (0 when detached).
pub fn exec(ctx: &GlobalFlags, opts: &ExecOpts) -> Result<i32> {
    super::validate_preserve_fds(opts.preserve_fds)?;
    let dir = ctx.container(&opts.id)?;
    let st = dir.load()?;
    let status = dir.status(&st);
    if !status.can_exec() {
        return Err(StateError::NotRunning {
            id: opts.id.clone(),
            status,
        }
        .into());
    }
    let raw = std::fs::read(dir.config()).map_err(|e| Error::io("read config", dir.config(), e))?;
    let spec = spec::parse(&raw).map_err(|source| spec::SpecError::Parse {
        path: dir.config(),
        source,
    })?;
    let process = build_process(&spec, opts)?;
    if process.terminal() == Some(true) && opts.console_socket.is_none() {
        return Err(Error::invalid(
            "--tty",
            "true",
            "needs --console-socket to hand over the terminal",
        ));
    }
    let caps = CapSets::from_spec(process.capabilities().as_ref(), &ctx.log);
    let seccomp = match spec.linux().as_ref().and_then(|l| l.seccomp().as_ref()) {
        Some(s) => Some(seccomp::Filter::prepare(s, &ctx.log)?),
        None => None,
    };
    let console = opts
        .console_socket
        .as_deref()
        .map(tty::connect)
        .transpose()?;
    let sigs = if opts.detach {
        None
    } else {
        Some(block_signals()?)
    };
    // the process is our grandchild: have it re-parented to us when the intermediate exits
    let _ = nix::sys::prctl::set_child_subreaper(true);
    let cg = cgroups::from_paths(&cgroups::detect()?, &st.cgroup_paths);
    let userns = join::namespaces_of(st.pid)
        .iter()
        .any(|(t, _)| *t == oci_spec::runtime::LinuxNamespaceType::User);
    let placement = if cg.v2 || userns {
        Placement::ByParent
    } else {
        Placement::SelfMove(cg.open_tasks()?)
    };
    let by_parent = matches!(placement, Placement::ByParent);
    if let Some(r) = process.rlimits().as_deref() {
        crate::rlimits::trace(r, &ctx.log);
        crate::rlimits::raise_hard(r)?;
    }
    let (parent_end, child_end) = channel::pair()?;
    let mid = join::spawn(JoinConfig {
        process: &process,
        namespaces: join::namespaces_of(st.pid),
        chroot: st.host_mounts.then(|| st.rootfs.clone()),
        caps,
        seccomp,
        console,
        preserve_fds: opts.preserve_fds,
        chan: &child_end,
        dmz: Dmz::new()?,
        old_sigmask: sigs.map(|(_, old)| old),
        log: &ctx.log,
        placement,
    })?;
    drop(child_end);
    let cgroup_paths = if by_parent {
        st.cgroup_paths.clone()
    } else {
        Vec::new()
    };
    let pid = match place_and_start(&cgroup_paths, mid, &parent_end) {
        Ok(pid) => pid,
        Err(e) => {
            let _ = kill(Pid::from_raw(mid), Signal::SIGKILL);
            reap(mid);
            return Err(e);
        }
    };
    reap(mid);
    wait_exec(&parent_end, pid)?;
    if let Some(p) = &opts.pid_file {
        write_pid_file(p, pid)?;
    }
    match sigs {
        None => Ok(0),
        Some((set, _)) => Ok(wait_child(pid, &set)),
    }
}

/// Puts the intermediate into the container's cgroups, lets it join, returns the process's pid.
fn place_and_start(cgroups: &[PathBuf], mid: i32, chan: &channel::Channel) -> Result<i32> {
    for dir in cgroups {
        let f = dir.join("cgroup.procs");
        std::fs::write(&f, mid.to_string()).map_err(|e| Error::io("join cgroup", f.clone(), e))?;
    }
    chan.send(&Msg::Go)?;
    match chan.recv()? {
        Some(Msg::Pid(p)) => Ok(p),
        Some(Msg::Error(e)) => Err(ProcessError::Reported(e).into()),
        other => Err(Protocol::ExecNoPid(format!("{other:?}")).into()),
    }
}

/// Waits for `Ready`, then for the channel to close at the exec (or an error).
fn wait_exec(chan: &channel::Channel, pid: i32) -> Result<()> {
    loop {
        match chan.recv()? {
            Some(Msg::Ready) => continue,
            Some(Msg::Error(e)) => {
                reap(pid);
                return Err(ProcessError::Reported(e).into());
            }
            Some(other) => return Err(Protocol::ExecUnexpected(format!("{other:?}")).into()),
            None => return Ok(()),
        }
    }
}

/// The process to run: `--process FILE`, or the container's with the flags applied.
pub fn build_process(spec: &Spec, opts: &ExecOpts) -> Result<Process> {
    if let Some(f) = &opts.process_file {
        let raw = std::fs::read(f).map_err(|e| Error::io("read process file", f.clone(), e))?;
        let p: Process = spec::parse_object(&raw)
            .map_err(|e| Error::invalid("--process", f.display(), e.to_string()))?;
        if p.args().as_ref().is_none_or(|a| a.is_empty()) {
            return Err(Error::invalid(
                "--process",
                f.display(),
                "args must name the program to run",
            ));
        }
        return Ok(p);
    }
    if opts.args.is_empty() {
        return Err(Error::invalid(
            "exec",
            "",
            "a command to run is required (or --process FILE)",
        ));
    }
    let mut p = spec.process().clone().unwrap_or_default();
    p.set_args(Some(opts.args.clone()));
    p.set_terminal(Some(opts.tty));
    if let Some(c) = &opts.cwd {
        p.set_cwd(c.clone());
    }
    let mut env = p.env().clone().unwrap_or_default();
    for kv in &opts.env {
        let key = kv.split('=').next().unwrap_or_default();
        if key.is_empty() || !kv.contains('=') {
            return Err(Error::invalid("--env", kv, "must be KEY=VALUE"));
        }
        env.retain(|e| e.split('=').next() != Some(key));
        env.push(kv.clone());
    }
    p.set_env(Some(env));
    if let Some(u) = &opts.user {
        let (uid, gid) = parse_user(u)?;
        let mut user = p.user().clone();
        user.set_uid(uid);
        user.set_gid(gid.unwrap_or(user.gid()));
        p.set_user(user);
    }
    if !opts.additional_gids.is_empty() {
        let mut user = p.user().clone();
        user.set_additional_gids(Some(opts.additional_gids.clone()));
        p.set_user(user);
    }
    add_caps(&mut p, &opts.caps)?;
    if opts.no_new_privs {
        p.set_no_new_privileges(Some(true));
    }
    if let Some(a) = &opts.apparmor {
        p.set_apparmor_profile(Some(a.clone()));
    }
    if let Some(l) = &opts.process_label {
        p.set_selinux_label(Some(l.clone()));
    }
    Ok(p)
}

fn parse_user(u: &str) -> Result<(u32, Option<u32>)> {
    let bad = || Error::invalid("--user", u, "must be UID or UID:GID (numbers)");
    let (a, b) = match u.split_once(':') {
        Some((a, b)) => (a, Some(b)),
        None => (u, None),
    };
    let uid = a.parse().map_err(|_| bad())?;
    let gid = b.map(|g| g.parse().map_err(|_| bad())).transpose()?;
    Ok((uid, gid))
}

fn add_caps(p: &mut Process, names: &[String]) -> Result<()> {
    if names.is_empty() {
        return Ok(());
    }
    // absent means none (as runc): oci-spec's Default would bring its three default caps
    let mut caps = p.capabilities().clone().unwrap_or_else(|| {
        let mut none = LinuxCapabilities::default();
        none.set_bounding(None);
        none.set_effective(None);
        none.set_inheritable(None);
        none.set_permitted(None);
        none.set_ambient(None);
        none
    });
    for n in names {
        let c: Capability = serde_json::from_value(serde_json::Value::String(n.clone()))
            .map_err(|_| Error::invalid("--cap", n, "not a capability"))?;
        let add = |s: &Option<std::collections::HashSet<Capability>>| {
            let mut s = s.clone().unwrap_or_default();
            s.insert(c);
            Some(s)
        };
        let (b, e, pm) = (
            add(caps.bounding()),
            add(caps.effective()),
            add(caps.permitted()),
        );
        caps.set_bounding(b);
        caps.set_effective(e);
        caps.set_permitted(pm);
    }
    p.set_capabilities(Some(caps));
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn spec() -> Spec {
        serde_json::from_str(
            r#"{"ociVersion":"1.2.0","process":{"cwd":"/","user":{"uid":0,"gid":0},"args":["sh"],
              "env":["PATH=/bin","A=1"],"capabilities":{"bounding":["CAP_KILL"],"effective":["CAP_KILL"],"permitted":["CAP_KILL"]}}}"#,
        )
        .unwrap()
    }

    #[test]
    fn flags_override_the_container_process() {
        let opts = ExecOpts {
            args: vec!["ls".into(), "-l".into()],
            env: vec!["A=2".into(), "B=3".into()],
            user: Some("1000:1001".into()),
            cwd: Some("/tmp".into()),
            caps: vec!["CAP_NET_ADMIN".into()],
            ..Default::default()
        };
        let p = build_process(&spec(), &opts).unwrap();
        assert_eq!(p.args().as_deref().unwrap(), ["ls", "-l"]);
        assert_eq!(p.env().as_deref().unwrap(), ["PATH=/bin", "A=2", "B=3"]);
        assert_eq!((p.user().uid(), p.user().gid()), (1000, 1001));
        assert_eq!(p.cwd(), std::path::Path::new("/tmp"));
        assert!(p
            .capabilities()
            .as_ref()
            .unwrap()
            .effective()
            .as_ref()
            .unwrap()
            .contains(&Capability::NetAdmin));
    }

    #[test]
    fn bad_flags_are_named() {
        for (opts, field) in [
            (
                ExecOpts {
                    args: vec!["x".into()],
                    user: Some("bob".into()),
                    ..Default::default()
                },
                "--user",
            ),
            (
                ExecOpts {
                    args: vec!["x".into()],
                    env: vec!["NOEQ".into()],
                    ..Default::default()
                },
                "--env",
            ),
            (
                ExecOpts {
                    args: vec!["x".into()],
                    caps: vec!["CAP_TEST".into()],
                    ..Default::default()
                },
                "--cap",
            ),
            (ExecOpts::default(), "exec"),
        ] {
            let e = build_process(&spec(), &opts).unwrap_err().to_string();
            assert!(e.contains(field), "{field}: {e}");
        }
    }
}
