//! Usage samples for the dashboard, `/api/*` and `/metrics`: CPU time and
//! memory of each RUNNING container from its cgroups, the host's memory and
//! CPU from `/proc`, and the percentages computed from the deltas between
//! two samples (docker/podman's way: memory without the page cache is
//! `usage - inactive_file`).

use std::collections::{HashMap, VecDeque};
use std::fs;
use std::time::Instant;

use serde::Serialize;

use crate::container::stats::cgroup_dir;

/// Samples kept per container for the charts.
pub const HISTORY: usize = 60;

/// One reading of a container's cgroups.
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub struct Reading {
    /// `cpuacct.usage`, nanoseconds.
    pub cpu_ns: u64,
    /// Memory in use without the inactive page cache.
    pub memory: u64,
    /// The memory limit (`None` = unlimited).
    pub memory_limit: Option<u64>,
    /// CPUs allowed (quota / period).
    pub cpu_limit: Option<f64>,
    /// OOM kills so far (`memory.oom_control`'s `oom_kill`).
    pub oom_kills: u64,
}

/// A point of a container's chart.
#[derive(Debug, Clone, Copy, Serialize, PartialEq)]
pub struct Point {
    /// Seconds since the epoch.
    pub t: i64,
    pub cpu_percent: f64,
    pub memory: u64,
}

/// The percentage of one CPU used between two readings of `cpuacct.usage`.
pub fn cpu_percent(prev_ns: u64, now_ns: u64, wall_ns: u128) -> f64 {
    if wall_ns == 0 || now_ns < prev_ns {
        return 0.0;
    }
    (now_ns - prev_ns) as f64 / wall_ns as f64 * 100.0
}

/// Memory without the page cache from `memory.stat` text: `usage -
/// inactive_file` (v1's `total_inactive_file`, v2's `inactive_file`).
pub fn memory_without_cache(usage: u64, stat: &str) -> u64 {
    let field = |name: &str| {
        stat.lines().find_map(|l| {
            let (k, v) = l.split_once(' ')?;
            (k == name).then(|| v.trim().parse::<u64>().ok()).flatten()
        })
    };
    let inactive = field("total_inactive_file")
        .or_else(|| field("inactive_file"))
        .unwrap_or(0);
    usage.saturating_sub(inactive)
}

/// `part / whole` in percent (0 when `whole` is 0).
pub fn percent(part: u64, whole: u64) -> f64 {
    if whole == 0 {
        0.0
    } else {
        part as f64 / whole as f64 * 100.0
    }
}

fn read_u64(p: std::path::PathBuf) -> Option<u64> {
    fs::read_to_string(p).ok()?.trim().parse().ok()
}

/// A v1 memory limit of "unlimited" is a huge page-rounded number.
fn limit(v: Option<u64>) -> Option<u64> {
    v.filter(|&l| l < (1u64 << 62))
}

/// Reads the cgroups of the init `pid`.
pub fn read(pid: i64) -> Option<Reading> {
    let mem = cgroup_dir(pid, "memory")?;
    let usage = read_u64(mem.join("memory.usage_in_bytes"))?;
    let stat = fs::read_to_string(mem.join("memory.stat")).unwrap_or_default();
    let oom = fs::read_to_string(mem.join("memory.oom_control")).unwrap_or_default();
    let mut r = Reading {
        memory: memory_without_cache(usage, &stat),
        memory_limit: limit(read_u64(mem.join("memory.limit_in_bytes"))),
        oom_kills: oom_kills(&oom),
        ..Default::default()
    };
    if let Some(d) = cgroup_dir(pid, "cpuacct") {
        r.cpu_ns = read_u64(d.join("cpuacct.usage")).unwrap_or(0);
    }
    if let Some(d) = cgroup_dir(pid, "cpu") {
        let q = fs::read_to_string(d.join("cpu.cfs_quota_us")).ok();
        let q = q.and_then(|q| q.trim().parse::<i64>().ok()).unwrap_or(-1);
        let p = read_u64(d.join("cpu.cfs_period_us")).unwrap_or(100_000);
        r.cpu_limit = (q > 0 && p > 0).then(|| q as f64 / p as f64);
    }
    Some(r)
}

/// `oom_kill N` of `memory.oom_control`.
pub fn oom_kills(text: &str) -> u64 {
    text.lines()
        .find_map(|l| l.strip_prefix("oom_kill "))
        .and_then(|v| v.trim().parse().ok())
        .unwrap_or(0)
}

/// Host memory `(used, total)` from `/proc/meminfo` text: used = total -
/// available.
pub fn host_memory(meminfo: &str) -> (u64, u64) {
    let kb = |name: &str| {
        meminfo
            .lines()
            .find_map(|l| l.strip_prefix(name))
            .and_then(|v| v.trim().trim_end_matches("kB").trim().parse::<u64>().ok())
            .unwrap_or(0)
            * 1024
    };
    let total = kb("MemTotal:");
    (total.saturating_sub(kb("MemAvailable:")), total)
}

/// `(busy, total)` jiffies of the `cpu` line of `/proc/stat` text.
pub fn host_cpu(stat: &str) -> (u64, u64) {
    let Some(line) = stat.lines().find(|l| l.starts_with("cpu ")) else {
        return (0, 0);
    };
    let v: Vec<u64> = line
        .split_whitespace()
        .skip(1)
        .filter_map(|x| x.parse().ok())
        .collect();
    let total: u64 = v.iter().take(8).sum();
    let idle = v.get(3).copied().unwrap_or(0) + v.get(4).copied().unwrap_or(0);
    (total.saturating_sub(idle), total)
}

/// Host CPU busy percent between two `(busy, total)` readings.
pub fn host_cpu_percent(prev: (u64, u64), now: (u64, u64)) -> f64 {
    let busy = now.0.saturating_sub(prev.0);
    let total = now.1.saturating_sub(prev.1);
    percent(busy, total)
}

#[derive(Debug, Clone)]
struct Last {
    pid: i64,
    reading: Reading,
    at: Instant,
    cpu_percent: f64,
}

/// The latest samples and a short history per container.
#[derive(Debug, Default)]
pub struct Sampler {
    last: HashMap<String, Last>,
    history: HashMap<String, VecDeque<Point>>,
    host_cpu: Option<(u64, u64)>,
    host_cpu_percent: f64,
}

/// What a sample of one container gives.
#[derive(Debug, Clone, Copy)]
pub struct Sample {
    pub reading: Reading,
    pub cpu_percent: f64,
    /// OOM kills since the previous sample.
    pub new_ooms: u64,
}

impl Sampler {
    /// Samples container `id` whose init is `pid` (readings closer than
    /// 200 ms to the previous one reuse it).
    pub fn sample(&mut self, id: &str, pid: i64, now_s: i64) -> Option<Sample> {
        let now = Instant::now();
        let prev = self.last.get(id).filter(|l| l.pid == pid).cloned();
        if let Some(l) = prev
            .as_ref()
            .filter(|l| now.duration_since(l.at).as_millis() < 200)
        {
            return Some(Sample {
                reading: l.reading,
                cpu_percent: l.cpu_percent,
                new_ooms: 0,
            });
        }
        let reading = read(pid)?;
        let (pct, ooms) = match &prev {
            Some(l) => (
                cpu_percent(
                    l.reading.cpu_ns,
                    reading.cpu_ns,
                    now.duration_since(l.at).as_nanos(),
                ),
                reading.oom_kills.saturating_sub(l.reading.oom_kills),
            ),
            None => (0.0, 0),
        };
        self.last.insert(
            id.to_string(),
            Last {
                pid,
                reading,
                at: now,
                cpu_percent: pct,
            },
        );
        let h = self.history.entry(id.to_string()).or_default();
        h.push_back(Point {
            t: now_s,
            cpu_percent: pct,
            memory: reading.memory,
        });
        while h.len() > HISTORY {
            h.pop_front();
        }
        Some(Sample {
            reading,
            cpu_percent: pct,
            new_ooms: ooms,
        })
    }

    /// The chart points of `id`, oldest first.
    pub fn history(&self, id: &str) -> Vec<Point> {
        self.history
            .get(id)
            .map(|h| h.iter().copied().collect())
            .unwrap_or_default()
    }

    /// Forgets containers not in `keep`.
    pub fn retain(&mut self, keep: &[String]) {
        self.last.retain(|k, _| keep.contains(k));
        self.history.retain(|k, _| keep.contains(k));
    }

    /// The host's `(used_memory, total_memory, cpu_percent)`.
    pub fn host(&mut self) -> (u64, u64, f64) {
        let (used, total) = host_memory(&fs::read_to_string("/proc/meminfo").unwrap_or_default());
        let now = host_cpu(&fs::read_to_string("/proc/stat").unwrap_or_default());
        if let Some(prev) = self.host_cpu {
            if now.1 > prev.1 {
                self.host_cpu_percent = host_cpu_percent(prev, now);
                self.host_cpu = Some(now);
            }
        } else {
            self.host_cpu = Some(now);
        }
        (used, total, self.host_cpu_percent)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cpu_percent_is_usage_over_wall_time() {
        // 50 ms of CPU in 100 ms of wall time: half a CPU.
        assert_eq!(cpu_percent(1_000_000, 51_000_000, 100_000_000), 50.0);
        assert_eq!(cpu_percent(0, 250_000_000, 100_000_000), 250.0);
        assert_eq!(cpu_percent(5, 1, 100), 0.0);
        assert_eq!(cpu_percent(1, 5, 0), 0.0);
    }

    #[test]
    fn memory_excludes_inactive_file() {
        let v1 = "cache 100\ntotal_inactive_file 4096\ninactive_file 1\n";
        assert_eq!(memory_without_cache(10_000, v1), 5904);
        let v2 = "anon 5\ninactive_file 1000\n";
        assert_eq!(memory_without_cache(3000, v2), 2000);
        assert_eq!(memory_without_cache(10, "total_inactive_file 99\n"), 0);
        assert_eq!(memory_without_cache(7, ""), 7);
    }

    #[test]
    fn host_readings() {
        let mi = "MemTotal:       1000 kB\nMemFree: 10 kB\nMemAvailable:    250 kB\n";
        assert_eq!(host_memory(mi), (750 * 1024, 1000 * 1024));
        let a = host_cpu("cpu  10 0 10 70 10 0 0 0 0 0\ncpu0 1 1 1 1\n");
        assert_eq!(a, (20, 100));
        let b = host_cpu("cpu  40 0 20 130 10 0 0 0 0 0\n");
        assert_eq!(host_cpu_percent(a, b), 40.0 / 100.0 * 100.0);
    }

    #[test]
    fn oom_kill_count_and_percent() {
        assert_eq!(
            oom_kills("oom_kill_disable 0\nunder_oom 0\noom_kill 3\n"),
            3
        );
        assert_eq!(oom_kills(""), 0);
        assert_eq!(percent(1, 4), 25.0);
        assert_eq!(percent(1, 0), 0.0);
    }
}
