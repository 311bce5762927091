//! The state root (`/run/k3rt`) and one directory per container: `state.json`
//! (written tmp + rename), `config.json` (the bundle's, as given) and `exec.fifo`.

use std::fs;
use std::io::ErrorKind;
use std::os::unix::fs::DirBuilderExt;
use std::path::{Path, PathBuf};

use crate::oci::state::{derive_status, ContainerState, ProcessFacts, Status};
use crate::runtime::{Error, Result};

/// The default root: `/run/k3rt` for root, `$XDG_RUNTIME_DIR/k3rt` otherwise.
pub fn default_root() -> PathBuf {
    // SAFETY: geteuid has no preconditions.
    if unsafe { libc::geteuid() } == 0 {
        return PathBuf::from("/run/k3rt");
    }
    match std::env::var_os("XDG_RUNTIME_DIR") {
        Some(d) if !d.is_empty() => Path::new(&d).join("k3rt"),
        _ => std::env::temp_dir().join(format!("k3rt-{}", unsafe { libc::geteuid() })),
    }
}

/// One container's directory under the root.
#[derive(Debug, Clone)]
pub struct ContainerDir {
    pub id: String,
    pub path: PathBuf,
}

impl ContainerDir {
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
            Err(e) if e.kind() == ErrorKind::AlreadyExists => Err(Error::Exists(self.id.clone())),
            Err(e) => Err(Error::io("create state dir", self.path.clone(), e)),
        }
    }

    pub fn state_file(&self) -> PathBuf {
        self.path.join("state.json")
    }
    pub fn fifo(&self) -> PathBuf {
        self.path.join("exec.fifo")
    }
    pub fn config(&self) -> PathBuf {
        self.path.join("config.json")
    }

    pub fn exists(&self) -> bool {
        self.path.is_dir()
    }

    /// Reads state.json; a missing directory is `does not exist`.
    pub fn load(&self) -> Result<ContainerState> {
        let bytes = match fs::read(self.state_file()) {
            Ok(b) => b,
            Err(e) if e.kind() == ErrorKind::NotFound => {
                return Err(Error::NotFound(self.id.clone()))
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

    /// Removes the directory and everything in it.
    pub fn remove(&self) -> Result<()> {
        match fs::remove_dir_all(&self.path) {
            Ok(()) => Ok(()),
            Err(e) if e.kind() == ErrorKind::NotFound => Ok(()),
            Err(e) => Err(Error::io("remove state dir", self.path.clone(), e)),
        }
    }

    /// The live status of a container whose state was loaded.
    pub fn status(&self, st: &ContainerState) -> Status {
        derive_status(ProcessFacts {
            alive: pid_alive(st.pid, st.pid_start_time),
            fifo_present: self.fifo().exists(),
            frozen: st
                .cgroup_paths
                .iter()
                .any(|p| crate::runtime::cgroups::is_frozen(p)),
        })
    }
}

/// Start time (clock ticks since boot) and state letter of a process, from /proc/PID/stat.
pub fn proc_stat(pid: i32) -> Option<(u64, char)> {
    let s = fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    let rest = &s[s.rfind(')')? + 2..];
    let fields: Vec<&str> = rest.split_whitespace().collect();
    let state = fields.first()?.chars().next()?;
    let start = fields.get(19)?.parse().ok()?;
    Some((start, state))
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
    use super::*;

    #[test]
    fn own_process_is_alive_and_recycled_pid_is_not() {
        let me = std::process::id() as i32;
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
        assert!(matches!(d.create(), Err(Error::Exists(_))));
        assert!(matches!(d.load(), Err(Error::NotFound(_))));
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
            own_pid_ns: true,
            host_mounts: false,
        };
        d.save(&st).unwrap();
        assert_eq!(d.load().unwrap(), st);
        assert_eq!(list_ids(root.path()).unwrap(), vec!["c1".to_string()]);
        d.remove().unwrap();
        assert!(!d.exists());
    }
}
