//! Processes the engine watches without being their parent (a container's
//! init, its monitor), read from `/proc/PID/stat`.

use std::fs;

use k3_oci::proc::ProcStat;

/// The stat line of `pid`, parsed; `None` when there is no such process.
pub fn stat(pid: i64) -> Option<ProcStat> {
    if pid <= 0 {
        return None;
    }
    ProcStat::parse(&fs::read_to_string(format!("/proc/{pid}/stat")).ok()?)
}

/// Whether `pid` is a live process: it exists and is not a zombie. A dead
/// process stays in `/proc` until its parent reaps it, which for an orphan
/// (its monitor killed, the daemon crashed) is an init that may take
/// seconds.
pub fn pid_running(pid: i64) -> bool {
    stat(pid).is_some_and(|s| s.is_live())
}

/// The start time of `pid` (`/proc/PID/stat` field 22, clock ticks since boot).
pub fn pid_start(pid: i64) -> Option<i64> {
    stat(pid).and_then(|s| i64::try_from(s.start_time).ok())
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::path::Path;
    use std::time::{Duration, Instant};

    #[test]
    fn a_zombie_is_not_running() {
        assert!(pid_running(i64::from(std::process::id())));
        assert!(!pid_running(0));
        let mut child = std::process::Command::new("true").spawn().unwrap();
        let pid = i64::from(child.id());
        // Exited but not reaped yet: still in /proc, as state Z.
        let end = Instant::now() + Duration::from_secs(5);
        while pid_running(pid) && Instant::now() < end {
            std::thread::sleep(Duration::from_millis(5));
        }
        assert!(Path::new(&format!("/proc/{pid}")).exists(), "reaped early");
        assert!(!pid_running(pid));
        child.wait().unwrap();
        assert!(!pid_running(pid));
    }

    #[test]
    fn the_start_time_names_this_process() {
        let me = i64::from(std::process::id());
        let start = pid_start(me).unwrap();
        assert!(start > 0);
        assert_eq!(pid_start(me), Some(start));
        assert_eq!(pid_start(0), None);
        assert_eq!(pid_start(-1), None);
    }
}
