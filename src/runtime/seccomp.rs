//! Seccomp: `linux.seccomp` translated to rules as plain data (unit-tested), then
//! compiled and loaded with libseccomp just before the exec. Unknown syscall names
//! are skipped with a warning as runc does; `SCMP_ACT_NOTIFY` hands the listener fd
//! to `listenerPath` with the container process state.

use std::os::unix::net::UnixStream;
use std::path::PathBuf;

use libseccomp::{
    ScmpAction, ScmpArch, ScmpArgCompare, ScmpCompareOp, ScmpFilterContext, ScmpSyscall,
};
use oci_spec::runtime::{LinuxSeccomp, LinuxSeccompAction, LinuxSeccompOperator, LinuxSyscall};

use crate::error::{errno, SeccompError};
use crate::trace::Log;
use crate::{Error, Result};

/// An action with its parameter.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Act {
    /// `SCMP_ACT_KILL_THREAD`.
    KillThread,
    /// `SCMP_ACT_KILL_PROCESS`.
    KillProcess,
    /// `SCMP_ACT_TRAP`.
    Trap,
    /// `SCMP_ACT_ERRNO` with its errno.
    Errno(u16),
    /// `SCMP_ACT_TRACE` with its message.
    Trace(u16),
    /// `SCMP_ACT_ALLOW`.
    Allow,
    /// `SCMP_ACT_LOG`.
    Log,
    /// `SCMP_ACT_NOTIFY`.
    Notify,
}

/// One comparison on a syscall argument.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Cond {
    /// The argument number.
    pub index: u32,
    /// The comparison.
    pub op: LinuxSeccompOperator,
    /// The value compared with.
    pub value: u64,
    /// The second value (the mask of `SCMP_CMP_MASKED_EQ`).
    pub value_two: u64,
}

/// One rule: all its conditions must hold.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Rule {
    /// The syscall name.
    pub syscall: String,
    /// What happens when it matches.
    pub action: Act,
    /// The argument conditions, all of which must hold.
    pub conds: Vec<Cond>,
}

/// The whole filter, as data.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Plan {
    /// The action of calls no rule matches.
    pub default: Act,
    /// Extra architectures (`SCMP_ARCH_*`).
    pub archs: Vec<String>,
    /// `SECCOMP_FILTER_FLAG_LOG`.
    pub log: bool,
    /// `SECCOMP_FILTER_FLAG_TSYNC`.
    pub tsync: bool,
    /// `SECCOMP_FILTER_FLAG_SPEC_ALLOW`.
    pub spec_allow: bool,
    /// The rules, in spec order.
    pub rules: Vec<Rule>,
    /// `listenerPath` and `listenerMetadata` for notify rules.
    pub listener: Option<(PathBuf, String)>,
}

fn act(a: LinuxSeccompAction, errno: Option<u32>) -> Act {
    let errno = u16::try_from(errno.unwrap_or(libc::EPERM.unsigned_abs())).unwrap_or(u16::MAX);
    match a {
        LinuxSeccompAction::ScmpActKill | LinuxSeccompAction::ScmpActKillThread => Act::KillThread,
        LinuxSeccompAction::ScmpActKillProcess => Act::KillProcess,
        LinuxSeccompAction::ScmpActTrap => Act::Trap,
        LinuxSeccompAction::ScmpActErrno => Act::Errno(errno),
        LinuxSeccompAction::ScmpActTrace => Act::Trace(errno),
        LinuxSeccompAction::ScmpActLog => Act::Log,
        LinuxSeccompAction::ScmpActNotify => Act::Notify,
        LinuxSeccompAction::ScmpActAllow => Act::Allow,
    }
}

fn name_of<T: serde::Serialize>(v: &T) -> String {
    serde_json::to_value(v)
        .ok()
        .and_then(|v| v.as_str().map(str::to_string))
        .unwrap_or_default()
}

/// Rules for one spec entry. libseccomp takes one comparison per argument in a rule,
/// so comparisons on the same argument become separate rules (as runc does).
fn rules_of(s: &LinuxSyscall) -> Vec<Rule> {
    let action = act(s.action(), s.errno_ret());
    let conds: Vec<Cond> = s
        .args()
        .iter()
        .flatten()
        .map(|a| Cond {
            index: u32::try_from(a.index()).unwrap_or(u32::MAX),
            op: a.op(),
            value: a.value(),
            value_two: a.value_two().unwrap_or(0),
        })
        .collect();
    let mut seen = std::collections::HashSet::new();
    let repeated = conds.iter().any(|c| !seen.insert(c.index));
    let mut out = Vec::new();
    for name in s.names() {
        if repeated {
            for c in &conds {
                out.push(Rule {
                    syscall: name.clone(),
                    action,
                    conds: vec![*c],
                });
            }
        } else {
            out.push(Rule {
                syscall: name.clone(),
                action,
                conds: conds.clone(),
            });
        }
    }
    out
}

/// Translates the spec's seccomp section.
pub fn plan(s: &LinuxSeccomp) -> Result<Plan> {
    let default = act(s.default_action(), s.default_errno_ret());
    let flags: Vec<String> = s.flags().iter().flatten().map(name_of).collect();
    for f in &flags {
        if !matches!(
            f.as_str(),
            "SECCOMP_FILTER_FLAG_LOG"
                | "SECCOMP_FILTER_FLAG_TSYNC"
                | "SECCOMP_FILTER_FLAG_SPEC_ALLOW"
        ) {
            return Err(Error::invalid("linux.seccomp.flags", f, "unknown flag"));
        }
    }
    let rules: Vec<Rule> = s
        .syscalls()
        .iter()
        .flatten()
        .flat_map(rules_of)
        .filter(|r| r.action != default)
        .collect();
    let uses_notify = default == Act::Notify || rules.iter().any(|r| r.action == Act::Notify);
    let listener = match (s.listener_path(), uses_notify) {
        (Some(p), _) => Some((p.clone(), s.listener_metadata().clone().unwrap_or_default())),
        (None, true) => {
            return Err(Error::invalid(
                "linux.seccomp.listenerPath",
                "",
                "SCMP_ACT_NOTIFY needs a listener path",
            ))
        }
        (None, false) => None,
    };
    Ok(Plan {
        default,
        archs: s.architectures().iter().flatten().map(name_of).collect(),
        log: flags.iter().any(|f| f == "SECCOMP_FILTER_FLAG_LOG"),
        tsync: flags.iter().any(|f| f == "SECCOMP_FILTER_FLAG_TSYNC"),
        spec_allow: flags.iter().any(|f| f == "SECCOMP_FILTER_FLAG_SPEC_ALLOW"),
        rules,
        listener,
    })
}

fn scmp_action(a: Act) -> ScmpAction {
    match a {
        Act::KillThread => ScmpAction::KillThread,
        Act::KillProcess => ScmpAction::KillProcess,
        Act::Trap => ScmpAction::Trap,
        Act::Errno(e) => ScmpAction::Errno(i32::from(e)),
        Act::Trace(e) => ScmpAction::Trace(e),
        Act::Allow => ScmpAction::Allow,
        Act::Log => ScmpAction::Log,
        Act::Notify => ScmpAction::Notify,
    }
}

fn scmp_cond(c: &Cond) -> ScmpArgCompare {
    let op = match c.op {
        LinuxSeccompOperator::ScmpCmpNe => ScmpCompareOp::NotEqual,
        LinuxSeccompOperator::ScmpCmpLt => ScmpCompareOp::Less,
        LinuxSeccompOperator::ScmpCmpLe => ScmpCompareOp::LessOrEqual,
        LinuxSeccompOperator::ScmpCmpEq => ScmpCompareOp::Equal,
        LinuxSeccompOperator::ScmpCmpGe => ScmpCompareOp::GreaterEqual,
        LinuxSeccompOperator::ScmpCmpGt => ScmpCompareOp::Greater,
        LinuxSeccompOperator::ScmpCmpMaskedEq => ScmpCompareOp::MaskedEqual(c.value),
    };
    let datum = if c.op == LinuxSeccompOperator::ScmpCmpMaskedEq {
        c.value_two
    } else {
        c.value
    };
    ScmpArgCompare::new(c.index, op, datum)
}

fn lib_err(step: String) -> impl FnOnce(libseccomp::error::SeccompError) -> Error {
    move |source| SeccompError::Build { step, source }.into()
}

/// Compiles the plan into a libseccomp filter.
pub fn compile(p: &Plan, log: &Log) -> Result<ScmpFilterContext> {
    let mut ctx = ScmpFilterContext::new_filter(scmp_action(p.default))
        .map_err(lib_err("create seccomp filter".into()))?;
    for a in &p.archs {
        let arch: ScmpArch = a.parse().map_err(|_| {
            Error::invalid("linux.seccomp.architectures", a, "unknown architecture")
        })?;
        ctx.add_arch(arch)
            .map_err(lib_err(format!("add seccomp architecture `{a}`")))?;
    }
    ctx.set_ctl_nnp(false)
        .map_err(lib_err("seccomp no_new_privs attribute".into()))?;
    if p.tsync {
        ctx.set_ctl_tsync(true)
            .map_err(lib_err("seccomp tsync".into()))?;
    }
    if p.log {
        ctx.set_ctl_log(true)
            .map_err(lib_err("seccomp log flag".into()))?;
    }
    if p.spec_allow {
        ctx.set_ctl_ssb(true)
            .map_err(lib_err("seccomp spec_allow flag".into()))?;
    }
    for r in &p.rules {
        let Ok(sc) = ScmpSyscall::from_name(&r.syscall) else {
            log.warn(format!("seccomp: unknown syscall `{}` skipped", r.syscall));
            continue;
        };
        let conds: Vec<ScmpArgCompare> = r.conds.iter().map(scmp_cond).collect();
        ctx.add_rule_conditional(scmp_action(r.action), sc, &conds)
            .map_err(lib_err(format!("add seccomp rule for `{}`", r.syscall)))?;
    }
    Ok(ctx)
}

/// A compiled filter, and the listener connection when it notifies. Prepared by
/// k3rt before the clone (the listener path is a host path), loaded by the init.
#[derive(Debug)]
pub struct Filter {
    /// The filter as data.
    pub plan: Plan,
    /// The compiled program (`struct sock_filter` array), exported by libseccomp in
    /// k3rt so the init only makes one syscall and allocates nothing.
    bpf: Vec<u8>,
    listener: Option<UnixStream>,
}

const SECCOMP_SET_MODE_FILTER: libc::c_long = 1;
const SECCOMP_FILTER_FLAG_TSYNC: libc::c_long = 1;
const SECCOMP_FILTER_FLAG_LOG: libc::c_long = 2;
const SECCOMP_FILTER_FLAG_SPEC_ALLOW: libc::c_long = 4;
const SECCOMP_FILTER_FLAG_NEW_LISTENER: libc::c_long = 8;

/// The raw program of a libseccomp filter.
fn export(ctx: &ScmpFilterContext) -> Result<Vec<u8>> {
    use std::io::{Read, Seek};
    let mut f = std::fs::File::from(
        nix::sys::memfd::memfd_create(
            c"k3rt-seccomp",
            nix::sys::memfd::MemFdCreateFlag::MFD_CLOEXEC,
        )
        .map_err(|e| SeccompError::Memfd(e.into()))?,
    );
    ctx.export_bpf(&mut f)
        .map_err(lib_err("export seccomp program".into()))?;
    let mut bpf = Vec::new();
    f.rewind()
        .and_then(|_| f.read_to_end(&mut bpf))
        .map_err(SeccompError::ReadProgram)?;
    Ok(bpf)
}

impl Filter {
    /// Compiles the spec's filter to its raw program and connects to `listenerPath` if any.
    pub fn prepare(s: &LinuxSeccomp, log: &Log) -> Result<Filter> {
        let plan = plan(s)?;
        let bpf = export(&compile(&plan, log)?)?;
        let listener = match &plan.listener {
            Some((path, _)) => Some(
                UnixStream::connect(path)
                    .map_err(|e| Error::io("connect to seccomp listener", path.clone(), e))?,
            ),
            None => None,
        };
        Ok(Filter {
            plan,
            bpf,
            listener,
        })
    }

    /// Loads the filter into the calling process; with a listener, sends it the notify
    /// fd and the container process state (runtime-spec format).
    pub fn load(&self, state: serde_json::Value, pid: i32) -> Result<()> {
        let mut flags = 0;
        if self.plan.tsync {
            flags |= SECCOMP_FILTER_FLAG_TSYNC;
        }
        if self.plan.log {
            flags |= SECCOMP_FILTER_FLAG_LOG;
        }
        if self.plan.spec_allow {
            flags |= SECCOMP_FILTER_FLAG_SPEC_ALLOW;
        }
        if self.listener.is_some() {
            flags |= SECCOMP_FILTER_FLAG_NEW_LISTENER;
        }
        let prog = libc::sock_fprog {
            len: u16::try_from(self.bpf.len() / size_of::<libc::sock_filter>())
                .map_err(|_| SeccompError::Load(std::io::Error::from_raw_os_error(libc::E2BIG)))?,
            filter: self.bpf.as_ptr() as *mut libc::sock_filter,
        };
        // SAFETY: prog points at our exported program, alive for the call.
        let r = unsafe {
            libc::syscall(
                libc::SYS_seccomp,
                SECCOMP_SET_MODE_FILTER,
                flags,
                &prog as *const libc::sock_fprog,
            )
        };
        if r < 0 {
            return Err(SeccompError::Load(errno()).into());
        }
        let (Some(sock), Some((_, meta))) = (&self.listener, &self.plan.listener) else {
            return Ok(());
        };
        // the kernel returned the listener's descriptor: ours to close
        let fd = k3_sys::linux::owned_fd(r).map_err(SeccompError::Load)?;
        let msg = serde_json::json!({
            "ociVersion": state["ociVersion"].clone(),
            "fds": ["seccompFd"],
            "pid": pid,
            "metadata": meta,
            "state": state,
        });
        use std::os::fd::AsRawFd;
        // the listener has its own copy once sent; ours closes on return
        crate::process::tty::send_fd(sock.as_raw_fd(), fd.as_raw_fd(), msg.to_string().as_bytes())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn spec(json: &str) -> LinuxSeccomp {
        serde_json::from_str(json).unwrap()
    }

    #[test]
    fn translates_actions_errno_and_args() {
        let p = plan(&spec(
            r#"{"defaultAction":"SCMP_ACT_ERRNO","defaultErrnoRet":38,"architectures":["SCMP_ARCH_X86_64","SCMP_ARCH_X86"],
               "flags":["SECCOMP_FILTER_FLAG_LOG"],
               "syscalls":[{"names":["read","write"],"action":"SCMP_ACT_ALLOW"},
                           {"names":["personality"],"action":"SCMP_ACT_ALLOW","args":[{"index":0,"value":8,"op":"SCMP_CMP_EQ"}]},
                           {"names":["mkdir"],"action":"SCMP_ACT_ERRNO","errnoRet":1},
                           {"names":["kill"],"action":"SCMP_ACT_KILL"},
                           {"names":["getpid"],"action":"SCMP_ACT_ERRNO","errnoRet":38}]}"#,
        ))
        .unwrap();
        assert_eq!(p.default, Act::Errno(38));
        assert_eq!(p.archs, ["SCMP_ARCH_X86_64", "SCMP_ARCH_X86"]);
        assert!(p.log && !p.tsync);
        let names: Vec<&str> = p.rules.iter().map(|r| r.syscall.as_str()).collect();
        assert_eq!(
            names,
            ["read", "write", "personality", "mkdir", "kill"],
            "a rule equal to the default is dropped"
        );
        assert_eq!(p.rules[2].conds[0].value, 8);
        assert_eq!(p.rules[3].action, Act::Errno(1));
        assert_eq!(p.rules[4].action, Act::KillThread);
    }

    #[test]
    fn same_argument_twice_splits_the_rule() {
        let p = plan(&spec(
            r#"{"defaultAction":"SCMP_ACT_ALLOW","syscalls":[{"names":["clone"],"action":"SCMP_ACT_ERRNO",
               "args":[{"index":0,"value":1,"op":"SCMP_CMP_EQ"},{"index":0,"value":2,"op":"SCMP_CMP_EQ"}]}]}"#,
        ))
        .unwrap();
        assert_eq!(p.rules.len(), 2);
        assert!(p.rules.iter().all(|r| r.conds.len() == 1));
    }

    #[test]
    fn notify_needs_a_listener_and_bad_flags_are_named() {
        let e = plan(&spec(r#"{"defaultAction":"SCMP_ACT_ALLOW","syscalls":[{"names":["mkdir"],"action":"SCMP_ACT_NOTIFY"}]}"#)).unwrap_err();
        assert!(e.to_string().contains("listenerPath"), "{e}");
        let p = plan(&spec(r#"{"defaultAction":"SCMP_ACT_ALLOW","listenerPath":"/run/l.sock","listenerMetadata":"m","syscalls":[{"names":["mkdir"],"action":"SCMP_ACT_NOTIFY"}]}"#)).unwrap();
        assert_eq!(p.listener, Some(("/run/l.sock".into(), "m".into())));
    }

    #[test]
    fn compiles_with_unknown_syscalls_skipped() {
        let p = plan(&spec(
            r#"{"defaultAction":"SCMP_ACT_ALLOW","syscalls":[{"names":["mkdir","no_such_syscall_k3"],"action":"SCMP_ACT_ERRNO"},
               {"names":["personality"],"action":"SCMP_ACT_ERRNO","args":[{"index":0,"value":255,"valueTwo":8,"op":"SCMP_CMP_MASKED_EQ"}]}]}"#,
        ))
        .unwrap();
        let ctx = compile(&p, &Log::default()).unwrap();
        let bpf = export(&ctx).unwrap();
        assert!(!bpf.is_empty() && bpf.len() % size_of::<libc::sock_filter>() == 0);
    }
}
