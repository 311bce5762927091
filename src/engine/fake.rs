//! Fakes of the engine's three seams ([`Runtime`], [`Snapshotter`],
//! [`Network`]) for tests that need no root: each records its calls in one
//! [`Journal`] shared by all three, so a test sees the order of every step
//! and every undo, and fails the operations it names (`Journal::fail`).
//! What a fake makes, it makes as files under the k3 root (a namespace file,
//! a rootfs directory, the runtime's root), so leftovers show.

use std::collections::BTreeSet;
use std::fs;
use std::io;
use std::net::Ipv4Addr;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};

use crate::context::Engine;
use crate::db::images::ImageRecord;
use crate::db::networks::NetworkRecord;
use crate::db::Db;
use crate::error::EngineError;
use crate::image::pull::PullOptions;
use crate::monitor::Report;
use crate::network::ipam::Subnet;
use crate::network::{Addr, Network, NetworkError};
use crate::oci_runtime::{RuntimeError, RuntimeState};
use crate::runtime::{CreateRequest, Runtime};
use crate::store::content::Store;
use crate::store::snapshots::SnapshotError;
use crate::store::snapshotter::Snapshotter;

/// The calls of the fakes sharing it, in order, and the operations to fail.
#[derive(Debug, Clone, Default)]
pub struct Journal(Arc<Mutex<Entries>>);

#[derive(Debug, Default)]
struct Entries {
    calls: Vec<String>,
    failing: BTreeSet<String>,
}

impl Journal {
    /// An empty journal that fails nothing.
    pub fn new() -> Journal {
        Journal::default()
    }

    fn entries(&self) -> MutexGuard<'_, Entries> {
        self.0.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// Fails every later call of `op` (as the journal names it, e.g.
    /// `net.add_veth`); the failed call is recorded too.
    pub fn fail(&self, op: &str) {
        self.entries().failing.insert(op.to_string());
    }

    /// The calls so far, oldest first.
    pub fn calls(&self) -> Vec<String> {
        self.entries().calls.clone()
    }

    /// Records `op`; `Err` with the injected message when `op` is to fail.
    fn call(&self, op: &str) -> Result<(), String> {
        let mut e = self.entries();
        e.calls.push(op.to_string());
        if e.failing.contains(op) {
            Err(injected(op))
        } else {
            Ok(())
        }
    }
}

/// An engine on the k3 root `root` with the three fakes recording in
/// `journal` (the runtime's root is `root/run/fake`), and pulls from a
/// registry that does not answer (`127.0.0.1:1`).
pub fn engine(root: &Path, journal: &Journal) -> Result<Engine, EngineError> {
    let store = Store::open(root)?;
    let db = Db::open(&store.db_path())?;
    Ok(Engine {
        runtime: Box::new(FakeRuntime::new(
            journal.clone(),
            root.join("run").join("fake"),
        )),
        snapshots: Box::new(FakeSnapshotter::new(journal.clone())),
        network: Box::new(FakeNetwork::new(journal.clone(), root.join("host-network"))),
        pull: PullOptions {
            default_registry: "127.0.0.1:1".into(),
            insecure: Vec::new(),
            auth_file: root.join("auth.json"),
            max_concurrent: 1,
        },
        k3_exe: PathBuf::from("/fake/k3"),
        store,
        db,
    })
}

/// The message of an injected failure of `op`.
pub fn injected(op: &str) -> String {
    format!("injected failure of `{op}`")
}

/// An OCI runtime that creates nothing: its container's init is the test
/// process itself (alive, so the create's PID check passes).
#[derive(Debug, Clone)]
pub struct FakeRuntime {
    journal: Journal,
    path: PathBuf,
    root: PathBuf,
}

impl FakeRuntime {
    /// A fake runtime with its state root at `root` (made by its first create).
    pub fn new(journal: Journal, root: PathBuf) -> FakeRuntime {
        FakeRuntime {
            journal,
            path: PathBuf::from("/fake/runtime"),
            root,
        }
    }

    fn failed(&self, verb: &str, msg: String) -> RuntimeError {
        RuntimeError::Failed {
            runtime: self.name(),
            verb: verb.to_string(),
            msg,
        }
    }
}

impl Runtime for FakeRuntime {
    fn name(&self) -> String {
        "fake-runtime".into()
    }

    fn path(&self) -> &Path {
        &self.path
    }

    fn root(&self) -> &Path {
        &self.root
    }

    /// A failure comes back as the monitor reports one: in the report.
    fn create(&self, _req: &CreateRequest) -> Result<Report, RuntimeError> {
        if let Err(msg) = self.journal.call("runtime.create") {
            return Ok(Report {
                error: Some(msg),
                ..Report::default()
            });
        }
        fs::create_dir_all(&self.root).map_err(|source| RuntimeError::Spawn {
            runtime: self.name(),
            source,
        })?;
        Ok(Report {
            pid: Some(i64::from(std::process::id())),
            ..Report::default()
        })
    }

    fn state(&self, _log: &Path, _id: &str) -> Result<Option<RuntimeState>, RuntimeError> {
        self.journal
            .call("runtime.state")
            .map_err(|m| self.failed("state", m))?;
        Ok(Some(RuntimeState {
            status: "created".into(),
            pid: i64::from(std::process::id()),
        }))
    }

    fn delete(&self, _log: &Path, _id: &str, _force: bool) -> Result<(), RuntimeError> {
        self.journal
            .call("runtime.delete")
            .map_err(|m| self.failed("delete", m))
    }
}

/// Snapshots as plain directories (`overlays/<id>/rootfs`), no mount.
#[derive(Debug, Clone)]
pub struct FakeSnapshotter {
    journal: Journal,
}

impl FakeSnapshotter {
    /// A fake snapshotter recording in `journal`.
    pub fn new(journal: Journal) -> FakeSnapshotter {
        FakeSnapshotter { journal }
    }
}

fn snapshot_err(op: &'static str, path: &Path) -> impl FnOnce(String) -> SnapshotError {
    let path = path.to_path_buf();
    move |m| SnapshotError::Io {
        op,
        path,
        source: io::Error::other(m),
    }
}

impl Snapshotter for FakeSnapshotter {
    fn prepare(
        &self,
        store: &Store,
        _db: &Db,
        id: &str,
        _image: &ImageRecord,
        _disk_limit_mb: Option<u64>,
    ) -> Result<PathBuf, SnapshotError> {
        let rootfs = store.overlays_dir().join(id).join("rootfs");
        self.journal
            .call("snapshot.prepare")
            .map_err(snapshot_err("mount overlay on", &rootfs))?;
        fs::create_dir_all(&rootfs).map_err(|e| snapshot_err("create", &rootfs)(e.to_string()))?;
        Ok(rootfs)
    }

    fn remove(&self, store: &Store, _db: &Db, id: &str) -> Result<(), SnapshotError> {
        let dir = store.overlays_dir().join(id);
        self.journal
            .call("snapshot.remove")
            .map_err(snapshot_err("unmount", &dir))?;
        match fs::remove_dir_all(&dir) {
            Err(e) if e.kind() != io::ErrorKind::NotFound => {
                Err(snapshot_err("remove", &dir)(e.to_string()))
            }
            _ => Ok(()),
        }
    }
}

/// The host's network as a set of link names and namespace files; nothing
/// reaches the kernel.
#[derive(Debug, Clone, Default)]
pub struct FakeNetwork {
    journal: Journal,
    links: Arc<Mutex<BTreeSet<String>>>,
    host_dir: PathBuf,
}

impl FakeNetwork {
    /// A fake network recording in `journal`, its host-wide lock and ledger
    /// in `host_dir` (several fake roots of one "host" share it).
    pub fn new(journal: Journal, host_dir: PathBuf) -> FakeNetwork {
        FakeNetwork {
            journal,
            links: Arc::default(),
            host_dir,
        }
    }

    /// The links there are (veths the fake made and did not delete).
    pub fn links(&self) -> BTreeSet<String> {
        self.links
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .clone()
    }

    /// Records `call`; an injected failure reads as the real one's (`op`
    /// and `what` as the kernel-side implementation names them).
    fn call(&self, call: &str, op: &'static str, what: impl ToString) -> Result<(), NetworkError> {
        self.journal.call(call).map_err(|m| NetworkError::Sys {
            op,
            what: what.to_string(),
            source: io::Error::other(m),
        })
    }
}

impl Network for FakeNetwork {
    fn create_netns(&self, path: &Path) -> Result<(), NetworkError> {
        self.call(
            "net.create_netns",
            "create network namespace",
            path.display(),
        )?;
        let pin = || {
            fs::create_dir_all(path.parent().unwrap_or(Path::new("/")))?;
            fs::File::create(path).map(drop)
        };
        pin().map_err(|source| NetworkError::Sys {
            op: "create network namespace",
            what: path.display().to_string(),
            source,
        })
    }

    fn remove_netns(&self, path: &Path) -> io::Result<()> {
        self.journal
            .call("net.remove_netns")
            .map_err(io::Error::other)?;
        match fs::remove_file(path) {
            Err(e) if e.kind() != io::ErrorKind::NotFound => Err(e),
            _ => Ok(()),
        }
    }

    fn ensure_bridge(
        &self,
        net: &NetworkRecord,
        _subnet: &Subnet,
        _gw: Ipv4Addr,
    ) -> Result<(), NetworkError> {
        self.call("net.ensure_bridge", "create bridge", &net.bridge)
    }

    fn add_veth(&self, host: &str, _mac: [u8; 6], _ns: &Path) -> Result<(), NetworkError> {
        self.call("net.add_veth", "create veth pair", host)?;
        self.links
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .insert(host.to_string());
        Ok(())
    }

    fn plug(&self, host: &str, _bridge: &str, _ns: &Path, _addr: Addr) -> Result<(), NetworkError> {
        self.call("net.plug", "attach veth to bridge", host)
    }

    fn delete_link(&self, name: &str) -> Result<(), String> {
        self.journal.call("net.delete_link")?;
        self.links
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .remove(name);
        Ok(())
    }

    fn container_veths(&self) -> Vec<String> {
        let _ = self.journal.call("net.container_veths");
        self.links().into_iter().collect()
    }

    fn add_rules(&self, _script: &str) -> Result<(), NetworkError> {
        self.journal
            .call("net.add_rules")
            .map_err(NetworkError::Nft)
    }

    fn delete_rules(&self, _chain: &str, _comment: &str) -> Result<(), NetworkError> {
        self.journal
            .call("net.delete_rules")
            .map_err(NetworkError::Nft)
    }

    fn host_dir(&self) -> PathBuf {
        self.host_dir.clone()
    }

    fn dns_join(
        &self,
        bridge: &str,
        _net: (Ipv4Addr, u8),
        entry: crate::network::dns::Entry,
    ) -> Result<(), NetworkError> {
        self.call("net.dns_join", "name the container on", bridge)?;
        let dir = crate::network::dns::base(&self.host_dir).join(bridge);
        let mut all = crate::network::dns::records::read(&dir);
        all.push(entry);
        crate::network::dns::records::write(&dir, &all).map_err(|e| NetworkError::Sys {
            op: "write",
            what: dir.display().to_string(),
            source: e,
        })
    }

    fn dns_leave(&self, hash: &str) -> Result<(), String> {
        let base = crate::network::dns::base(&self.host_dir);
        for d in fs::read_dir(&base).into_iter().flatten().flatten() {
            let mut all = crate::network::dns::records::read(&d.path());
            all.retain(|e| e.hash != hash);
            crate::network::dns::records::write(&d.path(), &all).map_err(|e| e.to_string())?;
        }
        Ok(())
    }
}
