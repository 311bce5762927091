//! `k3rt update`: new resource limits from flags or a LinuxResources JSON file.

use std::path::PathBuf;

use clap::Args;

use k3_runtime::container::update::{self, UpdateFlags};
use k3_runtime::container::Ctx;

/// `k3rt update` arguments.
#[derive(Args, Debug)]
pub struct UpdateArgs {
    /// LinuxResources JSON file, `-` for stdin (replaces the other flags)
    #[arg(short, long, allow_hyphen_values = true)]
    pub resources: Option<PathBuf>,
    /// Memory limit in bytes, or with a unit: `512m`, `1G` (`-1`: unlimited)
    #[arg(long, value_parser = parse_bytes, allow_hyphen_values = true)]
    pub memory: Option<i64>,
    /// Memory plus swap limit in bytes, or with a unit (`-1`: unlimited)
    #[arg(long = "memory-swap", value_parser = parse_bytes, allow_hyphen_values = true)]
    pub memory_swap: Option<i64>,
    /// Memory soft limit in bytes, or with a unit
    #[arg(long = "memory-reservation", value_parser = parse_bytes, allow_hyphen_values = true)]
    pub memory_reservation: Option<i64>,
    /// Kernel TCP buffer limit in bytes, or with a unit (cgroup v1 only)
    #[arg(long = "kernel-memory-tcp", value_parser = parse_bytes, allow_hyphen_values = true)]
    pub kernel_memory_tcp: Option<i64>,
    /// CPU shares, a relative weight (cgroup v1 `cpu.shares`; mapped to `cpu.weight` on v2)
    #[arg(long = "cpu-share", allow_hyphen_values = true)]
    pub cpu_share: Option<u64>,
    /// CPU time in microseconds the container may use per --cpu-period (`-1`: unlimited)
    #[arg(long = "cpu-quota", allow_hyphen_values = true)]
    pub cpu_quota: Option<i64>,
    /// Length of the CPU quota period in microseconds
    #[arg(long = "cpu-period", allow_hyphen_values = true)]
    pub cpu_period: Option<u64>,
    /// Real-time CPU time in microseconds per --cpu-rt-period (cgroup v1 only)
    #[arg(long = "cpu-rt-runtime", allow_hyphen_values = true)]
    pub cpu_rt_runtime: Option<i64>,
    /// Length of the real-time period in microseconds (cgroup v1 only)
    #[arg(long = "cpu-rt-period", allow_hyphen_values = true)]
    pub cpu_rt_period: Option<u64>,
    /// CPUs the container may run on, e.g. `0-2,4`
    #[arg(long = "cpuset-cpus", allow_hyphen_values = true)]
    pub cpuset_cpus: Option<String>,
    /// Memory nodes the container may use, e.g. `0`
    #[arg(long = "cpuset-mems", allow_hyphen_values = true)]
    pub cpuset_mems: Option<String>,
    /// Most processes in the container (`-1`: unlimited)
    #[arg(long = "pids-limit", allow_hyphen_values = true)]
    pub pids_limit: Option<i64>,
    /// Block IO weight, 10 to 1000
    #[arg(long = "blkio-weight", allow_hyphen_values = true)]
    pub blkio_weight: Option<u16>,
    /// Container id
    pub id: String,
}

/// `512m`, `1G`, `1048576`, `-1` → bytes.
fn parse_bytes(s: &str) -> Result<i64, String> {
    let t = s.trim().to_ascii_lowercase();
    if t == "-1" {
        return Ok(-1);
    }
    let split = t.find(|c: char| !c.is_ascii_digit()).unwrap_or(t.len());
    let (n, unit) = t.split_at(split);
    let n: i64 = n.parse().map_err(|_| format!("`{s}` is not a size"))?;
    let mult: i64 = match unit.trim_end_matches('b').trim_end_matches('i') {
        "" => 1,
        "k" => 1 << 10,
        "m" => 1 << 20,
        "g" => 1 << 30,
        "t" => 1 << 40,
        _ => return Err(format!("`{s}`: unknown unit")),
    };
    n.checked_mul(mult)
        .ok_or_else(|| format!("`{s}` is too large"))
}

/// `k3rt update`.
pub fn run(ctx: &Ctx, a: &UpdateArgs) -> k3_runtime::Result<u8> {
    let resources = match &a.resources {
        Some(f) => update::read_resources(f)?,
        None => UpdateFlags {
            memory: a.memory,
            memory_swap: a.memory_swap,
            memory_reservation: a.memory_reservation,
            kernel_memory_tcp: a.kernel_memory_tcp,
            cpu_shares: a.cpu_share,
            cpu_quota: a.cpu_quota,
            cpu_period: a.cpu_period,
            cpu_rt_runtime: a.cpu_rt_runtime,
            cpu_rt_period: a.cpu_rt_period,
            cpuset_cpus: a.cpuset_cpus.clone(),
            cpuset_mems: a.cpuset_mems.clone(),
            pids_limit: a.pids_limit,
            blkio_weight: a.blkio_weight,
        }
        .to_resources()?,
    };
    update::update(ctx, &a.id, &resources)?;
    Ok(0)
}
