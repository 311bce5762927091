//! Id-mapped mounts (runtime-spec 1.2): the `idmap` / `ridmap` mount options and a
//! mount's own `uidMappings` / `gidMappings`, which the spec types in `oci-spec` do not
//! carry, read from the raw config next to them and checked here.

use oci_spec::runtime::{LinuxIdMapping, LinuxNamespaceType, Mount, Spec};
use serde::Deserialize;

use crate::spec::SpecError;

/// What one mount asks of an id-mapped mount.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MountIdMap {
    /// `ridmap`: every submount of a recursive bind is id-mapped too.
    pub recursive: bool,
    /// The mount's `uidMappings` (disk id → host id); empty: the container's user namespace.
    pub uids: Vec<LinuxIdMapping>,
    /// The mount's `gidMappings`; empty with `uids`.
    pub gids: Vec<LinuxIdMapping>,
}

impl MountIdMap {
    /// The mapping is the container's own user namespace.
    pub fn uses_container_userns(&self) -> bool {
        self.uids.is_empty()
    }
}

#[derive(Deserialize)]
struct RawMount {
    #[serde(default, rename = "uidMappings")]
    uid_mappings: Option<Vec<LinuxIdMapping>>,
    #[serde(default, rename = "gidMappings")]
    gid_mappings: Option<Vec<LinuxIdMapping>>,
}

#[derive(Deserialize)]
struct RawConfig {
    #[serde(default)]
    mounts: Option<Vec<RawMount>>,
}

fn invalid(field: &'static str, value: impl std::fmt::Display, why: &'static str) -> SpecError {
    SpecError::Invalid {
        field,
        value: value.to_string(),
        why,
    }
}

fn is_bind(m: &Mount, opts: &[String]) -> bool {
    m.typ().as_deref() == Some("bind") || opts.iter().any(|o| o == "bind" || o == "rbind")
}

/// The id-mapped mount each of `spec.mounts` asks for (`None`: a plain mount), from
/// the raw config bytes the spec was parsed from. Refuses, naming the field, a mount
/// that cannot be id-mapped: not a bind, only one of the two mappings, a mapping of
/// size zero, a relative source, or `idmap` with neither its own mappings nor a new
/// user namespace whose mappings it could use.
pub fn mount_idmaps(raw: &[u8], spec: &Spec) -> Result<Vec<Option<MountIdMap>>, SpecError> {
    let raws: Vec<RawMount> = serde_json::from_slice::<RawConfig>(raw)
        .ok()
        .and_then(|c| c.mounts)
        .unwrap_or_default();
    let new_userns = spec
        .linux()
        .as_ref()
        .and_then(|l| l.namespaces().as_ref())
        .into_iter()
        .flatten()
        .any(|n| n.typ() == LinuxNamespaceType::User && n.path().is_none());
    let mut out = Vec::new();
    for (i, m) in spec.mounts().iter().flatten().enumerate() {
        let opts = m.options().clone().unwrap_or_default();
        let option = opts.iter().find(|o| *o == "idmap" || *o == "ridmap");
        let (uids, gids) = raws
            .get(i)
            .map(|r| {
                (
                    r.uid_mappings.clone().unwrap_or_default(),
                    r.gid_mappings.clone().unwrap_or_default(),
                )
            })
            .unwrap_or_default();
        if option.is_none() && uids.is_empty() && gids.is_empty() {
            out.push(None);
            continue;
        }
        let dest = m.destination().display();
        if uids.is_empty() != gids.is_empty() {
            let field = if uids.is_empty() {
                "mounts.uidMappings"
            } else {
                "mounts.gidMappings"
            };
            return Err(invalid(
                field,
                dest,
                "missing: an id-mapped mount needs both uidMappings and gidMappings",
            ));
        }
        for (field, maps) in [("mounts.uidMappings", &uids), ("mounts.gidMappings", &gids)] {
            if let Some(e) = maps.iter().find(|e| e.size() == 0) {
                return Err(invalid(
                    field,
                    format!("{dest}: {} {} 0", e.container_id(), e.host_id()),
                    "a mapping's size must be greater than zero",
                ));
            }
        }
        let what = option.map_or("uidMappings", String::as_str);
        if !is_bind(m, &opts) {
            return Err(invalid(
                "mounts.options",
                format!("{dest}: {what}"),
                "id-mapped mounts are only supported for bind mounts (`bind` or `rbind`)",
            ));
        }
        if m.source().as_ref().is_none_or(|s| !s.is_absolute()) {
            return Err(invalid(
                "mounts.source",
                format!(
                    "{dest}: {}",
                    m.source().as_deref().unwrap_or("".as_ref()).display()
                ),
                "an id-mapped mount needs an absolute source",
            ));
        }
        if uids.is_empty() && !new_userns {
            return Err(invalid(
                "mounts.options",
                format!("{dest}: {what}"),
                "an id-mapped mount without its own uidMappings/gidMappings uses the container's user namespace, and the config creates none",
            ));
        }
        out.push(Some(MountIdMap {
            recursive: option.is_some_and(|o| o == "ridmap"),
            uids,
            gids,
        }));
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn load(config: &serde_json::Value) -> Result<Vec<Option<MountIdMap>>, SpecError> {
        let raw = serde_json::to_vec(config).unwrap();
        let spec: Spec = serde_json::from_slice(&raw).unwrap();
        mount_idmaps(&raw, &spec)
    }

    fn config(mount: serde_json::Value, userns: bool) -> serde_json::Value {
        let mut c = serde_json::json!({
            "ociVersion": "1.3.0",
            "root": {"path": "rootfs"},
            "mounts": [{"destination": "/proc", "type": "proc", "source": "proc"}, mount],
            "linux": {"namespaces": [{"type": "mount"}]}
        });
        if userns {
            c["linux"]["namespaces"]
                .as_array_mut()
                .unwrap()
                .push(serde_json::json!({"type": "user"}));
        }
        c
    }

    fn map(c: u32, h: u32, n: u32) -> serde_json::Value {
        serde_json::json!([{"containerID": c, "hostID": h, "size": n}])
    }

    fn err(r: Result<Vec<Option<MountIdMap>>, SpecError>) -> String {
        r.unwrap_err().to_string()
    }

    #[test]
    fn idmap_uses_the_container_userns_and_ridmap_is_recursive() {
        let m = serde_json::json!({"destination": "/m", "source": "/s", "options": ["rbind", "ridmap"]});
        let got = load(&config(m, true)).unwrap();
        assert_eq!(got[0], None);
        let m = got[1].as_ref().unwrap();
        assert!(m.recursive && m.uses_container_userns());
    }

    #[test]
    fn own_mappings_need_no_userns_nor_the_option() {
        let m = serde_json::json!({"destination": "/m", "source": "/s", "options": ["bind"],
            "uidMappings": map(1000, 5, 1), "gidMappings": map(1000, 7, 1)});
        let got = load(&config(m, false)).unwrap();
        let m = got[1].as_ref().unwrap();
        assert!(!m.recursive && !m.uses_container_userns());
        assert_eq!(m.gids[0].host_id(), 7);
    }

    #[test]
    fn refusals_name_the_field() {
        let e = err(load(&config(
            serde_json::json!({"destination": "/m", "source": "/s", "options": ["bind", "idmap"]}),
            false,
        )));
        assert!(
            e.contains("mounts.options") && e.contains("user namespace"),
            "{e}"
        );
        let e = err(load(&config(
            serde_json::json!({"destination": "/m", "type": "tmpfs", "source": "tmpfs", "options": ["idmap"]}),
            true,
        )));
        assert!(e.contains("mounts.options") && e.contains("bind"), "{e}");
        let e = err(load(&config(
            serde_json::json!({"destination": "/m", "source": "/s", "options": ["bind"], "uidMappings": map(0, 1, 1)}),
            true,
        )));
        assert!(e.contains("`mounts.gidMappings` `/m`"), "{e}");
        let e = err(load(&config(
            serde_json::json!({"destination": "/m", "source": "/s", "options": ["bind"],
                "uidMappings": map(0, 1, 0), "gidMappings": map(0, 1, 1)}),
            true,
        )));
        assert!(
            e.contains("mounts.uidMappings") && e.contains("size"),
            "{e}"
        );
        let e = err(load(&config(
            serde_json::json!({"destination": "/m", "source": "s", "options": ["bind", "idmap"]}),
            true,
        )));
        assert!(e.contains("mounts.source"), "{e}");
    }
}
