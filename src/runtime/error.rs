//! The runtime's errors, one type per area, gathered into [`RuntimeError`]. Messages
//! are lowercase, values in backticks, and keep the phrases engines match on
//! (`container not running`, `does not exist`): every variant's text is what the
//! flat error of earlier versions printed, so engines and suites see no change.

use std::path::PathBuf;

use thiserror::Error;

use k3_oci::id::IdError;
pub use k3_oci::io_error::IoError;
use k3_oci::spec::SpecError;
use k3_oci::state::Status;

/// The runtime's result.
pub type Result<T> = std::result::Result<T, RuntimeError>;

/// The name callers used before the split into areas.
pub type Error = RuntimeError;

/// Everything a runtime verb can fail with.
#[derive(Debug, Error)]
pub enum RuntimeError {
    /// A container id breaks the id rules.
    #[error(transparent)]
    Id(#[from] IdError),
    /// `config.json` does not load or validate.
    #[error(transparent)]
    Spec(#[from] SpecError),
    /// The container is missing, already there, or in the wrong state for the verb.
    #[error(transparent)]
    State(#[from] StateError),
    /// An I/O failure on a path.
    #[error(transparent)]
    Io(#[from] IoError),
    /// Creating, joining or configuring a namespace.
    #[error(transparent)]
    Namespace(#[from] NamespaceError),
    /// The rootfs: a mount the kernel refused.
    #[error(transparent)]
    Rootfs(#[from] RootfsError),
    /// Capabilities, user and group ids, rlimits, no_new_privs.
    #[error(transparent)]
    Credentials(#[from] CredentialsError),
    /// Compiling or loading the seccomp filter.
    #[error(transparent)]
    Seccomp(#[from] SeccompError),
    /// An OCI hook failed.
    #[error(transparent)]
    Hook(#[from] HookError),
    /// Making, talking to or finishing a container process.
    #[error(transparent)]
    Process(#[from] ProcessError),
    /// Producing a verb's output (JSON encoding, writing it, helper programs).
    #[error(transparent)]
    Output(#[from] OutputError),
    /// Managing the container's cgroups.
    #[error(transparent)]
    Cgroup(#[from] k3_cgroups::Error),
    /// A signal name or number that is not one.
    #[error("invalid signal `{0}`")]
    Signal(String),
    /// A value the runtime refuses, naming its field.
    #[error("invalid `{field}` `{value}`: {why}")]
    Invalid {
        /// The spec field or option the value came from.
        field: &'static str,
        /// The value as given.
        value: String,
        /// Why it is refused.
        why: String,
    },
}

impl RuntimeError {
    /// An I/O failure on a path.
    pub fn io(op: &'static str, path: impl Into<PathBuf>, source: std::io::Error) -> Self {
        RuntimeError::Io(IoError::new(op, path, source))
    }

    /// A value the runtime refuses: names the field, the value and the reason.
    pub fn invalid(field: &'static str, value: impl ToString, why: impl Into<String>) -> Self {
        RuntimeError::Invalid {
            field,
            value: value.to_string(),
            why: why.into(),
        }
    }
}

/// The last OS error (errno), for a syscall that just failed.
pub(crate) fn errno() -> std::io::Error {
    std::io::Error::last_os_error()
}

/// The container's existence and lifecycle state.
#[derive(Debug, Error)]
pub enum StateError {
    /// `create` with an id that is taken.
    #[error("container `{0}` already exists")]
    Exists(String),
    /// A verb on an id with no state directory.
    #[error("container `{0}` does not exist")]
    NotFound(String),
    /// A verb that needs a running (or paused) container.
    #[error("container not running: `{id}` is `{status}`")]
    NotRunning {
        /// The container.
        id: String,
        /// Its status now.
        status: Status,
    },
    /// A verb the container's state does not allow.
    #[error("cannot {op} container `{id}`: it is `{status}`{hint}")]
    BadState {
        /// The verb.
        op: &'static str,
        /// The container.
        id: String,
        /// Its status now.
        status: Status,
        /// What to do instead, with its leading separator (or empty).
        hint: &'static str,
    },
}

/// Namespaces: unshare, setns and the loopback of a new network namespace.
#[derive(Debug, Error)]
pub enum NamespaceError {
    /// setns on a `linux.namespaces[].path`.
    #[error("join `{ns}` namespace at `{}`: {source}", path.display())]
    Join {
        /// The namespace type (trace name).
        ns: &'static str,
        /// The path from the spec.
        path: PathBuf,
        /// The kernel's answer.
        source: std::io::Error,
    },
    /// setns into a running container's namespace (`exec`).
    #[error("join the container's `{ns}` namespace: {source}")]
    JoinContainer {
        /// The namespace type (trace name).
        ns: &'static str,
        /// The kernel's answer.
        source: std::io::Error,
    },
    /// unshare of a namespace type.
    #[error("unshare `{ns}` namespace: {source}")]
    Unshare {
        /// The namespace type (trace name).
        ns: &'static str,
        /// The kernel's answer.
        source: std::io::Error,
    },
    /// The socket used to configure `lo`.
    #[error("socket to configure `lo`: {0}")]
    LoopbackSocket(#[source] std::io::Error),
    /// Setting `IFF_UP` on `lo`.
    #[error("bring `lo` up: {0}")]
    LoopbackUp(#[source] std::io::Error),
    /// sethostname in the new UTS namespace.
    #[error("set hostname `{name}`: {source}")]
    Hostname {
        /// `hostname` from the spec.
        name: String,
        /// The kernel's answer.
        source: std::io::Error,
    },
    /// setdomainname in the new UTS namespace.
    #[error("set domainname `{name}`: {source}")]
    Domainname {
        /// `domainname` from the spec.
        name: String,
        /// The kernel's answer.
        source: std::io::Error,
    },
}

/// The container's filesystem view.
#[derive(Debug, Error)]
pub enum RootfsError {
    /// A mount of `mounts[]` (or a default one) the kernel refused.
    #[error("mount `{}` to `{}` (type `{fstype}`): {source}", src.display(), dest.display())]
    Mount {
        /// The mount source (`none` when there is none).
        src: PathBuf,
        /// The destination inside the container.
        dest: PathBuf,
        /// The filesystem type (`none` when there is none).
        fstype: String,
        /// The kernel's answer.
        source: std::io::Error,
    },
    /// chroot into the rootfs (no mount namespace or `--no-pivot`).
    #[error("chroot into `{}`: {source}", path.display())]
    Chroot {
        /// The rootfs.
        path: PathBuf,
        /// The kernel's answer.
        source: std::io::Error,
    },
    /// chdir to `/` of the new root.
    #[error("chdir to /: {0}")]
    ChdirRoot(#[source] std::io::Error),
}

/// Capabilities, user and group ids, rlimits and no_new_privs.
#[derive(Debug, Error)]
pub enum CredentialsError {
    /// `PR_CAPBSET_DROP`.
    #[error("drop capability `{cap}` from the bounding set: {source}")]
    DropBounding {
        /// The capability number.
        cap: u8,
        /// The kernel's answer.
        source: std::io::Error,
    },
    /// capset of the effective, permitted and inheritable sets.
    #[error("set capabilities effective `{effective:#x}` permitted `{permitted:#x}` inheritable `{inheritable:#x}`: {source}")]
    SetCapabilities {
        /// The effective mask.
        effective: u64,
        /// The permitted mask.
        permitted: u64,
        /// The inheritable mask.
        inheritable: u64,
        /// The kernel's answer.
        source: std::io::Error,
    },
    /// `PR_CAP_AMBIENT_RAISE`.
    #[error("raise ambient capability `{cap}`: {source}")]
    RaiseAmbient {
        /// The capability number.
        cap: u8,
        /// The kernel's answer.
        source: std::io::Error,
    },
    /// `PR_SET_KEEPCAPS` before the uid change.
    #[error("keep capabilities: {0}")]
    KeepCapabilities(#[source] std::io::Error),
    /// setgroups of `process.user.additionalGids`.
    #[error("set additional gids `{gids:?}`: {source}")]
    Groups {
        /// The groups.
        gids: Vec<u32>,
        /// The kernel's answer.
        source: std::io::Error,
    },
    /// setresgid to `process.user.gid`.
    #[error("set gid `{gid}`: {source}")]
    Gid {
        /// The gid.
        gid: u32,
        /// The kernel's answer.
        source: std::io::Error,
    },
    /// setresuid to `process.user.uid`.
    #[error("set uid `{uid}`: {source}")]
    Uid {
        /// The uid.
        uid: u32,
        /// The kernel's answer.
        source: std::io::Error,
    },
    /// `PR_SET_NO_NEW_PRIVS`.
    #[error("set no_new_privs: {0}")]
    NoNewPrivs(#[source] std::io::Error),
    /// getrlimit before raising a hard limit.
    #[error("read rlimit `{rlimit}`: {source}")]
    ReadRlimit {
        /// The limit (`RLIMIT_NOFILE`).
        rlimit: &'static str,
        /// The kernel's answer.
        source: std::io::Error,
    },
    /// setrlimit of `process.rlimits[]`.
    #[error("set rlimit `{rlimit}` to soft `{soft}` hard `{hard}`: {source}")]
    SetRlimit {
        /// The limit (`RLIMIT_NOFILE`).
        rlimit: &'static str,
        /// The soft limit.
        soft: u64,
        /// The hard limit.
        hard: u64,
        /// The kernel's answer.
        source: std::io::Error,
    },
}

/// The seccomp filter.
#[derive(Debug, Error)]
pub enum SeccompError {
    /// libseccomp refused a step of building the filter.
    #[error("{step}: {source}")]
    Build {
        /// The step (`add seccomp rule for `read``).
        step: String,
        /// libseccomp's answer.
        source: libseccomp::error::SeccompError,
    },
    /// The memfd the compiled program is exported to.
    #[error("create memfd for the seccomp program: {0}")]
    Memfd(#[source] std::io::Error),
    /// Reading the compiled program back.
    #[error("read seccomp program: {0}")]
    ReadProgram(#[source] std::io::Error),
    /// seccomp(SECCOMP_SET_MODE_FILTER).
    #[error("load seccomp filter: {0}")]
    Load(#[source] std::io::Error),
}

/// An OCI hook that failed.
#[derive(Debug, Error)]
#[error("{kind} hook `{}` failed: {why}", path.display())]
pub struct HookError {
    /// `prestart`, `createRuntime`, ...
    pub kind: &'static str,
    /// The hook's program.
    pub path: PathBuf,
    /// What went wrong.
    pub why: HookFailure,
}

/// How a hook failed.
#[derive(Debug, Error)]
pub enum HookFailure {
    /// It could not be started.
    #[error("cannot start: {0}")]
    Start(#[source] std::io::Error),
    /// Waiting for it failed.
    #[error("wait: {0}")]
    Wait(#[source] std::io::Error),
    /// It ran past `timeout` and was killed.
    #[error("timed out after `{0}` seconds")]
    Timeout(i64),
    /// It exited unsuccessfully.
    #[error("exited with `{0}`")]
    Exit(std::process::ExitStatus),
}

/// Making, talking to and finishing container processes (init and exec).
#[derive(Debug, Error)]
pub enum ProcessError {
    /// The init (or exec'd process) reported a failure over the channel.
    #[error("container init failed: {0}")]
    Reported(String),
    /// The other side of the channel went away or sent something out of order.
    #[error("container init failed: {0}")]
    Protocol(Protocol),
    /// A syscall of the process setup failed.
    #[error("{call}: {source}")]
    Call {
        /// What was attempted.
        call: Call,
        /// The kernel's answer.
        source: std::io::Error,
    },
    /// `kill` or `delete` could not end a process.
    #[error("container init failed: {0}")]
    Undying(Undying),
}

/// Out-of-order or missing messages between k3rt and a container process.
#[derive(Debug, Error)]
pub enum Protocol {
    /// The init's channel closed before `Go`.
    #[error("k3rt went away before the init could start")]
    GoneBeforeGo,
    /// The channel closed while k3rt ran the createRuntime hooks.
    #[error("k3rt went away while running hooks")]
    GoneDuringHooks,
    /// The channel closed before `Start` (`run`).
    #[error("k3rt went away before start")]
    GoneBeforeStart,
    /// The channel closed before an exec'd process joined.
    #[error("k3rt went away before exec could join")]
    GoneBeforeJoin,
    /// The spec has no `process`.
    #[error("no process")]
    NoProcess,
    /// The init exited before `Ready`.
    #[error("the init exited before it was ready")]
    ExitedBeforeReady,
    /// The init sent something else than expected.
    #[error("unexpected message `{0}` from the init")]
    Unexpected(String),
    /// The intermediate process sent something else than the pid.
    #[error("intermediate process sent `{0}` instead of a pid")]
    NoPidFromIntermediate(String),
    /// `exec`: something else than the pid.
    #[error("exec: expected a pid, got `{0}`")]
    ExecNoPid(String),
    /// `exec`: an unexpected message after the pid.
    #[error("exec: unexpected `{0}`")]
    ExecUnexpected(String),
    /// The console socket delivered no descriptor.
    #[error("no pty master on the console socket")]
    NoPtyMaster,
    /// `start`: the fifo closed but the init did not exec.
    #[error("the init closed the exec fifo without starting")]
    FifoClosed,
    /// The init's start time could not be read (it died at once).
    #[error("cannot read the start time of the init (pid `{0}`) from /proc")]
    NoStartTime(i32),
    /// A restored init's start time could not be read.
    #[error("cannot read the start time of the restored init `{0}` from /proc/{0}/stat")]
    NoRestoredStartTime(i32),
    /// CRIU wrote no pid file.
    #[error("criu restore wrote no pid")]
    CriuNoPid,
    /// The sealed re-exec found no seals.
    #[error("re-executed from a sealed copy, but /proc/self/exe shows no seals")]
    NotSealed,
    /// An argument for the re-exec has a NUL byte.
    #[error("an argument contains a NUL byte")]
    NulInArgument,
}

/// Processes that did not die.
#[derive(Debug, Error)]
pub enum Undying {
    /// The init survived SIGKILL.
    #[error("pid `{0}` did not die after SIGKILL")]
    Pid(i32),
    /// Processes of the container (pid, start time) survived SIGKILL.
    #[error("pids `{0:?}` did not die after SIGKILL")]
    Pids(Vec<(i32, u64)>),
}

/// The syscalls of process setup, named as the message says them.
#[derive(Debug)]
pub enum Call {
    /// socketpair for the parent/child channel.
    SyncSocketpair,
    /// sendmsg on the channel.
    SyncSend,
    /// recvmsg on the channel.
    SyncReceive,
    /// clone of the init or the intermediate.
    Clone(libc::c_ulong),
    /// sigprocmask around the clone.
    BlockSignals,
    /// close_range(CLOEXEC) of inherited descriptors.
    CloseRange,
    /// keyctl(JOIN_SESSION_KEYRING).
    SessionKeyring,
    /// personality(2).
    Personality(oci_spec::runtime::LinuxPersonalityDomain),
    /// sched_setattr.
    Scheduler(oci_spec::runtime::LinuxSchedulerPolicy),
    /// ioprio_set.
    IoPriority(i64),
    /// memfd_create for the sealed copy.
    CreateMemfd(String),
    /// copying k3rt into the memfd.
    FillMemfd(String),
    /// the seals on the memfd.
    SealMemfd(String),
    /// execveat of the sealed copy.
    Reexec,
    /// execve of `process.args[0]`.
    Exec(PathBuf),
    /// a pty operation (`openpty`, `TIOCSWINSZ`...).
    Pty(&'static str),
    /// dup2 of the pty onto stdio.
    DupPty,
    /// sendmsg of the pty master.
    SendPty,
    /// recvmsg of the pty master.
    ReceivePty,
    /// the socketpair for `--console-socket` with `run`.
    ConsoleSocketpair,
    /// poll on the exec fifo.
    PollFifo,
    /// kill(2) of a container process.
    Signal {
        /// The signal number.
        sig: i32,
        /// The process.
        pid: i32,
        /// ESRCH: say so in words.
        gone: bool,
    },
}

impl std::fmt::Display for Call {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Call::SyncSocketpair => f.write_str("create sync socketpair"),
            Call::SyncSend => f.write_str("send on sync socket"),
            Call::SyncReceive => f.write_str("receive on sync socket"),
            Call::Clone(flags) => write!(f, "clone with flags `{flags:#x}`"),
            Call::BlockSignals => f.write_str("block signals"),
            Call::CloseRange => f.write_str("mark inherited descriptors close-on-exec"),
            Call::SessionKeyring => f.write_str("join a new session keyring"),
            Call::Personality(domain) => write!(f, "set personality `{domain:?}`"),
            Call::Scheduler(policy) => write!(f, "set scheduler `{policy:?}`"),
            Call::IoPriority(value) => write!(f, "set I/O priority `{value:#x}`"),
            Call::CreateMemfd(name) => write!(f, "create memfd `{name}`"),
            Call::FillMemfd(name) => write!(f, "fill memfd `{name}`"),
            Call::SealMemfd(name) => write!(f, "seal memfd `{name}`"),
            Call::Reexec => f.write_str("re-exec k3rt from its sealed copy"),
            Call::Exec(path) => write!(f, "exec `{}`", path.display()),
            Call::Pty(what) => f.write_str(what),
            Call::DupPty => f.write_str("dup pty onto stdio"),
            Call::SendPty => f.write_str("send pty master on console socket"),
            Call::ReceivePty => f.write_str("receive pty master"),
            Call::ConsoleSocketpair => f.write_str("console socketpair"),
            Call::PollFifo => f.write_str("poll exec fifo"),
            Call::Signal { sig, pid, gone } => {
                write!(f, "signal `{sig}` to pid `{pid}`")?;
                if *gone {
                    f.write_str(": no such process")?;
                }
                Ok(())
            }
        }
    }
}

impl ProcessError {
    /// `call` failed with the last OS error.
    pub(crate) fn last(call: Call) -> Self {
        ProcessError::Call {
            call,
            source: errno(),
        }
    }
}

impl From<Protocol> for RuntimeError {
    fn from(p: Protocol) -> Self {
        RuntimeError::Process(ProcessError::Protocol(p))
    }
}

impl From<Undying> for RuntimeError {
    fn from(u: Undying) -> Self {
        RuntimeError::Process(ProcessError::Undying(u))
    }
}

/// Producing a verb's output.
#[derive(Debug, Error)]
pub enum OutputError {
    /// serde_json refused to encode (never expected).
    #[error("encode {what}: {source}")]
    Encode {
        /// `state`, `list`, `pids`, `spec`.
        what: &'static str,
        /// serde_json's answer.
        source: serde_json::Error,
    },
    /// Writing to stdout.
    #[error("write {what}: {source}")]
    Write {
        /// `events`.
        what: &'static str,
        /// The kernel's answer.
        source: std::io::Error,
    },
    /// A helper program could not be run.
    #[error("run {program}: {source}")]
    Run {
        /// The program and its arguments (`` `ps -ef` ``, `criu dump`).
        program: String,
        /// The kernel's answer.
        source: std::io::Error,
    },
}

#[cfg(test)]
mod tests {
    use super::*;

    fn eperm() -> std::io::Error {
        std::io::Error::from_raw_os_error(libc::EPERM)
    }

    #[test]
    fn messages_keep_the_phrases_engines_match() {
        let e: RuntimeError = StateError::NotFound("a".into()).into();
        assert_eq!(e.to_string(), "container `a` does not exist");
        let e: RuntimeError = StateError::NotRunning {
            id: "a".into(),
            status: Status::Stopped,
        }
        .into();
        assert!(e.to_string().starts_with("container not running: `a`"));
        let e: RuntimeError = Protocol::ExitedBeforeReady.into();
        assert_eq!(
            e.to_string(),
            "container init failed: the init exited before it was ready"
        );
    }

    #[test]
    fn calls_read_as_before() {
        let e = ProcessError::Call {
            call: Call::Signal {
                sig: 9,
                pid: 7,
                gone: true,
            },
            source: eperm(),
        };
        assert!(e
            .to_string()
            .starts_with("signal `9` to pid `7`: no such process: "));
        let e = ProcessError::Call {
            call: Call::Clone(0x2000_0000),
            source: eperm(),
        };
        assert!(e.to_string().starts_with("clone with flags `0x20000000`: "));
        let e = CredentialsError::SetRlimit {
            rlimit: "RLIMIT_NOFILE",
            soft: 1,
            hard: 2,
            source: eperm(),
        };
        assert!(e
            .to_string()
            .starts_with("set rlimit `RLIMIT_NOFILE` to soft `1` hard `2`: "));
    }

    #[test]
    fn io_errors_keep_their_kind() {
        let e = RuntimeError::io(
            "read state",
            "/x",
            std::io::Error::from(std::io::ErrorKind::NotFound),
        );
        let RuntimeError::Io(io) = &e else {
            panic!("not an io error: {e:?}")
        };
        assert_eq!(io.source.kind(), std::io::ErrorKind::NotFound);
        assert_eq!(e.to_string(), "read state `/x`: entity not found");
    }
}
