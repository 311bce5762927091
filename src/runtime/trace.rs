//! Logging and the `--debug` trace: one line per step, values in backticks
//! (`Unsharing namespace: `pid``). With `--log-format json` every line is one JSON
//! object `{"level":...,"msg":...,"time":...}`; a failure writes exactly one error object.

use std::fs::{File, OpenOptions};
use std::io::Write;
use std::os::unix::fs::OpenOptionsExt;
use std::path::Path;

use k3_oci::time::now_rfc3339;

/// Where log lines go and in which shape.
#[derive(Debug, Default)]
pub struct Log {
    file: Option<File>,
    json: bool,
    debug: bool,
}

impl Log {
    /// Opens `--log` first thing, so even early failures land in it.
    pub fn open(path: Option<&Path>, json: bool, debug: bool) -> std::io::Result<Log> {
        let file = match path {
            Some(p) => Some(
                OpenOptions::new()
                    .create(true)
                    .append(true)
                    .mode(0o600)
                    .custom_flags(libc::O_CLOEXEC)
                    .open(p)?,
            ),
            None => None,
        };
        Ok(Log { file, json, debug })
    }

    /// The debug trace is on.
    pub fn debug_enabled(&self) -> bool {
        self.debug
    }

    /// A trace line, shown only with `--debug`.
    pub fn debug(&self, msg: impl AsRef<str>) {
        if self.debug {
            self.emit("debug", msg.as_ref(), false);
        }
    }

    /// A warning: always logged, also on stderr.
    pub fn warn(&self, msg: impl AsRef<str>) {
        self.emit("warning", msg.as_ref(), true);
    }

    /// The one error line of a failed command: in the log file and on stderr.
    pub fn error(&self, msg: impl AsRef<str>) {
        self.emit("error", msg.as_ref(), true);
    }

    fn emit(&self, level: &str, msg: &str, also_stderr: bool) {
        let line = self.format(level, msg);
        match &self.file {
            Some(f) => {
                let _ = (&*f).write_all(line.as_bytes());
                if also_stderr {
                    let _ = std::io::stderr().write_all(plain(level, msg).as_bytes());
                }
            }
            None => {
                let _ = std::io::stderr()
                    .write_all(if self.json { line } else { plain(level, msg) }.as_bytes());
            }
        }
    }

    fn format(&self, level: &str, msg: &str) -> String {
        if self.json {
            let obj = serde_json::json!({"level": level, "msg": msg, "time": now_rfc3339()});
            format!("{obj}\n")
        } else if level == "debug" {
            format!("{msg}\n")
        } else {
            format!("time=\"{}\" level={level} msg={:?}\n", now_rfc3339(), msg)
        }
    }
}

fn plain(level: &str, msg: &str) -> String {
    match level {
        "debug" => format!("{msg}\n"),
        "warning" => format!("k3rt: warning: {msg}\n"),
        _ => format!("k3rt: {msg}\n"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn json_error_is_one_object_per_line() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("log");
        let log = Log::open(Some(&p), true, false).unwrap();
        log.debug("hidden without --debug");
        log.error("container `x` does not exist");
        let text = std::fs::read_to_string(&p).unwrap();
        assert_eq!(text.lines().count(), 1, "{text}");
        let v: serde_json::Value = serde_json::from_str(text.trim()).unwrap();
        assert_eq!(v["level"], "error");
        assert_eq!(v["msg"], "container `x` does not exist");
        assert!(v["time"].as_str().unwrap().ends_with('Z'));
    }

    #[test]
    fn debug_text_lines_are_the_bare_trace() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("log");
        let log = Log::open(Some(&p), false, true).unwrap();
        log.debug("Unsharing namespace: `pid`");
        assert_eq!(
            std::fs::read_to_string(&p).unwrap(),
            "Unsharing namespace: `pid`\n"
        );
    }
}
