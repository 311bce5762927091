//! The image's `User` resolved against the rootfs' `/etc/passwd` and `/etc/group`.

use std::fs;
use std::path::Path;

use super::BundleError;

/// A user resolved in the rootfs.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Identity {
    /// The uid.
    pub uid: u32,
    /// The primary gid.
    pub gid: u32,
    /// `HOME`: the passwd entry's, else `/root` for root and `/` for others.
    pub home: String,
    /// Supplementary groups: the process' group (but root's), and those of
    /// `/etc/group` that list the user unless `:group` was given (podman's set).
    pub groups: Vec<u32>,
}

/// Resolves `user[:group]` (names or numbers) against the rootfs'
/// `/etc/passwd` and `/etc/group`; symlinked files are not followed. An empty
/// `spec` is root, as in docker: the image has no `User`. A passwd or group
/// entry whose id does not parse is an error, never root.
pub fn resolve_user(rootfs: &Path, spec: &str) -> Result<(u32, u32), BundleError> {
    resolve_identity(rootfs, spec).map(|i| (i.uid, i.gid))
}

/// [`resolve_user`] with the user's home and supplementary groups, as
/// runc's and podman's `user` lookups give them.
pub fn resolve_identity(rootfs: &Path, spec: &str) -> Result<Identity, BundleError> {
    let spec = if spec.is_empty() { "0" } else { spec };
    let (u, g) = spec
        .split_once(':')
        .map_or((spec, None), |(a, b)| (a, Some(b)));
    let passwd = read_etc(rootfs, "passwd");
    let (uid, primary, entry) = match u.parse::<u32>() {
        Ok(n) => match lookup(&passwd, |f| f[2] == u) {
            Some(f) => (n, id(&f, 3, u, "passwd")?, Some(f)),
            // docker's, runc's and podman's default group: root's
            None => (n, 0, None),
        },
        Err(_) => {
            let f = lookup(&passwd, |f| f[0] == u).ok_or_else(|| BundleError::UnknownUser {
                user: u.into(),
                file: "passwd",
            })?;
            (id(&f, 2, u, "passwd")?, id(&f, 3, u, "passwd")?, Some(f))
        }
    };
    let home = match entry
        .as_ref()
        .and_then(|f| f.get(5))
        .filter(|h| !h.is_empty())
    {
        Some(h) => h.clone(),
        None if uid == 0 => "/root".into(),
        None => "/".into(),
    };
    let group_text = read_etc(rootfs, "group");
    let gid = match g {
        None => primary,
        Some(g) => match g.parse::<u32>() {
            Ok(n) => n,
            Err(_) => {
                let f =
                    lookup(&group_text, |f| f[0] == g).ok_or_else(|| BundleError::UnknownUser {
                        user: g.into(),
                        file: "group",
                    })?;
                id(&f, 2, g, "group")?
            }
        },
    };
    // a non-root process' group is among the supplementary ones, as podman
    // sets them (root's is not)
    let mut groups = if uid == 0 { Vec::new() } else { vec![gid] };
    // the groups listing the user, unless a group was given (podman's lookup)
    if let Some(name) = entry.as_ref().filter(|_| g.is_none()).map(|f| f[0].clone()) {
        for l in group_text.lines() {
            let f: Vec<&str> = l.split(':').collect();
            if f.len() >= 4 && f[3].split(',').any(|m| m.trim() == name) {
                if let Ok(n) = f[2].parse::<u32>() {
                    if !groups.contains(&n) {
                        groups.push(n);
                    }
                }
            }
        }
    }
    Ok(Identity {
        uid,
        gid,
        home,
        groups,
    })
}

/// Field `n` of an `/etc/passwd` or `/etc/group` entry as a number.
fn id(entry: &[String], n: usize, user: &str, file: &'static str) -> Result<u32, BundleError> {
    entry[n].parse().map_err(|_| BundleError::BadId {
        user: user.into(),
        file,
        value: entry[n].clone(),
    })
}

fn read_etc(rootfs: &Path, name: &str) -> String {
    let etc = rootfs.join("etc");
    let file = etc.join(name);
    let plain = |p: &Path| fs::symlink_metadata(p).map(|m| !m.file_type().is_symlink());
    match (plain(&etc), plain(&file)) {
        (Ok(true), Ok(true)) => fs::read_to_string(file).unwrap_or_default(),
        _ => String::new(),
    }
}

fn lookup(text: &str, pred: impl Fn(&[&str]) -> bool) -> Option<Vec<String>> {
    text.lines()
        .map(|l| l.split(':').collect::<Vec<_>>())
        .filter(|f| f.len() >= 4)
        .find(|f| pred(f))
        .map(|f| f.iter().map(|s| s.to_string()).collect())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn users_resolve_from_the_rootfs() {
        let d = tempfile::tempdir().unwrap();
        fs::create_dir(d.path().join("etc")).unwrap();
        fs::write(
            d.path().join("etc/passwd"),
            "root:x:0:0::/root:/bin/sh\nnode:x:1000:1001::/home/node:/bin/sh\n",
        )
        .unwrap();
        fs::write(d.path().join("etc/group"), "root:x:0:\nstaff:x:50:\n").unwrap();
        assert_eq!(resolve_user(d.path(), "").unwrap(), (0, 0));
        assert_eq!(resolve_user(d.path(), "node").unwrap(), (1000, 1001));
        assert_eq!(resolve_user(d.path(), "node:staff").unwrap(), (1000, 50));
        assert_eq!(resolve_user(d.path(), "123:7").unwrap(), (123, 7));
        assert_eq!(resolve_user(d.path(), "123").unwrap(), (123, 0));
        assert_eq!(resolve_user(d.path(), "1000").unwrap(), (1000, 1001));
        assert!(resolve_user(d.path(), "nobody").is_err());
    }

    #[test]
    fn homes_and_supplementary_groups() {
        let d = tempfile::tempdir().unwrap();
        fs::create_dir(d.path().join("etc")).unwrap();
        fs::write(
            d.path().join("etc/passwd"),
            "root:x:0:0::/root:/bin/sh\nnode:x:1000:1000::/home/node:/bin/sh\nnohome:x:7:7:::/bin/sh\n",
        )
        .unwrap();
        fs::write(
            d.path().join("etc/group"),
            "root:x:0:\nnode:x:1000:\nstaff:x:50:node,other\naudio:x:63:other, node\nwheel:x:10:root\n",
        )
        .unwrap();
        let i = resolve_identity(d.path(), "node").unwrap();
        assert_eq!(
            (i.home.as_str(), i.groups.clone()),
            ("/home/node", vec![1000, 50, 63])
        );
        let i = resolve_identity(d.path(), "1000:10").unwrap();
        assert_eq!((i.gid, i.groups), (10, vec![10]));
        let i = resolve_identity(d.path(), "").unwrap();
        assert_eq!((i.uid, i.home.as_str(), i.groups), (0, "/root", vec![10]));
        let i = resolve_identity(d.path(), "4242").unwrap();
        assert_eq!((i.gid, i.groups), (0, vec![0]));
        assert_eq!(resolve_identity(d.path(), "4242").unwrap().home, "/");
        assert_eq!(resolve_identity(d.path(), "nohome").unwrap().home, "/");
        let e = tempfile::tempdir().unwrap();
        assert_eq!(resolve_identity(e.path(), "0").unwrap().home, "/root");
    }

    #[test]
    fn a_malformed_id_is_an_error_not_root() {
        let d = tempfile::tempdir().unwrap();
        fs::create_dir(d.path().join("etc")).unwrap();
        fs::write(
            d.path().join("etc/passwd"),
            "bad:x:abc:1::/:/bin/sh\nbadgid:x:7:x::/:/bin/sh\nnum:x:8:y::/:/bin/sh\n",
        )
        .unwrap();
        fs::write(d.path().join("etc/group"), "grp:x::\n").unwrap();
        for spec in ["bad", "badgid", "8", "7:grp"] {
            let e = resolve_user(d.path(), spec).unwrap_err();
            assert!(matches!(e, BundleError::BadId { .. }), "{spec}: {e}");
        }
        let e = resolve_user(d.path(), "bad").unwrap_err().to_string();
        assert!(e.contains("`abc`") && e.contains("`bad`"), "{e}");
    }
}
