//! Cgroup statistics for `events --stats`, in runc's JSON shape, read from v1 or v2 files.

use std::collections::BTreeMap;
use std::fs;
use std::path::{Path, PathBuf};

use serde_json::{json, Value};

fn read(p: &Path) -> Option<String> {
    fs::read_to_string(p).ok().map(|s| s.trim().to_string())
}

fn num(p: &Path) -> u64 {
    read(p).and_then(|s| s.parse().ok()).unwrap_or(0)
}

/// `key value` lines (memory.stat, cpu.stat ...).
pub fn kv(text: &str) -> BTreeMap<String, u64> {
    text.lines()
        .filter_map(|l| {
            let mut it = l.split_whitespace();
            Some((it.next()?.to_string(), it.next()?.parse().ok()?))
        })
        .collect()
}

fn find<'a>(paths: &'a [PathBuf], file: &str) -> Option<&'a PathBuf> {
    paths.iter().find(|p| p.join(file).exists())
}

/// Stats of a v1 cgroup (one directory per hierarchy).
pub fn v1(paths: &[PathBuf]) -> Value {
    let mut data = json!({});
    if let Some(d) = find(paths, "cpuacct.usage") {
        let percpu: Vec<u64> = read(&d.join("cpuacct.usage_percpu"))
            .unwrap_or_default()
            .split_whitespace()
            .filter_map(|n| n.parse().ok())
            .collect();
        let st = kv(&read(&d.join("cpuacct.stat")).unwrap_or_default());
        let tick_ns = 10_000_000; // USER_HZ = 100
        data["cpu"] = json!({"usage": {
            "total": num(&d.join("cpuacct.usage")), "percpu": percpu,
            "kernel": st.get("system").copied().unwrap_or(0) * tick_ns,
            "user": st.get("user").copied().unwrap_or(0) * tick_ns}});
    }
    if let Some(d) = find(paths, "cpu.stat") {
        let st = kv(&read(&d.join("cpu.stat")).unwrap_or_default());
        data["cpu"]["throttling"] = json!({"periods": st.get("nr_periods"), "throttled_periods": st.get("nr_throttled"), "throttled_time": st.get("throttled_time")});
    }
    if let Some(d) = find(paths, "memory.usage_in_bytes") {
        let raw = kv(&read(&d.join("memory.stat")).unwrap_or_default());
        data["memory"] = json!({
            "usage": {"usage": num(&d.join("memory.usage_in_bytes")), "limit": num(&d.join("memory.limit_in_bytes")),
                      "max": num(&d.join("memory.max_usage_in_bytes")), "failcnt": num(&d.join("memory.failcnt"))},
            "swap": {"usage": num(&d.join("memory.memsw.usage_in_bytes")), "limit": num(&d.join("memory.memsw.limit_in_bytes"))},
            "cache": raw.get("cache").copied().unwrap_or(0),
            "raw": raw,
        });
    }
    if let Some(d) = find(paths, "pids.current") {
        let limit = read(&d.join("pids.max"))
            .and_then(|s| s.parse::<u64>().ok())
            .unwrap_or(0);
        data["pids"] = json!({"current": num(&d.join("pids.current")), "limit": limit});
    }
    if let Some(d) = find(paths, "blkio.throttle.io_service_bytes") {
        data["blkio"] = json!({"ioServiceBytesRecursive": blkio_entries(&read(&d.join("blkio.throttle.io_service_bytes")).unwrap_or_default())});
    }
    if let Some(d) = find(paths, "hugetlb.2MB.usage_in_bytes") {
        data["hugetlb"] = json!({"2MB": {"usage": num(&d.join("hugetlb.2MB.usage_in_bytes")), "max": num(&d.join("hugetlb.2MB.max_usage_in_bytes")), "failcnt": num(&d.join("hugetlb.2MB.failcnt"))}});
    }
    data
}

fn blkio_entries(text: &str) -> Vec<Value> {
    text.lines()
        .filter_map(|l| {
            let f: Vec<&str> = l.split_whitespace().collect();
            let (maj, min) = f.first()?.split_once(':')?;
            Some(json!({"major": maj.parse::<u64>().ok()?, "minor": min.parse::<u64>().ok()?, "op": f.get(1)?, "value": f.get(2)?.parse::<u64>().ok()?}))
        })
        .collect()
}

/// Stats of a v2 cgroup.
pub fn v2(dir: &Path) -> Value {
    let cpu = kv(&read(&dir.join("cpu.stat")).unwrap_or_default());
    let mem = kv(&read(&dir.join("memory.stat")).unwrap_or_default());
    let max = |f: &str| {
        read(&dir.join(f))
            .and_then(|s| s.parse::<u64>().ok())
            .unwrap_or(u64::MAX)
    };
    json!({
        "cpu": {"usage": {"total": cpu.get("usage_usec").copied().unwrap_or(0) * 1000,
                          "user": cpu.get("user_usec").copied().unwrap_or(0) * 1000,
                          "kernel": cpu.get("system_usec").copied().unwrap_or(0) * 1000},
                "throttling": {"periods": cpu.get("nr_periods"), "throttled_periods": cpu.get("nr_throttled"),
                               "throttled_time": cpu.get("throttled_usec").map(|u| u * 1000)}},
        "memory": {"usage": {"usage": num(&dir.join("memory.current")), "limit": max("memory.max"), "max": num(&dir.join("memory.peak"))},
                   "swap": {"usage": num(&dir.join("memory.swap.current")), "limit": max("memory.swap.max")},
                   "cache": mem.get("file").copied().unwrap_or(0), "raw": mem},
        "pids": {"current": num(&dir.join("pids.current")), "limit": read(&dir.join("pids.max")).and_then(|s| s.parse::<u64>().ok()).unwrap_or(0)},
    })
}

/// OOM kills so far (v1 memory.oom_control, v2 memory.events).
pub fn oom_kills(paths: &[PathBuf]) -> u64 {
    for p in paths {
        for f in ["memory.oom_control", "memory.events"] {
            if let Some(t) = read(&p.join(f)) {
                return kv(&t).get("oom_kill").copied().unwrap_or(0);
            }
        }
    }
    0
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn v2_stats_from_files() {
        let d = tempfile::tempdir().unwrap();
        let w = |f: &str, v: &str| fs::write(d.path().join(f), v).unwrap();
        w("cpu.stat", "usage_usec 1500\nuser_usec 1000\nsystem_usec 500\nnr_periods 3\nnr_throttled 1\nthrottled_usec 7\n");
        w("memory.current", "4096\n");
        w("memory.max", "max\n");
        w("memory.stat", "anon 100\nfile 200\n");
        w("pids.current", "2\n");
        w("pids.max", "max\n");
        w("memory.events", "low 0\noom 1\noom_kill 2\n");
        let s = v2(d.path());
        assert_eq!(s["cpu"]["usage"]["total"], 1_500_000);
        assert_eq!(s["cpu"]["throttling"]["throttled_time"], 7000);
        assert_eq!(s["memory"]["usage"]["usage"], 4096);
        assert_eq!(s["memory"]["usage"]["limit"], u64::MAX);
        assert_eq!(s["memory"]["cache"], 200);
        assert_eq!(s["pids"]["current"], 2);
        assert_eq!(oom_kills(&[d.path().to_path_buf()]), 2);
    }

    #[test]
    fn blkio_lines() {
        let e = blkio_entries("8:0 Read 4096\n8:0 Write 0\nTotal 4096\n");
        assert_eq!(e.len(), 2);
        assert_eq!(e[0]["op"], "Read");
    }
}
