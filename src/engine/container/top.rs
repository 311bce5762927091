//! `top`: the processes of a running container as its own pid namespace sees
//! them, in docker's columns (UID PID PPID C STIME TTY TIME CMD). Read from
//! `/proc` for every pid of the container's cgroup; users are named from the
//! container's `/etc/passwd`.

use std::fs;

use serde::Serialize;

use crate::container::stats::cgroup_dir;
use crate::container::{load, ContainerError};
use crate::context::Engine;
use crate::db::container_state::Status;

/// One process of `top`.
#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct Process {
    /// The user's name in the container (its uid when the image has no name for it).
    pub user: String,
    /// The pid in the container's pid namespace.
    pub pid: i64,
    /// The parent's pid in the container (0: outside it).
    pub ppid: i64,
    /// The host pid.
    pub host_pid: i64,
    /// CPU use over the process' life, percent (ps's `C`).
    pub c: u64,
    /// Start, seconds since the epoch.
    pub started: i64,
    /// The controlling terminal (`pts/0`, `?`).
    pub tty: String,
    /// CPU time used, seconds.
    pub cpu_secs: u64,
    /// The command line (`[name]` when it has none).
    pub cmd: String,
}

/// The processes of `id`, by container pid.
pub fn top(ctx: &mut Engine, id: &str) -> Result<Vec<Process>, ContainerError> {
    let l = load(ctx, id)?;
    let init = l.state.pid.unwrap_or(0);
    if l.state.status != Status::Running || init <= 0 {
        return Err(ContainerError::State {
            id: id.to_string(),
            status: l.state.status.as_str(),
            hint: "container not running",
        });
    }
    let dir = cgroup_dir(init, "pids")
        .or_else(|| cgroup_dir(init, "memory"))
        .or_else(|| cgroup_dir(init, ""));
    let procs = dir
        .and_then(|d| fs::read_to_string(d.join("cgroup.procs")).ok())
        .unwrap_or_default();
    let mut pids: Vec<i64> = procs
        .lines()
        .filter_map(|l| l.trim().parse().ok())
        .collect();
    if pids.is_empty() {
        pids.push(init);
    }
    let passwd = fs::read_to_string(format!("/proc/{init}/root/etc/passwd")).unwrap_or_default();
    let clock = Clock::now();
    let mut out: Vec<Process> = pids
        .iter()
        .filter_map(|&p| process(p, &passwd, &clock))
        .collect();
    out.sort_by_key(|p| p.pid);
    Ok(out)
}

/// What turns `/proc` ticks into times.
struct Clock {
    ticks: u64,
    boot: i64,
    now: i64,
}

impl Clock {
    fn now() -> Clock {
        // SAFETY: sysconf has no preconditions.
        let ticks = u64::try_from(unsafe { libc::sysconf(libc::_SC_CLK_TCK) })
            .ok()
            .filter(|&t| t > 0)
            .unwrap_or(100);
        let boot = fs::read_to_string("/proc/stat")
            .ok()
            .and_then(|s| {
                s.lines()
                    .find_map(|l| l.strip_prefix("btime ")?.trim().parse().ok())
            })
            .unwrap_or(0);
        Clock {
            ticks,
            boot,
            now: crate::db::now(),
        }
    }
}

fn process(pid: i64, passwd: &str, clock: &Clock) -> Option<Process> {
    let status = fs::read_to_string(format!("/proc/{pid}/status")).ok()?;
    let stat = fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    let field = |k: &str| {
        status
            .lines()
            .find_map(|l| l.strip_prefix(k))
            .map(str::trim)
    };
    let ns_pid =
        |text: Option<&str>| -> Option<i64> { text?.split_whitespace().last()?.parse().ok() };
    let inner = ns_pid(field("NSpid:")).unwrap_or(pid);
    let host_ppid: i64 = field("PPid:")?.parse().ok()?;
    // the parent's pid as the container sees it (0 when the parent is outside)
    let ppid = fs::read_to_string(format!("/proc/{host_ppid}/status"))
        .ok()
        .and_then(|s| {
            let ns: Vec<&str> = s
                .lines()
                .find_map(|l| l.strip_prefix("NSpid:"))?
                .split_whitespace()
                .collect();
            let mine = field("NSpid:")?.split_whitespace().count();
            // same depth of namespaces: the parent is in the container
            (ns.len() == mine)
                .then(|| ns.last()?.parse().ok())
                .flatten()
        })
        .unwrap_or(0);
    let uid: u32 = field("Uid:")?.split_whitespace().next()?.parse().ok()?;
    // fields after the command's `(...)`: state is field 3
    let rest = &stat[stat.rfind(')')? + 2..];
    let f: Vec<&str> = rest.split_whitespace().collect();
    let num = |i: usize| {
        f.get(i - 3)
            .and_then(|x| x.parse::<u64>().ok())
            .unwrap_or(0)
    };
    let cpu_ticks = num(14) + num(15);
    let tty_nr = num(7);
    let started = clock.boot + i64::try_from(num(22) / clock.ticks).unwrap_or(0);
    let age = u64::try_from(clock.now - started).unwrap_or(0).max(1);
    let cpu_secs = cpu_ticks / clock.ticks;
    let cmdline = fs::read(format!("/proc/{pid}/cmdline")).unwrap_or_default();
    let cmd = if cmdline.is_empty() {
        format!("[{}]", field("Name:").unwrap_or(""))
    } else {
        cmdline
            .split(|&b| b == 0)
            .filter(|a| !a.is_empty())
            .map(|a| String::from_utf8_lossy(a).into_owned())
            .collect::<Vec<_>>()
            .join(" ")
    };
    Some(Process {
        user: user_name(passwd, uid),
        pid: inner,
        ppid,
        host_pid: pid,
        c: cpu_ticks * 100 / clock.ticks / age,
        started,
        tty: tty_name(tty_nr),
        cpu_secs,
        cmd,
    })
}

/// The name of `uid` in a passwd file, else the number.
pub fn user_name(passwd: &str, uid: u32) -> String {
    passwd
        .lines()
        .find_map(|l| {
            let f: Vec<&str> = l.split(':').collect();
            (f.len() > 2 && f[2].parse() == Ok(uid)).then(|| f[0].to_string())
        })
        .unwrap_or_else(|| uid.to_string())
}

/// `pts/N`, `ttyN` or `?` for a `tty_nr` of `/proc/PID/stat`.
pub fn tty_name(tty_nr: u64) -> String {
    let major = (tty_nr >> 8) & 0xfff;
    let minor = (tty_nr & 0xff) | ((tty_nr >> 12) & 0xfff00);
    match major {
        0 => "?".into(),
        136..=143 => format!("pts/{}", minor + (major - 136) * 256),
        4 if minor < 64 => format!("tty{minor}"),
        _ => "?".into(),
    }
}

/// ps's `TIME`: `HH:MM:SS`, `D-HH:MM:SS` past a day.
pub fn cpu_time(secs: u64) -> String {
    let (d, h, m, s) = (secs / 86_400, secs / 3600 % 24, secs / 60 % 60, secs % 60);
    if d > 0 {
        format!("{d}-{h:02}:{m:02}:{s:02}")
    } else {
        format!("{h:02}:{m:02}:{s:02}")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_ttys_and_times() {
        let pw = "root:x:0:0:root:/root:/bin/sh\nnobody:x:65534:65534::/:/bin/false\n";
        assert_eq!(user_name(pw, 0), "root");
        assert_eq!(user_name(pw, 65534), "nobody");
        assert_eq!(user_name(pw, 1000), "1000");
        assert_eq!(tty_name(0), "?");
        assert_eq!(tty_name(136 << 8), "pts/0");
        assert_eq!(tty_name((136 << 8) | 3), "pts/3");
        assert_eq!(tty_name((4 << 8) | 1), "tty1");
        assert_eq!(cpu_time(0), "00:00:00");
        assert_eq!(cpu_time(3723), "01:02:03");
        assert_eq!(cpu_time(90_000), "1-01:00:00");
    }
}
