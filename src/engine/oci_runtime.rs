//! The OCI runtime as a separate process, through the runc CLI contract:
//! `RUNTIME --root R --log F --log-format json [--debug] VERB ...`. k3rt by
//! default (the one next to `k3`, else on `PATH`); `runc`, `crun` or a path
//! with `--runtime`. A failure carries the runtime's own message, taken from
//! the last `error` object of its JSON log (else its stderr).

use std::fs;
use std::io;
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};

/// A runtime failure.
#[derive(Debug, thiserror::Error)]
pub enum RuntimeError {
    /// The runtime binary was not found.
    #[error("OCI runtime `{0}` not found (give `--runtime runc|crun|PATH`)")]
    NotFound(String),
    /// The runtime could not be started.
    #[error("cannot run OCI runtime `{runtime}`")]
    Spawn {
        /// The runtime's path or name.
        runtime: String,
        /// The spawn error.
        #[source]
        source: io::Error,
    },
    /// The runtime exited non-zero.
    #[error("`{runtime} {verb}` failed: {msg}")]
    Failed {
        /// The runtime's path or name.
        runtime: String,
        /// The verb run, e.g. `create`.
        verb: String,
        /// The runtime's error output.
        msg: String,
    },
    /// The runtime's output was not what the contract says.
    #[error("`{runtime} {verb}` printed unexpected output: {msg}")]
    Protocol {
        /// The runtime's path or name.
        runtime: String,
        /// The verb run, e.g. `state`.
        verb: String,
        /// What was wrong with the output.
        msg: String,
    },
}

/// One OCI runtime binary and the state root k3 gives it.
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct OciRuntime {
    /// The binary.
    pub path: PathBuf,
    /// Its `--root` (a directory per runtime under the k3 root).
    pub root: PathBuf,
}

/// The runtime's view of a container (`state` output).
#[derive(Debug, Clone, serde::Deserialize)]
pub struct RuntimeState {
    /// `created`, `running`, `stopped`, `paused`.
    pub status: String,
    /// The init's pid (0 when stopped).
    #[serde(default)]
    pub pid: i64,
}

/// Finds `name` (`k3rt`, `runc`, `crun`, or a path): a path as is, a bare
/// name next to the running `k3` first (for `k3rt`), then on `PATH`.
pub fn resolve(name: Option<&str>) -> Result<PathBuf, RuntimeError> {
    let name = name.unwrap_or("k3rt");
    if name.contains('/') {
        let p = PathBuf::from(name);
        return if p.is_file() {
            Ok(fs::canonicalize(&p).unwrap_or(p))
        } else {
            Err(RuntimeError::NotFound(name.to_string()))
        };
    }
    let beside = std::env::current_exe()
        .ok()
        .and_then(|e| e.parent().map(|d| d.join(name)))
        .filter(|p| p.is_file());
    let on_path = || {
        std::env::var_os("PATH").and_then(|paths| {
            std::env::split_paths(&paths)
                .map(|d| d.join(name))
                .find(|p| p.is_file())
        })
    };
    beside
        .or_else(on_path)
        .ok_or_else(|| RuntimeError::NotFound(name.to_string()))
}

impl OciRuntime {
    /// The runtime at `path` with its state under `k3_root/run/NAME`.
    pub fn new(path: PathBuf, k3_root: &Path) -> OciRuntime {
        let name = path
            .file_name()
            .map(|n| n.to_string_lossy().to_string())
            .unwrap_or_else(|| "runtime".into());
        OciRuntime {
            root: k3_root.join("run").join(name),
            path,
        }
    }

    /// A short name for messages.
    pub fn name(&self) -> String {
        self.path
            .file_name()
            .map(|n| n.to_string_lossy().to_string())
            .unwrap_or_default()
    }

    /// The command `RUNTIME --root R --log LOG --log-format json [--debug] VERB`.
    pub fn command(&self, log: &Path, debug: bool, verb: &str) -> Command {
        let mut c = Command::new(&self.path);
        c.arg("--root")
            .arg(&self.root)
            .arg("--log")
            .arg(log)
            .arg("--log-format")
            .arg("json");
        if debug {
            c.arg("--debug");
        }
        c.arg(verb);
        c
    }

    /// Runs `cmd` (made by [`command`](Self::command)); an error carries the
    /// runtime's message.
    pub fn run(&self, mut cmd: Command, log: &Path, verb: &str) -> Result<Output, RuntimeError> {
        let out = cmd
            .stdin(Stdio::null())
            .output()
            .map_err(|source| RuntimeError::Spawn {
                runtime: self.name(),
                source,
            })?;
        if out.status.success() {
            return Ok(out);
        }
        Err(self.failure(verb, log, &String::from_utf8_lossy(&out.stderr)))
    }

    /// The error of a failed `verb`: the log's last error message, else `stderr`.
    pub fn failure(&self, verb: &str, log: &Path, stderr: &str) -> RuntimeError {
        let msg = last_error(log)
            .or_else(|| {
                let s = stderr.trim();
                (!s.is_empty()).then(|| s.lines().last().unwrap_or(s).to_string())
            })
            .unwrap_or_else(|| "exited with an error and no message".into());
        RuntimeError::Failed {
            runtime: self.name(),
            verb: verb.to_string(),
            msg,
        }
    }

    /// `start ID`.
    pub fn start(&self, log: &Path, id: &str) -> Result<(), RuntimeError> {
        let mut c = self.command(log, false, "start");
        c.arg(id);
        self.run(c, log, "start").map(|_| ())
    }

    /// `kill ID SIGNAL` (`--all` too, so a shared-pid container stops whole).
    pub fn kill(&self, log: &Path, id: &str, signal: &str) -> Result<(), RuntimeError> {
        let mut c = self.command(log, false, "kill");
        c.arg(id).arg(signal);
        self.run(c, log, "kill").map(|_| ())
    }

    /// `pause ID` (`resume ID` when `resume`): freezes or thaws the container's cgroup.
    pub fn pause(&self, log: &Path, id: &str, resume: bool) -> Result<(), RuntimeError> {
        let verb = if resume { "resume" } else { "pause" };
        let mut c = self.command(log, false, verb);
        c.arg(id);
        self.run(c, log, verb).map(|_| ())
    }

    /// `delete [--force] ID`.
    pub fn delete(&self, log: &Path, id: &str, force: bool) -> Result<(), RuntimeError> {
        let mut c = self.command(log, false, "delete");
        if force {
            c.arg("--force");
        }
        c.arg(id);
        self.run(c, log, "delete").map(|_| ())
    }

    /// `state ID`; `None` when the runtime does not know the container.
    pub fn state(&self, log: &Path, id: &str) -> Result<Option<RuntimeState>, RuntimeError> {
        let mut c = self.command(log, false, "state");
        c.arg(id);
        match self.run(c, log, "state") {
            Ok(out) => {
                serde_json::from_slice(&out.stdout)
                    .map(Some)
                    .map_err(|e| RuntimeError::Protocol {
                        runtime: self.name(),
                        verb: "state".into(),
                        msg: e.to_string(),
                    })
            }
            Err(RuntimeError::Failed { msg, .. }) if is_missing(&msg) => Ok(None),
            Err(e) => Err(e),
        }
    }
}

/// Whether a runtime message says the container does not exist.
pub fn is_missing(msg: &str) -> bool {
    let m = msg.to_ascii_lowercase();
    m.contains("does not exist") || m.contains("not found") || m.contains("no such")
}

/// The `msg` of the last `"level":"error"` object in a JSON log.
pub fn last_error(log: &Path) -> Option<String> {
    let text = fs::read_to_string(log).ok()?;
    text.lines().rev().find_map(|l| {
        let v: serde_json::Value = serde_json::from_str(l).ok()?;
        (v["level"] == "error")
            .then(|| v["msg"].as_str().map(str::to_string))
            .flatten()
    })
}

/// The `msg` of every `debug` object in a JSON log (the `--debug` trace).
pub fn debug_trace(log: &Path) -> Vec<String> {
    let Ok(text) = fs::read_to_string(log) else {
        return Vec::new();
    };
    text.lines()
        .filter_map(|l| serde_json::from_str::<serde_json::Value>(l).ok())
        .filter(|v| v["level"] == "debug")
        .filter_map(|v| v["msg"].as_str().map(str::to_string))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn log_messages() {
        let dir = tempfile::tempdir().unwrap();
        let log = dir.path().join("log");
        fs::write(
            &log,
            "{\"level\":\"debug\",\"msg\":\"Unsharing namespace: `pid`\"}\nnot json\n{\"level\":\"error\",\"msg\":\"first\"}\n{\"level\":\"error\",\"msg\":\"exec: `nope`: no such file\"}\n",
        )
        .unwrap();
        assert_eq!(last_error(&log).unwrap(), "exec: `nope`: no such file");
        assert_eq!(debug_trace(&log), vec!["Unsharing namespace: `pid`"]);
        assert!(last_error(&dir.path().join("none")).is_none());
        let rt = OciRuntime::new(PathBuf::from("/bin/false"), dir.path());
        let e = rt.failure("create", &log, "");
        assert!(e.to_string().contains("no such file"), "{e}");
        assert!(is_missing("container `x` does not exist"));
    }

    #[test]
    fn resolve_paths() {
        assert!(matches!(
            resolve(Some("/nonexistent/rt")),
            Err(RuntimeError::NotFound(_))
        ));
        assert!(resolve(Some("/bin/sh")).is_ok());
        assert!(matches!(
            resolve(Some("no-such-runtime-k3")),
            Err(RuntimeError::NotFound(_))
        ));
    }
}
