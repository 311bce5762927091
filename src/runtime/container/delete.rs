//! `delete`: kill what still runs (a created container always, a running one only
//! with `--force`), remove the cgroup and the state dir, then run poststop hooks.

use crate::oci::spec;
use crate::oci::state::{ContainerState, Status};
use crate::runtime::container::kill::kill_and_wait;
use crate::runtime::container::Ctx;
use crate::runtime::statedir::ContainerDir;
use crate::runtime::{cgroups, hooks, Error, Result};

/// `k3rt delete [--force] ID`.
pub fn delete(ctx: &Ctx, id: &str, force: bool) -> Result<()> {
    let dir = ctx.container(id)?;
    if !dir.exists() {
        // `--force` of a container that is already gone succeeds, as with runc
        // (containerd's shim cleans up twice after a crash)
        return if force {
            Ok(())
        } else {
            Err(Error::NotFound(id.to_string()))
        };
    }
    let st = match dir.load() {
        Ok(st) => st,
        // a create that died half-way: nothing runs, remove what is there
        Err(Error::NotFound(_)) => return dir.remove(),
        Err(e) if force => {
            ctx.log.warn(format!("{e}; removing anyway"));
            return dir.remove();
        }
        Err(e) => return Err(e),
    };
    let status = dir.status(&st);
    if !force && !status.can_delete() {
        return Err(Error::BadState {
            op: "delete",
            id: id.to_string(),
            status,
            hint: "; stop it first or use --force",
        });
    }
    if status != Status::Stopped {
        kill_and_wait(&st)?;
    }
    destroy(ctx, &dir, &st)
}

/// Removes what create made; poststop hooks run last and only warn on failure.
pub fn destroy(ctx: &Ctx, dir: &ContainerDir, st: &ContainerState) -> Result<()> {
    if !st.own_pid_ns {
        // without a pid namespace, processes outlive the init: the cgroup knows them
        crate::runtime::container::kill::signal_all(st, libc::SIGKILL);
    }
    if st.host_mounts {
        crate::runtime::rootfs::unmount_all_under(&st.rootfs);
    }
    cgroups::destroy(&st.cgroup_paths)?;
    let config = std::fs::read(dir.config()).ok();
    dir.remove()?;
    let Some(spec) = config.and_then(|raw| spec::parse(&raw).ok()) else {
        return Ok(());
    };
    if let Some(h) = spec.hooks().as_ref().and_then(|h| h.poststop().as_deref()) {
        let json = serde_json::to_string(&st.oci(Status::Stopped)).unwrap_or_default();
        hooks::run_each("poststop", h, &json, |e| ctx.log.warn(e.to_string()));
    }
    Ok(())
}
