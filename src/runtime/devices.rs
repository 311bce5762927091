//! Device nodes: the default set every container gets, `linux.devices`, and the
//! `/dev` symlinks. Nodes are made with mknod, or bind-mounted from the host when
//! the container has its own user namespace (mknod is not allowed there).

use std::path::{Path, PathBuf};

use oci_spec::runtime::{LinuxDevice, LinuxDeviceType};

use crate::{Error, Result};
use k3_sys::{Kind, Sys};

/// One node to create, in container paths.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DeviceNode {
    /// The node's path in the container.
    pub path: PathBuf,
    /// `S_IFCHR`, `S_IFBLK` or `S_IFIFO`.
    pub kind: u32,
    /// The major number.
    pub major: u64,
    /// The minor number.
    pub minor: u64,
    /// Permission bits.
    pub mode: u32,
    /// Owner uid (container view).
    pub uid: u32,
    /// Owner gid (container view).
    pub gid: u32,
}

fn chr(path: &str, major: u64, minor: u64) -> DeviceNode {
    DeviceNode {
        path: PathBuf::from(path),
        kind: libc::S_IFCHR,
        major,
        minor,
        mode: 0o666,
        uid: 0,
        gid: 0,
    }
}

/// The devices every container gets, as runc and crun make them.
pub fn defaults() -> Vec<DeviceNode> {
    vec![
        chr("/dev/null", 1, 3),
        chr("/dev/zero", 1, 5),
        chr("/dev/full", 1, 7),
        chr("/dev/random", 1, 8),
        chr("/dev/urandom", 1, 9),
        chr("/dev/tty", 5, 0),
    ]
}

/// Converts a spec device; `u` (unbuffered char) is a char device, `p` a fifo.
pub fn from_spec(d: &LinuxDevice) -> Result<DeviceNode> {
    let kind = match d.typ() {
        LinuxDeviceType::C | LinuxDeviceType::U => libc::S_IFCHR,
        LinuxDeviceType::B => libc::S_IFBLK,
        LinuxDeviceType::P => libc::S_IFIFO,
        LinuxDeviceType::A => {
            return Err(Error::invalid(
                "linux.devices.type",
                "a",
                "`a` is only valid in cgroup rules, not for a device node",
            ))
        }
    };
    if !d.path().is_absolute() || !d.path().starts_with("/dev") {
        return Err(Error::invalid(
            "linux.devices.path",
            d.path().display(),
            "must be an absolute path under /dev",
        ));
    }
    Ok(DeviceNode {
        path: d.path().clone(),
        kind,
        major: u64::try_from(d.major()).map_err(|_| {
            Error::invalid("linux.devices.major", d.major(), "must not be negative")
        })?,
        minor: u64::try_from(d.minor()).map_err(|_| {
            Error::invalid("linux.devices.minor", d.minor(), "must not be negative")
        })?,
        mode: d.file_mode().unwrap_or(0o666) & 0o7777,
        uid: d.uid().unwrap_or(0),
        gid: d.gid().unwrap_or(0),
    })
}

/// Default devices followed by the spec's, a later entry replacing an earlier one on the same path.
pub fn plan(spec_devices: &[LinuxDevice]) -> Result<Vec<DeviceNode>> {
    let mut out = defaults();
    for d in spec_devices {
        let node = from_spec(d)?;
        out.retain(|n| n.path != node.path);
        out.push(node);
    }
    Ok(out)
}

/// Creates one node inside `rootfs`.
pub fn create(sys: &dyn Sys, rootfs: &Path, node: &DeviceNode, in_userns: bool) -> Result<()> {
    let name = node.path.file_name().unwrap_or_default();
    let parent_rel = node.path.parent().unwrap_or(Path::new("/"));
    let parent = sys
        .resolve_in_root(rootfs, parent_rel, Some(Kind::Dir))
        .map_err(|e| Error::io("create device directory", node.path.clone(), e))?;
    let target = parent.path.join(name);
    if in_userns && node.kind != libc::S_IFIFO {
        let t = sys
            .resolve_in_root(rootfs, &node.path, Some(Kind::File))
            .map_err(|e| Error::io("create device placeholder", node.path.clone(), e))?;
        return sys
            .mount(Some(&node.path), &t.path, Some("bind"), libc::MS_BIND, None)
            .map_err(|e| Error::io("bind-mount device", node.path.clone(), e));
    }
    let number = |n: u64, field: &'static str| {
        u32::try_from(n).map_err(|_| Error::invalid(field, n, "must fit in 32 bits"))
    };
    let dev = libc::makedev(
        number(node.major, "linux.devices.major")?,
        number(node.minor, "linux.devices.minor")?,
    );
    let mk = |sys: &dyn Sys| sys.mknod(&target, node.kind | node.mode, dev);
    if let Err(e) = mk(sys) {
        if e.raw_os_error() != Some(libc::EEXIST) {
            return Err(Error::io("mknod", node.path.clone(), e));
        }
        let _ = std::fs::remove_file(&target);
        mk(sys).map_err(|e| Error::io("mknod", node.path.clone(), e))?;
    }
    sys.chmod(&target, node.mode)
        .map_err(|e| Error::io("chmod device", node.path.clone(), e))?;
    sys.chown(&target, node.uid, node.gid)
        .map_err(|e| Error::io("chown device", node.path.clone(), e))
}

/// `/dev/fd`, `/dev/std*`, `/dev/ptmx` and `/dev/core` links, as runc makes them.
pub fn symlinks(sys: &dyn Sys, rootfs: &Path, with_kcore: bool) -> Result<()> {
    let dev = sys
        .resolve_in_root(rootfs, Path::new("/dev"), Some(Kind::Dir))
        .map_err(|e| Error::io("resolve", "/dev", e))?;
    let mut links = vec![
        ("/proc/self/fd", "fd"),
        ("/proc/self/fd/0", "stdin"),
        ("/proc/self/fd/1", "stdout"),
        ("/proc/self/fd/2", "stderr"),
        ("pts/ptmx", "ptmx"),
    ];
    if with_kcore {
        links.push(("/proc/kcore", "core"));
    }
    for (target, name) in links {
        let link = dev.path.join(name);
        if name == "ptmx" {
            let _ = std::fs::remove_file(&link);
        }
        match sys.symlink(Path::new(target), &link) {
            Ok(()) => {}
            Err(e) if e.raw_os_error() == Some(libc::EEXIST) => {}
            Err(e) => return Err(Error::io("symlink", format!("/dev/{name}"), e)),
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use k3_sys::fake::RecordingSys;

    #[test]
    fn spec_devices_replace_defaults() {
        let d: LinuxDevice = serde_json::from_str(
            r#"{"path":"/dev/null","type":"c","major":1,"minor":3,"fileMode":432,"uid":5,"gid":6}"#,
        )
        .unwrap();
        let p = plan(&[d]).unwrap();
        assert_eq!(p.len(), 6);
        let null = p.iter().find(|n| n.path == Path::new("/dev/null")).unwrap();
        assert_eq!((null.mode, null.uid, null.gid), (0o660, 5, 6));
    }

    #[test]
    fn refuses_paths_outside_dev_and_type_a() {
        let d: LinuxDevice =
            serde_json::from_str(r#"{"path":"/etc/x","type":"c","major":1,"minor":3}"#).unwrap();
        assert!(from_spec(&d).unwrap_err().to_string().contains("/etc/x"));
        let d: LinuxDevice =
            serde_json::from_str(r#"{"path":"/dev/x","type":"a","major":1,"minor":3}"#).unwrap();
        assert!(from_spec(&d).is_err());
    }

    #[test]
    fn mknod_outside_userns_bind_inside() {
        let sys = RecordingSys::default();
        let n = chr("/dev/null", 1, 3);
        create(&sys, Path::new("/r"), &n, false).unwrap();
        let calls = sys.calls();
        assert!(
            calls
                .iter()
                .any(|c| c.starts_with("mknod /r/dev/null mode=20666")),
            "{calls:?}"
        );
        let sys = RecordingSys::default();
        create(&sys, Path::new("/r"), &n, true).unwrap();
        let calls = sys.calls();
        assert!(
            calls
                .iter()
                .any(|c| c.starts_with("mount /dev/null -> /r/dev/null")),
            "{calls:?}"
        );
        assert!(!calls.iter().any(|c| c.starts_with("mknod")), "{calls:?}");
    }
}
