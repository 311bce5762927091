//! The image's `User` resolved against the rootfs' `/etc/passwd` and `/etc/group`.

use std::fs;
use std::path::Path;

use super::BundleError;

/// Resolves `user[:group]` (names or numbers) against the rootfs'
/// `/etc/passwd` and `/etc/group`; symlinked files are not followed.
pub fn resolve_user(rootfs: &Path, spec: &str) -> Result<(u32, u32), BundleError> {
    if spec.is_empty() {
        return Ok((0, 0));
    }
    let (u, g) = spec
        .split_once(':')
        .map_or((spec, None), |(a, b)| (a, Some(b)));
    let passwd = read_etc(rootfs, "passwd");
    let (uid, primary) = match u.parse::<u32>() {
        Ok(n) => (
            n,
            lookup(&passwd, |f| f[2] == u).map_or(n, |f| f[3].parse().unwrap_or(n)),
        ),
        Err(_) => {
            let f = lookup(&passwd, |f| f[0] == u).ok_or_else(|| BundleError::UnknownUser {
                user: u.into(),
                file: "passwd",
            })?;
            (f[2].parse().unwrap_or(0), f[3].parse().unwrap_or(0))
        }
    };
    let gid = match g {
        None => primary,
        Some(g) => match g.parse::<u32>() {
            Ok(n) => n,
            Err(_) => lookup(&read_etc(rootfs, "group"), |f| f[0] == g)
                .and_then(|f| f[2].parse().ok())
                .ok_or_else(|| BundleError::UnknownUser {
                    user: g.into(),
                    file: "group",
                })?,
        },
    };
    Ok((uid, gid))
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
        assert_eq!(resolve_user(d.path(), "1000").unwrap(), (1000, 1001));
        assert!(resolve_user(d.path(), "nobody").is_err());
    }
}
