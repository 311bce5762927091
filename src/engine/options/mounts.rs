//! Bind mounts and named volumes.

use super::{bad, BindMount, OptionsError, VolumeMount};

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

pub(super) fn volumes(list: &[String]) -> Result<Vec<VolumeMount>, OptionsError> {
    let mut out: Vec<VolumeMount> = Vec::new();
    for s in list {
        let parts: Vec<&str> = s.split(':').collect();
        if !(2..=3).contains(&parts.len()) || !name_ok(parts[0]) {
            return Err(bad("volume", s, "use `name:/container/path[:ro]`"));
        }
        let v = VolumeMount {
            name: parts[0].to_string(),
            container: container_path("volume", s, parts[1])?,
            readonly: ro_flag("volume", s, parts.get(2).copied())?,
        };
        if out.iter().any(|o| o.container == v.container) {
            return Err(bad("volume", s, "that path is already mounted"));
        }
        out.push(v);
    }
    Ok(out)
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
        let v = volumes(&["db-data:/var/lib/db".into()]).unwrap();
        assert_eq!(v[0].name, "db-data");
        assert!(volumes(&["bad name:/x".into()]).is_err());
        assert!(volumes(&["a:/x".into(), "b:/x".into()]).is_err());
        assert!(volumes(&["a:/../x".into()]).is_err());
    }
}
