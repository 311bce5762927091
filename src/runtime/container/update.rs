//! `update`: change a container's resources (`--resources FILE|-` with a
//! LinuxResources object, or runc's flags), written to its cgroup.

use std::io::Read;
use std::path::Path;

use oci_spec::runtime::LinuxResources;
use serde_json::{json, Value};

use crate::container::GlobalFlags;
use crate::{Error, Result};
use k3_cgroups::{self as cgroups, plan};

/// runc's `update` flags, as given.
#[derive(Debug, Clone, Default)]
pub struct UpdateFlags {
    /// `--memory`: memory limit in bytes.
    pub memory: Option<i64>,
    /// `--memory-swap`: memory plus swap limit in bytes.
    pub memory_swap: Option<i64>,
    /// `--memory-reservation`: soft limit in bytes.
    pub memory_reservation: Option<i64>,
    /// `--kernel-memory-tcp`: TCP buffer limit in bytes.
    pub kernel_memory_tcp: Option<i64>,
    /// `--cpu-shares`: relative weight.
    pub cpu_shares: Option<u64>,
    /// `--cpu-quota`: microseconds per period.
    pub cpu_quota: Option<i64>,
    /// `--cpu-period`: microseconds.
    pub cpu_period: Option<u64>,
    /// `--cpu-rt-runtime`: microseconds per period.
    pub cpu_rt_runtime: Option<i64>,
    /// `--cpu-rt-period`: microseconds.
    pub cpu_rt_period: Option<u64>,
    /// `--cpuset-cpus`: CPUs allowed (`0-3,5`).
    pub cpuset_cpus: Option<String>,
    /// `--cpuset-mems`: memory nodes allowed.
    pub cpuset_mems: Option<String>,
    /// `--pids-limit`: maximum number of processes.
    pub pids_limit: Option<i64>,
    /// `--blkio-weight`: 10 to 1000.
    pub blkio_weight: Option<u16>,
}

impl UpdateFlags {
    /// The flags as a LinuxResources object (only what was given).
    pub fn to_resources(&self) -> Result<LinuxResources> {
        let mut v = json!({});
        let mut set = |path: &[&str], val: Value| {
            if val.is_null() {
                return;
            }
            let mut cur = &mut v;
            for k in &path[..path.len() - 1] {
                cur = &mut cur[*k];
            }
            cur[path[path.len() - 1]] = val;
        };
        set(&["memory", "limit"], json!(self.memory));
        set(&["memory", "swap"], json!(self.memory_swap));
        set(&["memory", "reservation"], json!(self.memory_reservation));
        set(&["memory", "kernelTCP"], json!(self.kernel_memory_tcp));
        set(&["cpu", "shares"], json!(self.cpu_shares));
        set(&["cpu", "quota"], json!(self.cpu_quota));
        set(&["cpu", "period"], json!(self.cpu_period));
        set(&["cpu", "realtimeRuntime"], json!(self.cpu_rt_runtime));
        set(&["cpu", "realtimePeriod"], json!(self.cpu_rt_period));
        set(&["cpu", "cpus"], json!(self.cpuset_cpus));
        set(&["cpu", "mems"], json!(self.cpuset_mems));
        set(&["pids", "limit"], json!(self.pids_limit));
        set(&["blockIO", "weight"], json!(self.blkio_weight));
        serde_json::from_value(v).map_err(|e| Error::invalid("update flags", "", e.to_string()))
    }
}

/// Reads `--resources FILE` (`-` is stdin).
pub fn read_resources(path: &Path) -> Result<LinuxResources> {
    let mut raw = Vec::new();
    if path == Path::new("-") {
        std::io::stdin()
            .read_to_end(&mut raw)
            .map_err(|e| Error::io("read resources", "-", e))?;
    } else {
        raw = std::fs::read(path).map_err(|e| Error::io("read resources", path, e))?;
    }
    k3_oci::spec::parse_object(&raw)
        .map_err(|e| Error::invalid("--resources", path.display(), e.to_string()))
}

/// `k3rt update`.
pub fn update(ctx: &GlobalFlags, id: &str, resources: &LinuxResources) -> Result<()> {
    let (_, st, _) = ctx.live(id)?;
    let cg = cgroups::from_paths(&cgroups::detect()?, &st.cgroup_paths);
    let mut writes = if cg.v2 {
        plan::v2(resources)
    } else {
        plan::v1(resources)
    };
    // The device policy stays as created, as runc's update does: containerd sends the
    // spec's whole resources, whose device list is a bare "deny all" without the
    // allowances create added for the container's own device nodes.
    writes.retain(|w| w.controller != "devices");
    Ok(cg.apply(&writes)?)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn flags_become_resources() {
        let f = UpdateFlags {
            memory: Some(1 << 20),
            cpu_quota: Some(5000),
            pids_limit: Some(9),
            ..Default::default()
        };
        let r = f.to_resources().unwrap();
        assert_eq!(r.memory().as_ref().unwrap().limit(), Some(1 << 20));
        assert_eq!(r.cpu().as_ref().unwrap().quota(), Some(5000));
        assert_eq!(r.pids().as_ref().unwrap().limit(), 9);
        assert!(r.block_io().is_none());
    }
}
