//! `k3 selftest limits`: seed 001's `run_memory_cpu_test`. Three containers
//! limited to 1/16, 1/8 and 1/4 of the host's memory fill memory (64 MiB
//! shell strings copied into new variables until the limit); three limited
//! to 1/16, 1/8 and 1/4 of a CPU (CFS quota 6250/12500/25000 µs per
//! 100000 µs) spin. The memory peak (`memory.max_usage_in_bytes`) must stay
//! under the limit and the container must hit it (OOM kill or `failcnt`);
//! the CPU use measured from `cpuacct.usage` over a few seconds must be
//! within ±20 % of the quota. Containers are made by the engine (seed 000's
//! create) from a busybox image, network `none`, and removed afterwards.

use std::fs;
use std::time::{Duration, Instant};

use crate::container::stats::cgroup_dir;
use crate::container::{load, remove, start, ContainerError};
use crate::context::Engine;
use crate::create::{self, CreateError};
use crate::db::container_state::Status;
use crate::options::CreateOptions;
use crate::supervisor::sampler::{cpu_percent, host_memory};

/// A self-test failure that is not a limit failing.
#[derive(Debug, thiserror::Error)]
pub enum SelftestError {
    /// Creating a test container failed.
    #[error("self-test container `{id}`")]
    Create {
        id: String,
        #[source]
        source: Box<CreateError>,
    },
    /// Starting, reading or removing a test container failed.
    #[error(transparent)]
    Container(#[from] ContainerError),
    /// A cgroup file could not be read.
    #[error("cannot read the cgroup of self-test container `{0}`")]
    Cgroup(String),
}

/// One line of the table.
#[derive(Debug, Clone, serde::Serialize)]
pub struct Line {
    pub test: String,
    pub limit: String,
    pub measured: String,
    pub ok: bool,
}

/// Whether a measured CPU percent is within ±20 % of `quota_us / 100000`.
pub fn cpu_ok(measured_percent: f64, quota_us: u64) -> bool {
    let want = quota_us as f64 / 1000.0;
    (measured_percent - want).abs() <= want * 0.2
}

/// Whether a memory run held: the peak under the limit (a page of slack)
/// and the limit reached (OOM kill or failcnt).
pub fn memory_ok(peak: u64, limit: u64, oom_killed: bool, failcnt: u64) -> bool {
    peak <= limit + 4096 && (oom_killed || failcnt > 0)
}

const MIB: u64 = 1024 * 1024;
const MEMORY_LOAD: &str = "x=x; i=0; while [ $i -lt 26 ]; do x=$x$x; i=$((i+1)); done; \
    i=0; while :; do eval \"v$i=\\$x\"; i=$((i+1)); done";
const CPU_LOAD: &str = "while :; do :; done";

fn make(
    ctx: &mut Engine,
    id: &str,
    image: &str,
    memory: Option<u64>,
    cpus: Option<f64>,
    load: &str,
) -> Result<i64, SelftestError> {
    let opts = CreateOptions {
        container_id: id.to_string(),
        image: image.to_string(),
        memory: memory.map(|m| format!("{}m", m / MIB)),
        cpus,
        network: Some("none".into()),
        args: Some(format!("sh -c '{load}'")),
        ..Default::default()
    };
    create::create(ctx, &opts).map_err(|e| SelftestError::Create {
        id: id.into(),
        source: Box::new(e),
    })?;
    Ok(start::start(ctx, id)?)
}

fn read_u64(path: std::path::PathBuf) -> Option<u64> {
    fs::read_to_string(path).ok()?.trim().parse().ok()
}

fn memory_run(ctx: &mut Engine, image: &str, frac: u64, total: u64) -> Result<Line, SelftestError> {
    let id = format!("k3-selftest-mem{frac}-{}", std::process::id());
    let limit = total / frac / MIB * MIB;
    let pid = make(ctx, &id, image, Some(limit), None, MEMORY_LOAD)?;
    let dir = cgroup_dir(pid, "memory").ok_or_else(|| SelftestError::Cgroup(id.clone()))?;
    let set = read_u64(dir.join("memory.limit_in_bytes")).unwrap_or(0);
    let (mut peak, mut failcnt) = (0, 0);
    let end = Instant::now() + Duration::from_secs(120);
    while Instant::now() < end {
        peak = read_u64(dir.join("memory.max_usage_in_bytes"))
            .unwrap_or(peak)
            .max(peak);
        failcnt = read_u64(dir.join("memory.failcnt"))
            .unwrap_or(failcnt)
            .max(failcnt);
        if load(ctx, &id)?.state.status == Status::Stopped {
            break;
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    let l = load(ctx, &id)?;
    let code = l.state.exit_code.unwrap_or(-1);
    remove::remove(ctx, &id, true)?;
    let oom = code == 137;
    Ok(Line {
        test: format!("memory 1/{frac}"),
        limit: format!("{} MiB (cgroup {} MiB)", limit / MIB, set / MIB),
        measured: format!(
            "peak {} MiB, failcnt {failcnt}, exit {code}{}",
            peak / MIB,
            if oom { " (OOM kill)" } else { "" }
        ),
        ok: set == limit && memory_ok(peak, limit, oom, failcnt),
    })
}

fn cpu_runs(ctx: &mut Engine, image: &str, secs: u64) -> Result<Vec<Line>, SelftestError> {
    let quotas = [(16u64, 6250u64), (8, 12500), (4, 25000)];
    let mut started = Vec::new();
    for (frac, quota) in quotas {
        let id = format!("k3-selftest-cpu{frac}-{}", std::process::id());
        let pid = make(
            ctx,
            &id,
            image,
            None,
            Some(quota as f64 / 100_000.0),
            CPU_LOAD,
        );
        match pid {
            Ok(pid) => started.push((id, frac, quota, pid)),
            Err(e) => {
                cleanup(ctx, &started);
                return Err(e);
            }
        }
    }
    std::thread::sleep(Duration::from_secs(1));
    let usage =
        |pid: i64| cgroup_dir(pid, "cpuacct").and_then(|d| read_u64(d.join("cpuacct.usage")));
    let t0 = Instant::now();
    let before: Vec<Option<u64>> = started.iter().map(|s| usage(s.3)).collect();
    std::thread::sleep(Duration::from_secs(secs));
    let after: Vec<Option<u64>> = started.iter().map(|s| usage(s.3)).collect();
    let wall = t0.elapsed().as_nanos();
    let mut lines = Vec::new();
    for (i, (_, frac, quota, pid)) in started.iter().enumerate() {
        let set = cgroup_dir(*pid, "cpu").and_then(|d| read_u64(d.join("cpu.cfs_quota_us")));
        let pct = match (before[i], after[i]) {
            (Some(b), Some(a)) => cpu_percent(b, a, wall),
            _ => -1.0,
        };
        lines.push(Line {
            test: format!("cpu 1/{frac}"),
            limit: format!(
                "{:.2}% (quota {quota}/100000, cgroup {})",
                *quota as f64 / 1000.0,
                set.unwrap_or(0)
            ),
            measured: format!("{pct:.2}% over {secs} s"),
            ok: set == Some(*quota) && cpu_ok(pct, *quota),
        });
    }
    cleanup(ctx, &started);
    Ok(lines)
}

fn cleanup(ctx: &mut Engine, started: &[(String, u64, u64, i64)]) {
    for (id, ..) in started {
        let _ = remove::remove(ctx, id, true);
    }
}

/// Runs the six containers; the table lines.
pub fn run(ctx: &mut Engine, image: &str, secs: u64) -> Result<Vec<Line>, SelftestError> {
    let (_, total) = host_memory(&fs::read_to_string("/proc/meminfo").unwrap_or_default());
    let mut lines = Vec::new();
    for frac in [16, 8, 4] {
        lines.push(memory_run(ctx, image, frac, total)?);
    }
    lines.extend(cpu_runs(ctx, image, secs)?);
    Ok(lines)
}

/// The table as text.
pub fn table(lines: &[Line]) -> String {
    let mut out = format!(
        "{:<12} {:<40} {:<44} {}\n",
        "TEST", "LIMIT", "MEASURED", "RESULT"
    );
    for l in lines {
        let r = if l.ok { "ok" } else { "FAIL" };
        out.push_str(&format!(
            "{:<12} {:<40} {:<44} {r}\n",
            l.test, l.limit, l.measured
        ));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cpu_tolerance_is_twenty_percent() {
        assert!(cpu_ok(6.25, 6250));
        assert!(cpu_ok(5.1, 6250));
        assert!(!cpu_ok(4.9, 6250));
        assert!(cpu_ok(29.9, 25000));
        assert!(!cpu_ok(30.1, 25000));
        assert!(!cpu_ok(100.0, 12500));
    }

    #[test]
    fn memory_must_reach_and_hold_the_limit() {
        assert!(memory_ok(100 * MIB, 100 * MIB, true, 0));
        assert!(memory_ok(99 * MIB, 100 * MIB, false, 3));
        assert!(!memory_ok(101 * MIB, 100 * MIB, true, 1));
        assert!(!memory_ok(10 * MIB, 100 * MIB, false, 0));
    }
}
