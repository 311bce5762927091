//! Bind mounts and named volumes.

use super::{bad, BindMount, OptionsError, TmpfsMount, VolumeMount};

fn container_path(option: &'static str, whole: &str, p: &str) -> Result<String, OptionsError> {
    if !p.starts_with('/') || p.split('/').any(|c| c == "..") || p.contains('\0') {
        return Err(bad(option, whole, format!("`{p}` is not an absolute path")));
    }
    Ok(p.to_string())
}

fn ro_flag(option: &'static str, whole: &str, f: Option<&str>) -> Result<bool, OptionsError> {
    match f {
        None | Some("rw") => Ok(false),
        Some("ro") => Ok(true),
        Some(o) => Err(bad(
            option,
            whole,
            format!("unknown mode `{o}` (use ro or rw)"),
        )),
    }
}

/// `host:container[:ro|rw]`; the host path must exist.
pub fn bind_mount(s: &str) -> Result<BindMount, OptionsError> {
    let parts: Vec<&str> = s.split(':').collect();
    if !(2..=3).contains(&parts.len()) {
        return Err(bad("mount", s, "use `/host/path:/container/path[:ro]`"));
    }
    let host = container_path("mount", s, parts[0])?;
    if !std::path::Path::new(&host).exists() {
        return Err(bad(
            "mount",
            s,
            format!("host path `{host}` does not exist"),
        ));
    }
    Ok(BindMount {
        host,
        container: container_path("mount", s, parts[1])?,
        readonly: ro_flag("mount", s, parts.get(2).copied())?,
    })
}

/// A volume or network name: `[A-Za-z0-9][A-Za-z0-9_.-]{0,63}`.
pub fn name_ok(s: &str) -> bool {
    !s.is_empty()
        && s.len() <= 64
        && s.starts_with(|c: char| c.is_ascii_alphanumeric())
        && s.chars()
            .all(|c| c.is_ascii_alphanumeric() || "_.-".contains(c))
}

/// One entry of `--mount`, `-v` or `--tmpfs`, parsed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) enum Spec {
    /// A host path.
    Bind(BindMount),
    /// A named volume.
    Volume(VolumeMount),
    /// A tmpfs.
    Tmpfs(TmpfsMount),
}

impl Spec {
    pub(super) fn container(&self) -> &str {
        match self {
            Spec::Bind(b) => &b.container,
            Spec::Volume(v) => &v.container,
            Spec::Tmpfs(t) => &t.container,
        }
    }
}

/// `-v`/`--volume`: `NAME:/path[:OPTS]` a named volume, `/host:/path[:OPTS]` a
/// bind mount (docker's syntax); OPTS `ro`, `rw`, SELinux' `z`/`Z`
/// (accepted, as podman on a host without SELinux) and, for a named volume,
/// podman's `nocopy` (a new volume is not filled from the image).
pub(super) fn volume_flag(s: &str) -> Result<Spec, OptionsError> {
    let parts: Vec<&str> = s.split(':').collect();
    if parts.len() == 1 {
        return Err(bad(
            "volume",
            s,
            "anonymous volumes are not supported: use `NAME:/path` or `/host:/path`",
        ));
    }
    if parts.len() > 3 {
        return Err(bad(
            "volume",
            s,
            "use `NAME:/path[:ro]` or `/host:/path[:ro]`",
        ));
    }
    let (mut readonly, mut nocopy) = (false, false);
    for o in parts
        .get(2)
        .map_or("", |o| *o)
        .split(',')
        .filter(|o| !o.is_empty())
    {
        match o {
            "ro" => readonly = true,
            "rw" => readonly = false,
            "z" | "Z" => {}
            "nocopy" => nocopy = true,
            o => {
                return Err(bad(
                    "volume",
                    s,
                    format!("unknown option `{o}` (use ro, rw, z, Z or nocopy)"),
                ))
            }
        }
    }
    let container = container_path("volume", s, parts[1])?;
    if parts[0].starts_with('/') {
        if nocopy {
            let why = "`nocopy` is for a named volume, not a bind mount";
            return Err(bad("volume", s, why));
        }
        let host = container_path("volume", s, parts[0])?;
        if !std::path::Path::new(&host).exists() {
            let why = format!("host path `{host}` does not exist");
            return Err(bad("volume", s, why));
        }
        return Ok(Spec::Bind(BindMount {
            host,
            container,
            readonly,
        }));
    }
    if !name_ok(parts[0]) {
        return Err(bad("volume", s, "use `name:/container/path[:ro]`"));
    }
    Ok(Spec::Volume(VolumeMount {
        name: parts[0].to_string(),
        container,
        readonly,
        nocopy,
    }))
}

/// `--mount`: docker's `type=bind|volume|tmpfs,source=...,target=...[,readonly]`
/// (`volume-nocopy` for a volume), or k3's `/host:/path[:ro]`.
pub(super) fn mount_flag(s: &str) -> Result<Spec, OptionsError> {
    if !s.contains('=') {
        return bind_mount(s).map(Spec::Bind);
    }
    let (mut typ, mut src, mut dst, mut ro) = ("volume", None, None, false);
    let mut nocopy = false;
    let mut tmpfs_opts: Vec<String> = Vec::new();
    for kv in s.split(',') {
        let (k, v) = kv.split_once('=').map_or((kv, None), |(k, v)| (k, Some(v)));
        match (k, v) {
            ("type", Some(t)) => typ = t,
            ("source" | "src", Some(v)) => src = Some(v),
            ("target" | "destination" | "dst", Some(v)) => dst = Some(v),
            ("readonly" | "ro", None | Some("true" | "1")) => ro = true,
            ("readonly" | "ro", Some("false" | "0")) => ro = false,
            ("volume-nocopy", None | Some("true" | "1")) => nocopy = true,
            ("volume-nocopy", Some("false" | "0")) => nocopy = false,
            ("tmpfs-size", Some(v)) => tmpfs_opts.push(format!("size={v}")),
            ("tmpfs-mode", Some(v)) => tmpfs_opts.push(format!("mode={v}")),
            _ => {
                return Err(bad(
                    "mount",
                    s,
                    format!(
                    "unknown `{kv}` (type=, source=, target=, readonly, volume-nocopy, tmpfs-size=, tmpfs-mode=)"
                ),
                ))
            }
        }
    }
    let Some(dst) = dst else {
        return Err(bad("mount", s, "no `target=`"));
    };
    if nocopy && typ != "volume" {
        return Err(bad("mount", s, "`volume-nocopy` is for `type=volume`"));
    }
    match (typ, src) {
        ("bind", Some(src)) => bind_mount(&format!("{src}:{dst}{}", if ro { ":ro" } else { "" }))
            .map(Spec::Bind)
            .map_err(|e| bad("mount", s, e.reason)),
        ("volume", Some(src)) => {
            let opts = match (ro, nocopy) {
                (false, false) => "",
                (true, false) => ":ro",
                (false, true) => ":nocopy",
                (true, true) => ":ro,nocopy",
            };
            volume_flag(&format!("{src}:{dst}{opts}")).map_err(|e| bad("mount", s, e.reason))
        }
        ("tmpfs", None) => {
            if ro {
                tmpfs_opts.push("ro".into());
            }
            let spec = format!("{dst}:{}", tmpfs_opts.join(","));
            let spec = if tmpfs_opts.is_empty() {
                dst.to_string()
            } else {
                spec
            };
            super::tmpfs(&spec)
                .map(Spec::Tmpfs)
                .map_err(|e| bad("mount", s, e.reason))
        }
        ("tmpfs", Some(_)) => Err(bad("mount", s, "a tmpfs takes no `source=`")),
        ("bind" | "volume", None) => Err(bad("mount", s, "no `source=`")),
        (t, _) => Err(bad(
            "mount",
            s,
            format!("unknown type `{t}` (use bind, volume or tmpfs)"),
        )),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn mounts_and_volumes() {
        let m = bind_mount("/tmp:/data:ro").unwrap();
        assert!(m.readonly);
        assert_eq!(m.container, "/data");
        assert!(bind_mount("/nonexistent-k3:/data").is_err());
        assert!(bind_mount("/tmp:data").is_err());
        assert!(bind_mount("/tmp:/data:rx").is_err());
        let Spec::Volume(v) = volume_flag("db-data:/var/lib/db").unwrap() else {
            panic!("not a volume")
        };
        assert_eq!(v.name, "db-data");
        assert!(volume_flag("bad name:/x").is_err());
        assert!(volume_flag("a:/../x").is_err());
        assert!(volume_flag("/data").is_err());
    }

    #[test]
    fn docker_syntax() {
        assert_eq!(
            volume_flag("/tmp:/data:ro,z").unwrap(),
            Spec::Bind(BindMount {
                host: "/tmp".into(),
                container: "/data".into(),
                readonly: true
            })
        );
        assert_eq!(
            volume_flag("/nonexistent-k3:/d").unwrap_err().option,
            "volume"
        );
        assert_eq!(volume_flag("v:/d:rx").unwrap_err().option, "volume");
        let b = mount_flag("type=bind,source=/tmp,target=/d,readonly").unwrap();
        assert!(matches!(b, Spec::Bind(ref m) if m.readonly && m.host == "/tmp"));
        let v = mount_flag("type=volume,src=vol1,dst=/d").unwrap();
        assert!(matches!(v, Spec::Volume(ref m) if m.name == "vol1" && !m.readonly && !m.nocopy));
        let v = mount_flag("type=volume,src=vol1,dst=/d,volume-nocopy,ro").unwrap();
        assert!(matches!(v, Spec::Volume(ref m) if m.nocopy && m.readonly));
        let v = volume_flag("vol1:/d:nocopy").unwrap();
        assert!(matches!(v, Spec::Volume(ref m) if m.nocopy && !m.readonly));
        assert!(volume_flag("/tmp:/d:nocopy")
            .unwrap_err()
            .reason
            .contains("nocopy"));
        let e = mount_flag("type=bind,source=/tmp,target=/d,volume-nocopy").unwrap_err();
        assert!(e.reason.contains("volume-nocopy"), "{}", e.reason);
        let t = mount_flag("type=tmpfs,target=/t,tmpfs-size=1m").unwrap();
        assert!(matches!(t, Spec::Tmpfs(ref m) if m.options == vec!["size=1m"]));
        assert_eq!(mount_flag("/tmp:/x").unwrap().container(), "/x");
        for b in [
            "type=bind,target=/d",
            "type=bind,source=/tmp",
            "type=nfs,source=a,target=/d",
            "type=tmpfs,source=a,target=/d",
            "type=bind,source=/tmp,target=/d,bogus=1",
        ] {
            assert_eq!(mount_flag(b).unwrap_err().option, "mount", "{b}");
        }
    }
}
