//! cgroup v1: one hierarchy per controller, limits in bytes and shares.

use oci_spec::runtime::{
    LinuxBlockIo, LinuxCpu, LinuxDeviceCgroup, LinuxDeviceType, LinuxMemory, LinuxNetwork,
    LinuxResources,
};

use super::{device_rule, same_in_v1_and_v2, w, Write, DEFAULT_ALLOWED};

/// The v1 writes for a resources object.
pub fn v1(r: &LinuxResources) -> Vec<Write> {
    let mut out = Vec::new();
    if let Some(m) = r.memory() {
        memory(m, &mut out);
    }
    if let Some(c) = r.cpu() {
        cpu(c, &mut out);
    }
    same_in_v1_and_v2(r, &mut out);
    if let Some(b) = r.block_io() {
        blkio(b, &mut out);
    }
    for h in r.hugepage_limits().iter().flatten() {
        out.push(w(
            "hugetlb",
            format!("hugetlb.{}.limit_in_bytes", h.page_size()),
            h.limit(),
        ));
    }
    if let Some(n) = r.network() {
        network(n, &mut out);
    }
    out.extend(v1_devices(r.devices().as_deref().unwrap_or_default()));
    out
}

/// `memory.*`: limits in bytes, -1 for none (v1 takes it as is).
fn memory(m: &LinuxMemory, out: &mut Vec<Write>) {
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

/// `cpu.*`: shares and the CFS and RT periods.
fn cpu(c: &LinuxCpu, out: &mut Vec<Write>) {
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

/// `blkio.*`: weights and per-device throttles.
fn blkio(b: &LinuxBlockIo, out: &mut Vec<Write>) {
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

/// `net_cls.classid` and `net_prio.ifpriomap`.
fn network(n: &LinuxNetwork, out: &mut Vec<Write>) {
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
