//! The container init: runs in the new namespaces from the clone until the exec of
//! `process.args`. Errors before `Ready` go back to k3rt over the channel (create
//! fails cleanly); after it there is nobody to tell but stderr.

use std::ffi::CString;
use std::os::fd::{AsRawFd, OwnedFd};
use std::path::Path;

use oci_spec::runtime::{LinuxNamespaceType, Spec};

use crate::caps::CapSets;
use crate::error::{errno, Call, NamespaceError, ProcessError, Protocol, RootfsError};
use crate::namespaces::{self, NsPlan};
use crate::process::channel::{Channel, Msg};
use crate::process::{exec, finish, tty};
use crate::rootfs::{self, Plan};
use crate::{hooks, rlimits, seccomp, security, Error, Result};
use k3_oci::state::OciState;
use k3_sys::Sys;

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
    pub sys: &'a dyn Sys,
    pub spec: &'a Spec,
    pub ns: &'a NsPlan,
    pub plan: &'a Plan,
    pub host: rootfs::HostFacts,
    pub caps: CapSets,
    pub chan: &'a Channel,
    pub start: StartSignal,
    pub console: Option<OwnedFd>,
    pub no_pivot: bool,
    pub no_new_keyring: bool,
    pub preserve_fds: i32,
    /// prestart/createRuntime hooks exist: stop after the mounts so k3rt runs them.
    pub runtime_hooks: bool,
    /// The state hooks see (pid filled in by the init).
    pub hook_state: OciState,
    pub old_sigmask: Option<libc::sigset_t>,
    pub log: &'a crate::trace::Log,
    /// How the init gets into its cgroup (it may move itself).
    pub placement: &'a k3_cgroups::Placement,
    /// The sealed program the init execs last (CVE-2019-5736).
    pub dmz: exec::Dmz,
    /// The compiled seccomp filter, loaded last.
    pub seccomp: Option<seccomp::Filter>,
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

fn setup(cfg: &InitConfig<'_>) -> Result<Program> {
    if let Some(mask) = cfg.old_sigmask {
        // SAFETY: restoring a mask we saved.
        unsafe { libc::sigprocmask(libc::SIG_SETMASK, &mask, std::ptr::null_mut()) };
    }
    mark_fds_cloexec(cfg.preserve_fds)?;
    match cfg.chan.recv()? {
        Some(Msg::Go) => {}
        _ => return Err(Protocol::GoneBeforeGo.into()),
    }
    if cfg.ns.is_new(LinuxNamespaceType::User) {
        // become root of the new user namespace if root is mapped; fine if it is not
        // SAFETY: plain syscalls.
        unsafe {
            libc::setresgid(0, 0, 0);
            libc::setresuid(0, 0, 0);
        }
    }
    cfg.placement.move_self(false)?;
    // before the mounts and the hooks, as runc and crun: a value the kernel refuses
    // fails the container before any createRuntime/createContainer hook runs
    if let Some(adj) = cfg.spec.process().as_ref().and_then(|p| p.oom_score_adj()) {
        std::fs::write("/proc/self/oom_score_adj", adj.to_string())
            .map_err(|e| Error::io("write oom_score_adj", "/proc/self/oom_score_adj", e))?;
    }
    if cfg.ns.is_new(LinuxNamespaceType::Network) {
        namespaces::loopback_up()?;
    }
    if cfg.ns.is_new(LinuxNamespaceType::Cgroup) {
        // The namespace is rooted at the cgroups the init is in when it unshares, in
        // every hierarchy: join the memory one first too, or on v1 the container sees
        // its memory cgroup as `/../../k3/ID` (runc places the init before it runs).
        cfg.placement.move_self(true)?;
        namespaces::unshare(libc::CLONE_NEWCGROUP, "cgroup")?;
    }
    // SAFETY: setsid has no preconditions; failure (already a leader) is harmless.
    unsafe { libc::setsid() };
    if !cfg.no_new_keyring {
        join_session_keyring(&cfg.hook_state.id)?;
    }
    let fd_dir = match cfg.start {
        StartSignal::Fifo(_) => Some(
            k3_sys::linux::open_path(Path::new("/proc/self/fd"), libc::O_PATH | libc::O_DIRECTORY)
                .map_err(|e| Error::io("open", "/proc/self/fd", e))?,
        ),
        StartSignal::Channel => None,
    };
    let own_mounts = !cfg.host.shared_mount_ns;
    rootfs::prepare(cfg.sys, cfg.plan, &cfg.host)?;
    set_names(cfg)?;
    let mut state = cfg.hook_state.clone();
    state.pid = finish::host_pid();
    if cfg.runtime_hooks {
        cfg.chan.send(&Msg::NeedHooks)?;
        match cfg.chan.recv()? {
            Some(Msg::HooksDone) => {}
            _ => return Err(Protocol::GoneDuringHooks.into()),
        }
    }
    let hooks = cfg.spec.hooks().as_ref();
    if let Some(h) = hooks.and_then(|h| h.create_container().as_deref()) {
        hooks::run_all("createContainer", h, &json(&state))?;
    }
    if own_mounts {
        rootfs::enter(cfg.sys, cfg.plan, cfg.no_pivot)?;
    } else {
        chroot_into(&cfg.plan.rootfs)?;
    }
    // sysctls go in before readonlyPaths can make /proc/sys read-only (runc's order)
    security::apply_sysctl(cfg.spec)?;
    rootfs::finalize(cfg.sys, cfg.plan)?;
    security::apply_personality(cfg.spec)?;
    security::apply_scheduler(cfg.spec)?;
    security::apply_io_priority(cfg.spec)?;
    let process = cfg.spec.process().as_ref().ok_or(Protocol::NoProcess)?;
    if process.terminal() == Some(true) {
        if let Some(sock) = &cfg.console {
            let size = process
                .console_size()
                .map(|b| (b.height() as u16, b.width() as u16));
            tty::setup(cfg.sys, sock, size, cfg.plan.setup_dev)?;
        }
    }
    let prog = Program {
        fd_dir,
        exe: exec::Program::for_process(process)?,
    };
    // setup is done: from here on memory is charged to the container
    cfg.placement.move_self(true)?;
    finish::set_no_new_privs(process)?;
    // the cwd check uses getcwd: before a filter that may refuse it
    finish::enter_cwd(process.cwd())?;
    // the container's limits, once the init's own file work is done (runc's parent
    // sets them at the same point); before a filter that may refuse setrlimit
    if let Some(r) = process.rlimits().as_deref() {
        rlimits::apply(&rlimits::split_nofile(r).0)?;
    }
    if !finish::no_new_privs(process) {
        load_seccomp(cfg)?;
    }
    finish::switch_user(
        process,
        &cfg.caps,
        cfg.ns.has(LinuxNamespaceType::User),
        &k3_sys::linux::LinuxSys,
    )?;
    cfg.chan.send(&Msg::Ready)?;
    Ok(prog)
}

/// Without a mount namespace nothing is mounted: the init only changes its root.
pub(crate) fn chroot_into(rootfs: &Path) -> Result<()> {
    std::env::set_current_dir(rootfs).map_err(|e| Error::io("chdir to rootfs", rootfs, e))?;
    // SAFETY: static C strings.
    if unsafe { libc::chroot(c".".as_ptr()) } < 0 {
        return Err(RootfsError::Chroot {
            path: rootfs.to_path_buf(),
            source: errno(),
        }
        .into());
    }
    // SAFETY: static C string.
    if unsafe { libc::chdir(c"/".as_ptr()) } < 0 {
        return Err(RootfsError::ChdirRoot(errno()).into());
    }
    Ok(())
}

fn json(s: &OciState) -> String {
    serde_json::to_string(s).unwrap_or_default()
}

/// Every descriptor from 3 + preserve_fds up is closed at exec (CVE-2024-21626).
pub(crate) fn mark_fds_cloexec(preserve: i32) -> Result<()> {
    let first = 3 + preserve.max(0) as u32;
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
    for fd in 3..first as i32 {
        // SAFETY: clearing FD_CLOEXEC on a preserved descriptor.
        unsafe { libc::fcntl(fd, libc::F_SETFD, 0) };
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
    use std::os::fd::FromRawFd;
    // decimal digits never hold a NUL byte
    let name = CString::new(fifo.as_raw_fd().to_string()).unwrap_or_default();
    let dir = fd_dir.map_or(libc::AT_FDCWD, |d| d.as_raw_fd());
    // SAFETY: name outlives the call; dir is a directory descriptor we own.
    let fd = unsafe { libc::openat(dir, name.as_ptr(), libc::O_WRONLY | libc::O_CLOEXEC) };
    if fd < 0 {
        return Err(Error::io(
            "open exec fifo",
            "exec.fifo",
            std::io::Error::last_os_error(),
        ));
    }
    // SAFETY: new descriptor owned by nobody else.
    Ok(unsafe { std::fs::File::from_raw_fd(fd) })
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
