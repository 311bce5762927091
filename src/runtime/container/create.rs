//! `create`: state dir, exec fifo, the init in its namespaces and cgroup, the
//! create-time hooks, state and pid file. A failure at any step undoes the earlier ones;
//! for a create that dies instead (a kill at any instruction), each resource is first
//! recorded in the state dir's journal, which `delete --force` replays.

use nix::sys::signal::{kill, Signal};
use nix::unistd::Pid;
use std::ffi::CString;
use std::os::fd::OwnedFd;
use std::path::{Path, PathBuf};

use oci_spec::runtime::{LinuxIdMapping, LinuxNamespaceType, Spec};

use crate::caps::CapSets;
use crate::container::GlobalFlags;
use crate::error::{Call, ProcessError, Protocol};
use crate::namespaces::{trace_name, NsPlan};
use crate::process::channel::{self, Channel, Msg};
use crate::process::exec::Dmz;
use crate::process::init::{self, InitConfig, StartSignal};
use crate::process::spawn::{self, Spawned};
use crate::process::tty;
use crate::rootfs::{self, CgroupView, HostFacts};
use crate::statedir::{proc_stat, ContainerDir, Made};
use crate::trace::Log;
use crate::{hooks, rlimits, seccomp, security, Error, Result};
use k3_cgroups::{self as cgroups, systemd::Scope, Cgroup, Layout, Placement};
use k3_oci::id;
use k3_oci::spec::Bundle;
use k3_oci::state::{ContainerState, OciState, Status};
use k3_sys::linux::LinuxSys;

/// `create` flags.
#[derive(Debug, Clone, Default)]
pub struct CreateOpts {
    /// The container id.
    pub id: String,
    /// `--bundle`: the directory holding config.json.
    pub bundle: PathBuf,
    /// `--pid-file`: where to write the init's pid.
    pub pid_file: Option<PathBuf>,
    /// `--console-socket`: where to send the pty master.
    pub console_socket: Option<PathBuf>,
    /// `--no-pivot`: move the root instead of pivot_root.
    pub no_pivot: bool,
    /// `--no-new-keyring`: keep the caller's session keyring.
    pub no_new_keyring: bool,
    /// `--preserve-fds`: descriptors past stdio passed to the container.
    pub preserve_fds: i32,
    /// `--pidfd-socket`: where to send a pidfd of the init.
    pub pidfd_socket: Option<PathBuf>,
}

/// A bundle read and checked by the caller before the verb ran (`k3rt run` reads it
/// once in `main`: its spec decides on the re-exec, then the run uses it), or why it
/// could not be: reported by [`launch`] in the place of its own load.
pub type Loaded = std::result::Result<Bundle, k3_oci::spec::SpecError>;

/// How the init will be told to exec.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Mode {
    /// `create`: the exec fifo, opened later by `start`.
    Fifo,
    /// `run`: a message on the channel.
    Channel,
}

/// A container whose init waits for start.
#[derive(Debug)]
pub struct Launched {
    /// The container's state directory.
    pub dir: ContainerDir,
    /// The state as saved.
    pub state: ContainerState,
    /// The container's spec.
    pub spec: Spec,
    /// k3rt's end of the channel to the init.
    pub chan: Channel,
    /// The init (and intermediate) pids.
    pub spawned: Spawned,
    /// Receives the pty master when `run` proxies the terminal itself.
    pub console: Option<std::os::unix::net::UnixStream>,
}

/// What to undo if a later step fails.
#[derive(Default)]
struct Undo {
    dir: Option<ContainerDir>,
    host_mounts: Option<PathBuf>,
    pid: Option<i32>,
    cgroup: Option<Vec<PathBuf>>,
    /// The systemd scope started for the init.
    scope: Option<String>,
    /// The state dir holding the record of moved network devices.
    netdevs: Option<PathBuf>,
}

impl Undo {
    fn run(self) {
        if let Some(dir) = &self.netdevs {
            // back to the host before the namespace can go with the init
            let _ = crate::netdev::move_back(dir);
        }
        if let Some(pid) = self.pid {
            let _ = kill(Pid::from_raw(pid), Signal::SIGKILL);
            spawn::reap(pid);
        }
        if let Some(rootfs) = self.host_mounts {
            rootfs::unmount_all_under(&rootfs);
        }
        if let Some(unit) = self.scope {
            let _ = cgroups::systemd::stop(&unit);
        }
        if let Some(paths) = self.cgroup {
            let _ = cgroups::destroy(&paths);
        }
        if let Some(d) = self.dir {
            let _ = d.remove();
        }
    }
}

/// `k3rt create`.
pub fn create(ctx: &GlobalFlags, opts: &CreateOpts) -> Result<()> {
    let pidfd_socket = connect_pidfd_socket(opts)?;
    let l = launch(ctx, opts, Mode::Fifo, None, None)?;
    send_pidfd(ctx, &l, pidfd_socket.as_ref())?;
    ctx.log.debug("finish");
    drop(l);
    Ok(())
}

/// `--pidfd-socket`, connected before anything is made (a bad path leaves nothing).
pub fn connect_pidfd_socket(opts: &CreateOpts) -> Result<Option<OwnedFd>> {
    opts.pidfd_socket
        .as_deref()
        .map(crate::pidfd::connect)
        .transpose()
}

/// Hands a pidfd of the init to `--pidfd-socket`; if that fails, the container goes.
pub fn send_pidfd(ctx: &GlobalFlags, l: &Launched, socket: Option<&OwnedFd>) -> Result<()> {
    let Some(socket) = socket else {
        return Ok(());
    };
    crate::pidfd::send(socket, l.state.pid, "standard").inspect_err(|_| {
        let _ = crate::container::kill::kill_and_wait(&l.state);
        let _ = crate::container::delete::destroy(ctx, &l.dir, &l.state);
    })
}

/// Everything up to a ready init; shared by `create` and `run`. `loaded` is the
/// bundle when the caller read it already; `None` reads `opts.bundle` here.
pub fn launch(
    ctx: &GlobalFlags,
    opts: &CreateOpts,
    mode: Mode,
    sigmask: Option<libc::sigset_t>,
    loaded: Option<Loaded>,
) -> Result<Launched> {
    let log = &ctx.log;
    log.debug("Using debug verbosity");
    id::validate(&opts.id)?;
    super::validate_preserve_fds(opts.preserve_fds)?;
    let cfg_path = Bundle::config_path(&opts.bundle);
    log.debug(format!(
        "Loading container from config file: `{}`",
        cfg_path.display()
    ));
    let mut bundle = match loaded {
        Some(l) => l?,
        None => Bundle::load(&opts.bundle)?,
    };
    let notify = super::notify::host_socket().is_some();
    log.debug(format!("Using bundle: {}", bundle.dir.display()));
    if ctx.systemd_cgroup && !Path::new("/run/systemd/system").is_dir() {
        return Err(Error::invalid(
            "--systemd-cgroup",
            "true",
            format!(
                "systemd is not running on this host (no /run/systemd/system, nothing to ask over `{}`); use the cgroupfs manager",
                cgroups::systemd::bus_path()
            ),
        ));
    }
    let ns = NsPlan::from_spec(&bundle.spec);
    let readonly_root = bundle.spec.root().as_ref().and_then(|r| r.readonly()) == Some(true);
    if !ns.has(LinuxNamespaceType::Mount) && readonly_root {
        return Err(Error::invalid(
            "root.readonly",
            "true",
            "a read-only root needs a mount namespace (it would remount the host's root)",
        ));
    }
    security::validate(&bundle.spec, &ns, log)?;
    // checked before anything is made; set just before the clone
    crate::mempolicy::from_spec(&bundle.spec)?;
    let netdevs = crate::netdev::plan(&bundle.spec)?;
    let mut plan = rootfs::plan(&bundle.spec, &bundle.rootfs)?;
    let caps = bundle
        .spec
        .process()
        .as_ref()
        .and_then(|p| p.capabilities().as_ref());
    let caps = CapSets::from_spec(caps, log);
    let terminal = bundle.spec.process().as_ref().and_then(|p| p.terminal()) == Some(true);
    if terminal && opts.console_socket.is_none() && mode == Mode::Fifo {
        return Err(Error::invalid(
            "process.terminal",
            "true",
            "create needs --console-socket to hand over the terminal",
        ));
    }

    log.debug(format!("Creating container: `{}`", opts.id));
    let dir = ContainerDir::new(&ctx.root, &opts.id);
    dir.create()?;
    let mut undo = Undo {
        dir: Some(dir.clone()),
        ..Undo::default()
    };
    let me = nix::unistd::getpid().as_raw();
    let creator = Made::Creator {
        pid: me,
        start_time: proc_stat(me).map_or(0, |(t, _)| t),
    };
    if let Err(e) = dir.record(&creator).and_then(|()| match notify {
        true => super::notify::make_dir(&dir.path),
        false => Ok(()),
    }) {
        undo.run();
        return Err(e);
    }
    if notify {
        // the notify socket's mount, planned once its source (in the state dir) exists
        super::notify::setup_spec(&mut bundle.spec, &dir.path)?;
        plan = match rootfs::plan(&bundle.spec, &bundle.rootfs) {
            Ok(p) => p,
            Err(e) => {
                undo.run();
                return Err(e);
            }
        };
    }
    let checked = Checked {
        ctx,
        opts,
        mode,
        sigmask,
        bundle,
        ns,
        plan,
        caps,
        netdevs,
    };
    match launch_in(checked, &dir, &mut undo) {
        Ok(l) => Ok(l),
        Err(e) => {
            undo.run();
            Err(e)
        }
    }
}

/// What `launch` checked and planned before anything exists on the host.
struct Checked<'a> {
    ctx: &'a GlobalFlags,
    opts: &'a CreateOpts,
    mode: Mode,
    sigmask: Option<libc::sigset_t>,
    bundle: Bundle,
    ns: NsPlan,
    plan: rootfs::Plan,
    caps: CapSets,
    /// `linux.netDevices`, checked against the host.
    netdevs: Vec<crate::netdev::Wanted>,
}

/// From a created state dir to a ready init: every resource made here is recorded
/// in `undo` (and the journal) before the next step can fail.
fn launch_in(c: Checked<'_>, dir: &ContainerDir, undo: &mut Undo) -> Result<Launched> {
    let (ctx, opts, spec, ns) = (c.ctx, c.opts, &c.bundle.spec, &c.ns);
    let log = &ctx.log;
    let fifo = match c.mode {
        Mode::Fifo => {
            log.debug(format!("Creating exec fifo: {}", dir.fifo().display()));
            Some(make_fifo(&dir.fifo(), host_root(spec))?)
        }
        Mode::Channel => None,
    };
    write_config(dir, &c.bundle, log)?;
    let runtime_hooks = RuntimeHooks::of(spec, log);
    let Located {
        layout,
        mut cgroup,
        scope,
        mut systemd,
    } = locate_cgroup(ctx, opts, spec)?;
    let (host_uid, host_gid) = host_ids(spec);
    log.debug(format!(
        "Using container host UID `{host_uid}` and GID `{host_gid}`"
    ));
    log.debug("Running linux container");
    trace_namespaces(ns, log);
    let (console, console_receiver) = console_ends(opts, spec, c.mode)?;
    let (parent_end, child_end) = channel::pair()?;
    let host = HostFacts {
        // k3rt itself in one (rootless podman runs it so): no mknod there either
        in_userns: ns.has(LinuxNamespaceType::User) || crate::statedir::in_user_namespace(),
        shared_mount_ns: !ns.has(LinuxNamespaceType::Mount),
        cgroups: cgroup_view(&layout, &cgroup, ns.has(LinuxNamespaceType::Cgroup)),
    };
    let hook_state = OciState {
        oci_version: spec.version().clone(),
        id: opts.id.clone(),
        status: Status::Creating,
        pid: 0,
        bundle: c.bundle.dir.clone(),
        annotations: spec.annotations().clone().unwrap_or_default(),
    };
    let seccomp = match spec.linux().as_ref().and_then(|l| l.seccomp().as_ref()) {
        Some(sc) => Some(seccomp::Filter::prepare(sc, log)?),
        None => None,
    };
    let placement = make_cgroup(dir, undo, &layout, &cgroup, spec, ns, scope.as_ref())?;
    let sys = LinuxSys;
    let init_cfg = InitConfig {
        sys: &sys,
        spec,
        ns,
        plan: &c.plan,
        host,
        caps: c.caps,
        chan: &child_end,
        start: match fifo {
            Some(f) => StartSignal::Fifo(f),
            None => StartSignal::Channel,
        },
        console,
        no_pivot: opts.no_pivot,
        no_new_keyring: opts.no_new_keyring,
        preserve_fds: opts.preserve_fds,
        runtime_hooks: !runtime_hooks.is_empty(),
        hook_state: hook_state.clone(),
        old_sigmask: c.sigmask,
        log,
        placement: &placement,
        dmz: Dmz::new()?,
        seccomp,
    };
    if let Some(r) = spec.process().as_ref().and_then(|p| p.rlimits().as_deref()) {
        // the init sets them itself, late (rlimits::apply); here only what it could
        // not raise from inside a user namespace
        rlimits::trace(r, log);
        rlimits::raise_hard(r)?;
    }
    if !ns.has(LinuxNamespaceType::Mount) {
        // the init mounts on the host only after Go, but record it before it exists
        dir.record(&Made::HostMounts {
            rootfs: c.bundle.rootfs.clone(),
        })?;
        undo.host_mounts = Some(c.bundle.rootfs.clone());
    }
    if let Some(m) = crate::mempolicy::from_spec(spec)? {
        // the init inherits the policy k3rt sets on itself
        m.apply()?;
    }
    // v2 with the cgroup made already: the init is born in it (clone3), where it can be
    let into = match (&layout, &placement, &scope) {
        (Layout::V2(_), Placement::ByParent, None) => cgroup.open_dir().ok(),
        _ => None,
    };
    let spawned = spawn::spawn(spec, ns, &parent_end, &child_end, into.as_ref(), || {
        init::run(init_cfg)
    })?;
    drop(into);
    undo.pid = Some(spawned.pid);
    let start_time = record_init(dir, &spawned)?;
    drop(child_end);
    log.debug(format!(
        "Running container PID after fork: `{}`",
        spawned.pid
    ));

    // with a new cgroup namespace the init must be in all its cgroups before it
    // unshares (after Go): the namespace is rooted where it is then
    let memory_early = ns.is_new(LinuxNamespaceType::Cgroup);
    if let (Some(scope), Some(sd)) = (&scope, systemd.as_mut()) {
        // systemd moves the init into the new scope; the files it has no property
        // for are then written to the delegated cgroup
        let resources = spec.linux().as_ref().and_then(|l| l.resources().as_ref());
        let nodes = spec
            .linux()
            .as_ref()
            .and_then(|l| l.devices().as_deref())
            .unwrap_or_default();
        let spec_rules = resources
            .and_then(|r| r.devices().as_deref())
            .unwrap_or_default();
        let devices = cgroups::bpf::rules(spec_rules, nodes);
        undo.scope = Some(scope.unit.clone());
        sd.start_scope(scope, &opts.id, spawned.pid, resources, &devices)?;
        if let Layout::V2(mount) = &layout {
            // the scope's real cgroup from here on (limits, state, stats, delete)
            let at = cgroups::systemd::placed(scope, spawned.pid)?;
            cgroup =
                cgroups::from_paths(&layout, &[mount.join(at.strip_prefix("/").unwrap_or(&at))]);
            dir.record(&Made::Cgroups {
                paths: cgroup.paths(),
            })?;
            undo.cgroup = Some(cgroup.paths());
        }
        cgroup.prepare(resources, nodes)?;
    } else if matches!(placement, Placement::ByParent) && !spawned.in_cgroup {
        cgroup.add_process(spawned.pid, false)?;
        if memory_early {
            cgroup.add_process(spawned.pid, true)?;
        }
    }
    if ns.is_new(LinuxNamespaceType::User) {
        write_id_maps(spawned.pid, spec)?;
    }
    crate::idmap::send_trees(spec, &c.bundle.mount_idmaps, spawned.pid, &parent_end)?;
    if !c.netdevs.is_empty() {
        undo.netdevs = Some(dir.path.clone());
        crate::netdev::move_in(&c.netdevs, spawned.pid, dir)?;
    }
    parent_end.send(&Msg::Go)?;
    let mut state_for_hooks = hook_state;
    state_for_hooks.pid = spawned.pid;
    wait_ready(&parent_end, &runtime_hooks, &state_for_hooks, log)?;
    if matches!(placement, Placement::ByParent) && !memory_early && scope.is_none() {
        cgroup.add_process(spawned.pid, true)?;
    }

    let state = ContainerState {
        oci_version: spec.version().clone(),
        id: opts.id.clone(),
        status: Status::Created,
        pid: spawned.pid,
        pid_start_time: start_time,
        bundle: c.bundle.dir.clone(),
        rootfs: c.bundle.rootfs.clone(),
        created: k3_oci::time::now_rfc3339(),
        owner: owner(),
        annotations: spec.annotations().clone().unwrap_or_default(),
        cgroup_paths: cgroup.paths(),
        systemd_unit: scope.as_ref().map(|s| s.unit.clone()),
        own_pid_ns: ns.is_new(LinuxNamespaceType::Pid),
        host_mounts: !ns.has(LinuxNamespaceType::Mount),
    };
    log.debug("Writing container status");
    dir.save(&state)?;
    if let Some(p) = &opts.pid_file {
        write_pid_file(p, spawned.pid)?;
    }
    *undo = Undo::default();
    Ok(Launched {
        dir: dir.clone(),
        state,
        spec: c.bundle.spec,
        chan: parent_end,
        spawned,
        console: console_receiver,
    })
}

/// Keeps the bundle's config.json in the state dir (what `delete` and hooks read later).
fn write_config(dir: &ContainerDir, bundle: &Bundle, log: &Log) -> Result<()> {
    log.debug("Running with prefork enabled");
    log.debug(format!(
        "Reading config file: `{}`",
        Bundle::config_path(&bundle.dir).display()
    ));
    log.debug(format!(
        "Writing config file to: `{}`",
        dir.config().display()
    ));
    std::fs::write(dir.config(), &bundle.raw)
        .map_err(|e| Error::io("write config", dir.config(), e))
}

/// Where the container's cgroup goes: `linux.cgroupsPath` (checked), or the systemd
/// slice:prefix:name form with `--systemd-cgroup`, or the default under `k3`.
fn locate_cgroup(ctx: &GlobalFlags, opts: &CreateOpts, spec: &Spec) -> Result<Located> {
    let log = &ctx.log;
    let layout = cgroups::detect()?;
    log.debug(if ctx.systemd_cgroup {
        "Using systemd cgroup manager"
    } else {
        "Using cgroupfs cgroup manager"
    });
    let spec_cg = spec
        .linux()
        .as_ref()
        .and_then(|l| l.cgroups_path().as_deref());
    if let Some(p) = spec_cg.filter(|p| p.as_os_str().len() > cgroups::MAX_PATH_LEN) {
        return Err(Error::invalid(
            "linux.cgroupsPath",
            format!(
                "{}…",
                p.to_string_lossy().chars().take(64).collect::<String>()
            ),
            format!("longer than {} bytes", cgroups::MAX_PATH_LEN),
        ));
    }
    let scope = if ctx.systemd_cgroup {
        let text = spec_cg.map(|p| p.to_string_lossy().into_owned());
        let scope = Scope::parse(text.as_deref(), &opts.id).map_err(|why| {
            Error::invalid("linux.cgroupsPath", text.as_deref().unwrap_or(""), why)
        })?;
        log.debug(format!(
            "systemd scope `{}` in `{}`",
            scope.unit, scope.slice
        ));
        Some(scope)
    } else {
        None
    };
    // connect first: a missing or refusing systemd fails the create before anything exists
    let systemd = match &scope {
        Some(_) => Some(cgroups::systemd::Systemd::connect(
            &cgroups::systemd::bus_path(),
        )?),
        None => None,
    };
    let cgroup = Cgroup::locate(
        &layout,
        scope.as_ref().map(|s| s.cgroup.as_path()).or(spec_cg),
        &opts.id,
    );
    Ok(Located {
        layout,
        cgroup,
        scope,
        systemd,
    })
}

/// Where the container's cgroup is, and the systemd scope (with the connection to
/// ask for it) under `--systemd-cgroup`.
struct Located {
    layout: Layout,
    cgroup: Cgroup,
    scope: Option<Scope>,
    systemd: Option<cgroups::systemd::Systemd>,
}

/// The trace lines of the namespaces made and joined.
fn trace_namespaces(ns: &NsPlan, log: &Log) {
    for t in &ns.new {
        log.debug(format!("Unsharing namespace: `{}`", trace_name(*t)));
    }
    for (t, p) in &ns.joins {
        log.debug(format!(
            "Joining namespace: `{}` at `{}`",
            trace_name(*t),
            p.display()
        ));
    }
}

/// The init's end of the console socket, and ours when `run -t` without
/// `--console-socket` makes k3rt receive the pty itself and proxy it.
fn console_ends(
    opts: &CreateOpts,
    spec: &Spec,
    mode: Mode,
) -> Result<(Option<OwnedFd>, Option<std::os::unix::net::UnixStream>)> {
    let terminal = spec.process().as_ref().and_then(|p| p.terminal()) == Some(true);
    Ok(
        match (&opts.console_socket, terminal && mode == Mode::Channel) {
            (Some(path), _) => (Some(tty::connect(path)?), None),
            (None, true) => {
                let (ours, theirs) = std::os::unix::net::UnixStream::pair().map_err(|source| {
                    ProcessError::Call {
                        call: Call::ConsoleSocketpair,
                        source,
                    }
                })?;
                (Some(OwnedFd::from(theirs)), Some(ours))
            }
            (None, false) => (None, None),
        },
    )
}

/// Records, then creates the container's cgroup with its limits; says how the init
/// will get into it.
fn make_cgroup(
    dir: &ContainerDir,
    undo: &mut Undo,
    layout: &Layout,
    cgroup: &Cgroup,
    spec: &Spec,
    ns: &NsPlan,
    scope: Option<&Scope>,
) -> Result<Placement> {
    let resources = spec.linux().as_ref().and_then(|l| l.resources().as_ref());
    let nodes = spec
        .linux()
        .as_ref()
        .and_then(|l| l.devices().as_deref())
        .unwrap_or_default();
    dir.record(&Made::Cgroups {
        paths: cgroup.paths(),
    })?;
    undo.cgroup = Some(cgroup.paths());
    // under systemd the scope (and its directory) exists only once the init does
    if scope.is_none() {
        cgroup.prepare(resources, nodes)?;
    }
    Ok(match layout {
        Layout::V1(_) if !ns.is_new(LinuxNamespaceType::User) && scope.is_none() => {
            Placement::SelfMove(cgroup.open_tasks()?)
        }
        _ => Placement::ByParent,
    })
}

/// Reaps the intermediate and records the init with its start time.
///
/// Until this record is written nothing of the init can outlive us: it waits for Go
/// and exits on end-of-file if we die. Its stat is there (alive, or a zombie not
/// yet reaped); without the start time delete could never tell it is alive, so
/// failing to read it fails the create.
fn record_init(dir: &ContainerDir, spawned: &Spawned) -> Result<u64> {
    if let Some(mid) = spawned.intermediate {
        spawn::reap(mid);
    }
    let start_time = proc_stat(spawned.pid)
        .map(|(t, _)| t)
        .ok_or_else(|| Error::from(Protocol::NoStartTime(spawned.pid)))?;
    dir.record(&Made::Init {
        pid: spawned.pid,
        start_time,
    })?;
    Ok(start_time)
}

/// The hooks k3rt runs itself, in the runtime namespace, while the init waits.
struct RuntimeHooks {
    prestart: Vec<oci_spec::runtime::Hook>,
    create_runtime: Vec<oci_spec::runtime::Hook>,
}

impl RuntimeHooks {
    /// The prestart and createRuntime hooks of the spec (and the trace line of any hook).
    fn of(spec: &Spec, log: &Log) -> RuntimeHooks {
        let hooks = spec.hooks().clone().unwrap_or_default();
        let runtime_hooks = RuntimeHooks {
            prestart: hooks.prestart().clone().unwrap_or_default(),
            create_runtime: hooks.create_runtime().clone().unwrap_or_default(),
        };
        if !runtime_hooks.is_empty() || hooks.poststart().is_some() || hooks.poststop().is_some() {
            log.debug("Opening hooks output");
        }
        runtime_hooks
    }

    fn is_empty(&self) -> bool {
        self.prestart.is_empty() && self.create_runtime.is_empty()
    }

    /// prestart (legacy) sees `created`, as crun sends; createRuntime sees `creating`.
    fn run(&self, state: &OciState) -> Result<()> {
        let mut st = state.clone();
        st.status = Status::Created;
        let json = |s: &OciState| serde_json::to_string(s).unwrap_or_default();
        hooks::run_all("prestart", &self.prestart, &json(&st))?;
        st.status = Status::Creating;
        hooks::run_all("createRuntime", &self.create_runtime, &json(&st))
    }
}

fn wait_ready(
    chan: &Channel,
    runtime_hooks: &RuntimeHooks,
    state: &OciState,
    log: &Log,
) -> Result<()> {
    loop {
        match chan.recv()? {
            Some(Msg::NeedHooks) => {
                log.debug("Running `create` hooks");
                runtime_hooks.run(state)?;
                chan.send(&Msg::HooksDone)?;
            }
            Some(Msg::Ready) => return Ok(()),
            Some(Msg::Error(e)) => return Err(ProcessError::Reported(e).into()),
            Some(other) => return Err(Protocol::Unexpected(format!("{other:?}")).into()),
            None => return Err(Protocol::ExitedBeforeReady.into()),
        }
    }
}

/// The exec fifo, writable by the container's root (which may be another host uid).
fn make_fifo(path: &Path, owner: (u32, u32)) -> Result<OwnedFd> {
    let c = CString::new(path.as_os_str().as_encoded_bytes())
        .map_err(|_| Error::invalid("root", path.display(), "NUL byte"))?;
    // SAFETY: c outlives the call.
    if unsafe { libc::mkfifo(c.as_ptr(), 0o622) } < 0 {
        return Err(Error::io(
            "create exec fifo",
            path,
            std::io::Error::last_os_error(),
        ));
    }
    // SAFETY: c outlives the calls; mode and ids are plain integers.
    let ok = unsafe {
        libc::chmod(c.as_ptr(), 0o622) == 0 && libc::chown(c.as_ptr(), owner.0, owner.1) == 0
    };
    if !ok {
        return Err(Error::io(
            "set owner of exec fifo",
            path,
            std::io::Error::last_os_error(),
        ));
    }
    k3_sys::linux::open_path(path, libc::O_PATH).map_err(|e| Error::io("open exec fifo", path, e))
}

fn write_id_maps(pid: i32, spec: &Spec) -> Result<()> {
    let linux = spec.linux().as_ref();
    let uids = linux
        .and_then(|l| l.uid_mappings().as_deref())
        .unwrap_or_default();
    let gids = linux
        .and_then(|l| l.gid_mappings().as_deref())
        .unwrap_or_default();
    for (file, text) in [
        ("uid_map", crate::idmap::map_text(uids)),
        ("gid_map", crate::idmap::map_text(gids)),
    ] {
        let p = format!("/proc/{pid}/{file}");
        std::fs::write(&p, &text).map_err(|e| Error::io("write id mapping", p.clone(), e))?;
    }
    Ok(())
}

/// The host uid/gid the container's process user maps to.
fn host_ids(spec: &Spec) -> (u32, u32) {
    let ids = spec
        .process()
        .as_ref()
        .map_or((0, 0), |p| (p.user().uid(), p.user().gid()));
    to_host(spec, ids)
}

/// The host uid/gid of the container's root.
fn host_root(spec: &Spec) -> (u32, u32) {
    to_host(spec, (0, 0))
}

fn to_host(spec: &Spec, (uid, gid): (u32, u32)) -> (u32, u32) {
    let map = |id: u32, m: Option<&Vec<LinuxIdMapping>>| {
        m.into_iter()
            .flatten()
            .find(|e| id >= e.container_id() && id - e.container_id() < e.size())
            .map_or(id, |e| e.host_id() + (id - e.container_id()))
    };
    let linux = spec.linux().as_ref();
    (
        map(uid, linux.and_then(|l| l.uid_mappings().as_ref())),
        map(gid, linux.and_then(|l| l.gid_mappings().as_ref())),
    )
}

/// What the `cgroup` mount shows; `cgroupns`: the spec names a cgroup namespace (new
/// or joined), whose root the container's cgroup2 mount then shows.
fn cgroup_view(layout: &Layout, cg: &Cgroup, cgroupns: bool) -> CgroupView {
    match layout {
        Layout::V2(mount) => CgroupView {
            v2: true,
            v2_host: (!cgroupns).then(|| mount.clone()),
            v1_dirs: vec![],
        },
        Layout::V1(hs) => CgroupView {
            v2: false,
            v2_host: None,
            v1_dirs: cg
                .dirs
                .iter()
                .filter_map(|(ctrls, dir)| {
                    let h = hs.iter().find(|h| &h.controllers == ctrls)?;
                    let name = h.mount.file_name()?.to_string_lossy().into_owned();
                    Some((name, dir.clone()))
                })
                .collect(),
        },
    }
}

fn owner() -> String {
    let uid = nix::unistd::geteuid().as_raw();
    if uid == 0 {
        "root".to_string()
    } else {
        uid.to_string()
    }
}

/// Writes the pid file atomically (tmp + rename), as engines read it right after create.
pub fn write_pid_file(path: &Path, pid: i32) -> Result<()> {
    let path = std::path::absolute(path).unwrap_or_else(|_| path.to_path_buf());
    let tmp = path.with_extension("k3rt-tmp");
    std::fs::write(&tmp, pid.to_string())
        .map_err(|e| Error::io("write pid file", tmp.clone(), e))?;
    std::fs::rename(&tmp, &path).map_err(|e| Error::io("rename pid file", path.clone(), e))
}
