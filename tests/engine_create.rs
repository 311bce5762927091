//! The engine's create (seed 000's 15 steps) without root: the runtime, the
//! snapshotter and the host's network are the engine's fakes, recording
//! every call in one journal. A failure is injected at each step in turn;
//! each time the test asserts the error (its class and message), that
//! exactly the steps done so far were undone, in reverse, and that nothing
//! is left behind (files, records, links, markers). A failing undo is
//! reported with the step's error (`cleanup also failed`), and the undos
//! after it still run.

// Test code: a panic is the failure report.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::fs;
use std::net::{Ipv4Addr, TcpListener};

use k3_engine::context::Engine;
use k3_engine::create::{create, CreateError};
use k3_engine::db::images::{self, ImageRecord};
use k3_engine::db::{containers, networks, volumes};
use k3_engine::error_kind::ErrorKind;
use k3_engine::fake::{self, Journal};
use k3_engine::options::CreateOptions;

/// The calls each step makes through the fakes, and the calls its undo
/// makes (in the order the undo runs them). Steps 1-4, 8 and 12-15 work on
/// options, files and records only: their undo is checked on disk.
struct Step {
    /// Seed 000's number(s) and name.
    name: &'static str,
    calls: &'static [&'static str],
    undo: &'static [&'static str],
}

const STEPS: &[Step] = &[
    Step {
        name: "1 validate",
        calls: &[],
        undo: &[],
    },
    Step {
        name: "2 container does not exist",
        calls: &[],
        undo: &[],
    },
    Step {
        name: "3 image",
        calls: &[],
        undo: &[],
    },
    // 4: the hash, a pure function of id, image and time; it cannot fail
    Step {
        name: "5 volumes",
        calls: &[],
        undo: &[],
    },
    Step {
        name: "6 network",
        calls: &["net.ensure_bridge", "net.create_netns"],
        undo: &["net.remove_netns"],
    },
    Step {
        name: "7 bundle",
        calls: &["snapshot.prepare"],
        undo: &["snapshot.remove"],
    },
    Step {
        name: "8 config",
        calls: &[],
        undo: &[],
    },
    Step {
        name: "9 veth",
        calls: &["net.add_veth", "net.plug", "net.add_rules"],
        undo: &["net.delete_rules", "net.delete_link"],
    },
    Step {
        name: "10 runtime create",
        calls: &["runtime.create"],
        undo: &["runtime.delete"],
    },
    Step {
        name: "11 PID",
        calls: &["runtime.state"],
        undo: &[],
    },
    Step {
        name: "12-15 volume attachments, record, state, event",
        calls: &[],
        undo: &[],
    },
];

/// How a failure is injected at a step, and what the create must answer.
struct Failure {
    /// Index into `STEPS`.
    step: usize,
    /// Seed 000's error class.
    kind: ErrorKind,
    /// A part of the message (with its causes).
    message: &'static str,
    /// The fake call that fails (the step's last call in the journal).
    fails: Option<&'static str>,
    /// Sets the failure up.
    inject: fn(&mut Fixture, &mut CreateOptions),
}

struct Fixture {
    dir: tempfile::TempDir,
    engine: Engine,
    journal: Journal,
}

const IMAGE: &str = "example.test/app:1";
const NO_CMD_IMAGE: &str = "example.test/app:no-cmd";

fn image(tag: &str, cmd: bool) -> ImageRecord {
    let config = if cmd {
        serde_json::json!({"config": {"Cmd": ["/bin/app"], "Env": ["PATH=/bin"]}})
    } else {
        serde_json::json!({"config": {"Env": ["PATH=/bin"]}})
    };
    ImageRecord {
        name: "example.test/app".into(),
        tag: tag.into(),
        digest: format!("sha256:{:064x}", 1),
        manifest_digest: format!("sha256:{:064x}", 2),
        config_digest: format!("sha256:{:064x}", 3 + u32::from(cmd)),
        config,
        size: 0,
        layers: Vec::new(),
        created_at: 0,
    }
}

fn fixture() -> Fixture {
    let dir = tempfile::tempdir().unwrap();
    let journal = Journal::new();
    let engine = fake::engine(dir.path(), &journal).unwrap();
    images::upsert(engine.db.conn(), &image("1", true)).unwrap();
    images::upsert(engine.db.conn(), &image("no-cmd", false)).unwrap();
    Fixture {
        dir,
        engine,
        journal,
    }
}

fn free_port() -> u16 {
    TcpListener::bind((Ipv4Addr::LOCALHOST, 0))
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

/// A create that reaches every step: a new named volume, the default bridge
/// network, a published port.
fn options() -> CreateOptions {
    CreateOptions {
        container_id: "web".into(),
        image: IMAGE.into(),
        volume: vec!["data:/data".into()],
        network: Some("kb0".into()),
        publish: vec![format!("{}:80", free_port())],
        ..CreateOptions::default()
    }
}

/// Makes the next insert into `table` fail, as a full disk or a locked
/// database would.
fn fail_insert(f: &Fixture, table: &str) {
    f.engine
        .db
        .conn()
        .execute_batch(&format!(
            "CREATE TRIGGER fail_{table} BEFORE INSERT ON {table} \
             BEGIN SELECT RAISE(ABORT, 'injected failure of the {table} insert'); END"
        ))
        .unwrap();
}

const FAILURES: &[Failure] = &[
    Failure {
        step: 0,
        kind: ErrorKind::Validation,
        message: "`memory`",
        fails: None,
        inject: |_, o| o.memory = Some("lots".into()),
    },
    Failure {
        step: 1,
        kind: ErrorKind::Validation,
        message: "Container `web` already exists",
        fails: None,
        inject: |f, _| {
            let mut o = options();
            o.volume.clear();
            o.publish.clear();
            o.network = Some("host".into());
            let made = create(&mut f.engine, &o).unwrap();
            assert_eq!(made.id, "web");
        },
    },
    Failure {
        step: 2,
        kind: ErrorKind::Generic,
        message: "cannot pull image `missing:1`",
        fails: None,
        // not stored, and the fixture's registry does not answer
        inject: |_, o| o.image = "missing:1".into(),
    },
    Failure {
        step: 3,
        kind: ErrorKind::Generic,
        message: "broken",
        fails: None,
        inject: |f, o| {
            // the second volume cannot be made: its directory is a file
            let blocked = f.dir.path().join("volumes").join("broken");
            fs::create_dir_all(blocked.parent().unwrap()).unwrap();
            fs::write(&blocked, "").unwrap();
            o.volume.push("broken:/broken".into());
        },
    },
    Failure {
        step: 4,
        kind: ErrorKind::Network,
        message: "cannot create network namespace `",
        fails: Some("net.create_netns"),
        inject: |f, _| f.journal.fail("net.create_netns"),
    },
    Failure {
        step: 5,
        kind: ErrorKind::Generic,
        message: "cannot mount overlay on",
        fails: Some("snapshot.prepare"),
        inject: |f, _| f.journal.fail("snapshot.prepare"),
    },
    Failure {
        step: 6,
        kind: ErrorKind::Validation,
        message: "no-cmd",
        fails: None,
        inject: |_, o| o.image = NO_CMD_IMAGE.into(),
    },
    Failure {
        step: 7,
        kind: ErrorKind::Network,
        message: "cannot create veth pair",
        fails: Some("net.add_veth"),
        inject: |f, _| f.journal.fail("net.add_veth"),
    },
    Failure {
        step: 8,
        kind: ErrorKind::ContainerService,
        message: "`fake-runtime create` failed: injected failure of `runtime.create`",
        fails: Some("runtime.create"),
        inject: |f, _| f.journal.fail("runtime.create"),
    },
    Failure {
        step: 9,
        kind: ErrorKind::NotFound,
        message: "no process found for container `web`",
        fails: Some("runtime.state"),
        inject: |f, _| f.journal.fail("runtime.state"),
    },
    Failure {
        step: 10,
        kind: ErrorKind::Db,
        message: "cannot store container `web`",
        fails: None,
        inject: |f, _| fail_insert(f, "volume_mounts"),
    },
    Failure {
        step: 10,
        kind: ErrorKind::Db,
        message: "cannot store the state of container `web`",
        fails: None,
        inject: |f, _| fail_insert(f, "container_state"),
    },
    Failure {
        step: 10,
        kind: ErrorKind::Db,
        message: "cannot store container `web`",
        fails: None,
        inject: |f, _| fail_insert(f, "events"),
    },
];

/// The journal a failure at `STEPS[step]` leaves: every call of the earlier
/// steps, the failing step's calls up to the failing one, then the undo of
/// the earlier steps, the latest first.
fn expected_journal(step: usize, fails: Option<&str>) -> Vec<String> {
    let mut calls: Vec<&str> = STEPS[..step]
        .iter()
        .flat_map(|s| s.calls)
        .copied()
        .collect();
    if let Some(op) = fails {
        let own = STEPS[step].calls;
        let upto = own.iter().position(|c| *c == op).unwrap();
        calls.extend(&own[..=upto]);
    }
    calls.extend(STEPS[..step].iter().rev().flat_map(|s| s.undo));
    calls.into_iter().map(str::to_string).collect()
}

/// Nothing of the create is left: no bundle, snapshot, namespace, veth,
/// lease, port, runtime root, marker, new volume or record.
fn assert_nothing_left(f: &Fixture) {
    let root = f.dir.path();
    let e = &f.engine;
    for sub in ["containers", "overlays", "netns", "creating"] {
        let d = root.join(sub);
        let left: Vec<_> = fs::read_dir(&d)
            .map(|r| r.flatten().map(|x| x.file_name()).collect())
            .unwrap_or_default();
        assert!(left.is_empty(), "left in `{}`: {left:?}", d.display());
    }
    assert!(!root.join("run").join("fake").exists(), "runtime root left");
    assert!(e.network.container_veths().is_empty(), "veth left");
    assert!(networks::leases(e.db.conn(), None).unwrap().is_empty());
    assert!(networks::ports(e.db.conn()).unwrap().is_empty());
    assert!(volumes::get(e.db.conn(), "data").unwrap().is_none());
    assert!(!root.join("volumes").join("data").exists());
    assert!(containers::list(e.db.conn()).unwrap().is_empty());
}

#[test]
fn a_create_runs_every_step_through_the_seams() {
    let mut f = fixture();
    let made = create(&mut f.engine, &options()).unwrap();
    let all: Vec<String> = STEPS
        .iter()
        .flat_map(|s| s.calls)
        .map(|c| c.to_string())
        .collect();
    assert_eq!(f.journal.calls(), all);
    assert_eq!(made.id, "web");
    assert_eq!(made.ip, Some(Ipv4Addr::new(192, 168, 100, 2)));
    assert_eq!(made.pid, i64::from(std::process::id()));
    let e = &f.engine;
    let rec = containers::get(e.db.conn(), "web").unwrap().unwrap();
    assert_eq!(rec.hash, made.hash);
    assert_eq!(rec.runtime, "/fake/runtime");
    let bundle = f.dir.path().join("containers").join(&made.hash);
    let config: serde_json::Value =
        serde_json::from_slice(&fs::read(bundle.join("config.json")).unwrap()).unwrap();
    assert_eq!(config["process"]["args"], serde_json::json!(["/bin/app"]));
    assert_eq!(config["annotations"]["io.k3.ip"], "192.168.100.2");
    assert!(volumes::get(e.db.conn(), "data").unwrap().is_some());
    // the markers go with the create
    let markers = fs::read_dir(f.dir.path().join("creating")).unwrap().count();
    assert_eq!(markers, 0);
}

#[test]
fn a_failure_at_each_step_undoes_exactly_the_steps_done_in_reverse() {
    for failure in FAILURES {
        let step = STEPS[failure.step].name;
        let mut f = fixture();
        let mut o = options();
        (failure.inject)(&mut f, &mut o);
        let before = f.journal.calls().len();
        let err = create(&mut f.engine, &o).expect_err(step);
        let msg = err.to_string();
        assert!(
            !matches!(err, CreateError::Cleanup { .. }),
            "{step}: an undo failed: {msg}"
        );
        assert_eq!(err.kind(), failure.kind, "{step}: {msg}");
        let chain = err_chain(&err);
        assert!(chain.contains(failure.message), "{step}: {chain}");
        assert_eq!(
            f.journal.calls()[before..],
            expected_journal(failure.step, failure.fails),
            "{step}"
        );
        // (at step 2 the container that is there stays)
        if failure.step != 1 {
            assert_nothing_left(&f);
        }
    }
}

fn err_chain(e: &dyn std::error::Error) -> String {
    let mut s = e.to_string();
    let mut cur = e.source();
    while let Some(c) = cur {
        s.push_str(": ");
        s.push_str(&c.to_string());
        cur = c.source();
    }
    s
}

#[test]
fn a_failing_undo_is_reported_with_the_error_and_the_rest_still_undone() {
    let mut f = fixture();
    f.journal.fail("net.add_veth");
    f.journal.fail("snapshot.remove");
    let err = create(&mut f.engine, &options()).unwrap_err();
    let CreateError::Cleanup { error, cleanup } = &err else {
        panic!("not a cleanup error: {err}");
    };
    assert!(
        error.to_string().contains("cannot create veth pair"),
        "{error}"
    );
    assert_eq!(cleanup.len(), 1, "{cleanup:?}");
    assert!(
        cleanup[0].starts_with("remove snapshot: cannot unmount"),
        "{cleanup:?}"
    );
    // the class stays the step's; the message carries both
    assert_eq!(err.kind(), ErrorKind::Network);
    let msg = err.to_string();
    assert!(
        msg.contains("cannot create veth pair")
            && msg.contains("cleanup also failed: remove snapshot"),
        "{msg}"
    );
    // every other undo still ran: namespace, lease, bundle, volume
    assert_eq!(f.journal.calls(), expected_journal(7, Some("net.add_veth")));
    let root = f.dir.path();
    assert!(fs::read_dir(root.join("netns")).unwrap().next().is_none());
    assert!(fs::read_dir(root.join("containers"))
        .unwrap()
        .next()
        .is_none());
    assert!(networks::leases(f.engine.db.conn(), None)
        .unwrap()
        .is_empty());
    assert!(volumes::get(f.engine.db.conn(), "data").unwrap().is_none());
}

/// A create killed after step 12 (everything made, nothing committed) leaves
/// its journal in its unheld id marker; `recover` (what `k3 rm -f`, `k3
/// prune` and the daemon's reconcile run) replays it and leaves nothing. The
/// kill is stood in for by a whole create whose rows are then taken back
/// (they are one transaction: a killed create has none) and whose marker is
/// put back as the create wrote it.
#[test]
fn the_journal_of_a_create_killed_before_its_commit_is_replayed_to_nothing() {
    let mut f = fixture();
    let made = create(&mut f.engine, &options()).unwrap();
    let conn = f.engine.db.conn();
    conn.execute("DELETE FROM events", []).unwrap();
    conn.execute("DELETE FROM container_state", []).unwrap();
    conn.execute("DELETE FROM volume_mounts", []).unwrap();
    conn.execute("DELETE FROM webhook_queue", []).unwrap();
    containers::delete(conn, "web").unwrap();
    // a second new volume killed between its directory and its row
    fs::create_dir_all(f.dir.path().join("volumes/logs/_data")).unwrap();
    let journal = format!(
        "hash {}\nvolume data\nvolume logs\nstep 10\nruntime-root\nstep 12\n",
        made.hash
    );
    fs::write(f.dir.path().join("creating/id-web"), journal).unwrap();
    fs::write(f.dir.path().join("creating").join(&made.hash), "").unwrap();
    let before = f.journal.calls().len();
    let failed = k3_engine::create::journal::recover(&mut f.engine, "web");
    assert_eq!(failed, Some(Vec::new()));
    let undo = &f.journal.calls()[before..];
    for call in ["runtime.delete", "net.delete_link", "snapshot.remove"] {
        assert!(undo.iter().any(|c| c == call), "no {call} in {undo:?}");
    }
    assert_nothing_left(&f);
    assert!(
        !f.dir.path().join("volumes/logs").exists(),
        "volume dir left"
    );
    // replayed once: nothing more to recover
    assert_eq!(
        k3_engine::create::journal::recover(&mut f.engine, "web"),
        None
    );
}

/// A create killed after its commit left only its markers: the container is
/// whole and stays; the markers go.
#[test]
fn the_journal_of_a_committed_create_removes_only_the_markers() {
    let mut f = fixture();
    let made = create(&mut f.engine, &options()).unwrap();
    fs::write(
        f.dir.path().join("creating/id-web"),
        format!("hash {}\nstep 12\n", made.hash),
    )
    .unwrap();
    fs::write(f.dir.path().join("creating").join(&made.hash), "").unwrap();
    let before = f.journal.calls().len();
    let (done, failed) = k3_engine::create::journal::recover_all(&mut f.engine);
    assert_eq!(
        (done, failed),
        (vec!["web".to_string()], Vec::<String>::new())
    );
    assert_eq!(f.journal.calls().len(), before, "nothing undone");
    assert!(containers::get(f.engine.db.conn(), "web")
        .unwrap()
        .is_some());
    assert_eq!(
        fs::read_dir(f.dir.path().join("creating")).unwrap().count(),
        0
    );
}
