//! k3's command-line contract, without root: exit codes, messages that name
//! the option and value, the one JSON error object of `--json`, and the help
//! of every verb. Runs the built binary on a root in a temp dir, standalone
//! (`K3_NO_DAEMON=1`) and with a runtime that is never reached.
//!
//! Exit codes: 0 success, 1 a failed verb, 2 a command line clap refuses;
//! `run`, `create`, `start` and `exec` answer as docker: 125 when the engine
//! failed, 126/127 when the program could not be run.

// Test code: a panic is the failure report.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

#[path = "common.rs"]
mod common;

use common::{run, verbs, Out};

const K3: &str = env!("CARGO_BIN_EXE_k3");

/// `k3 --root ROOT ARGS`, standalone.
fn k3(root: &std::path::Path, args: &[&str]) -> Out {
    let mut all = vec!["--root", root.to_str().unwrap(), "--runtime", "/bin/true"];
    all.extend_from_slice(args);
    run(K3, &all, &[("K3_NO_DAEMON", "1")])
}

/// Asserts the fields of the JSON error object.
#[track_caller]
fn error_object(out: &Out, kind: &str, status: i64, message: &[&str]) -> serde_json::Value {
    let v = out.one_json_line();
    assert_eq!(v["type"], kind, "{v}");
    assert_eq!(v["statusCode"], status, "{v}");
    let error = v["error"].as_str().unwrap_or_default();
    for m in message {
        assert!(error.contains(m), "{m:?} not in {v}");
    }
    // and the same message, once, on stderr
    assert_eq!(out.stderr, format!("k3: error: {error}\n"), "{out:#?}");
    v
}

#[test]
fn help_of_every_verb() {
    let cmd = k3::command();
    let all = verbs(&cmd);
    assert!(all.len() >= 30, "{all:?}");
    for path in all {
        let mut args: Vec<&str> = path.iter().map(String::as_str).collect();
        args.push("--help");
        let out = run(K3, &args, &[]);
        out.code(0);
        let usage = format!("Usage: k3 {}", path.join(" "));
        assert!(out.stdout.contains(&usage), "{usage:?} not in {out:#?}");
    }
    let ls = run(K3, &["ls", "--help"], &[]);
    ls.code(0);
    assert!(ls.stdout.contains("Usage: k3 ps"), "{ls:#?}");
}

#[test]
fn missing_containers() {
    let root = tempfile::tempdir().unwrap();
    for verb in ["rm", "stop", "restart", "kill", "wait", "logs", "stats"] {
        k3(root.path(), &[verb, "nope"])
            .code(1)
            .stderr_has(&["k3: error: container `nope` does not exist"]);
    }
    // podman's code for an unknown name; the (empty) array is still printed
    let out = k3(root.path(), &["inspect", "nope", "nope2"]);
    out.code(125).stderr_has(&[
        "k3: error: container `nope` does not exist",
        "k3: error: container `nope2` does not exist",
    ]);
    assert_eq!(out.stdout.trim(), "[]", "{out:#?}");
    // a bad filter names itself, with podman's code
    k3(root.path(), &["ps", "--filter", "colour=red"])
        .code(125)
        .stderr_has(&["`--filter`", "colour=red", "unknown filter `colour`"]);
    // and so does a bad image filter, or an image `before=` names that is not there
    k3(root.path(), &["images", "-f", "dangling=maybe"])
        .code(125)
        .stderr_has(&[
            "`--filter` value `dangling=maybe`",
            "want `true` or `false`",
        ]);
    k3(root.path(), &["image", "ls", "--filter", "before=nope"])
        .code(125)
        .stderr_has(&["`--filter` value `before=nope`: no image `nope`"]);
    // docker's code for a start the engine refused
    k3(root.path(), &["start", "nope"])
        .code(125)
        .stderr_has(&["container `nope` does not exist"]);
    k3(root.path(), &["exec", "nope", "true"])
        .code(125)
        .stderr_has(&["container `nope` does not exist"]);
}

#[test]
fn json_error_object_for_a_missing_container() {
    let root = tempfile::tempdir().unwrap();
    for verb in ["inspect", "rm", "stop", "kill", "start"] {
        let out = k3(root.path(), &[verb, "--json", "nope"]);
        let v = error_object(&out, "NOT_FOUND", 404, &["container `nope` does not exist"]);
        assert_eq!(v["containerId"], "nope", "{v}");
        assert_eq!(v["input"], "nope", "{v}");
    }
}

#[test]
fn bad_ids_are_refused_and_named() {
    let root = tempfile::tempdir().unwrap();
    // docker's and podman's names: `_` and `.` inside, never first
    for id in ["../x", "a b", "-x", "_x", ".x", "x/y"] {
        let out = k3(root.path(), &["create", "--json", "--name", id, "busybox"]);
        out.code(125);
        let v = error_object(
            &out,
            "VALIDATION_ERROR",
            422,
            &["`containerId`", &format!("`{id}`")],
        );
        assert_eq!(v["input"]["containerId"], id, "{v}");
    }
    // nothing was made: no container, no snapshot
    assert_eq!(k3(root.path(), &["ps", "-a", "-q"]).stdout, "");
    assert_eq!(k3(root.path(), &["snapshot", "ls"]).stdout.trim(), "[]");
}

#[test]
fn option_validation_names_option_and_value() {
    let root = tempfile::tempdir().unwrap();
    let cases: &[(&[&str], &str)] = &[
        (&["--memory", "12q"], "invalid `memory` value `12q`"),
        (&["--cpus", "-1"], "invalid `cpus` value `-1`"),
        (&["--restart", "bogus"], "invalid `restart` value `bogus`"),
        (&["--publish", "99999:80"], "`publish`"),
        (&["--cap-add", "NOPE"], "`NOPE`"),
        (&["--env", "=x"], "`env`"),
        (&["--restart-delay", "90000"], "`restartDelay`"),
    ];
    for (flags, want) in cases {
        for verb in ["create", "run"] {
            let mut args = vec![verb, "--json", "--name", "c1"];
            args.extend_from_slice(flags);
            args.push("busybox");
            let out = k3(root.path(), &args);
            out.code(125);
            error_object(&out, "VALIDATION_ERROR", 422, &[want]);
        }
    }
    // --options-json: unknown fields are refused by name
    let out = k3(root.path(), &["create", "--options-json", r#"{"bogus":1}"#]);
    out.code(125).stderr_has(&["unknown field `bogus`"]);
    // signals are checked before the container is looked up
    k3(root.path(), &["kill", "-s", "BOGUS", "nope"])
        .code(1)
        .stderr_has(&["invalid `signal` value `BOGUS`"]);
    // refused by the parser
    k3(root.path(), &["ps", "--format", "yaml"]).code(2);
    k3(root.path(), &["stop", "-t", "soon", "x"]).code(2);
    k3(root.path(), &["create", "--options-json", "{}", "busybox"]).code(2);
    k3(root.path(), &["bogus"]).code(2);
    assert_eq!(k3(root.path(), &["ps", "-a", "-q"]).stdout, "");
}

#[test]
fn pull_refuses_a_bad_reference_as_json() {
    let root = tempfile::tempdir().unwrap();
    let out = k3(root.path(), &["pull", "--json", "Bad//Ref"]);
    out.code(1);
    let v = error_object(&out, "GENERIC_ERROR", 500, &["`Bad//Ref`"]);
    assert_eq!(v["input"], "Bad//Ref", "{v}");
}

#[test]
fn image_verbs_on_an_empty_root() {
    let root = tempfile::tempdir().unwrap();
    let images = k3(root.path(), &["images", "--format", "json"]);
    images.code(0);
    assert_eq!(images.stdout.trim(), "[]");
    k3(root.path(), &["image", "inspect", "busybox"])
        .code(1)
        .stderr_has(&["k3: error: ", "busybox"]);
    k3(root.path(), &["rmi", "busybox"])
        .code(1)
        .stderr_has(&["k3: error: ", "busybox"]);
    let prune = k3(root.path(), &["prune"]);
    prune.code(0);
    assert!(prune.stdout.starts_with("Deleted 0 blobs"), "{prune:#?}");
}

#[test]
fn listings_on_an_empty_root() {
    let root = tempfile::tempdir().unwrap();
    let ps = k3(root.path(), &["ps", "-a"]);
    ps.code(0);
    assert!(ps.stdout.starts_with("CONTAINER ID"), "{ps:#?}");
    assert_eq!(ps.stdout.lines().count(), 1, "{ps:#?}");
    assert_eq!(
        k3(root.path(), &["ps", "--format", "json"]).stdout.trim(),
        "[]"
    );
    assert_eq!(k3(root.path(), &["volume", "ls"]).stdout.trim(), "[]");
    assert_eq!(k3(root.path(), &["network", "ls", "-q"]).stdout, "");
    k3(root.path(), &["volume", "rm", "nope"])
        .code(1)
        .stderr_has(&["`nope`"]);
    let net = k3(root.path(), &["network", "rm", "--json", "nope"]);
    net.code(1);
    assert_eq!(net.one_json_line()["input"], "nope");
}
