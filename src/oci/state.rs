//! The container state: what `state` prints (runtime-spec fields) plus what k3rt
//! needs to find the container again, and the legal transitions between statuses.

use std::collections::HashMap;
use std::fmt;
use std::path::PathBuf;

use serde::{Deserialize, Serialize};

/// Lifecycle status, as the runtime-spec names it (plus runc's `paused`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Status {
    /// Being created: the init is being set up.
    Creating,
    /// Created: the init waits for `start`.
    Created,
    /// Running the user's program.
    Running,
    /// Frozen by `pause`.
    Paused,
    /// The process has exited.
    Stopped,
}

impl fmt::Display for Status {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Status::Creating => "creating",
            Status::Created => "created",
            Status::Running => "running",
            Status::Paused => "paused",
            Status::Stopped => "stopped",
        })
    }
}

impl Status {
    /// `start` runs a created container once.
    pub fn can_start(self) -> bool {
        self == Status::Created
    }
    /// Signals reach created, running and paused containers.
    pub fn can_kill(self) -> bool {
        matches!(self, Status::Created | Status::Running | Status::Paused)
    }
    /// `delete` without `--force`: stopped, or created and never started (killed first, as runc does).
    pub fn can_delete(self) -> bool {
        matches!(self, Status::Stopped | Status::Created)
    }
    /// `pause` freezes a running container.
    pub fn can_pause(self) -> bool {
        self == Status::Running
    }
    /// `resume` thaws a paused container.
    pub fn can_resume(self) -> bool {
        self == Status::Paused
    }
    /// `exec` joins a running container.
    pub fn can_exec(self) -> bool {
        self == Status::Running
    }
}

/// The runtime-spec `state` object, as `k3rt state` prints it and hooks read it on stdin.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct OciState {
    /// The runtime-spec version of the bundle.
    pub oci_version: String,
    /// The container id.
    pub id: String,
    /// The live status.
    pub status: Status,
    /// The init's pid on the host (0 when there is none).
    #[serde(default)]
    pub pid: i32,
    /// The bundle directory.
    pub bundle: PathBuf,
    /// The spec's annotations.
    #[serde(default, skip_serializing_if = "HashMap::is_empty")]
    pub annotations: HashMap<String, String>,
}

/// What k3rt persists in `ROOT/ID/state.json`.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct ContainerState {
    /// The runtime-spec version of the bundle.
    pub oci_version: String,
    /// The container id.
    pub id: String,
    /// Status when last written; the live status is derived from the process.
    pub status: Status,
    /// The init's pid on the host.
    pub pid: i32,
    /// Start time of `pid` (field 22 of /proc/PID/stat), so a recycled pid never reads as ours.
    #[serde(default)]
    pub pid_start_time: u64,
    /// The bundle directory.
    pub bundle: PathBuf,
    /// `root.path` resolved against the bundle.
    pub rootfs: PathBuf,
    /// Creation time, RFC 3339.
    pub created: String,
    /// The user that created the container.
    pub owner: String,
    /// The spec's annotations.
    #[serde(default, skip_serializing_if = "HashMap::is_empty")]
    pub annotations: HashMap<String, String>,
    /// Cgroup directories this container owns, one per hierarchy.
    #[serde(default)]
    pub cgroup_paths: Vec<PathBuf>,
    /// True when the container has its own pid namespace (kill reaches all its processes via init).
    #[serde(default)]
    pub own_pid_ns: bool,
    /// No mount namespace: the spec mounts live in the host's, under the rootfs.
    #[serde(default)]
    pub host_mounts: bool,
}

impl ContainerState {
    /// The runtime-spec view with a given live status.
    pub fn oci(&self, status: Status) -> OciState {
        OciState {
            oci_version: self.oci_version.clone(),
            id: self.id.clone(),
            status,
            pid: if status == Status::Stopped {
                0
            } else {
                self.pid
            },
            bundle: self.bundle.clone(),
            annotations: self.annotations.clone(),
        }
    }
}

/// Facts about the init process that decide the live status.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ProcessFacts {
    /// The pid exists, is not a zombie and has the recorded start time.
    pub alive: bool,
    /// The exec fifo still exists: `start` has not happened yet.
    pub fifo_present: bool,
    /// The freezer reports the cgroup frozen.
    pub frozen: bool,
}

/// Derives the live status from what was observed.
pub fn derive_status(facts: ProcessFacts) -> Status {
    match facts {
        ProcessFacts { alive: false, .. } => Status::Stopped,
        ProcessFacts { frozen: true, .. } => Status::Paused,
        ProcessFacts {
            fifo_present: true, ..
        } => Status::Created,
        _ => Status::Running,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn facts(alive: bool, fifo_present: bool, frozen: bool) -> ProcessFacts {
        ProcessFacts {
            alive,
            fifo_present,
            frozen,
        }
    }

    #[test]
    fn status_is_derived_from_the_process() {
        assert_eq!(derive_status(facts(false, true, true)), Status::Stopped);
        assert_eq!(derive_status(facts(true, true, false)), Status::Created);
        assert_eq!(derive_status(facts(true, false, false)), Status::Running);
        assert_eq!(derive_status(facts(true, false, true)), Status::Paused);
    }

    #[test]
    fn transitions() {
        use Status::*;
        assert!(Created.can_start() && !Running.can_start() && !Stopped.can_start());
        assert!(Created.can_kill() && Running.can_kill() && Paused.can_kill());
        assert!(!Stopped.can_kill());
        assert!(Stopped.can_delete() && Created.can_delete());
        assert!(!Running.can_delete() && !Paused.can_delete());
        assert!(Running.can_pause() && !Created.can_pause());
        assert!(Paused.can_resume() && !Running.can_resume());
    }

    #[test]
    fn oci_view_zeroes_pid_when_stopped() {
        let s = ContainerState {
            oci_version: "1.2.0".into(),
            id: "a".into(),
            status: Status::Running,
            pid: 42,
            pid_start_time: 7,
            bundle: "/b".into(),
            rootfs: "/b/rootfs".into(),
            created: "t".into(),
            owner: "root".into(),
            annotations: HashMap::new(),
            cgroup_paths: vec![],
            own_pid_ns: true,
            host_mounts: false,
        };
        assert_eq!(s.oci(Status::Stopped).pid, 0);
        let json = serde_json::to_string(&s.oci(Status::Running)).unwrap();
        assert!(json.contains("\"ociVersion\":\"1.2.0\""), "{json}");
        assert!(json.contains("\"status\":\"running\""), "{json}");
    }
}
