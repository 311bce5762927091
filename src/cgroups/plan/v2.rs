//! cgroup v2: the unified hierarchy, weights and `max` instead of -1.

use oci_spec::runtime::{LinuxBlockIo, LinuxCpu, LinuxMemory, LinuxResources};

use super::{limit, same_in_v1_and_v2, w, Write};

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
        memory(m, &mut out);
    }
    if let Some(c) = r.cpu() {
        cpu(c, &mut out);
    }
    same_in_v1_and_v2(r, &mut out);
    if let Some(b) = r.block_io() {
        io(b, &mut out);
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

/// `memory.max`, `memory.low`, `memory.swap.max` (swap alone, not memory+swap).
fn memory(m: &LinuxMemory, out: &mut Vec<Write>) {
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

/// `cpu.weight` from shares, `cpu.max` from quota and period, `cpu.max.burst`.
fn cpu(c: &LinuxCpu, out: &mut Vec<Write>) {
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

/// `io.weight` from the blkio weight and `io.max` per device.
fn io(b: &LinuxBlockIo, out: &mut Vec<Write>) {
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
