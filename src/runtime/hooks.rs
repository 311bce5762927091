//! Running OCI hooks: the state JSON on stdin, `args` (args[0] is argv[0]), `env`,
//! and `timeout` in seconds after which the hook is killed and counts as failed.

use std::io::Write;
use std::os::unix::process::CommandExt;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use oci_spec::runtime::Hook;

use crate::error::{HookError, HookFailure};
use crate::{Error, Result};

/// Runs each hook in order; the first failure stops the list (prestart,
/// createRuntime, createContainer, startContainer: the failure fails the lifecycle).
pub fn run_all(kind: &'static str, hooks: &[Hook], state_json: &str) -> Result<()> {
    for h in hooks {
        run_one(kind, h, state_json)?;
    }
    Ok(())
}

/// Runs every hook in order, handing each failure to `warn` and going on with the
/// rest (poststart, poststop: the spec says warn, and the remaining hooks and the
/// lifecycle continue).
pub fn run_each(kind: &'static str, hooks: &[Hook], state_json: &str, warn: impl Fn(Error)) {
    for h in hooks {
        if let Err(e) = run_one(kind, h, state_json) {
            warn(e);
        }
    }
}

fn run_one(kind: &'static str, h: &Hook, state_json: &str) -> Result<()> {
    let fail = |why: HookFailure| -> Error {
        HookError {
            kind,
            path: h.path().clone(),
            why,
        }
        .into()
    };
    let args = h.args().as_deref().unwrap_or_default();
    let mut cmd = Command::new(h.path());
    if let Some(a0) = args.first() {
        cmd.arg0(a0);
    }
    cmd.args(args.iter().skip(1))
        .env_clear()
        .stdin(Stdio::piped());
    for kv in h.env().as_deref().unwrap_or_default() {
        if let Some((k, v)) = kv.split_once('=') {
            cmd.env(k, v);
        }
    }
    let mut child = cmd.spawn().map_err(|e| fail(HookFailure::Start(e)))?;
    if let Some(mut stdin) = child.stdin.take() {
        // a hook that does not read its stdin is not an error
        let _ = stdin.write_all(state_json.as_bytes());
    }
    let deadline = h
        .timeout()
        // a huge timeout (i64::MAX seconds) is no deadline, not an overflow
        .and_then(|t| Instant::now().checked_add(Duration::from_secs(t.max(1).unsigned_abs())));
    let status = loop {
        match child.try_wait() {
            Ok(Some(s)) => break s,
            Ok(None) => {}
            Err(e) => return Err(fail(HookFailure::Wait(e))),
        }
        if deadline.is_some_and(|d| Instant::now() >= d) {
            let _ = child.kill();
            let _ = child.wait();
            return Err(fail(HookFailure::Timeout(h.timeout().unwrap_or_default())));
        }
        std::thread::sleep(Duration::from_millis(2));
    };
    if !status.success() {
        return Err(fail(HookFailure::Exit(status)));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn hook(json: &str) -> Hook {
        serde_json::from_str(json).unwrap()
    }

    #[test]
    fn a_huge_timeout_is_no_deadline() {
        // i64::MAX seconds overflowed Instant (a panic: an abort of k3rt create)
        let h = hook(r#"{"path":"/bin/true","timeout":9223372036854775807}"#);
        run_all("prestart", &[h], "{}").unwrap();
    }

    #[test]
    fn state_reaches_stdin_and_env_is_exact() {
        let dir = tempfile::tempdir().unwrap();
        let out = dir.path().join("out");
        let h = hook(&format!(
            r#"{{"path":"/bin/sh","args":["sh","-c","cat > {0}; echo \"$FOO\" >> {0}"],"env":["FOO=bar"]}}"#,
            out.display()
        ));
        run_all("prestart", &[h], r#"{"id":"x"}"#).unwrap();
        assert_eq!(
            std::fs::read_to_string(&out).unwrap(),
            "{\"id\":\"x\"}bar\n"
        );
    }

    #[test]
    fn a_failing_poststop_hook_does_not_stop_the_rest() {
        let dir = tempfile::tempdir().unwrap();
        let out = dir.path().join("out");
        let after = hook(&format!(
            r#"{{"path":"/bin/sh","args":["sh","-c","echo ran > {}"]}}"#,
            out.display()
        ));
        let warned = std::cell::RefCell::new(Vec::new());
        run_each(
            "poststop",
            &[hook(r#"{"path":"/bin/false"}"#), after],
            "{}",
            |e| warned.borrow_mut().push(e.to_string()),
        );
        assert_eq!(std::fs::read_to_string(&out).unwrap(), "ran\n");
        let w = warned.into_inner();
        assert_eq!(w.len(), 1);
        assert!(w[0].contains("poststop hook `/bin/false`"), "{w:?}");
    }

    #[test]
    fn failure_and_timeout_name_the_hook() {
        let e = run_all("poststart", &[hook(r#"{"path":"/bin/false"}"#)], "{}").unwrap_err();
        assert!(e.to_string().contains("poststart hook `/bin/false`"), "{e}");
        let t = hook(r#"{"path":"/bin/sleep","args":["sleep","5"],"timeout":1}"#);
        let start = Instant::now();
        let e = run_all("createRuntime", &[t], "{}").unwrap_err();
        assert!(e.to_string().contains("timed out"), "{e}");
        assert!(start.elapsed() < Duration::from_secs(4));
    }
}
