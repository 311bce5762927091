//! The image config and docker's merge of it with the options.

use std::collections::{BTreeMap, VecDeque};
use std::path::{Path, PathBuf};

use serde_json::Value;

use super::{BundleError, DEFAULT_PATH};
use crate::options::Validated;

/// The parts of an image config (`config` object of the image JSON) k3 uses.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct ImageConfig {
    /// The image's `Entrypoint`.
    pub entrypoint: Vec<String>,
    /// The image's `Cmd`.
    pub cmd: Vec<String>,
    /// The image's `Env`, `KEY=VALUE` each.
    pub env: Vec<String>,
    /// The image's `WorkingDir` (empty: `/`).
    pub working_dir: String,
    /// The image's `User`: `name`, `uid`, or `user:group` (empty: root).
    pub user: String,
    /// The image's `ExposedPorts` keys, e.g. `80/tcp`.
    pub exposed_ports: Vec<String>,
    /// The image's `Volumes`: paths in the container.
    pub volumes: Vec<String>,
    /// The image's `StopSignal`.
    pub stop_signal: Option<String>,
}

fn strings(v: &Value) -> Vec<String> {
    v.as_array()
        .map(|a| {
            a.iter()
                .filter_map(|s| s.as_str().map(str::to_string))
                .collect()
        })
        .unwrap_or_default()
}

fn keys(v: &Value) -> Vec<String> {
    v.as_object()
        .map(|o| o.keys().cloned().collect())
        .unwrap_or_default()
}

impl ImageConfig {
    /// Reads the image JSON (the whole config blob).
    pub fn from_image_json(image: &Value) -> ImageConfig {
        let c = &image["config"];
        ImageConfig {
            entrypoint: strings(&c["Entrypoint"]),
            cmd: strings(&c["Cmd"]),
            env: strings(&c["Env"]),
            working_dir: c["WorkingDir"].as_str().unwrap_or("").to_string(),
            user: c["User"].as_str().unwrap_or("").to_string(),
            exposed_ports: keys(&c["ExposedPorts"]),
            volumes: keys(&c["Volumes"]),
            stop_signal: c["StopSignal"]
                .as_str()
                .filter(|s| crate::options::signal(s).is_ok())
                .map(str::to_string),
        }
    }
}

/// The process part of the config, before users are resolved.
#[derive(Debug, Clone, PartialEq)]
pub struct ProcessPlan {
    /// The command and its arguments.
    pub args: Vec<String>,
    /// The environment, `KEY=VALUE` each.
    pub env: Vec<String>,
    /// The working directory in the container.
    pub cwd: String,
    /// The user as the image names it (resolved against the rootfs later).
    pub user: String,
}

/// Docker's merge: `args` replace Cmd (the Entrypoint stays); an
/// `entrypoint` replaces the image's and drops its Cmd; options' env
/// override the image's by key; `PATH` and `HOSTNAME` are always set;
/// `workdir` and `user` replace the image's; the working dir defaults to `/`.
pub fn merge_process(
    img: &ImageConfig,
    v: &Validated,
    hostname: &str,
) -> Result<ProcessPlan, BundleError> {
    let mut args = v
        .entrypoint
        .clone()
        .unwrap_or_else(|| img.entrypoint.clone());
    let cmd = match (&v.args, &v.entrypoint) {
        (Some(a), _) => a.clone(),
        (None, Some(_)) => Vec::new(),
        (None, None) => img.cmd.clone(),
    };
    args.extend(cmd);
    if args.is_empty() {
        return Err(BundleError::NoCommand(v.image_ref.clone()));
    }
    let mut env: BTreeMap<String, (usize, String)> = BTreeMap::new();
    let mut order = 0;
    let mut put = |k: &str, val: &str| {
        let pos = env.get(k).map_or_else(
            || {
                order += 1;
                order
            },
            |e| e.0,
        );
        env.insert(k.to_string(), (pos, val.to_string()));
    };
    put("PATH", DEFAULT_PATH);
    put("HOSTNAME", hostname);
    for e in &img.env {
        if let Some((k, val)) = e.split_once('=') {
            put(k, val);
        }
    }
    for (k, val) in &v.env {
        put(k, val);
    }
    let mut env: Vec<(usize, String)> = env
        .into_iter()
        .map(|(k, (pos, val))| (pos, format!("{k}={val}")))
        .collect();
    env.sort();
    Ok(ProcessPlan {
        args,
        env: env.into_iter().map(|(_, e)| e).collect(),
        cwd: match &v.workdir {
            Some(w) => w.clone(),
            None if img.working_dir.is_empty() => "/".into(),
            None => img.working_dir.clone(),
        },
        user: v.user.clone().unwrap_or_else(|| img.user.clone()),
    })
}

/// Whether `path` is a directory in `rootfs`, its symlinks resolved inside
/// the rootfs (an absolute link target starts again at the rootfs).
pub fn dir_in_rootfs(rootfs: &Path, path: &str) -> bool {
    let mut todo: VecDeque<String> = path.split('/').map(String::from).collect();
    let mut cur = PathBuf::new();
    let mut hops = 0;
    while let Some(c) = todo.pop_front() {
        match c.as_str() {
            "" | "." => {}
            ".." => {
                cur.pop();
            }
            name => {
                let next = cur.join(name);
                let host = rootfs.join(&next);
                match std::fs::symlink_metadata(&host) {
                    Ok(m) if m.file_type().is_symlink() => {
                        hops += 1;
                        let Ok(target) = std::fs::read_link(&host) else {
                            return false;
                        };
                        if hops > 40 {
                            return false;
                        }
                        if target.is_absolute() {
                            cur = PathBuf::new();
                        }
                        let t = target.to_string_lossy().to_string();
                        for part in t.split('/').rev() {
                            todo.push_front(part.to_string());
                        }
                    }
                    Ok(_) => cur = next,
                    Err(_) => return false,
                }
            }
        }
    }
    rootfs.join(cur).is_dir()
}

impl ProcessPlan {
    /// Sets `HOME` (the user's home) unless the image or the options set it.
    pub fn default_home(&mut self, home: &str) {
        if !self.env.iter().any(|e| e.starts_with("HOME=")) {
            self.env.push(format!("HOME={home}"));
        }
    }
}

/// The capability set: docker's default (or, when privileged, every
/// capability in `bounding`), with `capAdd` and `capDrop` applied (`ALL`
/// allowed in both, meaning the same as privileged's set).
#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;
    use crate::bundle::testutil::{image, validated};

    #[test]
    fn image_config_is_read() {
        let i = image();
        assert_eq!(i.exposed_ports, vec!["3000/tcp"]);
        assert_eq!(i.volumes, vec!["/data"]);
        assert_eq!(
            ImageConfig::from_image_json(&json!({})),
            ImageConfig::default()
        );
    }

    #[test]
    fn args_replace_cmd_but_keep_entrypoint() {
        let v = validated(|o| o.args = Some("npm start".into()));
        let p = merge_process(&image(), &v, "h").unwrap();
        assert_eq!(p.args, vec!["docker-entrypoint.sh", "npm", "start"]);
        let v = validated(|_| {});
        assert_eq!(
            merge_process(&image(), &v, "h").unwrap().args,
            vec!["docker-entrypoint.sh", "node"]
        );
        let err = merge_process(&ImageConfig::default(), &v, "h").unwrap_err();
        assert!(matches!(err, BundleError::NoCommand(_)));
    }

    #[test]
    fn entrypoint_workdir_user_and_home() {
        let v = validated(|o| o.entrypoint = Some("sh".into()));
        let p = merge_process(&image(), &v, "h").unwrap();
        assert_eq!(p.args, vec!["sh"]);
        let v = validated(|o| {
            o.entrypoint = Some(r#"["sh","-c"]"#.into());
            o.args = Some("'echo hi'".into());
            o.workdir = Some("/w".into());
            o.user = Some("1:2".into());
        });
        let mut p = merge_process(&image(), &v, "h").unwrap();
        assert_eq!(p.args, vec!["sh", "-c", "echo hi"]);
        assert_eq!((p.cwd.as_str(), p.user.as_str()), ("/w", "1:2"));
        p.default_home("/home/x");
        assert!(p.env.contains(&"HOME=/home/x".to_string()));
        let v = validated(|o| {
            o.entrypoint = Some(String::new());
            o.args = Some("ls".into());
            o.env = vec!["HOME=/mine".into()];
        });
        let mut p = merge_process(&image(), &v, "h").unwrap();
        assert_eq!(p.args, vec!["ls"]);
        p.default_home("/root");
        assert_eq!(p.env.iter().filter(|e| e.starts_with("HOME=")).count(), 1);
        assert!(p.env.contains(&"HOME=/mine".to_string()));
        let v = validated(|o| o.entrypoint = Some(String::new()));
        let e = merge_process(&image(), &v, "h").unwrap_err();
        assert!(matches!(e, BundleError::NoCommand(_)));
    }

    #[test]
    fn directories_resolve_inside_the_rootfs() {
        let d = tempfile::tempdir().unwrap();
        let r = d.path();
        std::fs::create_dir_all(r.join("usr/app")).unwrap();
        std::os::unix::fs::symlink("/usr/app", r.join("app")).unwrap();
        std::os::unix::fs::symlink("../usr", r.join("rel")).unwrap();
        std::os::unix::fs::symlink("loop", r.join("loop")).unwrap();
        for ok in ["/", "/usr/app", "/app", "/app/", "/rel/app", "/usr/../app"] {
            assert!(dir_in_rootfs(r, ok), "{ok}");
        }
        for no in ["/nope", "/loop", "/app/x", "/etc"] {
            assert!(!dir_in_rootfs(r, no), "{no}");
        }
    }

    #[test]
    fn env_overrides_by_key_in_order() {
        let v = validated(|o| o.env = vec!["NODE_ENV=production".into(), "API_PORT=3000".into()]);
        let p = merge_process(&image(), &v, "web").unwrap();
        assert_eq!(
            p.env,
            vec![
                "PATH=/usr/local/bin:/bin",
                "HOSTNAME=web",
                "NODE_VERSION=18",
                "NODE_ENV=production",
                "API_PORT=3000"
            ]
        );
        assert_eq!(p.cwd, "/app");
        assert_eq!(p.user, "node");
        let p = merge_process(
            &ImageConfig {
                cmd: vec!["sh".into()],
                ..Default::default()
            },
            &v,
            "x",
        )
        .unwrap();
        assert_eq!(p.env[0], format!("PATH={DEFAULT_PATH}"));
        assert_eq!(p.cwd, "/");
    }
}
