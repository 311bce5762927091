//! The network logic with the netlink fake: plans, leases, ports, the undo
//! of each step, reattach, teardown, reconcile and the network verbs,
//! without root.

use std::net::{Ipv4Addr, TcpListener};
use std::path::Path;

use super::*;
use crate::bundle::NetMode;
use crate::context::Engine;
use crate::db::networks;
use crate::fake::{self, injected, Journal};
use crate::options::{CreateOptions, Validated};
use crate::undo::UndoStack;

const HASH: &str = "0123456789abcdef";

fn engine(dir: &Path) -> (Engine, Journal) {
    let journal = Journal::new();
    (fake::engine(dir, &journal).unwrap(), journal)
}

fn options(id: &str, network: &str) -> CreateOptions {
    CreateOptions {
        container_id: id.into(),
        image: "example.test/app:1".into(),
        network: Some(network.into()),
        ..CreateOptions::default()
    }
}

fn validated(o: CreateOptions) -> Validated {
    o.validate().unwrap()
}

fn free_port() -> u16 {
    TcpListener::bind((Ipv4Addr::LOCALHOST, 0))
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

fn leases(e: &Engine) -> Vec<networks::Lease> {
    networks::leases(e.db.conn(), None).unwrap()
}

#[test]
fn a_bridge_plan_leases_the_first_free_ip_and_pins_a_namespace() {
    let dir = tempfile::tempdir().unwrap();
    let (e, journal) = engine(dir.path());
    let mut undo = UndoStack::default();
    let plan = prepare(&e, &validated(options("web", "kb0")), HASH, &mut undo).unwrap();
    assert_eq!(journal.calls(), ["net.ensure_bridge", "net.create_netns"]);
    let ns = netns::path(dir.path(), HASH);
    assert_eq!(plan.mode, NetMode::Path(ns.clone()));
    assert!(ns.exists());
    assert_eq!(plan.ip, Some(Ipv4Addr::new(192, 168, 100, 2)));
    assert_eq!(
        plan.bridge,
        Some(("kb0".into(), Ipv4Addr::new(192, 168, 100, 1), 24))
    );
    assert_eq!(leases(&e).len(), 1);
    // the default network is made on first use, and kept
    assert!(networks::get(e.db.conn(), DEFAULT_NAME).unwrap().is_some());
    assert_eq!(undo.len(), 2);
    assert!(undo.unwind(&e).is_empty());
    assert!(!ns.exists());
    assert!(leases(&e).is_empty());
    assert_eq!(journal.calls().last().unwrap(), "net.remove_netns");
}

#[test]
fn a_failed_namespace_leaves_only_the_lease_undo() {
    let dir = tempfile::tempdir().unwrap();
    let (e, journal) = engine(dir.path());
    journal.fail("net.create_netns");
    let mut undo = UndoStack::default();
    let err = prepare(&e, &validated(options("web", "kb0")), HASH, &mut undo).unwrap_err();
    assert!(
        err.to_string().contains("cannot create network namespace"),
        "{err}"
    );
    assert_eq!(err.kind(), crate::error_kind::ErrorKind::Network);
    assert_eq!(undo.len(), 1);
    assert!(undo.unwind(&e).is_empty());
    assert!(leases(&e).is_empty());
}

#[test]
fn host_takes_nothing_and_none_gets_a_namespace() {
    let dir = tempfile::tempdir().unwrap();
    let (e, journal) = engine(dir.path());
    let mut undo = UndoStack::default();
    let plan = prepare(&e, &validated(options("a", "host")), HASH, &mut undo).unwrap();
    assert_eq!(plan.mode, NetMode::Host);
    assert!(journal.calls().is_empty() && undo.is_empty());
    let plan = prepare(&e, &validated(options("b", "none")), HASH, &mut undo).unwrap();
    assert_eq!(plan.mode, NetMode::Path(netns::path(dir.path(), HASH)));
    assert_eq!(plan.ip, None);
    assert_eq!(journal.calls(), ["net.create_netns"]);
    // no veth for a namespace without a bridge
    attach(&e, &plan, HASH, &mut undo).unwrap();
    assert_eq!(journal.calls(), ["net.create_netns"]);
}

#[test]
fn a_missing_network_is_refused_before_anything_is_made() {
    let dir = tempfile::tempdir().unwrap();
    let (e, journal) = engine(dir.path());
    let mut undo = UndoStack::default();
    let err = prepare(&e, &validated(options("web", "nope")), HASH, &mut undo).unwrap_err();
    assert!(
        matches!(err, NetworkError::NotFound(ref n) if n == "nope"),
        "{err}"
    );
    assert!(undo.is_empty());
    assert!(!journal.calls().contains(&"net.create_netns".to_string()));
    assert!(leases(&e).is_empty());
}

#[test]
fn static_ips_in_use_and_taken_ports_are_refused_with_their_value() {
    let dir = tempfile::tempdir().unwrap();
    let (e, _) = engine(dir.path());
    let port = free_port();
    let mut first = options("a", "kb0");
    first.ip = Some("192.168.100.7".into());
    first.publish = vec![format!("{port}:80")];
    // the first create is still running (else the next one's reconcile
    // would take its lease for a crashed create's)
    let _running = crate::marker::Marker::take(dir.path(), HASH).unwrap();
    let mut undo = UndoStack::default();
    prepare(&e, &validated(first), HASH, &mut undo).unwrap();
    let mut same_ip = options("b", "kb0");
    same_ip.ip = Some("192.168.100.7".into());
    let err = prepare(&e, &validated(same_ip), "fedcba9876543210", &mut undo).unwrap_err();
    assert!(matches!(err, NetworkError::IpInUse { .. }), "{err}");
    assert!(err.to_string().contains("`192.168.100.7`"), "{err}");
    let mut same_port = options("c", "kb0");
    same_port.publish = vec![format!("{port}:81")];
    let err = prepare(&e, &validated(same_port), "fedcba9876543210", &mut undo).unwrap_err();
    assert!(
        matches!(err, NetworkError::PortTaken { ref by, .. } if by == "a"),
        "{err}"
    );
    assert_eq!(err.kind(), crate::error_kind::ErrorKind::Validation);
    // the refused creates leased nothing
    assert_eq!(leases(&e).len(), 1);
}

#[test]
fn attach_makes_the_veth_then_plugs_it_and_undoes_in_reverse() {
    let dir = tempfile::tempdir().unwrap();
    let (e, journal) = engine(dir.path());
    let mut o = options("web", "kb0");
    o.publish = vec![format!("{}:80", free_port())];
    let mut undo = UndoStack::default();
    let plan = prepare(&e, &validated(o), HASH, &mut undo).unwrap();
    attach(&e, &plan, HASH, &mut undo).unwrap();
    assert_eq!(
        journal.calls()[2..],
        ["net.add_veth", "net.plug", "net.add_rules"]
    );
    let fake_links = e.network.container_veths();
    assert_eq!(fake_links, [veth_name(HASH)]);
    assert_eq!(undo.len(), 4);
    assert!(undo.unwind(&e).is_empty());
    assert_eq!(
        journal.calls()[6..],
        ["net.delete_rules", "net.delete_link", "net.remove_netns",]
    );
    assert!(e.network.container_veths().is_empty());
    assert!(leases(&e).is_empty());
}

#[test]
fn a_failed_plug_undoes_the_veth_and_a_failed_undo_is_reported() {
    let dir = tempfile::tempdir().unwrap();
    let (e, journal) = engine(dir.path());
    let mut undo = UndoStack::default();
    let plan = prepare(&e, &validated(options("web", "kb0")), HASH, &mut undo).unwrap();
    journal.fail("net.plug");
    journal.fail("net.delete_link");
    let err = attach(&e, &plan, HASH, &mut undo).unwrap_err();
    assert!(err.to_string().contains(&veth_name(HASH)), "{err}");
    assert_eq!(undo.len(), 3);
    assert_eq!(
        undo.unwind(&e),
        [format!("delete veth: {}", injected("net.delete_link"))]
    );
    // the later undos still ran
    assert!(leases(&e).is_empty());
    assert!(!netns::path(dir.path(), HASH).exists());
}

#[test]
fn reattach_renews_namespace_and_veth_with_the_same_lease() {
    let dir = tempfile::tempdir().unwrap();
    let (e, journal) = engine(dir.path());
    let mut undo = UndoStack::default();
    let plan = prepare(&e, &validated(options("web", "kb0")), HASH, &mut undo).unwrap();
    attach(&e, &plan, HASH, &mut undo).unwrap();
    undo.commit();
    release_at(e.network.as_ref(), dir.path(), HASH);
    assert!(!netns::path(dir.path(), HASH).exists());
    let before = journal.calls().len();
    reattach(&e, "web", HASH).unwrap();
    assert_eq!(
        journal.calls()[before..],
        [
            "net.ensure_bridge",
            "net.delete_link",
            "net.remove_netns",
            "net.create_netns",
            "net.add_veth",
            "net.plug",
        ]
    );
    assert_eq!(leases(&e)[0].ip, "192.168.100.2");
    assert_eq!(e.network.container_veths(), [veth_name(HASH)]);
}

#[test]
fn a_failed_reattach_leaves_no_namespace_nor_veth() {
    let dir = tempfile::tempdir().unwrap();
    let (e, journal) = engine(dir.path());
    let mut undo = UndoStack::default();
    prepare(&e, &validated(options("web", "kb0")), HASH, &mut undo).unwrap();
    undo.commit();
    journal.fail("net.plug");
    reattach(&e, "web", HASH).unwrap_err();
    assert!(e.network.container_veths().is_empty());
    assert!(!netns::path(dir.path(), HASH).exists());
    // the lease is the container's until it is removed
    assert_eq!(leases(&e).len(), 1);
}

#[test]
fn teardown_releases_namespace_veth_lease_and_port_rules() {
    let dir = tempfile::tempdir().unwrap();
    let (mut e, journal) = engine(dir.path());
    let mut o = options("web", "kb0");
    o.publish = vec![format!("{}:80", free_port())];
    let mut undo = UndoStack::default();
    let plan = prepare(&e, &validated(o), HASH, &mut undo).unwrap();
    attach(&e, &plan, HASH, &mut undo).unwrap();
    undo.commit();
    let before = journal.calls().len();
    teardown(&mut e, "web", HASH).unwrap();
    assert_eq!(
        journal.calls()[before..],
        ["net.delete_link", "net.remove_netns", "net.delete_rules"]
    );
    assert!(leases(&e).is_empty());
    assert!(networks::ports(e.db.conn()).unwrap().is_empty());
}

#[test]
fn reconcile_removes_leftovers_of_no_container_but_not_a_create_in_progress() {
    let dir = tempfile::tempdir().unwrap();
    let (e, _) = engine(dir.path());
    let busy = "aaaaaaaaaaaaaaaa";
    let mut undo = UndoStack::default();
    for (id, hash) in [("crashed", HASH), ("creating", busy)] {
        let plan = prepare(&e, &validated(options(id, "kb0")), hash, &mut undo).unwrap();
        attach(&e, &plan, hash, &mut undo).unwrap();
    }
    undo.commit();
    let _marker = crate::marker::Marker::take(dir.path(), busy).unwrap();
    reconcile(&e);
    assert!(!netns::path(dir.path(), HASH).exists());
    assert!(netns::path(dir.path(), busy).exists());
    assert_eq!(e.network.container_veths(), [veth_name(busy)]);
    let left: Vec<String> = leases(&e).into_iter().map(|l| l.container_id).collect();
    assert_eq!(left, ["creating"]);
}

#[test]
fn network_verbs_create_refuse_overlaps_and_remove_only_unused() {
    let dir = tempfile::tempdir().unwrap();
    let (mut e, journal) = engine(dir.path());
    let rec = create(&mut e, "back", "10.9.0.0/16", None).unwrap();
    assert_eq!(
        (rec.bridge.as_str(), rec.gateway.as_str()),
        ("back", "10.9.0.1")
    );
    assert_eq!(journal.calls(), ["net.ensure_bridge"]);
    let err = create(&mut e, "other", "10.9.1.0/24", None).unwrap_err();
    assert!(err.to_string().contains("overlaps network `back`"), "{err}");
    let err = create(&mut e, "back", "10.10.0.0/16", None).unwrap_err();
    assert!(matches!(err, NetworkError::Exists(_)), "{err}");
    let err = create(&mut e, "gw", "10.11.0.0/16", Some("10.12.0.1")).unwrap_err();
    assert!(err.to_string().contains("`10.12.0.1`"), "{err}");
    let mut undo = UndoStack::default();
    prepare(&e, &validated(options("web", "back")), HASH, &mut undo).unwrap();
    let err = remove(&mut e, "back").unwrap_err();
    assert!(
        matches!(err, NetworkError::InUse { ref users, .. } if users == &["web"]),
        "{err}"
    );
    assert!(undo.unwind(&e).is_empty());
    let before = journal.calls().len();
    remove(&mut e, "back").unwrap();
    assert_eq!(
        journal.calls()[before..],
        [
            "net.delete_rules",
            "net.delete_rules",
            "net.delete_rules",
            "net.delete_link"
        ]
    );
    assert!(matches!(
        remove(&mut e, "back"),
        Err(NetworkError::NoSuchNetwork(_))
    ));
}

/// Two roots of one host: engines whose fake networks share the host's
/// lock and ledger, and its links.
fn two_roots(dir: &Path) -> ((Engine, Journal), (Engine, Journal)) {
    let host = dir.join("host");
    let one = |name: &str| {
        let root = dir.join(name);
        std::fs::create_dir_all(&root).unwrap();
        let (mut e, journal) = engine(&root);
        e.network = Box::new(fake::FakeNetwork::new(journal.clone(), host.clone()));
        (e, journal)
    };
    (one("a"), one("b"))
}

#[test]
fn two_roots_never_share_an_ip_or_a_port_and_keep_each_others_bridge() {
    let dir = tempfile::tempdir().unwrap();
    let ((a, _), (mut b, jb)) = two_roots(dir.path());
    let port = free_port();
    let mut o = options("web", "kb0");
    o.publish = vec![format!("{port}:80")];
    let mut undo = UndoStack::default();
    let pa = prepare(&a, &validated(o.clone()), HASH, &mut undo).unwrap();
    attach(&a, &pa, HASH, &mut undo).unwrap();
    std::mem::take(&mut undo).commit();
    // the same name in B: another address, and A's port refused naming A's root
    let err = prepare(&b, &validated(o), "fedcba9876543210", &mut undo).unwrap_err();
    assert!(
        matches!(err, NetworkError::PortTakenByRoot { ref by, .. } if by == "web"),
        "{err}"
    );
    assert!(
        err.to_string()
            .contains(&dir.path().join("a").display().to_string()),
        "{err}"
    );
    assert!(std::mem::take(&mut undo).unwind(&b).is_empty());
    let pb = prepare(
        &b,
        &validated(options("web", "kb0")),
        "fedcba9876543210",
        &mut undo,
    )
    .unwrap();
    std::mem::take(&mut undo).commit();
    assert_eq!(pa.ip, Some(Ipv4Addr::new(192, 168, 100, 2)));
    assert_eq!(pb.ip, Some(Ipv4Addr::new(192, 168, 100, 3)));
    // a static IP A holds is in use for B too
    let mut st = options("st", "kb0");
    st.ip = Some("192.168.100.2".into());
    let err = prepare(&b, &validated(st), "1111111111111111", &mut undo).unwrap_err();
    assert!(matches!(err, NetworkError::IpInUse { .. }), "{err}");
    // B's reconcile (at its next create) leaves A's veth; B's rm of its
    // `web` leaves A's rules and A's lease
    let before = jb.calls().len();
    b.db.conn()
        .execute("DELETE FROM leases WHERE container_id = 'web'", [])
        .unwrap();
    prepare(
        &b,
        &validated(options("w2", "kb0")),
        "2222222222222222",
        &mut undo,
    )
    .unwrap();
    std::mem::take(&mut undo).commit();
    assert!(a.network.container_veths().contains(&veth_name(HASH)));
    assert!(!jb.calls()[before..].contains(&"net.delete_link".to_string()));
    // B's `network rm kb0` keeps the bridge and masquerade A still uses
    for l in leases(&b) {
        networks::release(b.db.conn(), &l.container_id).unwrap();
    }
    let before = jb.calls().len();
    remove(&mut b, "kb0").unwrap();
    assert!(
        jb.calls()[before..].is_empty(),
        "{:?}",
        &jb.calls()[before..]
    );
    // a network of B on A's subnet or over A's bridge is refused
    let err = create(&mut b, "other", "192.168.100.0/25", None).unwrap_err();
    assert!(err.to_string().contains("overlaps network `kb0`"), "{err}");
    let err = create(&mut b, "kb0", "10.1.0.0/24", None).unwrap_err();
    assert!(
        err.to_string().contains("bridge `kb0` is network `kb0`"),
        "{err}"
    );
}

#[test]
fn a_removed_roots_part_of_the_ledger_goes() {
    let dir = tempfile::tempdir().unwrap();
    let ((a, _), (b, _)) = two_roots(dir.path());
    let mut undo = UndoStack::default();
    prepare(&a, &validated(options("web", "kb0")), HASH, &mut undo).unwrap();
    std::mem::take(&mut undo).commit();
    drop(a);
    std::fs::remove_dir_all(dir.path().join("a")).unwrap();
    let p = prepare(
        &b,
        &validated(options("web", "kb0")),
        "fedcba9876543210",
        &mut undo,
    )
    .unwrap();
    assert_eq!(p.ip, Some(Ipv4Addr::new(192, 168, 100, 2)));
}

#[test]
fn a_corrupt_ledger_is_an_error_naming_it_not_an_empty_one() {
    let dir = tempfile::tempdir().unwrap();
    let ((a, _), _) = two_roots(dir.path());
    std::fs::create_dir_all(dir.path().join("host")).unwrap();
    std::fs::write(dir.path().join("host/ledger.json"), "{not json").unwrap();
    let mut undo = UndoStack::default();
    let err = prepare(&a, &validated(options("web", "kb0")), HASH, &mut undo).unwrap_err();
    assert!(err.to_string().contains("ledger.json"), "{err}");
    assert_eq!(err.kind(), crate::error_kind::ErrorKind::Network);
    assert!(undo.is_empty() && leases(&a).is_empty());
}

#[test]
fn a_lease_another_root_took_while_the_ledger_was_empty_is_refused_at_start() {
    let dir = tempfile::tempdir().unwrap();
    let ((a, _), (b, _)) = two_roots(dir.path());
    let mut undo = UndoStack::default();
    prepare(&a, &validated(options("web", "kb0")), HASH, &mut undo).unwrap();
    std::mem::take(&mut undo).commit();
    // a reboot: `/run` is empty, A's stopped container keeps its lease
    std::fs::remove_file(dir.path().join("host/ledger.json")).unwrap();
    let pb = prepare(
        &b,
        &validated(options("x", "kb0")),
        "fedcba9876543210",
        &mut undo,
    )
    .unwrap();
    std::mem::take(&mut undo).commit();
    assert_eq!(pb.ip, Some(Ipv4Addr::new(192, 168, 100, 2)));
    let err = reattach(&a, "web", HASH).unwrap_err();
    assert!(matches!(err, NetworkError::IpInUse { .. }), "{err}");
    assert!(a.network.container_veths().is_empty());
}

#[test]
fn a_user_network_names_its_containers_and_kb0_does_not() {
    let dir = tempfile::tempdir().unwrap();
    let (mut e, journal) = engine(dir.path());
    create(&mut e, "back", "10.77.0.0/24", None).unwrap();
    let records = dns::base(&e.network.host_dir()).join("back");
    let mut undo = UndoStack::default();
    let plan = prepare(&e, &validated(options("Web", "back")), HASH, &mut undo).unwrap();
    attach(&e, &plan, HASH, &mut undo).unwrap();
    assert!(journal
        .calls()
        .ends_with(&["net.plug".into(), "net.dns_join".into()]));
    let all = dns::records::read(&records);
    assert_eq!(
        dns::records::lookup(&all, "web"),
        Some(vec![Ipv4Addr::new(10, 77, 0, 2)])
    );
    // a failed create drops the name with the rest
    assert!(undo.unwind(&e).is_empty());
    assert!(dns::records::read(&records).is_empty());
    // a container that stops leaves the records; its aliases are its names too
    let mut undo = UndoStack::default();
    let mut o = options("web", "back");
    o.network_alias = vec!["Db".into(), "cache.svc".into()];
    let plan = prepare(&e, &validated(o), HASH, &mut undo).unwrap();
    attach(&e, &plan, HASH, &mut undo).unwrap();
    undo.commit();
    let all = dns::records::read(&records);
    assert_eq!(all[0].names, ["web", "db", "cache.svc"]);
    assert_eq!(
        dns::records::lookup(&all, "cache.svc"),
        Some(vec![Ipv4Addr::new(10, 77, 0, 2)])
    );
    release_at(e.network.as_ref(), dir.path(), HASH);
    assert!(dns::records::read(&records).is_empty());
    // kb0: no names, as docker's default bridge
    let (e2, journal2) = engine(&dir.path().join("other"));
    let mut undo = UndoStack::default();
    let plan = prepare(&e2, &validated(options("web", "kb0")), HASH, &mut undo).unwrap();
    attach(&e2, &plan, HASH, &mut undo).unwrap();
    assert!(!journal2.calls().iter().any(|c| c == "net.dns_join"));
}
