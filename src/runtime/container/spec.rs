//! `spec`: a default config.json, as `runc spec` writes it (`--rootless` for a user namespace).

use std::path::Path;

use serde_json::{json, Value};

use crate::error::OutputError;
use crate::{Error, Result};

/// The runtime-spec version k3rt writes and reports.
pub const SPEC_VERSION: &str = "1.2.0";

const CAPS: &[&str] = &["CAP_AUDIT_WRITE", "CAP_KILL", "CAP_NET_BIND_SERVICE"];

/// The default spec as JSON; `args` is the process to run.
pub fn default_spec(rootless: bool, args: &[&str]) -> Value {
    let mut namespaces = vec![
        json!({"type":"pid"}),
        json!({"type":"ipc"}),
        json!({"type":"uts"}),
        json!({"type":"mount"}),
    ];
    if !rootless {
        namespaces.insert(1, json!({"type":"network"}));
    }
    let mut mounts = vec![
        json!({"destination":"/proc","type":"proc","source":"proc"}),
        json!({"destination":"/dev","type":"tmpfs","source":"tmpfs","options":["nosuid","strictatime","mode=755","size=65536k"]}),
        json!({"destination":"/dev/pts","type":"devpts","source":"devpts","options":["nosuid","noexec","newinstance","ptmxmode=0666","mode=0620"]}),
        json!({"destination":"/dev/shm","type":"tmpfs","source":"shm","options":["nosuid","noexec","nodev","mode=1777","size=65536k"]}),
        json!({"destination":"/dev/mqueue","type":"mqueue","source":"mqueue","options":["nosuid","noexec","nodev"]}),
        json!({"destination":"/sys","type":"sysfs","source":"sysfs","options":["nosuid","noexec","nodev","ro"]}),
        json!({"destination":"/sys/fs/cgroup","type":"cgroup","source":"cgroup","options":["nosuid","noexec","nodev","relatime","ro"]}),
    ];
    let mut linux = json!({
        "resources": {"devices": [{"allow": false, "access": "rwm"}]},
        "namespaces": namespaces,
        "maskedPaths": ["/proc/acpi","/proc/asound","/proc/kcore","/proc/keys","/proc/latency_stats","/proc/timer_list","/proc/timer_stats","/proc/sched_debug","/sys/firmware","/proc/scsi"],
        "readonlyPaths": ["/proc/bus","/proc/fs","/proc/irq","/proc/sys","/proc/sysrq-trigger"]
    });
    if rootless {
        let (uid, gid) = (
            nix::unistd::getuid().as_raw(),
            nix::unistd::getgid().as_raw(),
        );
        if let Some(n) = linux["namespaces"].as_array_mut() {
            n.push(json!({"type":"user"}));
        }
        linux["uidMappings"] = json!([{"containerID":0,"hostID":uid,"size":1}]);
        linux["gidMappings"] = json!([{"containerID":0,"hostID":gid,"size":1}]);
        linux.as_object_mut().map(|o| o.remove("resources"));
        mounts[2]["options"] = json!([
            "nosuid",
            "noexec",
            "newinstance",
            "ptmxmode=0666",
            "mode=0620"
        ]);
        mounts[5] = json!({"destination":"/sys","type":"none","source":"/sys","options":["rbind","nosuid","noexec","nodev","ro"]});
        mounts.pop();
    }
    json!({
        "ociVersion": SPEC_VERSION,
        "process": {
            "terminal": true,
            "user": {"uid": 0, "gid": 0},
            "args": args,
            "env": ["PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin", "TERM=xterm"],
            "cwd": "/",
            "capabilities": {"bounding": CAPS, "effective": CAPS, "permitted": CAPS},
            "rlimits": [{"type": "RLIMIT_NOFILE", "hard": 1024, "soft": 1024}],
            "noNewPrivileges": true
        },
        "root": {"path": "rootfs", "readonly": true},
        "hostname": "k3rt",
        "mounts": mounts,
        "linux": linux
    })
}

/// Writes `DIR/config.json`, refusing to overwrite one.
pub fn write(dir: &Path, rootless: bool) -> Result<()> {
    if !dir.is_dir() {
        return Err(Error::invalid(
            "--bundle",
            dir.display(),
            "does not exist or is not a directory",
        ));
    }
    let path = dir.join("config.json");
    if path.exists() {
        return Err(Error::invalid(
            "config.json",
            path.display(),
            "exists already; remove it first",
        ));
    }
    let text =
        serde_json::to_string_pretty(&default_spec(rootless, &["sh"])).map_err(|source| {
            OutputError::Encode {
                what: "spec",
                source,
            }
        })?;
    std::fs::write(&path, text + "\n").map_err(|e| Error::io("write", path, e))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn default_spec_parses_and_validates() {
        for rootless in [false, true] {
            let v = default_spec(rootless, &["sh"]);
            let spec: oci_spec::runtime::Spec = serde_json::from_value(v).unwrap();
            k3_oci::spec::validate_version(spec.version()).unwrap();
            let ns = crate::namespaces::NsPlan::from_spec(&spec);
            assert_eq!(
                ns.has(oci_spec::runtime::LinuxNamespaceType::User),
                rootless
            );
        }
    }

    #[test]
    fn refuses_to_overwrite() {
        let d = tempfile::tempdir().unwrap();
        write(d.path(), false).unwrap();
        let e = write(d.path(), false).unwrap_err().to_string();
        assert!(e.contains("config.json"), "{e}");
    }
}
