//! `stats`: CPU and memory of a running container, read from its cgroups
//! (found through `/proc/PID/cgroup`, so v1, hybrid and v2 all work).

use std::fs;
use std::path::PathBuf;

use serde::Serialize;

use crate::container::{load, ContainerError};
use crate::context::Engine;
use crate::db::container_state::Status;

/// Usage and limits (seed 001's fields).
#[derive(Debug, Clone, Serialize, Default)]
pub struct Stats {
    /// The container's id.
    pub id: String,
    /// The init's host pid.
    pub pid: i64,
    /// CPU time used, in nanoseconds.
    pub cpu_usage_ns: Option<u64>,
    /// CPUs allowed (quota / period).
    pub cpu_limit: Option<f64>,
    /// Memory in use, bytes.
    pub memory_usage: Option<u64>,
    /// The memory limit, bytes (None: unlimited).
    pub memory_limit: Option<u64>,
    /// Processes in the container's cgroup.
    pub pids: Option<u64>,
    /// The host's memory, bytes: what an unlimited container may use.
    pub host_memory: Option<u64>,
    /// Memory in use less the inactive page cache, as docker counts it, bytes.
    pub memory_working_set: Option<u64>,
    /// Bytes received and sent on the container's interfaces (loopback apart).
    pub net_io: Option<(u64, u64)>,
    /// Bytes read and written on block devices.
    pub block_io: Option<(u64, u64)>,
    /// When the sample was taken, ns since the epoch (for CPU %).
    pub sampled_ns: i64,
}

impl Stats {
    /// The limit `MEM %` is of: the container's, else the host's memory.
    pub fn memory_ceiling(&self) -> Option<u64> {
        self.memory_limit.or(self.host_memory)
    }

    /// Memory in use as a percentage of [`Stats::memory_ceiling`].
    pub fn memory_percent(&self) -> Option<f64> {
        let used = self.memory_working_set.or(self.memory_usage)?;
        let of = self.memory_ceiling().filter(|&c| c > 0)?;
        Some(used as f64 * 100.0 / of as f64)
    }

    /// CPU use between `earlier` and this sample, in percent of one CPU (docker's
    /// `CPU %`: 200 is two CPUs busy).
    pub fn cpu_percent(&self, earlier: &Stats) -> Option<f64> {
        let used = self.cpu_usage_ns?.checked_sub(earlier.cpu_usage_ns?)?;
        let wall = self.sampled_ns.checked_sub(earlier.sampled_ns)?;
        (wall > 0).then(|| used as f64 * 100.0 / wall as f64)
    }
}

/// The host's memory (`MemTotal` of `/proc/meminfo`), bytes.
pub fn host_memory() -> Option<u64> {
    let text = fs::read_to_string("/proc/meminfo").ok()?;
    let kb: u64 = text
        .lines()
        .find_map(|l| l.strip_prefix("MemTotal:"))?
        .trim()
        .trim_end_matches("kB")
        .trim()
        .parse()
        .ok()?;
    kb.checked_mul(1024)
}

/// A limit file's value; `max` and the v1 "unlimited" (a page-rounded `i64::MAX`,
/// or anything above the host's memory) are `None`.
fn memory_limit(text: Option<String>, host: Option<u64>) -> Option<u64> {
    let v: u64 = text?.trim().parse().ok()?;
    match host {
        Some(h) if v >= h => None,
        _ if v >= (i64::MAX as u64) / 2 => None,
        _ => Some(v),
    }
}

/// The value of `key` in a `memory.stat`-style file (`key value` lines).
fn stat_value(text: &str, key: &str) -> Option<u64> {
    text.lines().find_map(|l| {
        let (k, v) = l.split_once(' ')?;
        (k == key).then(|| v.trim().parse().ok()).flatten()
    })
}

/// Received and sent bytes of every interface but `lo` in `/proc/PID/net/dev`.
fn net_dev(text: &str) -> (u64, u64) {
    text.lines()
        .skip(2)
        .filter_map(|l| {
            let (name, rest) = l.split_once(':')?;
            if name.trim() == "lo" {
                return None;
            }
            let f: Vec<u64> = rest
                .split_whitespace()
                .filter_map(|x| x.parse().ok())
                .collect();
            Some((*f.first()?, *f.get(8)?))
        })
        .fold((0, 0), |(r, t), (a, b)| (r + a, t + b))
}

/// Read and written bytes: v1 `blkio.throttle.io_service_bytes` (`DEV Read N`) or
/// v2 `io.stat` (`DEV rbytes=N wbytes=N ...`).
fn block_io(text: &str) -> (u64, u64) {
    let (mut r, mut w) = (0u64, 0u64);
    for l in text.lines() {
        let f: Vec<&str> = l.split_whitespace().collect();
        match f.as_slice() {
            [_, "Read", n] => r += n.parse::<u64>().unwrap_or(0),
            [_, "Write", n] => w += n.parse::<u64>().unwrap_or(0),
            [_, kv @ ..] => {
                for x in kv {
                    if let Some(n) = x.strip_prefix("rbytes=") {
                        r += n.parse::<u64>().unwrap_or(0);
                    } else if let Some(n) = x.strip_prefix("wbytes=") {
                        w += n.parse::<u64>().unwrap_or(0);
                    }
                }
            }
            _ => {}
        }
    }
    (r, w)
}

/// The cgroup directory of `controller` for `pid` (`""` = v2 unified).
pub fn cgroup_dir(pid: i64, controller: &str) -> Option<PathBuf> {
    let text = fs::read_to_string(format!("/proc/{pid}/cgroup")).ok()?;
    for line in text.lines() {
        let mut parts = line.splitn(3, ':');
        let (_, ctrls, path) = (parts.next()?, parts.next()?, parts.next()?);
        let path = path.trim_start_matches('/');
        if controller.is_empty() && ctrls.is_empty() {
            let unified = PathBuf::from("/sys/fs/cgroup/unified").join(path);
            return Some(if unified.exists() {
                unified
            } else {
                PathBuf::from("/sys/fs/cgroup").join(path)
            });
        }
        if !controller.is_empty() && ctrls.split(',').any(|c| c == controller) {
            return Some(PathBuf::from("/sys/fs/cgroup").join(ctrls).join(path));
        }
    }
    None
}

fn read_u64(p: PathBuf) -> Option<u64> {
    fs::read_to_string(p).ok()?.trim().parse().ok()
}

/// The stats of `id` (RUNNING or CREATED).
pub fn stats(ctx: &mut Engine, id: &str) -> Result<Stats, ContainerError> {
    let l = load(ctx, id)?;
    let pid = l.state.pid.unwrap_or(0);
    if !matches!(l.state.status, Status::Running | Status::Created) || pid <= 0 {
        return Err(ContainerError::State {
            id: id.to_string(),
            status: l.state.status.as_str(),
            hint: "container not running",
        });
    }
    Ok(sample(id, pid))
}

/// The stats of the init `pid` of `id` now.
pub fn sample(id: &str, pid: i64) -> Stats {
    let host = host_memory();
    let mut s = Stats {
        id: id.to_string(),
        pid,
        host_memory: host,
        sampled_ns: crate::container::when::now_ns(),
        ..Default::default()
    };
    let unified = cgroup_dir(pid, "");
    let read = |p: PathBuf| fs::read_to_string(p).ok();
    let inactive = if let Some(d) = cgroup_dir(pid, "memory") {
        s.memory_usage = read_u64(d.join("memory.usage_in_bytes"));
        s.memory_limit = memory_limit(read(d.join("memory.limit_in_bytes")), host);
        read(d.join("memory.stat")).and_then(|t| stat_value(&t, "total_inactive_file"))
    } else if let Some(d) = &unified {
        s.memory_usage = read_u64(d.join("memory.current"));
        s.memory_limit = memory_limit(read(d.join("memory.max")), host);
        read(d.join("memory.stat")).and_then(|t| stat_value(&t, "inactive_file"))
    } else {
        None
    };
    s.memory_working_set = s
        .memory_usage
        .map(|u| u.saturating_sub(inactive.unwrap_or(0)));
    if let Some(d) = cgroup_dir(pid, "cpuacct") {
        s.cpu_usage_ns = read_u64(d.join("cpuacct.usage"));
    } else if let Some(d) = &unified {
        s.cpu_usage_ns = read(d.join("cpu.stat"))
            .and_then(|t| stat_value(&t, "usage_usec"))
            .map(|us| us.saturating_mul(1000));
    }
    s.net_io = read(PathBuf::from(format!("/proc/{pid}/net/dev"))).map(|t| net_dev(&t));
    s.block_io = match cgroup_dir(pid, "blkio") {
        Some(d) => read(d.join("blkio.throttle.io_service_bytes")),
        None => unified.as_ref().and_then(|d| read(d.join("io.stat"))),
    }
    .map(|t| block_io(&t));
    if let Some(d) = cgroup_dir(pid, "cpu") {
        let q = fs::read_to_string(d.join("cpu.cfs_quota_us")).ok();
        let p = read_u64(d.join("cpu.cfs_period_us"));
        if let (Some(q), Some(p)) = (q.and_then(|q| q.trim().parse::<i64>().ok()), p) {
            s.cpu_limit = (q > 0).then(|| q as f64 / p as f64);
        }
    }
    if let Some(d) = cgroup_dir(pid, "pids").or_else(|| unified.clone()) {
        s.pids = read_u64(d.join("pids.current"));
    }
    s
}

/// Whether the container of init `pid` is frozen (`pause`): v1 `freezer.state`,
/// v2 `cgroup.freeze`.
pub fn frozen(pid: i64) -> bool {
    if let Some(d) = cgroup_dir(pid, "freezer") {
        return fs::read_to_string(d.join("freezer.state"))
            .is_ok_and(|s| matches!(s.trim(), "FROZEN" | "FREEZING"));
    }
    cgroup_dir(pid, "")
        .and_then(|d| fs::read_to_string(d.join("cgroup.freeze")).ok())
        .is_some_and(|s| s.trim() == "1")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn unlimited_memory_is_none_not_exabytes() {
        let host = Some(8 << 30);
        assert_eq!(
            memory_limit(Some("9223372036854771712\n".into()), host),
            None
        );
        assert_eq!(memory_limit(Some("max\n".into()), host), None);
        assert_eq!(
            memory_limit(Some("67108864\n".into()), host),
            Some(64 << 20)
        );
        assert_eq!(memory_limit(Some("9223372036854771712".into()), None), None);
        let s = Stats {
            memory_usage: Some(2 << 30),
            memory_working_set: Some(1 << 30),
            host_memory: host,
            ..Default::default()
        };
        assert_eq!(s.memory_ceiling(), Some(8 << 30));
        assert_eq!(s.memory_percent(), Some(12.5));
    }

    #[test]
    fn cpu_percent_between_samples() {
        let a = Stats {
            cpu_usage_ns: Some(1_000_000_000),
            sampled_ns: 10_000_000_000,
            ..Default::default()
        };
        let b = Stats {
            cpu_usage_ns: Some(1_500_000_000),
            sampled_ns: 11_000_000_000,
            ..Default::default()
        };
        assert_eq!(b.cpu_percent(&a), Some(50.0));
        assert_eq!(a.cpu_percent(&a), None);
    }

    #[test]
    fn net_and_block_io() {
        let dev = "Inter-|   Receive\n face |bytes packets\n    lo: 100 1 0 0 0 0 0 0 100 1 0 0 0 0 0 0\n  eth0: 1500 10 0 0 0 0 0 0 700 5 0 0 0 0 0 0\n";
        assert_eq!(net_dev(dev), (1500, 700));
        let v1 = "8:0 Read 4096\n8:0 Write 8192\n8:0 Sync 0\n8:0 Total 12288\nTotal 12288\n";
        assert_eq!(block_io(v1), (4096, 8192));
        let v2 = "8:0 rbytes=100 wbytes=200 rios=1 wios=2\n8:16 rbytes=1 wbytes=2\n";
        assert_eq!(block_io(v2), (101, 202));
        assert_eq!(
            stat_value("cache 5\ntotal_inactive_file 7\n", "total_inactive_file"),
            Some(7)
        );
    }
}
