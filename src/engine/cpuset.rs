//! `noShared`: a dedicated CPU. Each such container is pinned to one CPU
//! that no other `noShared` container of this k3 root holds (`cpuset.cpus`
//! in its config); CPU 0 is left to the host while others are free.

use std::collections::HashSet;

use crate::context::Engine;
use crate::db::{containers, DbError};

/// No CPU is left.
#[derive(Debug, thiserror::Error)]
pub enum CpusetError {
    /// Every CPU is already dedicated.
    #[error("`noShared`: all `{0}` CPUs are already dedicated to other containers")]
    Exhausted(usize),
    /// The database failed.
    #[error(transparent)]
    Db(#[from] DbError),
}

/// The CPUs this machine has.
pub fn online() -> Vec<u32> {
    let n = std::thread::available_parallelism().map_or(1, |n| n.get());
    (0..n as u32).collect()
}

/// CPUs pinned by existing containers.
fn taken(ctx: &Engine) -> Result<HashSet<u32>, CpusetError> {
    let mut set = HashSet::new();
    for r in containers::list(ctx.db.conn())? {
        if let Some(c) = r.config["linux"]["resources"]["cpu"]["cpus"].as_str() {
            if let Ok(n) = c.parse() {
                set.insert(n);
            }
        }
    }
    Ok(set)
}

/// A free CPU for a `noShared` container.
pub fn pick(ctx: &Engine) -> Result<u32, CpusetError> {
    choose(&online(), &taken(ctx)?)
}

/// The highest free CPU (CPU 0 last).
pub fn choose(cpus: &[u32], taken: &HashSet<u32>) -> Result<u32, CpusetError> {
    cpus.iter()
        .rev()
        .find(|c| !taken.contains(c))
        .copied()
        .ok_or(CpusetError::Exhausted(cpus.len()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn picks_high_cpus_first_and_runs_out() {
        let cpus = [0, 1, 2];
        let mut t = HashSet::new();
        assert_eq!(choose(&cpus, &t).unwrap(), 2);
        t.insert(2);
        assert_eq!(choose(&cpus, &t).unwrap(), 1);
        t.extend([0, 1]);
        assert!(matches!(choose(&cpus, &t), Err(CpusetError::Exhausted(3))));
    }
}
