//! The names of a user network's containers, one file per network
//! (`/run/k3/network/dns/<bridge>/hosts`, a line `hash ip name [alias...]`
//! per container), shared by every k3 root of the host as the bridge is:
//! written by the k3 that attaches or releases a container (under the
//! DNS lock, `dns/lock`), read by the network's responder at each query.

use std::fs::{self, File};
use std::io;
use std::net::Ipv4Addr;
use std::path::{Path, PathBuf};

/// One container on the network.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Entry {
    /// The container's hash (unique on the host).
    pub hash: String,
    /// Its address.
    pub ip: Ipv4Addr,
    /// The names it answers to, lowercase: its name, then its aliases.
    pub names: Vec<String>,
}

impl Entry {
    /// The entry of container `hash` at `ip`, named `name` and `aliases`
    /// (lowercase, each once).
    pub fn new(hash: &str, ip: Ipv4Addr, name: &str, aliases: &[String]) -> Entry {
        let mut names: Vec<String> = Vec::with_capacity(aliases.len() + 1);
        for n in std::iter::once(name).chain(aliases.iter().map(String::as_str)) {
            let n = n.to_ascii_lowercase();
            if !names.contains(&n) {
                names.push(n);
            }
        }
        Entry {
            hash: hash.to_string(),
            ip,
            names,
        }
    }
}

/// The records file of a network directory.
pub fn hosts_file(dir: &Path) -> PathBuf {
    dir.join("hosts")
}

/// The entries of the network directory `dir` (none when the file is
/// missing; lines that do not parse are skipped).
pub fn read(dir: &Path) -> Vec<Entry> {
    fs::read_to_string(hosts_file(dir))
        .map(|s| parse(&s))
        .unwrap_or_default()
}

fn parse(s: &str) -> Vec<Entry> {
    s.lines()
        .filter_map(|l| {
            let mut w = l.split_whitespace();
            let hash = w.next()?.to_string();
            let ip = w.next()?.parse().ok()?;
            let names: Vec<String> = w.map(str::to_ascii_lowercase).collect();
            (!names.is_empty()).then_some(Entry { hash, ip, names })
        })
        .collect()
}

fn render(entries: &[Entry]) -> String {
    entries
        .iter()
        .map(|e| format!("{} {} {}\n", e.hash, e.ip, e.names.join(" ")))
        .collect()
}

/// Rewrites the entries of `dir` (tmp + rename); none: the file goes.
pub fn write(dir: &Path, entries: &[Entry]) -> io::Result<()> {
    let f = hosts_file(dir);
    if entries.is_empty() {
        return match fs::remove_file(&f) {
            Err(e) if e.kind() != io::ErrorKind::NotFound => Err(e),
            _ => Ok(()),
        };
    }
    fs::create_dir_all(dir)?;
    let tmp = dir.join(format!("hosts.{}", std::process::id()));
    fs::write(&tmp, render(entries))?;
    fs::rename(&tmp, f)
}

/// The addresses of `name` (lowercase) among `entries`; `None` when no
/// container has that name.
pub fn lookup(entries: &[Entry], name: &str) -> Option<Vec<Ipv4Addr>> {
    let ips: Vec<Ipv4Addr> = entries
        .iter()
        .filter(|e| e.names.iter().any(|n| n == name))
        .map(|e| e.ip)
        .collect();
    (!ips.is_empty()).then_some(ips)
}

/// The names of the container at `ip` (its name first, then its aliases);
/// `None` when no container has that address.
pub fn names_of(entries: &[Entry], ip: Ipv4Addr) -> Option<Vec<String>> {
    let names: Vec<String> = entries
        .iter()
        .filter(|e| e.ip == ip)
        .flat_map(|e| e.names.iter().cloned())
        .collect();
    (!names.is_empty()).then_some(names)
}

/// The DNS lock (`base/lock`), held while records or a responder's pid
/// file change; released when dropped.
#[derive(Debug)]
pub struct DnsLock(#[allow(dead_code)] File);

/// Takes the DNS lock of `base` (blocking).
pub fn lock(base: &Path) -> io::Result<DnsLock> {
    fs::create_dir_all(base)?;
    let f = File::options()
        .create(true)
        .truncate(false)
        .write(true)
        .open(base.join("lock"))?;
    // SAFETY: a valid fd; flock blocks until granted.
    if unsafe { libc::flock(std::os::fd::AsRawFd::as_raw_fd(&f), libc::LOCK_EX) } < 0 {
        return Err(io::Error::last_os_error());
    }
    Ok(DnsLock(f))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn entries_round_trip_and_lookup() {
        let d = tempfile::tempdir().unwrap();
        let dir = d.path().join("net1");
        assert!(read(&dir).is_empty());
        let a = Entry {
            hash: "aaaa".into(),
            ip: Ipv4Addr::new(10, 1, 0, 2),
            names: vec!["web".into()],
        };
        let b = Entry {
            hash: "bbbb".into(),
            ip: Ipv4Addr::new(10, 1, 0, 3),
            names: vec!["db".into(), "web".into()],
        };
        write(&dir, &[a.clone(), b.clone()]).unwrap();
        assert_eq!(read(&dir), vec![a.clone(), b.clone()]);
        let all = read(&dir);
        assert_eq!(lookup(&all, "db"), Some(vec![b.ip]));
        assert_eq!(lookup(&all, "web"), Some(vec![a.ip, b.ip]));
        assert_eq!(lookup(&all, "nobody"), None);
        assert_eq!(names_of(&all, b.ip), Some(vec!["db".into(), "web".into()]));
        assert_eq!(names_of(&all, Ipv4Addr::new(10, 1, 0, 9)), None);
        let c = Entry::new(
            "cccc",
            Ipv4Addr::new(10, 1, 0, 4),
            "App",
            &["Cache".into(), "app".into()],
        );
        assert_eq!(c.names, vec!["app", "cache"]);
        assert!(parse("junk\nh 1.2.3 x\nh 1.2.3.4\n").is_empty());
        write(&dir, &[]).unwrap();
        assert!(!hosts_file(&dir).exists());
        write(&dir, &[]).unwrap();
        drop(lock(d.path()).unwrap());
    }
}
