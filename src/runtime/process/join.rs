//! A new process in a running container (`exec`): an intermediate joins the
//! container's namespaces (already in its cgroup), forks the process itself — inside
//! the container's pid namespace — and reports its pid; the process then takes the
//! terminal, limits, labels, seccomp and user of `process` and execs via the dmz.

use std::os::fd::OwnedFd;
use std::path::PathBuf;

use oci_spec::runtime::{LinuxNamespaceType, Process};

use crate::caps::CapSets;
use crate::error::{NamespaceError, Protocol};
use crate::namespaces::{self, proc_name};
use crate::process::channel::{Channel, Msg};
use crate::process::exec::{Dmz, Program};
use crate::process::spawn::{clone_raw, exit_now};
use crate::process::{finish, tty};
use crate::trace::Log;
use crate::{rlimits, seccomp, Error, Result};
use k3_sys::linux::LinuxSys;

/// The order namespaces are joined in: user first (it grants the rights for the
/// rest), mount last among those that change paths.
const ORDER: [LinuxNamespaceType; 8] = [
    LinuxNamespaceType::User,
    LinuxNamespaceType::Ipc,
    LinuxNamespaceType::Uts,
    LinuxNamespaceType::Network,
    LinuxNamespaceType::Pid,
    LinuxNamespaceType::Time,
    LinuxNamespaceType::Cgroup,
    LinuxNamespaceType::Mount,
];

/// The namespaces of `pid` that differ from ours.
pub fn namespaces_of(pid: i32) -> Vec<(LinuxNamespaceType, PathBuf)> {
    ORDER
        .iter()
        .filter_map(|t| {
            let theirs = PathBuf::from(format!("/proc/{pid}/ns/{}", proc_name(*t)));
            let mine = std::fs::read_link(format!("/proc/self/ns/{}", proc_name(*t))).ok()?;
            (std::fs::read_link(&theirs).ok()? != mine).then_some((*t, theirs))
        })
        .collect()
}

/// Everything the joining process needs, prepared before the fork.
pub struct JoinConfig<'a> {
    /// The process to run (`process.json` or the flags).
    pub process: &'a Process,
    /// The container's namespaces to join, user first.
    pub namespaces: Vec<(LinuxNamespaceType, PathBuf)>,
    /// The container has no mount namespace: chroot into its rootfs instead.
    pub chroot: Option<PathBuf>,
    /// The capability sets to end with.
    pub caps: CapSets,
    /// The seccomp filter to load.
    pub seccomp: Option<seccomp::Filter>,
    /// The console socket, for a tty.
    pub console: Option<OwnedFd>,
    /// `--preserve-fds`.
    pub preserve_fds: i32,
    /// The process's end of the channel to k3rt.
    pub chan: &'a Channel,
    /// The sealed program exec'd last (CVE-2019-5736).
    pub dmz: Dmz,
    /// The signal mask to restore.
    pub old_sigmask: Option<libc::sigset_t>,
    /// Where errors go once k3rt no longer listens.
    pub log: &'a Log,
    /// How the process gets into the container's cgroup (it may move itself).
    pub placement: k3_cgroups::Placement,
}

impl std::fmt::Debug for JoinConfig<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("JoinConfig")
            .field("namespaces", &self.namespaces)
            .field("chroot", &self.chroot)
            .field("caps", &self.caps)
            .field("preserve_fds", &self.preserve_fds)
            .field("placement", &self.placement)
            .finish_non_exhaustive()
    }
}

/// Forks the intermediate; returns its pid. The process's pid arrives as `Msg::Pid`.
pub fn spawn(cfg: JoinConfig<'_>) -> Result<i32> {
    let mid = clone_raw(0)?;
    if mid == 0 {
        let code = match intermediate(&cfg) {
            Ok(()) => 0,
            Err(e) => {
                let _ = cfg.chan.send(&Msg::Error(e.to_string()));
                1
            }
        };
        exit_now(code);
    }
    Ok(mid)
}

fn intermediate(cfg: &JoinConfig<'_>) -> Result<()> {
    match cfg.chan.recv()? {
        Some(Msg::Go) => {}
        _ => return Err(Protocol::GoneBeforeJoin.into()),
    }
    cfg.placement.move_self(false)?;
    cfg.placement.move_self(true)?;
    // open every namespace first: after the mount namespace, /proc is the container's
    let files: Vec<(LinuxNamespaceType, std::fs::File)> = cfg
        .namespaces
        .iter()
        .map(|(t, p)| {
            std::fs::File::open(p)
                .map(|f| (*t, f))
                .map_err(|e| Error::io("open namespace", p.clone(), e))
        })
        .collect::<Result<_>>()?;
    for (t, f) in &files {
        let flag = nix::sched::CloneFlags::from_bits_retain(namespaces::flag(*t));
        if let Err(e) = nix::sched::setns(f, flag) {
            return Err(NamespaceError::JoinContainer {
                ns: namespaces::trace_name(*t),
                source: e.into(),
            }
            .into());
        }
    }
    drop(files);
    let pid = clone_raw(0)?;
    if pid == 0 {
        let code = match process(cfg) {
            Ok(never) => match never {},
            Err(e) => {
                let _ = cfg.chan.send(&Msg::Error(e.to_string()));
                1
            }
        };
        exit_now(code);
    }
    cfg.chan.send(&Msg::Pid(pid))
}

/// The process inside the container, up to the exec.
fn process(cfg: &JoinConfig<'_>) -> Result<std::convert::Infallible> {
    // no container process may ptrace or open /proc/PID/exe of us before the exec
    let _ = nix::sys::prctl::set_dumpable(false);
    if let Some(mask) = cfg.old_sigmask {
        // SAFETY: restoring a mask we saved.
        unsafe { libc::sigprocmask(libc::SIG_SETMASK, &mask, std::ptr::null_mut()) };
    }
    crate::process::init::mark_fds_cloexec(cfg.preserve_fds)?;
    if let Some(root) = &cfg.chroot {
        crate::process::init::chroot_into(root)?;
    }
    let p = cfg.process;
    if p.terminal() == Some(true) {
        let _ = nix::unistd::setsid();
        if let Some(sock) = &cfg.console {
            let size = p
                .console_size()
                .map(|b| (tty::dimension(b.height()), tty::dimension(b.width())));
            tty::setup(&LinuxSys, sock, size, false)?;
        }
    }
    if let Some(adj) = p.oom_score_adj() {
        std::fs::write("/proc/self/oom_score_adj", adj.to_string())
            .map_err(|e| Error::io("write oom_score_adj", "/proc/self/oom_score_adj", e))?;
    }
    let prog = Program::for_process(p)?;
    apply_labels(p)?;
    finish::set_no_new_privs(p)?;
    let nnp = finish::no_new_privs(p);
    finish::enter_cwd(p.cwd())?;
    // late, as in the init: the process's limits bind it, not k3rt's own work
    if let Some(r) = p.rlimits().as_deref() {
        rlimits::apply(r)?;
    }
    if !nnp {
        load_seccomp(cfg)?;
    }
    let in_userns = cfg
        .namespaces
        .iter()
        .any(|(t, _)| *t == LinuxNamespaceType::User);
    finish::switch_user(p, &cfg.caps, in_userns, &LinuxSys)?;
    cfg.chan.send(&Msg::Ready)?;
    if nnp {
        load_seccomp(cfg)?;
    }
    Err(cfg.dmz.exec(&prog))
}

fn apply_labels(p: &Process) -> Result<()> {
    if let Some(profile) = p.apparmor_profile().as_deref().filter(|s| !s.is_empty()) {
        let path = "/proc/self/attr/apparmor/exec";
        std::fs::write(path, format!("exec {profile}"))
            .map_err(|e| Error::io("set AppArmor profile", path, e))?;
    }
    let label = p.selinux_label().as_deref().filter(|s| !s.is_empty());
    if let Some(label) = label.filter(|_| crate::security::selinux_enabled()) {
        let path = "/proc/self/attr/exec";
        std::fs::write(path, label).map_err(|e| Error::io("set SELinux label", path, e))?;
    }
    Ok(())
}

fn load_seccomp(cfg: &JoinConfig<'_>) -> Result<()> {
    let Some(filter) = &cfg.seccomp else {
        return Ok(());
    };
    let pid = finish::host_pid();
    filter.load(serde_json::json!({"pid": pid, "status": "running"}), pid)
}
