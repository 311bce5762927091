//! Loading and validating a bundle's `config.json`. Every refusal names the field and the value.

use std::collections::HashSet;
use std::path::{Path, PathBuf};

use oci_spec::runtime::{LinuxNamespaceType, Spec};
use thiserror::Error;

/// A config that could not be loaded or is not valid.
#[derive(Debug, Error)]
pub enum SpecError {
    /// The bundle directory is missing or not a directory.
    #[error("bundle `{0}` does not exist or is not a directory")]
    NoBundle(PathBuf),
    /// `config.json` could not be read.
    #[error("cannot read config file `{path}`: {source}")]
    Read {
        /// The config file.
        path: PathBuf,
        /// The kernel's answer.
        source: std::io::Error,
    },
    /// `config.json` is not a valid spec document.
    #[error("invalid config file `{path}`: {source}")]
    Parse {
        /// The config file.
        path: PathBuf,
        /// Where and why parsing failed.
        source: ParseError,
    },
    /// A value the runtime refuses.
    #[error("invalid `{field}` `{value}`: {why}")]
    Invalid {
        /// The JSON path of the field.
        field: &'static str,
        /// The value as given.
        value: String,
        /// Why it is refused.
        why: &'static str,
    },
}

fn invalid(field: &'static str, value: impl std::fmt::Display, why: &'static str) -> SpecError {
    SpecError::Invalid {
        field,
        value: value.to_string(),
        why,
    }
}

/// A parsed config with the facts derived from where it was found.
#[derive(Debug)]
pub struct Bundle {
    /// The bundle directory, absolute.
    pub dir: PathBuf,
    /// The raw bytes of config.json, written unchanged into the state dir.
    pub raw: Vec<u8>,
    /// The parsed spec.
    pub spec: Spec,
    /// `root.path` resolved against the bundle, absolute.
    pub rootfs: PathBuf,
    /// The id-mapped mount each of `spec.mounts` asks for, by index.
    pub mount_idmaps: Vec<Option<crate::mount_idmap::MountIdMap>>,
}

impl Bundle {
    /// Path of the config file inside a bundle directory.
    pub fn config_path(dir: &Path) -> PathBuf {
        dir.join("config.json")
    }

    /// Reads, parses and validates `DIR/config.json`.
    pub fn load(dir: &Path) -> Result<Bundle, SpecError> {
        let dir = std::path::absolute(dir).unwrap_or_else(|_| dir.to_path_buf());
        if !dir.is_dir() {
            return Err(SpecError::NoBundle(dir));
        }
        let path = Self::config_path(&dir);
        let raw = std::fs::read(&path).map_err(|source| SpecError::Read {
            path: path.clone(),
            source,
        })?;
        let spec = parse(&raw).map_err(|source| SpecError::Parse { path, source })?;
        let rootfs = validate(&spec, &dir)?;
        let mount_idmaps = crate::mount_idmap::mount_idmaps(&raw, &spec)?;
        Ok(Bundle {
            dir,
            raw,
            spec,
            rootfs,
            mount_idmaps,
        })
    }
}

/// Config bytes that do not deserialize into a spec, with the JSON path of the bad
/// value (e.g. `process.capabilities.bounding[3]`) when there is one.
#[derive(Debug)]
pub struct ParseError {
    /// The JSON path of the bad value (empty at the top level).
    pub at: String,
    /// serde_json's answer.
    pub source: serde_json::Error,
}

impl std::fmt::Display for ParseError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self.at.as_str() {
            "" | "." => write!(f, "{}", self.source),
            at => write!(f, "field `{at}`: {}", self.source),
        }
    }
}

impl std::error::Error for ParseError {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        Some(&self.source)
    }
}

/// Parses config bytes into a spec (no validation beyond the types). A failure names
/// the JSON path at serde's error position (found by [`json_path_at`], not a second
/// deserializer: that would double the spec's deserialization code in the binary).
pub fn parse(raw: &[u8]) -> Result<Spec, ParseError> {
    parse_object(raw)
}

/// Parses a JSON object (config.json, `--process`, `--resources`) naming the
/// path of a bad value. Anything but an object at the top is refused: serde
/// reads a struct from an array too (`[]` was an empty, accepted update).
pub fn parse_object<T: serde::de::DeserializeOwned>(raw: &[u8]) -> Result<T, ParseError> {
    let first = raw.iter().find(|b| !b.is_ascii_whitespace());
    if first.is_some_and(|b| *b != b'{') {
        return Err(ParseError {
            at: String::new(),
            source: serde::de::Error::custom("a JSON object is required at the top level"),
        });
    }
    serde_json::from_slice(raw).map_err(|source| ParseError {
        at: json_path_at(raw, source.line(), source.column()),
        source,
    })
}

/// The JSON path (`process.capabilities.args[0]`) of the value at a 1-based
/// line and column of `raw`, by tracking objects, keys and array indexes up to there.
/// Empty at the top level or past malformed input.
pub fn json_path_at(raw: &[u8], line: usize, column: usize) -> String {
    enum Frame {
        Obj { key: Option<String>, want_key: bool },
        Arr(usize),
    }
    let line_start = match line {
        0 | 1 => 0,
        n => match raw
            .iter()
            .enumerate()
            .filter(|(_, b)| **b == b'\n')
            .nth(n - 2)
        {
            Some((i, _)) => i + 1,
            None => return String::new(),
        },
    };
    let end = (line_start + column).min(raw.len());
    let mut stack: Vec<Frame> = Vec::new();
    let mut i = 0;
    while i < end {
        match raw[i] {
            b'{' => stack.push(Frame::Obj {
                key: None,
                want_key: true,
            }),
            b'[' => stack.push(Frame::Arr(0)),
            b'}' | b']' => {
                stack.pop();
            }
            b',' => match stack.last_mut() {
                Some(Frame::Obj { want_key, .. }) => *want_key = true,
                Some(Frame::Arr(n)) => *n += 1,
                None => {}
            },
            b':' => {
                if let Some(Frame::Obj { want_key, .. }) = stack.last_mut() {
                    *want_key = false;
                }
            }
            b'"' => {
                let start = i + 1;
                i += 1;
                while i < raw.len() && raw[i] != b'"' {
                    i += if raw[i] == b'\\' { 2 } else { 1 };
                }
                if let Some(Frame::Obj {
                    key,
                    want_key: true,
                }) = stack.last_mut()
                {
                    *key =
                        Some(String::from_utf8_lossy(&raw[start..i.min(raw.len())]).into_owned());
                }
            }
            _ => {}
        }
        i += 1;
    }
    let mut path = String::new();
    for f in &stack {
        match f {
            Frame::Obj { key: Some(k), .. } => {
                if !path.is_empty() {
                    path.push('.');
                }
                path.push_str(k);
            }
            Frame::Obj { key: None, .. } => {}
            Frame::Arr(n) => path.push_str(&format!("[{n}]")),
        }
    }
    path
}

/// Validates a spec for `create`; returns the absolute rootfs path.
pub fn validate(spec: &Spec, bundle: &Path) -> Result<PathBuf, SpecError> {
    validate_version(spec.version())?;
    let root = spec
        .root()
        .as_ref()
        .ok_or_else(|| invalid("root", "null", "a root filesystem is required"))?;
    if root.path().as_os_str().is_empty() {
        return Err(invalid("root.path", "", "must not be empty"));
    }
    let rootfs = bundle.join(root.path());
    if !rootfs.is_dir() {
        return Err(invalid(
            "root.path",
            rootfs.display(),
            "does not exist or is not a directory",
        ));
    }
    // every later check compares real paths: resolve symlinks in the rootfs path once
    let rootfs = std::fs::canonicalize(&rootfs).unwrap_or(rootfs);
    validate_process(spec)?;
    validate_linux(spec)?;
    validate_hooks(spec)?;
    Ok(rootfs)
}

/// Accepts runtime-spec versions 1.0.0 to 1.x (with pre-release suffixes).
pub fn validate_version(v: &str) -> Result<(), SpecError> {
    let core = v.split(['-', '+']).next().unwrap_or("");
    let parts: Vec<&str> = core.split('.').collect();
    let numeric = parts.len() == 3 && parts.iter().all(|p| p.parse::<u32>().is_ok());
    if !numeric {
        return Err(invalid("ociVersion", v, "not a semantic version"));
    }
    if parts[0] != "1" {
        return Err(invalid(
            "ociVersion",
            v,
            "only runtime-spec 1.x is supported",
        ));
    }
    Ok(())
}

fn validate_process(spec: &Spec) -> Result<(), SpecError> {
    let p = spec.process().as_ref().ok_or_else(|| {
        invalid(
            "process",
            "null",
            "a process is required to create a container",
        )
    })?;
    let args = p.args().as_deref().unwrap_or_default();
    if args.is_empty() || args[0].is_empty() {
        return Err(invalid(
            "process.args",
            "[]",
            "must name the program to run",
        ));
    }
    if !p.cwd().is_absolute() {
        return Err(invalid(
            "process.cwd",
            p.cwd().display(),
            "must be an absolute path",
        ));
    }
    for e in p.env().as_deref().unwrap_or_default() {
        if !e.contains('=') || e.starts_with('=') {
            return Err(invalid("process.env", e, "entries must be KEY=VALUE"));
        }
    }
    if let Some(adj) = p.oom_score_adj() {
        if !(-1000..=1000).contains(&adj) {
            return Err(invalid(
                "process.oomScoreAdj",
                adj,
                "must be between -1000 and 1000",
            ));
        }
    }
    let mut seen = HashSet::new();
    for r in p.rlimits().as_deref().unwrap_or_default() {
        if !seen.insert(format!("{:?}", r.typ())) {
            return Err(invalid(
                "process.rlimits",
                format!("{:?}", r.typ()),
                "duplicate type",
            ));
        }
        if r.soft() > r.hard() {
            return Err(invalid(
                "process.rlimits",
                format!("{:?} soft {} > hard {}", r.typ(), r.soft(), r.hard()),
                "soft limit above hard limit",
            ));
        }
    }
    Ok(())
}

fn validate_linux(spec: &Spec) -> Result<(), SpecError> {
    let nss = spec
        .linux()
        .as_ref()
        .and_then(|l| l.namespaces().as_deref())
        .unwrap_or_default();
    let new_uts = nss.iter().any(|n| n.typ() == LinuxNamespaceType::Uts);
    if let Some(h) = spec.hostname() {
        if !h.is_empty() && !new_uts {
            return Err(invalid(
                "hostname",
                h,
                "setting a hostname needs a uts namespace",
            ));
        }
    }
    let Some(linux) = spec.linux() else {
        return Ok(());
    };
    let mut seen = HashSet::new();
    for ns in nss {
        if !seen.insert(ns.typ()) {
            return Err(invalid(
                "linux.namespaces",
                ns.typ(),
                "duplicate namespace type",
            ));
        }
        if let Some(p) = ns.path() {
            if !p.is_absolute() {
                return Err(invalid(
                    "linux.namespaces.path",
                    p.display(),
                    "must be absolute",
                ));
            }
        }
    }
    let has_userns = seen.contains(&LinuxNamespaceType::User);
    let maps = linux.uid_mappings().as_ref().is_some_and(|m| !m.is_empty())
        || linux.gid_mappings().as_ref().is_some_and(|m| !m.is_empty());
    if maps && !has_userns {
        return Err(invalid(
            "linux.uidMappings",
            "set",
            "id mappings need a user namespace in linux.namespaces",
        ));
    }
    let new_userns = nss
        .iter()
        .any(|n| n.typ() == LinuxNamespaceType::User && n.path().is_none());
    if new_userns && !maps {
        return Err(invalid(
            "linux.uidMappings",
            "empty",
            "a new user namespace needs uid and gid mappings",
        ));
    }
    Ok(())
}

fn validate_hooks(spec: &Spec) -> Result<(), SpecError> {
    let Some(h) = spec.hooks() else {
        return Ok(());
    };
    let all = [
        h.prestart(),
        h.create_runtime(),
        h.create_container(),
        h.start_container(),
        h.poststart(),
        h.poststop(),
    ];
    for hook in all.into_iter().flatten().flatten() {
        if !hook.path().is_absolute() {
            return Err(invalid(
                "hooks.path",
                hook.path().display(),
                "must be absolute",
            ));
        }
        if hook.timeout().is_some_and(|t| t <= 0) {
            return Err(invalid(
                "hooks.timeout",
                hook.timeout().unwrap_or_default(),
                "must be greater than zero",
            ));
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn bundle_with(config: &str) -> (tempfile::TempDir, Result<Bundle, SpecError>) {
        let dir = tempfile::tempdir().unwrap();
        std::fs::create_dir(dir.path().join("rootfs")).unwrap();
        std::fs::write(dir.path().join("config.json"), config).unwrap();
        let r = Bundle::load(dir.path());
        (dir, r)
    }

    fn minimal(extra: &str) -> String {
        format!(
            r#"{{"ociVersion":"1.2.0","root":{{"path":"rootfs"}},
            "process":{{"args":["/bin/true"],"cwd":"/","user":{{"uid":0,"gid":0}}}}{extra}}}"#
        )
    }

    #[test]
    fn loads_a_minimal_config() {
        let (_d, r) = bundle_with(&minimal(""));
        let b = r.unwrap();
        assert!(b.rootfs.ends_with("rootfs"));
        assert!(b.rootfs.is_absolute());
    }

    #[test]
    fn versions() {
        for v in ["1.0.0", "1.0.2-dev", "1.2.0", "1.3.1"] {
            assert!(validate_version(v).is_ok(), "{v}");
        }
        for v in ["2.0.0", "1.0", "abc", ""] {
            let e = validate_version(v).unwrap_err().to_string();
            assert!(e.contains("ociVersion"), "{e}");
        }
    }

    #[test]
    fn json_path_at_positions() {
        let raw = br#"{"a":{"b":[1,{"c":"x\"y"}],"d":2},
"e":[true]}"#;
        // just after `"x\"y"` on line 1
        let col = raw.iter().position(|b| *b == b'}').unwrap();
        assert_eq!(json_path_at(raw, 1, col), "a.b[1].c");
        assert_eq!(json_path_at(raw, 1, 6), "a");
        assert_eq!(json_path_at(raw, 1, 7), "a.b");
        assert_eq!(json_path_at(raw, 2, 8), "e[0]");
        assert_eq!(json_path_at(raw, 9, 1), "");
    }

    #[test]
    fn rejects_a_made_up_capability() {
        let cfg = minimal("").replace(
            r#""cwd":"/""#,
            r#""cwd":"/","capabilities":{"bounding":["CAP_TEST"]}"#,
        );
        let (_d, r) = bundle_with(&cfg);
        let e = r.unwrap_err().to_string();
        assert!(e.contains("CAP_TEST"), "{e}");
        assert!(e.contains("field `process.capabilities.bounding`"), "{e}");
    }

    #[test]
    fn field_errors_name_field_and_value() {
        let cases = [
            (minimal("").replace("\"/bin/true\"", ""), "process.args"),
            (
                minimal("").replace("\"cwd\":\"/\"", "\"cwd\":\"rel\""),
                "process.cwd",
            ),
            (minimal("").replace("rootfs\"", "nope\""), "root.path"),
            (
                minimal(r#","linux":{"namespaces":[{"type":"pid"},{"type":"pid"}]}"#),
                "linux.namespaces",
            ),
            (
                minimal(r#","linux":{"namespaces":[{"type":"user"}]}"#),
                "linux.uidMappings",
            ),
            (minimal(r#","hostname":"h""#), "hostname"),
            (
                minimal("").replace("\"cwd\":\"/\"", "\"cwd\":\"/\",\"oomScoreAdj\":-1001"),
                "process.oomScoreAdj",
            ),
            (
                minimal(r#","hooks":{"prestart":[{"path":"rel"}]}"#),
                "hooks.path",
            ),
        ];
        for (cfg, field) in cases {
            let (_d, r) = bundle_with(&cfg);
            let e = r.unwrap_err().to_string();
            assert!(e.contains(field), "{field}: {e}");
        }
    }

    #[test]
    fn only_an_object_is_a_config() {
        for raw in ["[]", "5", "\"x\"", " [{}]"] {
            let e = parse(raw.as_bytes()).unwrap_err().to_string();
            assert!(e.contains("JSON object"), "{raw}: {e}");
        }
        let e = parse_object::<oci_spec::runtime::LinuxResources>(br#"{"memory":{"limit":"big"}}"#)
            .unwrap_err()
            .to_string();
        assert!(e.contains("memory.limit"), "{e}");
    }

    #[test]
    fn malformed_json_names_the_file() {
        let (_d, r) = bundle_with("{not json");
        let e = r.unwrap_err().to_string();
        assert!(e.contains("config.json"), "{e}");
    }
}
