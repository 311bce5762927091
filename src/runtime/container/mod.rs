//! One file per verb. Each verb reads the state dir, acts, writes state and returns.

pub mod checkpoint;
pub mod create;
pub mod delete;
pub mod events;
pub mod exec;
pub mod features;
pub mod kill;
pub mod list;
pub mod pause;
pub mod ps;
pub mod run;
pub mod spec;
pub mod start;
pub mod state;
pub mod update;

use std::path::PathBuf;

use crate::statedir::ContainerDir;
use crate::trace::Log;
use crate::Result;
use k3_oci::id;
use k3_oci::state::{ContainerState, Status};

/// What every verb gets from the global flags.
#[derive(Debug)]
pub struct GlobalFlags {
    /// `--root`: the directory of the containers' state.
    pub root: PathBuf,
    /// Where messages and the debug trace go (`--log`, `--log-format`, `--debug`).
    pub log: Log,
    /// `--systemd-cgroup`: `linux.cgroupsPath` in systemd's slice:prefix:name form.
    pub systemd_cgroup: bool,
}

/// The name the k3rt CLI still uses (it moves to [`GlobalFlags`] with its rewrite).
pub type Ctx = GlobalFlags;

impl GlobalFlags {
    /// The directory of an existing container (the id is validated first).
    pub fn container(&self, id_: &str) -> Result<ContainerDir> {
        id::validate(id_)?;
        Ok(ContainerDir::new(&self.root, id_))
    }

    /// A container that must be alive (created, running or paused): its dir, state and status.
    pub fn live(&self, id_: &str) -> Result<(ContainerDir, ContainerState, Status)> {
        let dir = self.container(id_)?;
        let st = dir.load()?;
        let status = dir.status(&st);
        if !status.can_kill() {
            return Err(crate::error::StateError::NotRunning {
                id: id_.to_string(),
                status,
            }
            .into());
        }
        Ok((dir, st, status))
    }
}

/// `--preserve-fds N`: descriptors 3..3+N must fit under this process's
/// `RLIMIT_NOFILE` (a huge N would otherwise loop over billions of descriptors).
pub fn validate_preserve_fds(n: i32) -> Result<()> {
    let mut lim = libc::rlimit {
        rlim_cur: 0,
        rlim_max: 0,
    };
    // SAFETY: lim is a valid out-parameter.
    let max = if unsafe { libc::getrlimit(libc::RLIMIT_NOFILE, &mut lim) } == 0 {
        i64::try_from(lim.rlim_cur).map_or(i64::from(i32::MAX), |c| c.min(i64::from(i32::MAX))) - 3
    } else {
        1024 - 3
    };
    if n < 0 || i64::from(n) > max {
        return Err(crate::Error::invalid(
            "--preserve-fds",
            n,
            format!("must be between 0 and {max} (descriptors 3..3+N under RLIMIT_NOFILE)"),
        ));
    }
    Ok(())
}
