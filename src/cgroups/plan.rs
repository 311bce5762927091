//! Resources → cgroup file writes, as data, for v1 and v2. Applying is a loop
//! elsewhere; these functions only decide which file gets which value.

use oci_spec::runtime::{LinuxDeviceCgroup, LinuxDeviceType, LinuxResources};

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

fn w(controller: &'static str, file: impl Into<String>, value: impl ToString) -> Write {
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

fn limit(v: i64) -> String {
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
    "c 5:1 rwm",
    "c 5:2 rwm",
    "c 136:* rwm",
    "c 10:200 rwm",
];

/// The v1 writes for a resources object.
pub fn v1(r: &LinuxResources) -> Vec<Write> {
    let mut out = Vec::new();
    if let Some(m) = r.memory() {
        if let Some(l) = m.limit() {
            out.push(w("memory", "memory.limit_in_bytes", l));
        }
        if let Some(s) = m.swap() {
            out.push(w("memory", "memory.memsw.limit_in_bytes", s));
        }
        if let Some(v) = m.reservation() {
            out.push(w("memory", "memory.soft_limit_in_bytes", v));
        }
        if let Some(v) = m.kernel_tcp() {
            out.push(w("memory", "memory.kmem.tcp.limit_in_bytes", v));
        }
        if let Some(v) = m.swappiness() {
            out.push(w("memory", "memory.swappiness", v));
        }
        if m.disable_oom_killer() == Some(true) {
            out.push(w("memory", "memory.oom_control", 1));
        }
    }
    if let Some(c) = r.cpu() {
        if let Some(v) = c.shares() {
            out.push(w("cpu", "cpu.shares", v));
        }
        if let Some(v) = c.period() {
            out.push(w("cpu", "cpu.cfs_period_us", v));
        }
        if let Some(v) = c.quota() {
            out.push(w("cpu", "cpu.cfs_quota_us", v));
        }
        if let Some(v) = c.burst() {
            out.push(w("cpu", "cpu.cfs_burst_us", v));
        }
        if let Some(v) = c.realtime_period() {
            out.push(w("cpu", "cpu.rt_period_us", v));
        }
        if let Some(v) = c.realtime_runtime() {
            out.push(w("cpu", "cpu.rt_runtime_us", v));
        }
    }
    same_in_v1_and_v2(r, &mut out);
    if let Some(b) = r.block_io() {
        if let Some(v) = b.weight() {
            out.push(w("blkio", "blkio.weight", v));
        }
        if let Some(v) = b.leaf_weight() {
            out.push(w("blkio", "blkio.leaf_weight", v));
        }
        for d in b.weight_device().iter().flatten() {
            if let Some(v) = d.weight() {
                out.push(w(
                    "blkio",
                    "blkio.weight_device",
                    format!("{}:{} {v}", d.major(), d.minor()),
                ));
            }
            if let Some(v) = d.leaf_weight() {
                out.push(w(
                    "blkio",
                    "blkio.leaf_weight_device",
                    format!("{}:{} {v}", d.major(), d.minor()),
                ));
            }
        }
        let throttles = [
            (
                "blkio.throttle.read_bps_device",
                b.throttle_read_bps_device(),
            ),
            (
                "blkio.throttle.write_bps_device",
                b.throttle_write_bps_device(),
            ),
            (
                "blkio.throttle.read_iops_device",
                b.throttle_read_iops_device(),
            ),
            (
                "blkio.throttle.write_iops_device",
                b.throttle_write_iops_device(),
            ),
        ];
        for (file, list) in throttles {
            for d in list.iter().flatten() {
                out.push(w(
                    "blkio",
                    file,
                    format!("{}:{} {}", d.major(), d.minor(), d.rate()),
                ));
            }
        }
    }
    for h in r.hugepage_limits().iter().flatten() {
        out.push(w(
            "hugetlb",
            format!("hugetlb.{}.limit_in_bytes", h.page_size()),
            h.limit(),
        ));
    }
    if let Some(n) = r.network() {
        if let Some(id) = n.class_id() {
            out.push(w("net_cls", "net_cls.classid", id));
        }
        for p in n.priorities().iter().flatten() {
            out.push(w(
                "net_prio",
                "net_prio.ifpriomap",
                format!("{} {}", p.name(), p.priority()),
            ));
        }
    }
    out.extend(v1_devices(r.devices().as_deref().unwrap_or_default()));
    out
}

/// Allow rules for the nodes of `linux.devices`: a device the spec creates is usable.
pub fn device_node_rules(devices: &[oci_spec::runtime::LinuxDevice]) -> Vec<Write> {
    devices
        .iter()
        .filter_map(|d| {
            let t = match d.typ() {
                LinuxDeviceType::B => 'b',
                LinuxDeviceType::C | LinuxDeviceType::U => 'c',
                _ => return None,
            };
            Some(w(
                "devices",
                "devices.allow",
                format!("{t} {}:{} rwm", d.major(), d.minor()),
            ))
        })
        .collect()
}

/// Orders a v1 memory limit and memsw (memory+swap) limit pair so that the kernel
/// accepts each step: memsw may never be below the memory limit. When the new memsw
/// is unlimited or above the current memory limit, memsw goes first (raising both);
/// otherwise the memory limit goes first (lowering both). `current` is the memory
/// limit in force now.
pub fn order_v1_memory(writes: &mut [Write], current: i64) {
    let pos = |f: &str| writes.iter().position(|w| w.file == f);
    let (Some(l), Some(s)) = (
        pos("memory.limit_in_bytes"),
        pos("memory.memsw.limit_in_bytes"),
    ) else {
        return;
    };
    let swap: i64 = writes[s].value.parse().unwrap_or(-1);
    let swap_first = swap < 0 || current < swap;
    if swap_first != (s < l) {
        writes.swap(l, s);
    }
}

/// Deny everything, then the spec's rules in order, then the defaults.
pub fn v1_devices(rules: &[LinuxDeviceCgroup]) -> Vec<Write> {
    let mut out = vec![w("devices", "devices.deny", "a")];
    for d in rules {
        let file = if d.allow() {
            "devices.allow"
        } else {
            "devices.deny"
        };
        out.push(w("devices", file, device_rule(d)));
    }
    out.extend(
        DEFAULT_ALLOWED
            .iter()
            .map(|r| w("devices", "devices.allow", r)),
    );
    out
}

/// cpu.idle, the cpuset and pids.max: the same files in v1 and v2.
fn same_in_v1_and_v2(r: &LinuxResources, out: &mut Vec<Write>) {
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

/// cgroup v1 cpu shares → v2 cpu.weight (the formula runc and crun use).
pub fn shares_to_weight(shares: u64) -> u64 {
    if shares == 0 {
        return 0;
    }
    1 + ((shares.clamp(2, 262_144) - 2) * 9999) / 262_142
}

/// blkio weight (10..1000) → io.weight (1..10000).
pub fn blkio_to_io_weight(weight: u16) -> u64 {
    1 + (u64::from(weight.clamp(10, 1000)) - 10) * 9999 / 990
}

/// The v2 writes for a resources object.
pub fn v2(r: &LinuxResources) -> Vec<Write> {
    let mut out = Vec::new();
    if let Some(m) = r.memory() {
        if let Some(l) = m.limit() {
            out.push(w("memory", "memory.max", limit(l)));
        }
        if let Some(v) = m.reservation() {
            out.push(w("memory", "memory.low", limit(v)));
        }
        if let Some(s) = m.swap() {
            // v1 swap is memory+swap; v2 counts swap alone
            let v = match (s, m.limit()) {
                (s, _) if s < 0 => "max".to_string(),
                (s, Some(l)) if l >= 0 => (s - l).max(0).to_string(),
                (s, _) => s.to_string(),
            };
            out.push(w("memory", "memory.swap.max", v));
        }
    }
    if let Some(c) = r.cpu() {
        if let Some(v) = c.shares().filter(|s| *s > 0) {
            out.push(w("cpu", "cpu.weight", shares_to_weight(v)));
        }
        if c.quota().is_some() || c.period().is_some() {
            let q = c
                .quota()
                .filter(|q| *q > 0)
                .map_or("max".to_string(), |q| q.to_string());
            out.push(w(
                "cpu",
                "cpu.max",
                format!("{q} {}", c.period().unwrap_or(100_000)),
            ));
        }
        if let Some(v) = c.burst() {
            out.push(w("cpu", "cpu.max.burst", v));
        }
    }
    same_in_v1_and_v2(r, &mut out);
    if let Some(b) = r.block_io() {
        if let Some(v) = b.weight() {
            out.push(w("io", "io.weight", blkio_to_io_weight(v)));
        }
        let throttles = [
            ("rbps", b.throttle_read_bps_device()),
            ("wbps", b.throttle_write_bps_device()),
            ("riops", b.throttle_read_iops_device()),
            ("wiops", b.throttle_write_iops_device()),
        ];
        for (key, list) in throttles {
            for d in list.iter().flatten() {
                out.push(w(
                    "io",
                    "io.max",
                    format!("{}:{} {key}={}", d.major(), d.minor(), d.rate()),
                ));
            }
        }
    }
    for h in r.hugepage_limits().iter().flatten() {
        out.push(w(
            "hugetlb",
            format!("hugetlb.{}.max", h.page_size()),
            limit(h.limit()),
        ));
    }
    let mut unified: Vec<(&String, &String)> = r.unified().iter().flatten().collect();
    unified.sort();
    for (k, v) in unified {
        out.push(w("unified", k.clone(), v));
    }
    out
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
