//! `delete`: kill what still runs (a created container always, a running one only
//! with `--force`), remove the cgroup and the state dir, then run poststop hooks.
//! A container whose create died before writing state.json is undone from the
//! journal create kept (statedir::Made).

use nix::sys::signal::{kill, Signal};
use nix::unistd::Pid;
use std::path::PathBuf;
use std::time::Duration;

use crate::container::kill::kill_and_wait;
use crate::container::GlobalFlags;
use crate::error::{StateError, Undying};
use crate::statedir::{pid_alive, ContainerDir, Made};
use crate::{hooks, Error, Result};
use k3_cgroups as cgroups;
use k3_oci::spec;
use k3_oci::state::{ContainerState, Status};

/// `k3rt delete [--force] ID`.
pub fn delete(ctx: &GlobalFlags, id: &str, force: bool) -> Result<()> {
    let dir = ctx.container(id)?;
    if !dir.exists() {
        // `--force` of a container that is already gone succeeds, as with runc
        // (containerd's shim cleans up twice after a crash)
        return if force {
            Ok(())
        } else {
            Err(StateError::NotFound(id.to_string()).into())
        };
    }
    let st = match dir.load() {
        Ok(st) => st,
        // a create that died half-way (or still runs): undo what its journal lists
        Err(Error::State(StateError::NotFound(_))) => return undo_journal(&dir, force),
        Err(e) if force => {
            ctx.log.warn(format!("{e}; removing anyway"));
            return undo_journal(&dir, force);
        }
        Err(e) => return Err(e),
    };
    let status = dir.status(&st);
    if !force && !status.can_delete() {
        return Err(StateError::BadState {
            op: "delete",
            id: id.to_string(),
            status,
            hint: "; stop it first or use --force",
        }
        .into());
    }
    if status != Status::Stopped {
        kill_and_wait(&st)?;
    }
    destroy(ctx, &dir, &st)
}

/// Removes what create made; poststop hooks run last and only warn on failure.
pub fn destroy(ctx: &GlobalFlags, dir: &ContainerDir, st: &ContainerState) -> Result<()> {
    if !st.own_pid_ns {
        // without a pid namespace, processes outlive the init: the cgroup knows them
        crate::container::kill::signal_all(st, libc::SIGKILL);
    }
    if st.host_mounts {
        crate::rootfs::unmount_all_under(&st.rootfs);
    }
    if let Some(unit) = &st.systemd_unit {
        cgroups::systemd::stop(unit)?;
    }
    cgroups::destroy(&st.cgroup_paths)?;
    if let Err(e) = crate::netdev::move_back(&dir.path) {
        // the container goes anyway: a device that cannot return is said, not kept
        ctx.log.warn(e.to_string());
    }
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

/// Removes a container create did not finish, from its journal: the creator (only with
/// `--force` while it lives), the init and whatever is in its cgroups, mounts on the
/// host, the cgroups, then the state dir with the journal last. A pid is only killed
/// if its start time is the recorded one, so a reused pid is never touched.
fn undo_journal(dir: &ContainerDir, force: bool) -> Result<()> {
    let creators: Vec<(i32, u64)> = dir
        .replay()
        .iter()
        .filter_map(|m| match *m {
            Made::Creator { pid, start_time } => Some((pid, start_time)),
            _ => None,
        })
        .filter(|&(pid, t)| pid != nix::unistd::getpid().as_raw() && pid_alive(pid, t))
        .collect();
    if !creators.is_empty() && !force {
        return Err(StateError::BadState {
            op: "delete",
            id: dir.id.clone(),
            status: Status::Creating,
            hint: "; it is being created (use --force)",
        }
        .into());
    }
    // stop the creator first: it could make more after we looked
    kill_all_and_wait(&creators, &[])?;
    // read again: the creator may have recorded more before it died
    let made = dir.replay();
    let mut pids = Vec::new();
    let mut cgroup_paths: Vec<PathBuf> = Vec::new();
    let mut mounts = Vec::new();
    let mut netdevs = false;
    for m in made {
        match m {
            Made::Creator { .. } => {}
            Made::NetDevices {} => netdevs = true,
            Made::Init { pid, start_time } => pids.push((pid, start_time)),
            Made::Cgroups { paths } => cgroup_paths.extend(paths),
            Made::HostMounts { rootfs } => mounts.push(rootfs),
        }
    }
    kill_all_and_wait(&pids, &cgroup_paths)?;
    if netdevs {
        // the namespace is pinned: the devices are still there to return
        crate::netdev::move_back(&dir.path)?;
    }
    for rootfs in &mounts {
        crate::rootfs::unmount_all_under(rootfs);
    }
    cgroups::destroy(&cgroup_paths)?;
    dir.remove()
}

/// SIGKILLs each recorded pid still alive (by start time) and every process in the
/// cgroups (thawed first), then waits up to 10 s for the pids to be gone.
fn kill_all_and_wait(pids: &[(i32, u64)], cgroup_paths: &[PathBuf]) -> Result<()> {
    for &(pid, t) in pids {
        if pid_alive(pid, t) {
            let _ = kill(Pid::from_raw(pid), Signal::SIGKILL);
        }
    }
    for p in cgroup_paths {
        // an existing control file only (never create one)
        for (file, text) in [("freezer.state", "THAWED"), ("cgroup.freeze", "0")] {
            let _ = std::fs::OpenOptions::new()
                .write(true)
                .open(p.join(file))
                .and_then(|mut f| std::io::Write::write_all(&mut f, text.as_bytes()));
        }
    }
    // every hierarchy: a create that died may have left the init in only some of them
    for p in cgroup_paths {
        for pid in cgroups::procs(std::slice::from_ref(p)) {
            let _ = kill(Pid::from_raw(pid), Signal::SIGKILL);
        }
    }
    for _ in 0..10_000 {
        if !pids.iter().any(|&(pid, t)| pid_alive(pid, t)) {
            return Ok(());
        }
        std::thread::sleep(Duration::from_millis(1));
    }
    Err(Undying::Pids(pids.to_vec()).into())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::statedir::proc_stat;
    use crate::trace::Log;

    fn ctx(root: &std::path::Path) -> GlobalFlags {
        GlobalFlags {
            root: root.to_path_buf(),
            log: Log::default(),
            systemd_cgroup: false,
        }
    }

    fn sleeper() -> std::process::Child {
        std::process::Command::new("sleep")
            .arg("100")
            .spawn()
            .unwrap()
    }

    fn start_of(pid: u32) -> u64 {
        proc_stat(i32::try_from(pid).unwrap()).unwrap().0
    }

    #[test]
    fn force_delete_of_a_half_made_container_undoes_its_journal() {
        let root = tempfile::tempdir().unwrap();
        let c = ctx(root.path());
        let dir = ContainerDir::new(root.path(), "half");
        dir.create().unwrap();
        // stand-ins: plain directories for cgroups, a child for the blocked init, and a
        // second child whose pid is recorded with another start time (a reused pid)
        let cg = root.path().join("cg-a");
        std::fs::create_dir(&cg).unwrap();
        let mut init = sleeper();
        let mut other = sleeper();
        for m in [
            // a creator that is gone (no such pid)
            Made::Creator {
                pid: 0,
                start_time: 0,
            },
            Made::Cgroups {
                paths: vec![cg.clone(), root.path().join("cg-never-made")],
            },
            Made::Init {
                pid: i32::try_from(init.id()).unwrap(),
                start_time: start_of(init.id()),
            },
            Made::Init {
                pid: i32::try_from(other.id()).unwrap(),
                start_time: start_of(other.id()) + 1,
            },
        ] {
            dir.record(&m).unwrap();
        }
        std::fs::write(dir.config(), "{}").unwrap();
        delete(&c, "half", true).unwrap();
        assert!(!dir.exists(), "state dir removed");
        assert!(!cg.exists(), "cgroup removed");
        let st = init.wait().unwrap();
        assert_eq!(
            std::os::unix::process::ExitStatusExt::signal(&st),
            Some(libc::SIGKILL)
        );
        assert!(
            other.try_wait().unwrap().is_none(),
            "a reused pid is never killed"
        );
        other.kill().unwrap();
        other.wait().unwrap();
        // a second delete: the id is gone, as a force delete of it succeeds (runc)
        delete(&c, "half", true).unwrap();
        assert!(matches!(
            delete(&c, "half", false),
            Err(Error::State(StateError::NotFound(_)))
        ));
    }

    #[test]
    fn delete_of_a_container_still_being_created_needs_force() {
        let root = tempfile::tempdir().unwrap();
        let c = ctx(root.path());
        let dir = ContainerDir::new(root.path(), "busy");
        dir.create().unwrap();
        let mut creator = sleeper();
        dir.record(&Made::Creator {
            pid: i32::try_from(creator.id()).unwrap(),
            start_time: start_of(creator.id()),
        })
        .unwrap();
        let e = delete(&c, "busy", false).unwrap_err();
        assert!(e.to_string().contains("creating"), "{e}");
        assert!(dir.exists());
        assert!(creator.try_wait().unwrap().is_none());
        delete(&c, "busy", true).unwrap();
        assert!(!dir.exists());
        assert!(creator.wait().is_ok());
    }

    #[test]
    fn a_dir_without_journal_or_state_is_removed() {
        let root = tempfile::tempdir().unwrap();
        let dir = ContainerDir::new(root.path(), "bare");
        dir.create().unwrap();
        delete(&ctx(root.path()), "bare", false).unwrap();
        assert!(!dir.exists());
    }
}
