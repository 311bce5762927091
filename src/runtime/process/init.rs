//! The container init: runs in the new namespaces from the clone until the exec of
//! `process.args`. Errors before `Ready` go back to k3rt over the channel (create
//! fails cleanly); after it there is nobody to tell but stderr.

use std::ffi::CString;
use std::os::fd::{AsRawFd, OwnedFd};
use std::path::Path;

use oci_spec::runtime::{LinuxNamespaceType, Spec};

use crate::caps::CapSets;
use crate::error::{Call, NamespaceError, ProcessError, Protocol, RootfsError};
use crate::namespaces::{self, NsPlan};
use crate::process::channel::{Channel, Msg};
use crate::process::{exec, finish, tty};
use crate::rootfs::{self, Plan};
use crate::{hooks, rlimits, seccomp, security, Error, Result};
use k3_oci::state::OciState;
use k3_sys::linux::LinuxSys;
use k3_sys::{Creds, Sys};
use nix::fcntl::{fcntl, FcntlArg, FdFlag};

/// How the init learns that it may exec.
#[derive(Debug)]
pub enum StartSignal {
    /// `create`/`start`: block opening the exec fifo (an `O_PATH` descriptor of it).
    Fifo(OwnedFd),
    /// `run`: a `Start` message on the channel.
    Channel,
}

/// Everything the init needs, prepared by the parent before the clone.
pub struct InitConfig<'a> {
    /// The kernel calls of the rootfs setup.
    pub sys: &'a dyn Sys,
    /// The container's spec.
    pub spec: &'a Spec,
    /// The namespaces made and joined.
    pub ns: &'a NsPlan,
    /// The rootfs setup, as data.
    pub plan: &'a Plan,
    /// What the rootfs setup needs to know of the host.
    pub host: rootfs::HostFacts,
    /// The capability sets to end with.
    pub caps: CapSets,
    /// The init's end of the channel to k3rt.
    pub chan: &'a Channel,
    /// How the init learns it may exec.
    pub start: StartSignal,
    /// The console socket, for `process.terminal`.
    pub console: Option<OwnedFd>,
    /// `--no-pivot`.
    pub no_pivot: bool,
    /// `--no-new-keyring`.
    pub no_new_keyring: bool,
    /// `--preserve-fds`.
    pub preserve_fds: i32,
    /// prestart/createRuntime hooks exist: stop after the mounts so k3rt runs them.
    pub runtime_hooks: bool,
    /// The state hooks see (pid filled in by the init).
    pub hook_state: OciState,
    /// The signal mask to restore (k3rt blocked signals around the clone).
    pub old_sigmask: Option<libc::sigset_t>,
    /// Where errors go once k3rt no longer listens.
    pub log: &'a crate::trace::Log,
    /// How the init gets into its cgroup (it may move itself).
    pub placement: &'a k3_cgroups::Placement,
    /// The sealed program the init execs last (CVE-2019-5736).
    pub dmz: exec::Dmz,
    /// The compiled seccomp filter, loaded last.
    pub seccomp: Option<seccomp::Filter>,
}

impl std::fmt::Debug for InitConfig<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("InitConfig")
            .field("ns", self.ns)
            .field("host", &self.host)
            .field("caps", &self.caps)
            .field("start", &self.start)
            .field("no_pivot", &self.no_pivot)
            .field("no_new_keyring", &self.no_new_keyring)
            .field("preserve_fds", &self.preserve_fds)
            .field("runtime_hooks", &self.runtime_hooks)
            .field("placement", self.placement)
            .finish_non_exhaustive()
    }
}

/// The prepared program, ready for execve.
struct Program {
    /// `/proc/self/fd` of the host's /proc, opened before the pivot: the exec fifo is
    /// reopened through it whatever the container mounts (or does not) at /proc.
    fd_dir: Option<OwnedFd>,
    exe: exec::Program,
}

/// Runs the init sequence; returns the exit code only on failure.
pub fn run(cfg: InitConfig<'_>) -> i32 {
    match setup(&cfg) {
        Ok(prog) => {
            if let Err(e) = wait_and_exec(&cfg, &prog) {
                // k3rt is gone; the log and the container's stderr are all there is
                cfg.log.error(e.to_string());
            }
            // the container's exit code when its program could not be started: 1, as
            // runc's and crun's (engines read the message, not this code)
            1
        }
        Err(e) => {
            let _ = cfg.chan.send(&Msg::Error(e.to_string()));
            1
        }
    }
}

/// One step of the init's setup, in the order [`ORDER`] gives. Which steps run is
/// decided by [`StepFacts`] alone, so the order is data a test can read without root.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Step {
    /// Restore the signal mask k3rt blocked around the clone.
    RestoreSigmask,
    /// Mark inherited descriptors past `--preserve-fds` close-on-exec.
    CloexecFds,
    /// Wait for k3rt's `Go` (cgroup placed, id maps written).
    AwaitGo,
    /// Become root of a new user namespace.
    BecomeUserNsRoot,
    /// Join the non-memory cgroups (v1 self-move).
    JoinCgroups,
    /// Write `process.oomScoreAdj`.
    OomScoreAdj,
    /// Bring `lo` up in a new network namespace.
    LoopbackUp,
    /// Join the memory cgroup before unsharing the cgroup namespace.
    JoinMemoryCgroupEarly,
    /// Unshare the cgroup namespace, rooted where the init now is.
    UnshareCgroup,
    /// setsid.
    NewSession,
    /// Join a new session keyring.
    SessionKeyring,
    /// Open the host's `/proc/self/fd` to reopen the exec fifo later.
    OpenProcFd,
    /// Mounts, devices and symlinks of the rootfs.
    PrepareRootfs,
    /// hostname and domainname.
    SetNames,
    /// Read our pid as k3rt sees it, through the host's /proc while it is still there.
    ReadHostPid,
    /// Let k3rt run the prestart and createRuntime hooks.
    RuntimeHooks,
    /// Run the createContainer hooks.
    CreateContainerHooks,
    /// pivot_root (or move) into the rootfs.
    EnterRoot,
    /// chroot into the rootfs (no mount namespace).
    ChrootRoot,
    /// `linux.sysctl`.
    Sysctl,
    /// Masked and read-only paths, the read-only root.
    FinalizeRootfs,
    /// `linux.personality`.
    Personality,
    /// `process.scheduler`.
    Scheduler,
    /// `process.ioPriority`.
    IoPriority,
    /// The pty and its hand-over on the console socket.
    Console,
    /// Resolve `process.args[0]` and build argv and envp.
    PrepareProgram,
    /// Join the memory cgroup: from here on memory is charged to the container.
    JoinMemoryCgroup,
    /// `process.noNewPrivileges`.
    NoNewPrivs,
    /// chdir to `process.cwd` and check it is inside the container.
    EnterCwd,
    /// `process.rlimits` but `RLIMIT_NOFILE`.
    Rlimits,
    /// Load the seccomp filter while the capabilities allow it (no no_new_privs).
    SeccompBeforeUserSwitch,
    /// Groups, gid, uid, capabilities, umask.
    SwitchUser,
    /// Tell k3rt the init is ready.
    Ready,
}

/// Every step in the order the init runs them.
pub const ORDER: [Step; 33] = [
    Step::RestoreSigmask,
    Step::CloexecFds,
    Step::AwaitGo,
    Step::BecomeUserNsRoot,
    Step::JoinCgroups,
    // before the mounts and the hooks, as runc and crun: a value the kernel refuses
    // fails the container before any createRuntime/createContainer hook runs
    Step::OomScoreAdj,
    Step::LoopbackUp,
    Step::JoinMemoryCgroupEarly,
    Step::UnshareCgroup,
    Step::NewSession,
    Step::SessionKeyring,
    Step::OpenProcFd,
    Step::PrepareRootfs,
    Step::SetNames,
    Step::ReadHostPid,
    Step::RuntimeHooks,
    Step::CreateContainerHooks,
    Step::EnterRoot,
    Step::ChrootRoot,
    // sysctls go in before readonlyPaths can make /proc/sys read-only (runc's order)
    Step::Sysctl,
    Step::FinalizeRootfs,
    Step::Personality,
    Step::Scheduler,
    Step::IoPriority,
    Step::Console,
    Step::PrepareProgram,
    Step::JoinMemoryCgroup,
    Step::NoNewPrivs,
    // the cwd check uses getcwd: before a filter that may refuse it
    Step::EnterCwd,
    // the container's limits, once the init's own file work is done (runc's parent
    // sets them at the same point); before a filter that may refuse setrlimit
    Step::Rlimits,
    Step::SeccompBeforeUserSwitch,
    Step::SwitchUser,
    Step::Ready,
];

/// What decides which steps run.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct StepFacts {
    /// k3rt saved a signal mask to restore.
    pub saved_sigmask: bool,
    /// A new user namespace.
    pub new_user_ns: bool,
    /// A new network namespace.
    pub new_net_ns: bool,
    /// A new cgroup namespace.
    pub new_cgroup_ns: bool,
    /// `process.oomScoreAdj` is set.
    pub oom_score_adj: bool,
    /// `--no-new-keyring` was not given.
    pub keyring: bool,
    /// `create`: the exec fifo signals the start.
    pub fifo: bool,
    /// A mount namespace of its own (else the init only chroots).
    pub own_mounts: bool,
    /// prestart or createRuntime hooks exist.
    pub runtime_hooks: bool,
    /// createContainer hooks exist.
    pub create_container_hooks: bool,
    /// `process.terminal` with a console socket.
    pub console: bool,
    /// `process.rlimits` is set.
    pub rlimits: bool,
    /// `process.noNewPrivileges`.
    pub no_new_privs: bool,
}

impl StepFacts {
    /// The facts of an init configuration.
    pub fn of(cfg: &InitConfig<'_>) -> StepFacts {
        let process = cfg.spec.process().as_ref();
        StepFacts {
            saved_sigmask: cfg.old_sigmask.is_some(),
            new_user_ns: cfg.ns.is_new(LinuxNamespaceType::User),
            new_net_ns: cfg.ns.is_new(LinuxNamespaceType::Network),
            new_cgroup_ns: cfg.ns.is_new(LinuxNamespaceType::Cgroup),
            oom_score_adj: process.and_then(|p| p.oom_score_adj()).is_some(),
            keyring: !cfg.no_new_keyring,
            fifo: matches!(cfg.start, StartSignal::Fifo(_)),
            own_mounts: !cfg.host.shared_mount_ns,
            runtime_hooks: cfg.runtime_hooks,
            create_container_hooks: cfg
                .spec
                .hooks()
                .as_ref()
                .and_then(|h| h.create_container().as_deref())
                .is_some(),
            console: process.and_then(|p| p.terminal()) == Some(true) && cfg.console.is_some(),
            rlimits: process.and_then(|p| p.rlimits().as_deref()).is_some(),
            no_new_privs: process.is_some_and(finish::no_new_privs),
        }
    }

    /// Whether `step` runs for these facts.
    pub fn runs(&self, step: Step) -> bool {
        match step {
            Step::RestoreSigmask => self.saved_sigmask,
            Step::BecomeUserNsRoot => self.new_user_ns,
            Step::OomScoreAdj => self.oom_score_adj,
            Step::LoopbackUp => self.new_net_ns,
            Step::JoinMemoryCgroupEarly | Step::UnshareCgroup => self.new_cgroup_ns,
            Step::SessionKeyring => self.keyring,
            Step::OpenProcFd => self.fifo,
            Step::RuntimeHooks => self.runtime_hooks,
            Step::CreateContainerHooks => self.create_container_hooks,
            Step::EnterRoot => self.own_mounts,
            Step::ChrootRoot => !self.own_mounts,
            Step::Console => self.console,
            Step::Rlimits => self.rlimits,
            Step::SeccompBeforeUserSwitch => !self.no_new_privs,
            _ => true,
        }
    }

    /// The steps that run, in order.
    pub fn steps(self) -> impl Iterator<Item = Step> {
        ORDER.into_iter().filter(move |s| self.runs(*s))
    }
}

/// What the steps hand on to the exec.
#[derive(Default)]
struct Progress {
    fd_dir: Option<OwnedFd>,
    /// The id-mapped mounts k3rt made, by mount index.
    trees: rootfs::Trees,
    exe: Option<exec::Program>,
}

fn setup(cfg: &InitConfig<'_>) -> Result<Program> {
    let mut done = Progress::default();
    for step in StepFacts::of(cfg).steps() {
        run_step(cfg, step, &mut done)?;
    }
    Ok(Program {
        fd_dir: done.fd_dir,
        exe: done.exe.ok_or(Protocol::NoProcess)?,
    })
}

/// The spec's `process`, which every init has (config validation requires it).
fn process<'a>(cfg: &InitConfig<'a>) -> Result<&'a oci_spec::runtime::Process> {
    Ok(cfg.spec.process().as_ref().ok_or(Protocol::NoProcess)?)
}

fn run_step(cfg: &InitConfig<'_>, step: Step, done: &mut Progress) -> Result<()> {
    match step {
        Step::RestoreSigmask => {
            if let Some(mask) = cfg.old_sigmask {
                // SAFETY: restoring a mask we saved.
                unsafe { libc::sigprocmask(libc::SIG_SETMASK, &mask, std::ptr::null_mut()) };
            }
        }
        Step::CloexecFds => mark_fds_cloexec(cfg.preserve_fds)?,
        Step::AwaitGo => loop {
            // the id-mapped mounts k3rt made come first, each with its tree
            match cfg.chan.recv_with_fd()? {
                Some((Msg::Go, _)) => break,
                Some((Msg::Tree(i), Some(fd))) => {
                    done.trees.insert(i as usize, fd);
                }
                _ => return Err(Protocol::GoneBeforeGo.into()),
            }
        },
        Step::BecomeUserNsRoot => {
            // root of the new user namespace if root is mapped; fine if it is not
            let _ = LinuxSys.setresgid(0);
            let _ = LinuxSys.setresuid(0);
        }
        Step::JoinCgroups => cfg.placement.move_self(false)?,
        Step::OomScoreAdj => {
            if let Some(adj) = process(cfg)?.oom_score_adj() {
                std::fs::write("/proc/self/oom_score_adj", adj.to_string())
                    .map_err(|e| Error::io("write oom_score_adj", "/proc/self/oom_score_adj", e))?;
            }
        }
        Step::LoopbackUp => namespaces::loopback_up()?,
        // The namespace is rooted at the cgroups the init is in when it unshares, in
        // every hierarchy: join the memory one first too, or on v1 the container sees
        // its memory cgroup as `/../../k3/ID` (runc places the init before it runs).
        Step::JoinMemoryCgroupEarly | Step::JoinMemoryCgroup => cfg.placement.move_self(true)?,
        Step::UnshareCgroup => namespaces::unshare(libc::CLONE_NEWCGROUP, "cgroup")?,
        Step::NewSession => {
            // failure (already a leader) is harmless
            let _ = nix::unistd::setsid();
        }
        Step::SessionKeyring => join_session_keyring(&cfg.hook_state.id)?,
        Step::OpenProcFd => {
            done.fd_dir = Some(
                k3_sys::linux::open_path(
                    Path::new("/proc/self/fd"),
                    libc::O_PATH | libc::O_DIRECTORY,
                )
                .map_err(|e| Error::io("open", "/proc/self/fd", e))?,
            );
        }
        Step::PrepareRootfs => rootfs::prepare(cfg.sys, cfg.plan, &cfg.host, &done.trees)?,
        Step::SetNames => set_names(cfg)?,
        Step::ReadHostPid => {
            // cached for the hooks' and the seccomp listener's state after the pivot
            finish::host_pid();
        }
        Step::RuntimeHooks => {
            cfg.chan.send(&Msg::NeedHooks)?;
            if !matches!(cfg.chan.recv()?, Some(Msg::HooksDone)) {
                return Err(Protocol::GoneDuringHooks.into());
            }
        }
        Step::CreateContainerHooks => {
            if let Some(h) = cfg
                .spec
                .hooks()
                .as_ref()
                .and_then(|h| h.create_container().as_deref())
            {
                let mut state = cfg.hook_state.clone();
                state.pid = finish::host_pid();
                hooks::run_all("createContainer", h, &json(&state))?;
            }
        }
        Step::EnterRoot => rootfs::enter(cfg.sys, cfg.plan, cfg.no_pivot)?,
        Step::ChrootRoot => chroot_into(&cfg.plan.rootfs)?,
        Step::Sysctl => security::apply_sysctl(cfg.spec)?,
        Step::FinalizeRootfs => rootfs::finalize(cfg.sys, cfg.plan)?,
        Step::Personality => security::apply_personality(cfg.spec)?,
        Step::Scheduler => security::apply_scheduler(cfg.spec)?,
        Step::IoPriority => security::apply_io_priority(cfg.spec)?,
        Step::Console => {
            if let Some(sock) = &cfg.console {
                let size = process(cfg)?
                    .console_size()
                    .map(|b| (tty::dimension(b.height()), tty::dimension(b.width())));
                tty::setup(cfg.sys, sock, size, cfg.plan.setup_dev)?;
            }
        }
        Step::PrepareProgram => done.exe = Some(exec::Program::for_process(process(cfg)?)?),
        Step::NoNewPrivs => finish::set_no_new_privs(process(cfg)?)?,
        Step::EnterCwd => finish::enter_cwd(process(cfg)?.cwd())?,
        Step::Rlimits => {
            if let Some(r) = process(cfg)?.rlimits().as_deref() {
                rlimits::apply(&rlimits::split_nofile(r).0)?;
            }
        }
        Step::SeccompBeforeUserSwitch => load_seccomp(cfg)?,
        Step::SwitchUser => finish::switch_user(
            process(cfg)?,
            &cfg.caps,
            cfg.ns.has(LinuxNamespaceType::User),
            &LinuxSys,
        )?,
        Step::Ready => {
            // from here the init outlives create; a create gone already fails the send
            crate::process::spawn::outlive_parent();
            cfg.chan.send(&Msg::Ready)?;
        }
    }
    Ok(())
}

/// Without a mount namespace nothing is mounted: the init only changes its root.
pub(crate) fn chroot_into(rootfs: &Path) -> Result<()> {
    std::env::set_current_dir(rootfs).map_err(|e| Error::io("chdir to rootfs", rootfs, e))?;
    nix::unistd::chroot(".").map_err(|e| RootfsError::Chroot {
        path: rootfs.to_path_buf(),
        source: e.into(),
    })?;
    nix::unistd::chdir("/").map_err(|e| RootfsError::ChdirRoot(e.into()))?;
    Ok(())
}

fn json(s: &OciState) -> String {
    serde_json::to_string(s).unwrap_or_default()
}

/// Every descriptor from 3 + preserve_fds up is closed at exec (CVE-2024-21626).
pub(crate) fn mark_fds_cloexec(preserve: i32) -> Result<()> {
    // validate_preserve_fds keeps 3 + preserve far below i32::MAX
    let end = 3i32.saturating_add(preserve.max(0));
    let first = end.unsigned_abs();
    // SAFETY: close_range with CLOSE_RANGE_CLOEXEC only sets flags.
    let r = unsafe {
        libc::syscall(
            libc::SYS_close_range,
            first,
            u32::MAX,
            libc::CLOSE_RANGE_CLOEXEC,
        )
    };
    if r < 0 {
        return Err(ProcessError::last(Call::CloseRange).into());
    }
    for fd in 3..end {
        // clearing FD_CLOEXEC on a preserved descriptor; one that is not open stays so
        let _ = fcntl(fd, FcntlArg::F_SETFD(FdFlag::empty()));
    }
    Ok(())
}

fn join_session_keyring(id: &str) -> Result<()> {
    let name =
        CString::new(format!("_ses.{id}")).map_err(|_| Error::invalid("id", id, "NUL byte"))?;
    const KEYCTL_JOIN_SESSION_KEYRING: libc::c_long = 1;
    // SAFETY: keyctl with a valid C string.
    let r = unsafe { libc::syscall(libc::SYS_keyctl, KEYCTL_JOIN_SESSION_KEYRING, name.as_ptr()) };
    if r < 0 && std::io::Error::last_os_error().raw_os_error() != Some(libc::ENOSYS) {
        return Err(ProcessError::last(Call::SessionKeyring).into());
    }
    Ok(())
}

fn set_names(cfg: &InitConfig<'_>) -> Result<()> {
    if let Some(h) = cfg.spec.hostname().as_deref().filter(|h| !h.is_empty()) {
        cfg.sys
            .sethostname(h)
            .map_err(|source| NamespaceError::Hostname {
                name: h.to_string(),
                source,
            })?;
    }
    if let Some(d) = cfg.spec.domainname().as_deref().filter(|d| !d.is_empty()) {
        cfg.sys
            .setdomainname(d)
            .map_err(|source| NamespaceError::Domainname {
                name: d.to_string(),
                source,
            })?;
    }
    Ok(())
}

fn wait_and_exec(cfg: &InitConfig<'_>, prog: &Program) -> Result<()> {
    let _held = match &cfg.start {
        StartSignal::Fifo(fd) => {
            // blocks until `start` opens the read side; stays open (cloexec) so that
            // `start` sees EOF exactly when the exec happened
            let mut f = reopen_fifo(prog.fd_dir.as_ref(), fd)?;
            std::io::Write::write_all(&mut f, b"0")
                .map_err(|e| Error::io("write exec fifo", "exec.fifo", e))?;
            Some(f)
        }
        StartSignal::Channel => match cfg.chan.recv()? {
            Some(Msg::Start) => None,
            _ => return Err(Protocol::GoneBeforeStart.into()),
        },
    };
    if let Some(h) = cfg
        .spec
        .hooks()
        .as_ref()
        .and_then(|h| h.start_container().as_deref())
    {
        let mut st = cfg.hook_state.clone();
        st.status = k3_oci::state::Status::Created;
        hooks::run_all("startContainer", h, &json(&st))?;
    }
    security::apply_exec_label(cfg.spec)?;
    let process = cfg.spec.process().as_ref();
    if let Some(r) = process.and_then(|p| p.rlimits().as_deref()) {
        rlimits::apply(&rlimits::split_nofile(r).1)?;
    }
    if process.is_some_and(finish::no_new_privs) {
        load_seccomp(cfg)?;
    }
    Err(cfg.dmz.exec(&prog.exe))
}

fn reopen_fifo(fd_dir: Option<&OwnedFd>, fifo: &OwnedFd) -> Result<std::fs::File> {
    // decimal digits never hold a NUL byte
    let name = CString::new(fifo.as_raw_fd().to_string()).unwrap_or_default();
    let dir = fd_dir.map_or(libc::AT_FDCWD, |d| d.as_raw_fd());
    // SAFETY: name outlives the call; dir is a directory descriptor we own.
    let fd = unsafe { libc::openat(dir, name.as_ptr(), libc::O_WRONLY | libc::O_CLOEXEC) };
    k3_sys::linux::owned_fd(fd.into())
        .map(std::fs::File::from)
        .map_err(|e| Error::io("open exec fifo", "exec.fifo", e))
}

/// Loads the filter: last thing before the exec with no_new_privs, otherwise before
/// the privilege drop (loading needs CAP_SYS_ADMIN then).
fn load_seccomp(cfg: &InitConfig<'_>) -> Result<()> {
    let Some(filter) = &cfg.seccomp else {
        return Ok(());
    };
    let mut st = serde_json::to_value(&cfg.hook_state).unwrap_or_default();
    st["status"] = serde_json::json!("creating");
    st["pid"] = serde_json::json!(finish::host_pid());
    filter.load(st, finish::host_pid())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn pos(steps: &[Step], s: Step) -> usize {
        steps
            .iter()
            .position(|x| *x == s)
            .unwrap_or_else(|| panic!("{s:?} does not run: {steps:?}"))
    }

    #[test]
    fn a_plain_run_runs_the_unconditional_steps_in_order() {
        let facts = StepFacts {
            own_mounts: true,
            ..StepFacts::default()
        };
        let steps: Vec<Step> = facts.steps().collect();
        assert_eq!(
            steps,
            [
                Step::CloexecFds,
                Step::AwaitGo,
                Step::JoinCgroups,
                Step::NewSession,
                Step::PrepareRootfs,
                Step::SetNames,
                Step::ReadHostPid,
                Step::EnterRoot,
                Step::Sysctl,
                Step::FinalizeRootfs,
                Step::Personality,
                Step::Scheduler,
                Step::IoPriority,
                Step::PrepareProgram,
                Step::JoinMemoryCgroup,
                Step::NoNewPrivs,
                Step::EnterCwd,
                Step::SeccompBeforeUserSwitch,
                Step::SwitchUser,
                Step::Ready,
            ]
        );
    }

    #[test]
    fn namespaces_hooks_and_limits_go_where_runc_puts_them() {
        let facts = StepFacts {
            saved_sigmask: true,
            new_user_ns: true,
            new_net_ns: true,
            new_cgroup_ns: true,
            oom_score_adj: true,
            keyring: true,
            fifo: true,
            own_mounts: true,
            runtime_hooks: true,
            create_container_hooks: true,
            console: true,
            rlimits: true,
            no_new_privs: false,
        };
        let steps: Vec<Step> = facts.steps().collect();
        assert_eq!(
            steps.len(),
            ORDER.len() - 1,
            "all but the chroot: {steps:?}"
        );
        let at = |s| pos(&steps, s);
        assert_eq!(steps[0], Step::RestoreSigmask);
        assert!(at(Step::AwaitGo) < at(Step::BecomeUserNsRoot));
        // a refused oomScoreAdj fails before any hook runs
        assert!(at(Step::OomScoreAdj) < at(Step::RuntimeHooks));
        // the cgroup namespace is rooted where the init is, memory included
        assert!(at(Step::JoinMemoryCgroupEarly) + 1 == at(Step::UnshareCgroup));
        assert!(at(Step::JoinCgroups) < at(Step::UnshareCgroup));
        // the host pid is read before the root changes
        assert!(at(Step::ReadHostPid) < at(Step::EnterRoot));
        assert!(at(Step::RuntimeHooks) < at(Step::CreateContainerHooks));
        assert!(at(Step::CreateContainerHooks) < at(Step::EnterRoot));
        // sysctls before readonlyPaths can make /proc/sys read-only
        assert!(at(Step::Sysctl) < at(Step::FinalizeRootfs));
        // getcwd and setrlimit before a filter that may refuse them
        assert!(at(Step::EnterCwd) < at(Step::SeccompBeforeUserSwitch));
        assert!(at(Step::Rlimits) < at(Step::SeccompBeforeUserSwitch));
        // the filter is loaded while the capabilities still allow it
        assert!(at(Step::SeccompBeforeUserSwitch) < at(Step::SwitchUser));
        assert_eq!(steps.last(), Some(&Step::Ready));
    }

    #[test]
    fn no_mount_namespace_chroots_and_no_new_privs_loads_the_filter_at_exec() {
        let facts = StepFacts {
            own_mounts: false,
            no_new_privs: true,
            ..StepFacts::default()
        };
        let steps: Vec<Step> = facts.steps().collect();
        assert!(steps.contains(&Step::ChrootRoot) && !steps.contains(&Step::EnterRoot));
        assert!(!steps.contains(&Step::SeccompBeforeUserSwitch));
        assert!(pos(&steps, Step::ReadHostPid) < pos(&steps, Step::ChrootRoot));
    }

    #[test]
    fn every_step_appears_once_in_the_order() {
        for (i, s) in ORDER.iter().enumerate() {
            assert!(!ORDER[i + 1..].contains(s), "{s:?} twice");
        }
    }
}
