//! Id-mapped mounts, made by k3rt on the host side: a detached clone of the source
//! (open_tree), id-mapped through a user namespace (mount_setattr `MOUNT_ATTR_IDMAP`),
//! handed to the init, which moves it into place ([`k3_sys::Sys::attach_tree`]).
//! The kernel allows the idmap only to a caller that controls the source's
//! filesystem: the host's k3rt, never the init inside its user namespace.
//!
//! The user namespace is the container's own (`idmap` alone), or one made for the
//! mount from its `uidMappings`/`gidMappings` by a child that only holds it open.

use std::os::fd::OwnedFd;
use std::path::Path;

use oci_spec::runtime::{LinuxIdMapping, Spec};

use crate::process::channel::{Channel, Msg};
use crate::process::spawn;
use crate::{Error, Result};
use k3_oci::mount_idmap::MountIdMap;

/// `/proc/PID/uid_map` text of mappings.
pub fn map_text(m: &[LinuxIdMapping]) -> String {
    m.iter()
        .map(|e| format!("{} {} {}\n", e.container_id(), e.host_id(), e.size()))
        .collect()
}

/// A child in a user namespace of its own, killed and reaped on drop.
struct Holder(i32);

impl Drop for Holder {
    fn drop(&mut self) {
        // SAFETY: kill and waitpid of our own child.
        unsafe {
            libc::kill(self.0, libc::SIGKILL);
            libc::waitpid(self.0, std::ptr::null_mut(), 0);
        }
    }
}

/// A user namespace with these mappings, as a descriptor.
fn userns_with(dest: &Path, uids: &[LinuxIdMapping], gids: &[LinuxIdMapping]) -> Result<OwnedFd> {
    let pid = spawn::clone_raw(libc::CLONE_NEWUSER)?;
    if pid == 0 {
        // SAFETY: prctl with integer arguments, then pause until killed (async-signal-safe).
        unsafe {
            libc::prctl(libc::PR_SET_PDEATHSIG, libc::SIGKILL, 0, 0, 0);
            loop {
                libc::pause();
            }
        }
    }
    let holder = Holder(pid);
    for (file, field, maps) in [
        ("uid_map", "mounts.uidMappings", uids),
        ("gid_map", "mounts.gidMappings", gids),
    ] {
        let p = format!("/proc/{}/{file}", holder.0);
        let text = map_text(maps);
        std::fs::write(&p, &text).map_err(|e| {
            Error::invalid(
                field,
                format!(
                    "{}: {}",
                    dest.display(),
                    text.trim_end().replace('\n', ", ")
                ),
                format!("the kernel refused the mapping: {e}"),
            )
        })?;
    }
    let ns = format!("/proc/{}/ns/user", holder.0);
    k3_sys::linux::open_path(Path::new(&ns), libc::O_RDONLY)
        .map_err(|e| Error::io("open user namespace", ns, e))
}

/// The id-mapped tree for one mount: `userns` is the container's user namespace.
fn make_tree(
    source: &Path,
    dest: &Path,
    rbind: bool,
    m: &MountIdMap,
    userns: Option<&OwnedFd>,
) -> Result<OwnedFd> {
    let own;
    let ns = if m.uses_container_userns() {
        userns.ok_or_else(|| {
            Error::invalid(
                "mounts.options",
                format!("{}: idmap", dest.display()),
                "the container has no user namespace to map through",
            )
        })?
    } else {
        own = userns_with(dest, &m.uids, &m.gids)?;
        &own
    };
    let tree = k3_sys::linux::open_tree_clone(source, rbind)
        .map_err(|e| Error::io("open_tree (id-mapped mount source)", source, e))?;
    k3_sys::linux::make_slave(&tree)
        .map_err(|e| Error::io("make the id-mapped mount a slave", source, e))?;
    k3_sys::linux::set_idmap(&tree, ns, m.recursive).map_err(|e| {
        let why = match e.raw_os_error() {
            Some(libc::EINVAL) => "the filesystem (or one of its submounts) does not support id-mapped mounts",
            Some(libc::EPERM) => "not permitted (k3rt must run as root in the host's user namespace; a mapping onto the host's own ids is refused)",
            Some(libc::ENOSYS) => "this kernel has no mount_setattr (Linux 5.12 or later)",
            _ => "the kernel refused it",
        };
        Error::invalid(
            "mounts.options",
            format!("{}: idmap of `{}`", dest.display(), source.display()),
            format!("{why}: {e}"),
        )
    })?;
    Ok(tree)
}

/// Makes every id-mapped mount of the config and sends each to the init over `chan`
/// as `Tree(index)` (before `Go`). `init` is the init's pid: its user namespace (with
/// the mappings written) is the one an `idmap` without mappings uses.
pub fn send_trees(
    spec: &Spec,
    maps: &[Option<MountIdMap>],
    init: i32,
    chan: &Channel,
) -> Result<()> {
    if maps.iter().all(Option::is_none) {
        return Ok(());
    }
    if !nix::unistd::geteuid().is_root() {
        return Err(Error::invalid(
            "mounts.options",
            "idmap",
            "id-mapped mounts need k3rt to run as root (CAP_SYS_ADMIN in the host's user namespace)",
        ));
    }
    let container_ns = if maps.iter().flatten().any(MountIdMap::uses_container_userns) {
        let p = format!("/proc/{init}/ns/user");
        Some(
            k3_sys::linux::open_path(Path::new(&p), libc::O_RDONLY)
                .map_err(|e| Error::io("open user namespace", p, e))?,
        )
    } else {
        None
    };
    for (i, (m, mount)) in maps.iter().zip(spec.mounts().iter().flatten()).enumerate() {
        let Some(m) = m else { continue };
        let Some(source) = mount.source().as_deref() else {
            continue; // refused at load: an id-mapped mount has a source
        };
        let rbind = mount.options().iter().flatten().any(|o| o == "rbind");
        let tree = make_tree(source, mount.destination(), rbind, m, container_ns.as_ref())?;
        let index = u32::try_from(i).unwrap_or(u32::MAX);
        chan.send_with_fd(&Msg::Tree(index), &tree)?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn maps_are_written_one_line_each() {
        let m: Vec<LinuxIdMapping> = serde_json::from_str(
            r#"[{"containerID":0,"hostID":100000,"size":65536},{"containerID":65536,"hostID":7,"size":1}]"#,
        )
        .unwrap();
        assert_eq!(map_text(&m), "0 100000 65536\n65536 7 1\n");
    }
}
