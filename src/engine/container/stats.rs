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
    pub id: String,
    pub pid: i64,
    /// CPU time used, in nanoseconds.
    pub cpu_usage_ns: Option<u64>,
    /// CPUs allowed (quota / period).
    pub cpu_limit: Option<f64>,
    pub memory_usage: Option<u64>,
    pub memory_limit: Option<u64>,
    pub pids: Option<u64>,
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
    let mut s = Stats {
        id: id.to_string(),
        pid,
        ..Default::default()
    };
    if let Some(d) = cgroup_dir(pid, "memory") {
        s.memory_usage = read_u64(d.join("memory.usage_in_bytes"));
        s.memory_limit = read_u64(d.join("memory.limit_in_bytes"));
    } else if let Some(d) = cgroup_dir(pid, "") {
        s.memory_usage = read_u64(d.join("memory.current"));
        s.memory_limit = read_u64(d.join("memory.max"));
    }
    if let Some(d) = cgroup_dir(pid, "cpuacct") {
        s.cpu_usage_ns = read_u64(d.join("cpuacct.usage"));
    }
    if let Some(d) = cgroup_dir(pid, "cpu") {
        let q = fs::read_to_string(d.join("cpu.cfs_quota_us")).ok();
        let p = read_u64(d.join("cpu.cfs_period_us"));
        if let (Some(q), Some(p)) = (q.and_then(|q| q.trim().parse::<i64>().ok()), p) {
            s.cpu_limit = (q > 0).then(|| q as f64 / p as f64);
        }
    }
    if let Some(d) = cgroup_dir(pid, "pids") {
        s.pids = read_u64(d.join("pids.current"));
    }
    Ok(s)
}
