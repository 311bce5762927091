//! The state root (`/run/k3rt`) and one directory per container: `state.json`
//! (written tmp + rename), `config.json` (the bundle's, as given), `exec.fifo` and
//! `journal`: what `create` made, each record appended *before* the thing is made, so
//! that `delete --force` of a create that died at any point (no state.json yet) can
//! find and remove it all. The journal is removed last.

use std::fs;
use std::io::{ErrorKind, Write};
use std::os::unix::fs::{DirBuilderExt, OpenOptionsExt};
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use crate::error::StateError;
use crate::{Error, Result};
use k3_oci::state::{derive_status, ContainerState, ProcessFacts, Status};

/// One journal record: something `create` is about to make (or has just made, for
/// the processes, whose pid is known only then).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "made", rename_all = "camelCase")]
pub enum Made {
    /// The `k3rt create` process itself: while it lives, the container is being created.
    #[serde(rename_all = "camelCase")]
    Creator {
        /// Its pid.
        pid: i32,
        /// Its start time (clock ticks since boot).
        start_time: u64,
    },
    /// The cgroup directories, one per hierarchy.
    Cgroups {
        /// The directories.
        paths: Vec<PathBuf>,
    },
    /// Mounts the init makes under the rootfs in the host's mount namespace.
    HostMounts {
        /// The rootfs the mounts are under.
        rootfs: PathBuf,
    },
    /// Host network devices are being moved into the container (`linux.netDevices`):
    /// what was moved is in the state dir's record, the namespace pinned there.
    NetDevices {},
    /// The container init; its start time tells it from a later process with its pid.
    #[serde(rename_all = "camelCase")]
    Init {
        /// Its pid.
        pid: i32,
        /// Its start time (clock ticks since boot).
        start_time: u64,
    },
}

/// The journal file's name in the container dir.
pub const JOURNAL: &str = "journal";

/// Parses a journal: one JSON record a line; a torn or unknown line is skipped.
pub fn parse_journal(text: &str) -> Vec<Made> {
    text.lines()
        .filter_map(|l| serde_json::from_str(l).ok())
        .collect()
}

/// The default root, as runc chooses its own: `/run/k3rt` for the host's root;
/// `$XDG_RUNTIME_DIR/k3rt` for another user, and for root inside a user namespace
/// (rootless podman runs the runtime so) unless `USER` says `root`.
pub fn default_root() -> PathBuf {
    let xdg = std::env::var_os("XDG_RUNTIME_DIR").filter(|d| !d.is_empty());
    let euid = nix::unistd::geteuid();
    if euid.is_root() {
        let rootless = in_user_namespace() && std::env::var("USER").map_or(true, |u| u != "root");
        return match xdg {
            Some(d) if rootless => Path::new(&d).join("k3rt"),
            _ => PathBuf::from("/run/k3rt"),
        };
    }
    match xdg {
        Some(d) => Path::new(&d).join("k3rt"),
        None => std::env::temp_dir().join(format!("k3rt-{euid}")),
    }
}

/// Whether this process runs in a user namespace other than the initial one (its
/// uid map is not the whole identity map).
pub(crate) fn in_user_namespace() -> bool {
    fs::read_to_string("/proc/self/uid_map").is_ok_and(|m| !is_identity_map(&m))
}

/// `uid_map` text of the initial user namespace: `0 0 4294967295` on one line.
fn is_identity_map(map: &str) -> bool {
    let fields: Vec<&str> = map.split_whitespace().collect();
    fields == ["0", "0", "4294967295"]
}

/// One container's directory under the root.
#[derive(Debug, Clone)]
pub struct ContainerDir {
    /// The container id.
    pub id: String,
    /// The directory.
    pub path: PathBuf,
}

impl ContainerDir {
    /// The state directory of `id` under `root`.
    pub fn new(root: &Path, id: &str) -> Self {
        ContainerDir {
            id: id.to_string(),
            path: root.join(id),
        }
    }

    /// Creates the directory; an existing one means the id is taken.
    pub fn create(&self) -> Result<()> {
        let root = self.path.parent().unwrap_or(Path::new("/"));
        fs::DirBuilder::new()
            .recursive(true)
            .mode(0o700)
            .create(root)
            .map_err(|e| Error::io("create state root", root, e))?;
        match fs::DirBuilder::new().mode(0o711).create(&self.path) {
            Ok(()) => Ok(()),
            Err(e) if e.kind() == ErrorKind::AlreadyExists => {
                Err(StateError::Exists(self.id.clone()).into())
            }
            Err(e) => Err(Error::io("create state dir", self.path.clone(), e)),
        }
    }

    /// `state.json`.
    pub fn state_file(&self) -> PathBuf {
        self.path.join("state.json")
    }
    /// `exec.fifo`.
    pub fn fifo(&self) -> PathBuf {
        self.path.join("exec.fifo")
    }
    /// `config.json`, copied from the bundle.
    pub fn config(&self) -> PathBuf {
        self.path.join("config.json")
    }
    /// The journal of what create made.
    pub fn journal(&self) -> PathBuf {
        self.path.join(JOURNAL)
    }

    /// Appends a record to the journal, in one write (not fsynced: it guards against a
    /// dead process, not a lost machine, whose /run and cgroups are gone anyway).
    pub fn record(&self, m: &Made) -> Result<()> {
        let mut line = serde_json::to_vec(m).map_err(|e| {
            Error::io(
                "encode journal record",
                self.journal(),
                std::io::Error::new(ErrorKind::InvalidData, e),
            )
        })?;
        line.push(b'\n');
        fs::OpenOptions::new()
            .append(true)
            .create(true)
            .mode(0o600)
            .custom_flags(libc::O_CLOEXEC)
            .open(self.journal())
            .and_then(|mut f| f.write_all(&line))
            .map_err(|e| Error::io("write journal", self.journal(), e))
    }

    /// The journal's records; none when there is no journal.
    pub fn replay(&self) -> Vec<Made> {
        fs::read_to_string(self.journal())
            .map(|t| parse_journal(&t))
            .unwrap_or_default()
    }

    /// The state directory exists.
    pub fn exists(&self) -> bool {
        self.path.is_dir()
    }

    /// Reads state.json; a missing directory is `does not exist`.
    pub fn load(&self) -> Result<ContainerState> {
        let bytes = match fs::read(self.state_file()) {
            Ok(b) => b,
            Err(e) if e.kind() == ErrorKind::NotFound => {
                return Err(StateError::NotFound(self.id.clone()).into())
            }
            Err(e) => return Err(Error::io("read state", self.state_file(), e)),
        };
        serde_json::from_slice(&bytes).map_err(|e| {
            Error::io(
                "parse state",
                self.state_file(),
                std::io::Error::new(ErrorKind::InvalidData, e),
            )
        })
    }

    /// Writes state.json atomically.
    pub fn save(&self, st: &ContainerState) -> Result<()> {
        let tmp = self.path.join(".state.json.tmp");
        let bytes = serde_json::to_vec(st).map_err(|e| {
            Error::io(
                "encode state",
                tmp.clone(),
                std::io::Error::new(ErrorKind::InvalidData, e),
            )
        })?;
        fs::write(&tmp, bytes).map_err(|e| Error::io("write state", tmp.clone(), e))?;
        fs::rename(&tmp, self.state_file())
            .map_err(|e| Error::io("rename state", self.state_file(), e))
    }

    /// Removes the directory and everything in it, the journal last: a delete that
    /// dies half-way leaves the journal for the next one.
    pub fn remove(&self) -> Result<()> {
        fn gone(r: std::io::Result<()>, what: &'static str, p: &Path) -> Result<()> {
            match r {
                Err(e) if e.kind() != ErrorKind::NotFound => Err(Error::io(what, p, e)),
                _ => Ok(()),
            }
        }
        let entries = match fs::read_dir(&self.path) {
            Ok(rd) => rd,
            Err(e) if e.kind() == ErrorKind::NotFound => return Ok(()),
            Err(e) => return Err(Error::io("read state dir", self.path.clone(), e)),
        };
        for e in entries.filter_map(|e| e.ok()) {
            if e.file_name() == JOURNAL {
                continue;
            }
            let p = e.path();
            let r = if e.file_type().is_ok_and(|t| t.is_dir()) {
                fs::remove_dir_all(&p)
            } else {
                fs::remove_file(&p)
            };
            gone(r, "remove from state dir", &p)?;
        }
        gone(
            fs::remove_file(self.journal()),
            "remove journal",
            &self.journal(),
        )?;
        gone(fs::remove_dir(&self.path), "remove state dir", &self.path)
    }

    /// The live status of a container whose state was loaded.
    pub fn status(&self, st: &ContainerState) -> Status {
        derive_status(ProcessFacts {
            alive: pid_alive(st.pid, st.pid_start_time),
            fifo_present: self.fifo().exists(),
            frozen: st.cgroup_paths.iter().any(|p| k3_cgroups::is_frozen(p)),
        })
    }
}

/// Start time (clock ticks since boot) and state letter of a process, from /proc/PID/stat.
pub fn proc_stat(pid: i32) -> Option<(u64, char)> {
    let s = fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    let stat = k3_oci::proc::ProcStat::parse(&s)?;
    Some((stat.start_time, stat.state))
}

/// The pid runs, is not a zombie, and started when we recorded it.
pub fn pid_alive(pid: i32, start_time: u64) -> bool {
    if pid <= 0 {
        return false;
    }
    match proc_stat(pid) {
        Some((start, state)) => start == start_time && state != 'Z' && state != 'X',
        None => false,
    }
}

/// Container ids under the root, sorted.
pub fn list_ids(root: &Path) -> Result<Vec<String>> {
    let rd = match fs::read_dir(root) {
        Ok(rd) => rd,
        Err(e) if e.kind() == ErrorKind::NotFound => return Ok(Vec::new()),
        Err(e) => return Err(Error::io("read state root", root, e)),
    };
    let mut ids: Vec<String> = rd
        .filter_map(|e| e.ok())
        .filter(|e| e.path().is_dir())
        .filter_map(|e| e.file_name().into_string().ok())
        .collect();
    ids.sort();
    Ok(ids)
}

#[cfg(test)]
mod tests {
    #[test]
    fn identity_uid_map_is_the_initial_namespace() {
        assert!(is_identity_map("         0          0 4294967295\n"));
        assert!(!is_identity_map(
            "         0       1000          1\n         1     100000      65536\n"
        ));
        assert!(!is_identity_map(""));
    }

    use super::*;

    #[test]
    fn own_process_is_alive_and_recycled_pid_is_not() {
        let me = i32::try_from(std::process::id()).unwrap();
        let (start, _) = proc_stat(me).unwrap();
        assert!(pid_alive(me, start));
        assert!(!pid_alive(me, start + 1));
        assert!(!pid_alive(0, 0));
    }

    #[test]
    fn create_twice_is_exists_and_state_roundtrips() {
        let root = tempfile::tempdir().unwrap();
        let d = ContainerDir::new(root.path(), "c1");
        d.create().unwrap();
        assert!(matches!(
            d.create(),
            Err(Error::State(StateError::Exists(_)))
        ));
        assert!(matches!(
            d.load(),
            Err(Error::State(StateError::NotFound(_)))
        ));
        let st = ContainerState {
            oci_version: "1.2.0".into(),
            id: "c1".into(),
            status: Status::Created,
            pid: 1,
            pid_start_time: 2,
            bundle: "/b".into(),
            rootfs: "/b/r".into(),
            created: "t".into(),
            owner: "root".into(),
            annotations: Default::default(),
            cgroup_paths: vec![],
            systemd_unit: None,
            own_pid_ns: true,
            host_mounts: false,
        };
        d.save(&st).unwrap();
        assert_eq!(d.load().unwrap(), st);
        assert_eq!(list_ids(root.path()).unwrap(), vec!["c1".to_string()]);
        d.remove().unwrap();
        assert!(!d.exists());
    }

    #[test]
    fn journal_appends_records_and_skips_a_torn_line() {
        let root = tempfile::tempdir().unwrap();
        let d = ContainerDir::new(root.path(), "c1");
        assert!(d.replay().is_empty(), "no dir, no journal");
        d.create().unwrap();
        assert!(d.replay().is_empty());
        let recs = vec![
            Made::Creator {
                pid: 10,
                start_time: 11,
            },
            Made::Cgroups {
                paths: vec!["/sys/fs/cgroup/cpu/k3rt/c 1".into()],
            },
            Made::HostMounts {
                rootfs: "/b/rootfs".into(),
            },
            Made::NetDevices {},
            Made::Init {
                pid: 12,
                start_time: 13,
            },
        ];
        for r in &recs {
            d.record(r).unwrap();
        }
        assert_eq!(d.replay(), recs);
        // a process killed inside its write leaves a torn last line
        let mut f = fs::OpenOptions::new()
            .append(true)
            .open(d.journal())
            .unwrap();
        f.write_all(b"{\"made\":\"init\",\"pid\":4").unwrap();
        assert_eq!(d.replay(), recs);
        let text = fs::read_to_string(d.journal()).unwrap();
        assert!(text.starts_with("{\"made\":\"creator\",\"pid\":10,\"startTime\":11}\n"));
    }

    #[test]
    fn remove_takes_everything_and_the_journal_last() {
        let root = tempfile::tempdir().unwrap();
        let d = ContainerDir::new(root.path(), "c1");
        d.create().unwrap();
        d.record(&Made::Cgroups { paths: vec![] }).unwrap();
        fs::write(d.config(), "{}").unwrap();
        fs::create_dir(d.path.join("sub")).unwrap();
        fs::write(d.path.join("sub/x"), "x").unwrap();
        d.remove().unwrap();
        assert!(!d.exists());
        d.remove().unwrap();
        // a directory that holds only the journal (the last step of a delete that died)
        d.create().unwrap();
        d.record(&Made::Cgroups { paths: vec![] }).unwrap();
        d.remove().unwrap();
        assert!(!d.exists());
    }
}
