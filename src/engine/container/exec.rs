//! `exec`: a new process in a running container, always through the runtime's own
//! `exec` (`RUNTIME exec [--tty] [--env K=V] [--cwd D] ID ARGS...`, as runc, crun and
//! k3rt have it). k3 never enters a container itself: the runtime's exec carries every
//! defence (sealed binary, non-dumpable until the exec, cwd checked inside the
//! container, the container's seccomp, capabilities and user, no leaked descriptors).
//! The exit code is the process' own.

use std::process::{Command, Stdio};

use crate::container::{load, Container, ContainerError};
use crate::context::Engine;
use crate::db::container_state::Status;

/// What to run.
#[derive(Debug, Clone, Default)]
pub struct ExecSpec {
    pub args: Vec<String>,
    pub env: Vec<String>,
    pub cwd: Option<String>,
    pub tty: bool,
}

/// Runs `spec` in `id`; returns the exit code.
pub fn exec(ctx: &mut Engine, id: &str, spec: &ExecSpec) -> Result<i32, ContainerError> {
    validate(spec)?;
    let l = load(ctx, id)?;
    let pid = l.state.pid.unwrap_or(0);
    if l.state.status != Status::Running || pid <= 0 {
        return Err(ContainerError::State {
            id: id.to_string(),
            status: l.state.status.as_str(),
            hint: "container not running",
        });
    }
    let rt = l.runtime(ctx);
    runtime_exec(&l, &rt, spec)
}

/// The values of an exec, refused before the runtime runs (named, 422).
fn validate(spec: &ExecSpec) -> Result<(), crate::options::OptionsError> {
    use crate::options::{env, OptionsError};
    let bad = |option, value: &str, reason: &str| OptionsError {
        option,
        value: value.to_string(),
        reason: reason.to_string(),
    };
    if spec.args.first().is_none_or(|a| a.is_empty()) {
        return Err(bad("cmd", "", "must name the program to run"));
    }
    if let Some(w) = &spec.cwd {
        if !w.starts_with('/') {
            return Err(bad("workdir", w, "must be an absolute path"));
        }
    }
    for e in &spec.env {
        env(e)?;
    }
    Ok(())
}

fn runtime_exec(
    l: &Container,
    rt: &crate::oci_runtime::OciRuntime,
    spec: &ExecSpec,
) -> Result<i32, ContainerError> {
    let mut c: Command = rt.command(&l.runtime_log(), false, "exec");
    if spec.tty {
        c.arg("--tty");
    }
    for e in &spec.env {
        c.arg("--env").arg(e);
    }
    if let Some(d) = &spec.cwd {
        c.arg("--cwd").arg(d);
    }
    // `--`: a command such as `--help` is the container's program, not a runtime flag
    c.arg("--").arg(&l.record.hash).args(&spec.args);
    let log = l.runtime_log();
    let before = std::fs::metadata(&log).map(|m| m.len()).unwrap_or(0);
    let status = c
        .stdin(Stdio::inherit())
        .status()
        .map_err(|e| ContainerError::Exec {
            id: l.record.id.clone(),
            msg: e.to_string(),
        })?;
    let code = status.code().unwrap_or(128 + status_signal(&status));
    if code != 0 {
        // the runtime's own failure (the process never ran) is an error, not the
        // process' exit code: the CLI maps it as docker does (127 not found, 126)
        if let Some(msg) = runtime_error_since(&log, before) {
            return Err(ContainerError::Exec {
                id: l.record.id.clone(),
                msg,
            });
        }
    }
    Ok(code)
}

/// The last error the runtime logged (`--log-format json`) after byte `from` of `log`.
fn runtime_error_since(log: &std::path::Path, from: u64) -> Option<String> {
    use std::io::{Read, Seek, SeekFrom};
    let mut f = std::fs::File::open(log).ok()?;
    f.seek(SeekFrom::Start(from)).ok()?;
    let mut text = String::new();
    f.take(1 << 20).read_to_string(&mut text).ok()?;
    text.lines()
        .rev()
        .filter_map(|l| serde_json::from_str::<serde_json::Value>(l).ok())
        .filter(|v| v["level"] == "error")
        .find_map(|v| v["msg"].as_str().map(str::to_string))
}

fn status_signal(s: &std::process::ExitStatus) -> i32 {
    use std::os::unix::process::ExitStatusExt;
    s.signal().unwrap_or(127)
}
