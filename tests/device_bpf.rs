//! The v2 device policy on the real kernel: the eBPF program is loaded, attached to a
//! cgroup2 directory, and a process in it can read /dev/null but not /dev/kmsg.
//! Needs root and a cgroup2 mount; `integration/suite_cgroups.sh` runs it with --ignored.

// Test code: a panic is the failure report.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::path::{Path, PathBuf};
use std::process::Command;

use k3_cgroups::bpf;

fn cgroup2_mount() -> PathBuf {
    let info = std::fs::read_to_string("/proc/self/mountinfo").unwrap();
    info.lines()
        .find(|l| l.contains(" - cgroup2 "))
        .and_then(|l| l.split_whitespace().nth(4))
        .map(PathBuf::from)
        .expect("a cgroup2 mount")
}

#[test]
#[ignore = "needs root and cgroup2; run by integration/suite_cgroups.sh"]
fn attached_program_enforces_the_rules() {
    let dir = cgroup2_mount().join(format!("k3-bpf-test-{}", std::process::id()));
    std::fs::create_dir(&dir).unwrap();
    let deny_all: oci_spec::runtime::LinuxDeviceCgroup =
        serde_json::from_str(r#"{"allow":false,"access":"rwm"}"#).unwrap();
    let result = std::panic::catch_unwind(|| {
        bpf::attach(&dir, &bpf::rules(&[deny_all], &[])).unwrap();
        let script = format!(
            "echo $$ > {}/cgroup.procs; head -c 0 /dev/null && echo null-ok; head -c 1 /dev/kmsg >/dev/null 2>&1 || echo kmsg-denied",
            dir.display()
        );
        let out = Command::new("sh").arg("-c").arg(script).output().unwrap();
        String::from_utf8_lossy(&out.stdout).into_owned()
    });
    let _ = std::fs::remove_dir(Path::new(&dir));
    let out = result.unwrap();
    assert!(out.contains("null-ok"), "{out}");
    assert!(out.contains("kmsg-denied"), "{out}");
}

/// A privileged container's rules (`a rwm` allowed before its nodes and the defaults)
/// load: the kernel refuses a program with instructions that can never run.
#[test]
#[ignore = "needs root and cgroup2; run by integration/suite_cgroups.sh"]
fn allow_all_loads_and_allows() {
    let dir = cgroup2_mount().join(format!("k3-bpf-all-{}", std::process::id()));
    std::fs::create_dir(&dir).unwrap();
    let allow_all: oci_spec::runtime::LinuxDeviceCgroup =
        serde_json::from_str(r#"{"allow":true,"access":"rwm"}"#).unwrap();
    let kmsg: oci_spec::runtime::LinuxDevice =
        serde_json::from_str(r#"{"path":"/dev/kmsg","type":"c","major":1,"minor":11}"#).unwrap();
    let result = std::panic::catch_unwind(|| {
        bpf::attach(&dir, &bpf::rules(&[allow_all], &[kmsg])).unwrap();
        let script = format!(
            "echo $$ > {}/cgroup.procs; head -c 0 /dev/kmsg && echo kmsg-ok",
            dir.display()
        );
        let out = Command::new("sh").arg("-c").arg(script).output().unwrap();
        String::from_utf8_lossy(&out.stdout).into_owned()
    });
    let _ = std::fs::remove_dir(Path::new(&dir));
    let out = result.unwrap();
    assert!(out.contains("kmsg-ok"), "{out}");
}
