//! Resources → cgroup file writes, as data, for v1 and v2. Applying is a loop
//! elsewhere; these functions only decide which file gets which value.

mod v1;
mod v2;

use oci_spec::runtime::{LinuxDeviceCgroup, LinuxDeviceType, LinuxResources};

pub use v1::{device_node_rules, order_v1_memory, v1, v1_devices};
pub use v2::{blkio_to_io_weight, shares_to_weight, v2};

/// One write: `controller` picks the hierarchy on v1 (ignored on v2).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Write {
    /// The controller whose hierarchy gets the write (v1).
    pub controller: &'static str,
    /// The interface file, relative to the cgroup directory.
    pub file: String,
    /// The value written.
    pub value: String,
}

pub(super) fn w(controller: &'static str, file: impl Into<String>, value: impl ToString) -> Write {
    Write {
        controller,
        file: file.into(),
        value: value.to_string(),
    }
}

/// The field of `linux.resources` a cgroup file's value comes from (for
/// errors: `linux.resources.memory.limit: write \`-2\` to ...`).
pub fn spec_field(file: &str) -> Option<&'static str> {
    let (ctl, rest) = file.split_once('.')?;
    Some(match (ctl, rest) {
        ("memory", "limit_in_bytes" | "max") => "linux.resources.memory.limit",
        ("memory", "soft_limit_in_bytes" | "low") => "linux.resources.memory.reservation",
        ("memory", "memsw.limit_in_bytes" | "swap.max") => "linux.resources.memory.swap",
        ("memory", "swappiness") => "linux.resources.memory.swappiness",
        ("memory", "oom_control" | "oom.group") => "linux.resources.memory.disableOOMKiller",
        ("memory", r) if r.starts_with("kmem") => "linux.resources.memory.kernelTCP",
        ("cpu", "shares" | "weight") => "linux.resources.cpu.shares",
        ("cpu", "cfs_quota_us" | "max") => "linux.resources.cpu.quota",
        ("cpu", "cfs_period_us") => "linux.resources.cpu.period",
        ("cpu", "cfs_burst_us" | "max.burst") => "linux.resources.cpu.burst",
        ("cpu", "rt_runtime_us") => "linux.resources.cpu.realtimeRuntime",
        ("cpu", "rt_period_us") => "linux.resources.cpu.realtimePeriod",
        ("cpu", "idle") => "linux.resources.cpu.idle",
        ("cpuset", "cpus") => "linux.resources.cpu.cpus",
        ("cpuset", "mems") => "linux.resources.cpu.mems",
        ("pids", _) => "linux.resources.pids.limit",
        ("blkio" | "io", r) if r.contains("weight") => "linux.resources.blockIO.weight",
        ("blkio" | "io", _) => "linux.resources.blockIO",
        ("hugetlb", _) => "linux.resources.hugepageLimits",
        ("devices", _) => "linux.resources.devices",
        ("net_cls", _) => "linux.resources.network.classID",
        ("net_prio", _) => "linux.resources.network.priorities",
        _ => "linux.resources.unified",
    })
}

pub(super) fn limit(v: i64) -> String {
    if v < 0 {
        "max".to_string()
    } else {
        v.to_string()
    }
}

fn dev_type(t: Option<LinuxDeviceType>) -> char {
    match t {
        Some(LinuxDeviceType::B) => 'b',
        Some(LinuxDeviceType::C) | Some(LinuxDeviceType::U) => 'c',
        Some(LinuxDeviceType::P) => 'p',
        Some(LinuxDeviceType::A) | None => 'a',
    }
}

fn num(n: Option<i64>) -> String {
    n.filter(|n| *n >= 0)
        .map_or("*".to_string(), |n| n.to_string())
}

/// `c 1:3 rwm` for the v1 devices controller.
pub fn device_rule(d: &LinuxDeviceCgroup) -> String {
    let t = dev_type(d.typ());
    if t == 'a' && d.major().is_none() && d.minor().is_none() {
        return "a".to_string();
    }
    format!(
        "{t} {}:{} {}",
        num(d.major()),
        num(d.minor()),
        d.access().as_deref().unwrap_or("rwm")
    )
}

/// Devices every container may use whatever the spec says (runc's list).
pub const DEFAULT_ALLOWED: &[&str] = &[
    "c *:* m",
    "b *:* m",
    "c 1:3 rwm",
    "c 1:5 rwm",
    "c 1:7 rwm",
    "c 1:8 rwm",
    "c 1:9 rwm",
    "c 5:0 rwm",
    "c 5:2 rwm",
    "c 136:* rwm",
    "c 10:200 rwm",
];

/// cpu.idle, the cpuset and pids.max: the same files in v1 and v2.
pub(super) fn same_in_v1_and_v2(r: &LinuxResources, out: &mut Vec<Write>) {
    if let Some(c) = r.cpu() {
        if let Some(v) = c.idle() {
            out.push(w("cpu", "cpu.idle", v));
        }
        if let Some(v) = c.cpus().as_deref().filter(|v| !v.is_empty()) {
            out.push(w("cpuset", "cpuset.cpus", v));
        }
        if let Some(v) = c.mems().as_deref().filter(|v| !v.is_empty()) {
            out.push(w("cpuset", "cpuset.mems", v));
        }
    }
    if let Some(p) = r.pids() {
        let max = if p.limit() > 0 {
            p.limit().to_string()
        } else {
            "max".into()
        };
        out.push(w("pids", "pids.max", max));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn res(json: &str) -> LinuxResources {
        serde_json::from_str(json).unwrap()
    }

    #[test]
    fn v1_memory_cpu_pids() {
        let r = res(
            r#"{"memory":{"limit":536870912,"swap":1073741824},"cpu":{"shares":512,"quota":50000,"period":100000,"cpus":"0"},"pids":{"limit":64}}"#,
        );
        let files: Vec<(String, String)> = v1(&r).into_iter().map(|w| (w.file, w.value)).collect();
        let has = |f: &str, v: &str| files.contains(&(f.to_string(), v.to_string()));
        assert!(has("memory.limit_in_bytes", "536870912"));
        assert!(has("memory.memsw.limit_in_bytes", "1073741824"));
        assert!(has("cpu.shares", "512"));
        assert!(has("cpu.cfs_quota_us", "50000"));
        assert!(has("cpuset.cpus", "0"));
        assert!(has("pids.max", "64"));
        let period = files
            .iter()
            .position(|(f, _)| f == "cpu.cfs_period_us")
            .unwrap();
        let quota = files
            .iter()
            .position(|(f, _)| f == "cpu.cfs_quota_us")
            .unwrap();
        assert!(period < quota, "period is written before quota");
        assert_eq!(
            files[files.len() - DEFAULT_ALLOWED.len() - 1],
            ("devices.deny".into(), "a".into())
        );
    }

    #[test]
    fn memory_and_memsw_are_ordered_for_the_kernel() {
        let files = |ws: &[Write]| ws.iter().map(|w| w.file.clone()).collect::<Vec<_>>();
        let pair = |l: &str, s: &str| {
            vec![
                w("memory", "memory.limit_in_bytes", l),
                w("memory", "memory.memsw.limit_in_bytes", s),
            ]
        };
        // raising 64M → 128M/128M: memsw first, else the limit would exceed it
        let mut up = pair("134217728", "134217728");
        order_v1_memory(&mut up, 67108864);
        assert_eq!(files(&up)[0], "memory.memsw.limit_in_bytes");
        // lowering from unlimited (a fresh cgroup): the limit first
        let mut down = pair("67108864", "67108864");
        order_v1_memory(&mut down, i64::MAX);
        assert_eq!(files(&down)[0], "memory.limit_in_bytes");
        // unlimited swap always goes first
        let mut unl = pair("67108864", "-1");
        order_v1_memory(&mut unl, i64::MAX);
        assert_eq!(files(&unl)[0], "memory.memsw.limit_in_bytes");
    }

    #[test]
    fn v1_device_rules() {
        let r = res(
            r#"{"devices":[{"allow":false,"access":"rwm"},{"allow":true,"type":"c","major":10,"minor":229,"access":"rw"},{"allow":true,"type":"b","major":8}]}"#,
        );
        let d: Vec<String> = v1(&r)
            .into_iter()
            .filter(|w| w.controller == "devices")
            .map(|w| format!("{} {}", w.file, w.value))
            .collect();
        assert_eq!(d[0], "devices.deny a");
        assert_eq!(d[1], "devices.deny a");
        assert_eq!(d[2], "devices.allow c 10:229 rw");
        assert_eq!(d[3], "devices.allow b 8:* rwm");
    }

    #[test]
    fn v2_conversions() {
        let r = res(
            r#"{"memory":{"limit":1048576,"swap":3145728,"reservation":-1},"cpu":{"shares":1024,"quota":25000},"pids":{"limit":0},"blockIO":{"weight":500,"throttleReadBpsDevice":[{"major":8,"minor":0,"rate":1000}]},"unified":{"memory.high":"900000"}}"#,
        );
        let got: Vec<(String, String)> = v2(&r).into_iter().map(|w| (w.file, w.value)).collect();
        let want = [
            ("memory.max", "1048576"),
            ("memory.low", "max"),
            ("memory.swap.max", "2097152"),
            ("cpu.weight", "39"),
            ("cpu.max", "25000 100000"),
            ("pids.max", "max"),
            ("io.weight", "4950"),
            ("io.max", "8:0 rbps=1000"),
            ("memory.high", "900000"),
        ];
        for (f, v) in want {
            assert!(
                got.contains(&(f.to_string(), v.to_string())),
                "{f}={v} in {got:?}"
            );
        }
    }

    #[test]
    fn weight_formulas() {
        assert_eq!(shares_to_weight(2), 1);
        assert_eq!(shares_to_weight(262_144), 10_000);
        assert_eq!(blkio_to_io_weight(10), 1);
        assert_eq!(blkio_to_io_weight(1000), 10_000);
    }
}
