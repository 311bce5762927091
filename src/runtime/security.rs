//! The rest of the process/linux security settings: sysctls (checked against the
//! namespaces the container owns), personality, scheduler, I/O priority, LSM labels,
//! Intel RDT. Checks run in k3rt before the clone; the appliers run in the init.

use std::path::{Path, PathBuf};

use oci_spec::runtime::{
    IOPriorityClass, LinuxPersonalityDomain, LinuxSchedulerFlag, LinuxSchedulerPolicy, Spec,
};

use crate::error::{Call, ProcessError};
use crate::namespaces::NsPlan;
use crate::{Error, Result};
use k3_sys::linux::ok_or_errno;

/// A sysctl is allowed when it belongs to a namespace the container has.
pub fn validate_sysctl(key: &str, ns: &NsPlan) -> Result<()> {
    if key.is_empty() || key.contains('/') || key.split('.').any(|p| p.is_empty() || p == "..") {
        return Err(Error::invalid("linux.sysctl", key, "not a sysctl name"));
    }
    let Some(needs) = k3_oci::sysctl::namespace_of(key) else {
        return Err(Error::invalid(
            "linux.sysctl",
            key,
            "not namespaced: it would change the host",
        ));
    };
    if !ns.has(needs) {
        return Err(Error::invalid(
            "linux.sysctl",
            key,
            format!(
                "needs a `{}` namespace of the container's own",
                crate::namespaces::trace_name(needs)
            ),
        ));
    }
    Ok(())
}

/// Everything that can be refused before the clone. SELinux labels are ignored with a
/// warning where SELinux is off (as runc and crun do: engines pass them everywhere);
/// an AppArmor profile without AppArmor is an error (the confinement asked for is missing).
pub fn validate(spec: &Spec, ns: &NsPlan, log: &crate::trace::Log) -> Result<()> {
    let linux = spec.linux().as_ref();
    for k in linux
        .and_then(|l| l.sysctl().as_ref())
        .into_iter()
        .flatten()
        .map(|(k, _)| k)
    {
        validate_sysctl(k, ns)?;
    }
    if linux.and_then(|l| l.intel_rdt().as_ref()).is_some()
        && !Path::new("/sys/fs/resctrl/info").exists()
    {
        return Err(Error::invalid(
            "linux.intelRdt",
            "set",
            "Intel RDT is not available: resctrl is not mounted at /sys/fs/resctrl",
        ));
    }
    let process = spec.process().as_ref();
    if let Some(p) = process
        .and_then(|p| p.apparmor_profile().as_deref())
        .filter(|p| !p.is_empty())
    {
        if !apparmor_enabled() {
            return Err(Error::invalid(
                "process.apparmorProfile",
                p,
                "AppArmor is not enabled in this kernel",
            ));
        }
    }
    let selinux = [
        (
            "process.selinuxLabel",
            process.and_then(|p| p.selinux_label().as_deref()),
        ),
        (
            "linux.mountLabel",
            linux.and_then(|l| l.mount_label().as_deref()),
        ),
    ];
    for (field, label) in selinux {
        if let Some(l) = label.filter(|l| !l.is_empty()) {
            if !selinux_enabled() {
                log.warn(format!(
                    "`{field}` `{l}` ignored: SELinux is not enabled in this kernel"
                ));
            }
        }
    }
    if let Some(p) = linux.and_then(|l| l.personality().as_ref()) {
        if let Some(f) = p.flags().as_ref().filter(|f| !f.is_empty()) {
            return Err(Error::invalid(
                "linux.personality.flags",
                f.join(","),
                "no personality flags are supported",
            ));
        }
    }
    Ok(())
}

/// AppArmor is enabled on this host.
pub fn apparmor_enabled() -> bool {
    std::fs::read_to_string("/sys/module/apparmor/parameters/enabled")
        .is_ok_and(|s| s.trim() == "Y")
}

/// SELinux is enabled on this host.
pub fn selinux_enabled() -> bool {
    Path::new("/sys/fs/selinux/enforce").exists()
}

/// Writes the sysctls (inside the container, after the pivot: /proc/sys is its own).
pub fn apply_sysctl(spec: &Spec) -> Result<()> {
    let Some(map) = spec.linux().as_ref().and_then(|l| l.sysctl().as_ref()) else {
        return Ok(());
    };
    for (k, v) in map {
        let path = PathBuf::from("/proc/sys").join(k.replace('.', "/"));
        std::fs::write(&path, v).map_err(|e| Error::io("set sysctl", path.clone(), e))?;
    }
    Ok(())
}

/// A failed process-attribute call as the runtime's error.
fn call(call: Call, source: std::io::Error) -> Error {
    ProcessError::Call { call, source }.into()
}

/// personality(2) from `linux.personality`.
pub fn apply_personality(spec: &Spec) -> Result<()> {
    let Some(p) = spec.linux().as_ref().and_then(|l| l.personality().as_ref()) else {
        return Ok(());
    };
    let persona: libc::c_ulong = match p.domain() {
        LinuxPersonalityDomain::PerLinux => 0x0000,
        LinuxPersonalityDomain::PerLinux32 => 0x0008,
    };
    // SAFETY: personality with an integer argument.
    let r = unsafe { libc::personality(persona) };
    ok_or_errno(r).map_err(|source| call(Call::Personality(p.domain()), source))
}

#[repr(C)]
#[derive(Default)]
struct SchedAttr {
    size: u32,
    policy: u32,
    flags: u64,
    nice: i32,
    priority: u32,
    runtime: u64,
    deadline: u64,
    period: u64,
}

/// sched_setattr(2) from `process.scheduler`.
pub fn apply_scheduler(spec: &Spec) -> Result<()> {
    let Some(s) = spec.process().as_ref().and_then(|p| p.scheduler().as_ref()) else {
        return Ok(());
    };
    let policy = match s.policy() {
        LinuxSchedulerPolicy::SchedOther => 0,
        LinuxSchedulerPolicy::SchedFifo => 1,
        LinuxSchedulerPolicy::SchedRr => 2,
        LinuxSchedulerPolicy::SchedBatch => 3,
        LinuxSchedulerPolicy::SchedIso => 4,
        LinuxSchedulerPolicy::SchedIdle => 5,
        LinuxSchedulerPolicy::SchedDeadline => 6,
    };
    let flags = s.flags().iter().flatten().fold(0u64, |acc, f| {
        acc | match f {
            LinuxSchedulerFlag::SchedResetOnFork => 0x01,
            LinuxSchedulerFlag::SchedFlagReclaim => 0x02,
            LinuxSchedulerFlag::SchedFlagDLOverrun => 0x04,
            LinuxSchedulerFlag::SchedFlagKeepPolicy => 0x08,
            LinuxSchedulerFlag::SchedFlagKeepParams => 0x10,
            LinuxSchedulerFlag::SchedFlagUtilClampMin => 0x20,
            LinuxSchedulerFlag::SchedFlagUtilClampMax => 0x40,
        }
    });
    let attr = SchedAttr {
        size: u32::try_from(size_of::<SchedAttr>()).unwrap_or(u32::MAX),
        policy,
        flags,
        nice: s.nice().unwrap_or(0),
        priority: s.priority().unwrap_or(0).max(0).unsigned_abs(),
        runtime: s.runtime().unwrap_or(0),
        deadline: s.deadline().unwrap_or(0),
        period: s.period().unwrap_or(0),
    };
    // SAFETY: attr has the kernel's sched_attr layout and outlives the call.
    let r = unsafe { libc::syscall(libc::SYS_sched_setattr, 0, &raw const attr, 0) };
    ok_or_errno(r).map_err(|source| call(Call::Scheduler(*s.policy()), source))
}

/// ioprio_set(2) from `process.ioPriority`.
pub fn apply_io_priority(spec: &Spec) -> Result<()> {
    let Some(io) = spec
        .process()
        .as_ref()
        .and_then(|p| p.io_priority().as_ref())
    else {
        return Ok(());
    };
    let class: i64 = match io.class() {
        IOPriorityClass::IoprioClassRt => 1,
        IOPriorityClass::IoprioClassBe => 2,
        IOPriorityClass::IoprioClassIdle => 3,
    };
    if !(0..=7).contains(&io.priority()) {
        return Err(Error::invalid(
            "process.ioPriority.priority",
            io.priority(),
            "must be 0..7",
        ));
    }
    let value = (class << 13) | io.priority();
    const IOPRIO_WHO_PROCESS: i64 = 1;
    // SAFETY: ioprio_set with integer arguments.
    let r = unsafe { libc::syscall(libc::SYS_ioprio_set, IOPRIO_WHO_PROCESS, 0, value) };
    ok_or_errno(r).map_err(|source| call(Call::IoPriority(value), source))
}

/// The LSM label for the exec (AppArmor profile or SELinux label), written just before it.
pub fn apply_exec_label(spec: &Spec) -> Result<()> {
    let process = spec.process().as_ref();
    if let Some(p) = process
        .and_then(|p| p.apparmor_profile().as_deref())
        .filter(|p| !p.is_empty())
    {
        let path = if Path::new("/proc/self/attr/apparmor/exec").exists() {
            "/proc/self/attr/apparmor/exec"
        } else {
            "/proc/self/attr/exec"
        };
        std::fs::write(path, format!("exec {p}"))
            .map_err(|e| Error::io("set AppArmor profile", path, e))?;
    }
    let label = process
        .and_then(|p| p.selinux_label().as_deref())
        .filter(|l| !l.is_empty());
    if let Some(l) = label.filter(|_| selinux_enabled()) {
        std::fs::write("/proc/self/attr/exec", l)
            .map_err(|e| Error::io("set SELinux label", "/proc/self/attr/exec", e))?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ns(json: &str) -> NsPlan {
        let spec: Spec = serde_json::from_str(&format!(
            r#"{{"ociVersion":"1.2.0","linux":{{"namespaces":{json}}}}}"#
        ))
        .unwrap();
        NsPlan::from_spec(&spec)
    }

    #[test]
    fn sysctls_follow_namespaces() {
        let all = ns(r#"[{"type":"ipc"},{"type":"network"},{"type":"uts"}]"#);
        for k in [
            "kernel.shmmax",
            "fs.mqueue.msg_max",
            "net.ipv4.ip_forward",
            "kernel.hostname",
        ] {
            validate_sysctl(k, &all).unwrap();
        }
        let none = ns("[]");
        let e = validate_sysctl("net.ipv4.ip_forward", &none)
            .unwrap_err()
            .to_string();
        assert!(
            e.contains("`net.ipv4.ip_forward`") && e.contains("network"),
            "{e}"
        );
        let e = validate_sysctl("kernel.panic", &all)
            .unwrap_err()
            .to_string();
        assert!(e.contains("not namespaced"), "{e}");
        assert!(validate_sysctl("net/../x", &all).is_err());
        assert!(validate_sysctl("net..x", &all).is_err());
    }

    #[test]
    fn lsm_labels_without_the_lsm_are_refused() {
        if apparmor_enabled() {
            return;
        }
        let spec: Spec = serde_json::from_str(
            r#"{"ociVersion":"1.2.0","process":{"cwd":"/","user":{"uid":0,"gid":0},"apparmorProfile":"acme"}}"#,
        )
        .unwrap();
        let e = validate(&spec, &NsPlan::default(), &crate::trace::Log::default())
            .unwrap_err()
            .to_string();
        assert!(e.contains("apparmorProfile") && e.contains("`acme`"), "{e}");
    }
}
