//! k3rt's command-line contract, without root: exit codes, messages that name
//! the field and value, the one JSON error line of `--log-format json`, `spec`,
//! `features` and the help of every verb. Runs the built binary.
//!
//! Exit codes: 0 success, 1 a refused or failed verb, 2 a command line clap
//! refuses (unknown flag, bad value), as runc.

// Test code: a panic is the failure report.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

#[path = "common.rs"]
mod common;

use common::{run, tree, verbs, Out};

const K3RT: &str = env!("CARGO_BIN_EXE_k3rt");

/// `k3rt --root ROOT ARGS`.
fn k3rt(root: &std::path::Path, args: &[&str]) -> Out {
    let mut all = vec!["--root", root.to_str().unwrap()];
    all.extend_from_slice(args);
    run(K3RT, &all, &[])
}

#[test]
fn help_of_every_verb() {
    let cmd = k3rt::command();
    let all = verbs(&cmd);
    assert!(all.len() >= 17, "{all:?}");
    for path in all {
        let mut args: Vec<&str> = path.iter().map(String::as_str).collect();
        args.push("--help");
        let out = run(K3RT, &args, &[]);
        out.code(0);
        let usage = format!("Usage: k3rt {}", path.join(" "));
        assert!(out.stdout.contains(&usage), "{usage:?} not in {out:#?}");
        assert!(
            out.stdout.contains("--root"),
            "global options missing: {out:#?}"
        );
    }
    let top = run(K3RT, &["--help"], &[]);
    top.code(0);
    assert!(
        top.stdout.contains("Usage: k3rt [OPTIONS] <COMMAND>"),
        "{top:#?}"
    );
}

#[test]
fn version_names_the_runtime_spec() {
    let out = run(K3RT, &["--version"], &[]);
    out.code(0);
    assert!(out.stdout.starts_with("k3rt "), "{out:#?}");
    assert!(out.stdout.contains("spec: 1.2.0"), "{out:#?}");
}

#[test]
fn bad_ids_are_refused_and_named() {
    let root = tempfile::tempdir().unwrap();
    for id in ["../x", "a/b", "..", "-x"] {
        for verb in ["state", "start", "kill", "delete", "pause", "resume"] {
            let out = k3rt(root.path(), &[verb, "--", id]);
            out.code(1)
                .stderr_has(&["k3rt: ", "invalid container id", &format!("`{id}`")]);
        }
    }
    assert!(tree(root.path()).is_empty(), "{:?}", tree(root.path()));
}

#[test]
fn missing_containers() {
    let root = tempfile::tempdir().unwrap();
    for verb in ["state", "start", "kill", "delete", "pause", "resume", "ps"] {
        k3rt(root.path(), &[verb, "nope"])
            .code(1)
            .stderr_has(&["k3rt: container `nope` does not exist"]);
    }
    k3rt(root.path(), &["exec", "nope", "true"])
        .code(1)
        .stderr_has(&["`nope` does not exist"]);
    // as runc: deleting with --force what is not there succeeds
    k3rt(root.path(), &["delete", "--force", "nope"]).code(0);
}

#[test]
fn log_format_json_error_is_one_object() {
    let root = tempfile::tempdir().unwrap();
    let out = k3rt(root.path(), &["--log-format", "json", "state", "nope"]);
    out.code(1);
    let lines: Vec<&str> = out.stderr.lines().collect();
    assert_eq!(lines.len(), 1, "{out:#?}");
    let v: serde_json::Value = serde_json::from_str(lines[0]).unwrap();
    assert_eq!(v["level"], "error", "{v}");
    assert_eq!(v["msg"], "container `nope` does not exist", "{v}");
    assert!(v["time"].as_str().is_some_and(|t| t.ends_with('Z')), "{v}");
    assert!(out.stdout.is_empty(), "{out:#?}");
}

#[test]
fn log_file_gets_the_error_too() {
    let root = tempfile::tempdir().unwrap();
    let log = root.path().join("k3rt.log");
    let out = k3rt(
        root.path(),
        &[
            "--log",
            log.to_str().unwrap(),
            "--log-format",
            "json",
            "kill",
            "nope",
        ],
    );
    out.code(1)
        .stderr_has(&["k3rt: container `nope` does not exist"]);
    let text = std::fs::read_to_string(&log).unwrap();
    let v: serde_json::Value = serde_json::from_str(text.trim()).unwrap();
    assert_eq!(v["level"], "error", "{text}");
}

/// A bundle in a temp dir whose config.json is `config`.
fn bundle(config: &str) -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    std::fs::create_dir(dir.path().join("rootfs")).unwrap();
    std::fs::write(dir.path().join("config.json"), config).unwrap();
    dir
}

#[test]
fn config_errors_name_the_json_path() {
    let cases = [
        (
            r#"{"ociVersion":"1.0.2","process":{"args":"sh","cwd":"/","user":{"uid":0,"gid":0}},"root":{"path":"rootfs"}}"#,
            "field `process.args`",
        ),
        (
            r#"{"ociVersion":"1.0.2","process":{"args":["sh"],"cwd":"/"},"root":{"path":"rootfs"}}"#,
            "field `process`: missing field `user`",
        ),
        (
            r#"{"ociVersion":"1.0.2","process":{"args":["sh"],"cwd":"/","user":{"uid":0,"gid":0}},"root":{"path":"rootfs"},"linux":{"namespaces":[{"type":"bogus"}]}}"#,
            "field `linux.namespaces[0].type`: unknown variant `bogus`",
        ),
        (r#"{not json"#, "invalid config file"),
    ];
    for (config, want) in cases {
        let root = tempfile::tempdir().unwrap();
        let b = bundle(config);
        for verb in ["create", "run"] {
            let out = k3rt(
                root.path(),
                &[verb, "--bundle", b.path().to_str().unwrap(), "c1"],
            );
            out.code(1).stderr_has(&["config.json", want]);
            assert!(
                tree(root.path()).is_empty(),
                "left behind: {:?}",
                tree(root.path())
            );
        }
    }
}

#[test]
fn config_error_in_json_log_format() {
    let root = tempfile::tempdir().unwrap();
    let b = bundle(r#"{"ociVersion":"1.0.2","process":{"args":"sh"}}"#);
    let out = k3rt(
        root.path(),
        &[
            "--log-format",
            "json",
            "create",
            "-b",
            b.path().to_str().unwrap(),
            "c1",
        ],
    );
    out.code(1);
    let lines: Vec<&str> = out.stderr.lines().collect();
    assert_eq!(lines.len(), 1, "{out:#?}");
    let v: serde_json::Value = serde_json::from_str(lines[0]).unwrap();
    let msg = v["msg"].as_str().unwrap_or_default();
    assert!(msg.contains("field `process.args`"), "{v}");
}

#[test]
fn missing_bundle() {
    let root = tempfile::tempdir().unwrap();
    k3rt(
        root.path(),
        &["create", "-b", "/nonexistent-k3rt-bundle", "c1"],
    )
    .code(1)
    .stderr_has(&["bundle `/nonexistent-k3rt-bundle` does not exist"]);
}

#[test]
fn option_validation() {
    let root = tempfile::tempdir().unwrap();
    // refused by k3rt, named with the value
    k3rt(root.path(), &["events", "--interval", "0s", "nope"])
        .code(1)
        .stderr_has(&["invalid `--interval` `0s`"]);
    let b = bundle("{}");
    let bp = b.path().to_str().unwrap();
    k3rt(
        root.path(),
        &["create", "--preserve-fds", "-1", "-b", bp, "c1"],
    )
    .code(1)
    .stderr_has(&["invalid `--preserve-fds` `-1`"]);
    // refused by the parser: exit 2, as runc's usage errors
    k3rt(root.path(), &["update", "--memory", "12q", "nope"])
        .code(2)
        .stderr_has(&["`12q`: unknown unit"]);
    k3rt(root.path(), &["list", "--format", "yaml"])
        .code(2)
        .stderr_has(&["yaml"]);
    k3rt(root.path(), &["--log-format", "xml", "list"]).code(2);
    k3rt(root.path(), &["start", "-x", "c1"]).code(2);
    k3rt(root.path(), &["bogus"]).code(2);
    k3rt(root.path(), &["state"]).code(2).stderr_has(&["<ID>"]);
    assert!(tree(root.path()).is_empty(), "{:?}", tree(root.path()));
}

#[test]
fn empty_list() {
    let root = tempfile::tempdir().unwrap();
    let table = k3rt(root.path(), &["list"]);
    table.code(0);
    assert!(table.stdout.starts_with("ID "), "{table:#?}");
    assert_eq!(table.stdout.lines().count(), 1, "{table:#?}");
    let quiet = k3rt(root.path(), &["list", "-q"]);
    quiet.code(0);
    assert!(quiet.stdout.is_empty(), "{quiet:#?}");
    let json = k3rt(root.path(), &["list", "--format", "json"]);
    json.code(0);
    assert_eq!(
        serde_json::from_str::<serde_json::Value>(&json.stdout).unwrap(),
        serde_json::json!([])
    );
}

#[test]
fn spec_writes_a_config_once() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path().to_str().unwrap();
    run(K3RT, &["spec", "--bundle", d], &[]).code(0);
    let text = std::fs::read_to_string(dir.path().join("config.json")).unwrap();
    let v: serde_json::Value = serde_json::from_str(&text).unwrap();
    assert!(
        v["ociVersion"]
            .as_str()
            .is_some_and(|s| s.starts_with("1.")),
        "{v}"
    );
    assert_eq!(v["root"]["path"], "rootfs");
    assert_eq!(v["process"]["args"], serde_json::json!(["sh"]));
    // parses as a runtime-spec document
    serde_json::from_str::<oci_spec::runtime::Spec>(&text).unwrap();
    // a second run refuses to overwrite it
    run(K3RT, &["spec", "--bundle", d], &[])
        .code(1)
        .stderr_has(&["config.json", "exists already"]);
}

#[test]
fn spec_rootless_maps_the_user() {
    let dir = tempfile::tempdir().unwrap();
    run(
        K3RT,
        &["spec", "--rootless", "-b", dir.path().to_str().unwrap()],
        &[],
    )
    .code(0);
    let text = std::fs::read_to_string(dir.path().join("config.json")).unwrap();
    let v: serde_json::Value = serde_json::from_str(&text).unwrap();
    let ns = v["linux"]["namespaces"].as_array().unwrap();
    assert!(ns.iter().any(|n| n["type"] == "user"), "{v}");
    assert_eq!(
        v["linux"]["uidMappings"].as_array().map(Vec::len),
        Some(1),
        "{v}"
    );
}

#[test]
fn features_is_the_runtime_spec_document() {
    let out = run(K3RT, &["features"], &[]);
    out.code(0);
    let v: serde_json::Value = serde_json::from_str(&out.stdout).unwrap();
    assert!(
        v["ociVersionMin"]
            .as_str()
            .is_some_and(|s| s.starts_with("1.")),
        "{v}"
    );
    assert!(
        v["ociVersionMax"]
            .as_str()
            .is_some_and(|s| s.starts_with("1.")),
        "{v}"
    );
    let ns = v["linux"]["namespaces"].as_array().unwrap();
    for n in ["mount", "pid", "user", "cgroup"] {
        assert!(ns.iter().any(|x| x == n), "namespace {n} missing: {v}");
    }
    assert_eq!(
        v["annotations"]["org.k3.k3rt.version"],
        env!("CARGO_PKG_VERSION")
    );
    // the answer is typed runtime-spec features
    serde_json::from_str::<oci_spec::runtime::Features>(&out.stdout).unwrap();
}
