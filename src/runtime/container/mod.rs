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

use crate::oci::id;
use crate::oci::state::{ContainerState, Status};
use crate::runtime::statedir::ContainerDir;
use crate::runtime::trace::Log;
use crate::runtime::Result;

/// What every verb gets from the global flags.
#[derive(Debug)]
pub struct Ctx {
    pub root: PathBuf,
    pub log: Log,
    pub systemd_cgroup: bool,
}

impl Ctx {
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
            return Err(crate::runtime::Error::NotRunning {
                id: id_.to_string(),
                status,
            });
        }
        Ok((dir, st, status))
    }
}
