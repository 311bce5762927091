//! Seed 001's usage rows (`/api/containers`, `/api/system`), built from the
//! container list and the sampler; the dashboard and `/metrics` use them too.

use serde::Serialize;

use crate::container::list::{self, Summary};
use crate::container::ContainerError;
use crate::context::Engine;
use crate::db::container_state::Status;
use crate::db::{self, events};
use crate::supervisor::sampler::{percent, Point};
use crate::supervisor::Shared;

/// One container of `/api/containers`; usage fields only for RUNNING.
#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct ContainerUsage {
    /// The container's id.
    pub id: String,
    /// The init's host pid, while running.
    pub pid: Option<i64>,
    /// The status, e.g. `RUNNING`.
    pub state: &'static str,
    /// CPU time used, nanoseconds.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub cpu_usage: Option<u64>,
    /// CPUs allowed (quota / period); `null` = unlimited.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub cpu_limit: Option<f64>,
    /// CPU use since the previous sample, percent of one CPU.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub cpu_percent: Option<f64>,
    /// Bytes, without the inactive page cache.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub memory_usage: Option<u64>,
    /// Bytes; the host's memory when the container has no limit.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub memory_limit: Option<u64>,
    /// Memory usage as a percent of the limit.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub memory_percent: Option<f64>,
}

/// `/api/system`.
#[derive(Debug, Clone, Copy, Serialize, PartialEq)]
pub struct SystemUsage {
    /// Memory in use on the host, bytes.
    pub used_memory: u64,
    /// The host's memory, bytes.
    pub total_memory: u64,
    /// The host's CPU use, percent of all CPUs.
    pub cpu_percent: f64,
}

/// A container's row and its chart points.
#[derive(Debug, Clone)]
pub struct Row {
    /// The container's usage.
    pub usage: ContainerUsage,
    /// The image reference it runs.
    pub image: String,
    /// Its recent samples, oldest first.
    pub history: Vec<Point>,
    /// Published ports as `ps` shows them (`0.0.0.0:8080->80/tcp, ...`).
    pub ports: String,
    /// The exit code once stopped (`inspect`'s `State.ExitCode`).
    pub exit_code: Option<i64>,
    /// Restarts its restart policy made (`inspect`'s `RestartCount`).
    pub restart_count: i64,
}

fn row(shared: &Shared, s: &Summary, total_memory: u64, ooms: &mut Vec<String>) -> Row {
    let mut u = ContainerUsage {
        id: s.id.clone(),
        pid: s.pid,
        state: s.status.as_str(),
        cpu_usage: None,
        cpu_limit: None,
        cpu_percent: None,
        memory_usage: None,
        memory_limit: None,
        memory_percent: None,
    };
    let mut sampler = shared.sampler();
    if let (Status::Running, Some(pid)) = (s.status, s.pid) {
        if let Some(x) = sampler.sample(&s.id, pid, db::now()) {
            let limit = x
                .reading
                .memory_limit
                .unwrap_or(total_memory)
                .min(total_memory);
            u.cpu_usage = Some(x.reading.cpu_ns);
            u.cpu_limit = x.reading.cpu_limit;
            u.cpu_percent = Some(round2(x.cpu_percent));
            u.memory_usage = Some(x.reading.memory);
            u.memory_limit = Some(limit);
            u.memory_percent = Some(round2(percent(x.reading.memory, limit)));
            if x.new_ooms > 0 {
                ooms.push(s.id.clone());
            }
        }
    }
    Row {
        usage: u,
        image: s.image.clone(),
        history: sampler.history(&s.id),
        ports: s.port_text.clone(),
        exit_code: s.exit_code.filter(|_| s.status == Status::Stopped),
        restart_count: s.restart_count,
    }
}

fn round2(x: f64) -> f64 {
    (x * 100.0).round() / 100.0
}

/// Every container's row (sampling the running ones) and the host's usage;
/// OOM kills seen since the last sample are logged as `oom` events.
pub fn collect(
    shared: &Shared,
    ctx: &mut Engine,
) -> Result<(Vec<Row>, SystemUsage), ContainerError> {
    let all = list::list(ctx, true)?;
    let (used, total, cpu) = shared.sampler().host();
    let mut ooms = Vec::new();
    let rows: Vec<Row> = all
        .iter()
        .map(|s| row(shared, s, total, &mut ooms))
        .collect();
    let ids: Vec<String> = all.iter().map(|s| s.id.clone()).collect();
    shared.sampler().retain(&ids);
    for id in ooms {
        let now = db::now();
        ctx.db.write("oom event", |c| {
            events::record(c, &id, "oom", &serde_json::json!({}), now).map(|_| ())
        })?;
    }
    let sys = SystemUsage {
        used_memory: used,
        total_memory: total,
        cpu_percent: round2(cpu),
    };
    Ok((rows, sys))
}
