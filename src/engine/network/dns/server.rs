//! The responder of one user network (`k3 __dns DIR GATEWAY[/PREFIX]`): UDP
//! and TCP on the gateway's port 53, answering from the network's records
//! ([`records`](super::records)) — names and aliases (A), and the reverse
//! names of their addresses (PTR; NXDOMAIN for another address of the
//! subnet) — and forwarding other dotted names to the host's resolvers
//! (`/etc/resolv.conf`). It detaches (fork, `setsid`),
//! keeps no descriptor of its caller, reports `ok` (or the error) on the
//! stdout its caller reads, and exits by itself once the network has no
//! container left: no daemon keeps it, as aardvark-dns under podman.

use std::fs::{self, File};
use std::io::{self, Read, Write};
use std::net::{Ipv4Addr, SocketAddr, TcpListener, TcpStream, UdpSocket};
use std::os::fd::{AsFd, AsRawFd};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use nix::poll::{poll, PollFd, PollFlags, PollTimeout};
use nix::unistd::{fork, setsid, ForkResult};

use super::packet::{self, Answer, Rcode, Rdata, Refused};
use super::records;

/// The pid file of a network directory (the running responder).
pub fn pid_file(dir: &Path) -> PathBuf {
    dir.join("pid")
}

/// Forwarded queries in flight at most (each on a thread of its own).
const MAX_FORWARDS: usize = 64;

/// How long an upstream resolver or a TCP client is waited for.
const WAIT: Duration = Duration::from_secs(2);

/// `k3 __dns DIR GATEWAY[/PREFIX]`.
pub fn main(args: &[String]) -> ! {
    crate::monitor::close_inherited();
    let code = match (args.first(), args.get(1).and_then(|g| gateway_arg(g))) {
        (Some(dir), Some(net)) => detach_and_serve(Path::new(dir), net),
        _ => {
            println!("error: usage: k3 __dns DIR GATEWAY[/PREFIX]");
            2
        }
    };
    std::process::exit(code)
}

/// `GATEWAY[/PREFIX]`: the gateway and the subnet's prefix length (32, the
/// gateway alone, when not given).
fn gateway_arg(s: &str) -> Option<(Ipv4Addr, u8)> {
    match s.split_once('/') {
        None => Some((s.parse().ok()?, 32)),
        Some((g, p)) => Some((g.parse().ok()?, p.parse().ok().filter(|p| *p <= 32)?)),
    }
}

/// Whether `ip` is in the subnet of `net` (gateway, prefix length).
fn in_subnet((gw, prefix): (Ipv4Addr, u8), ip: Ipv4Addr) -> bool {
    let mask = u32::MAX.checked_shl(32 - u32::from(prefix)).unwrap_or(0);
    u32::from(gw) & mask == u32::from(ip) & mask
}

fn detach_and_serve(dir: &Path, net: (Ipv4Addr, u8)) -> i32 {
    let gw = net.0;
    // SAFETY: called first thing in a single-threaded process.
    match unsafe { fork() } {
        Ok(ForkResult::Parent { .. }) => return 0,
        Ok(ForkResult::Child) => {}
        Err(e) => {
            println!("error: fork: {e}");
            return 1;
        }
    }
    let _ = setsid();
    log_to(dir);
    let (udp, tcp) = match bind(gw) {
        Ok(s) => s,
        Err(e) => {
            println!("error: cannot listen on `{gw}:53`: {e}");
            return 1;
        }
    };
    if let Err(e) = fs::write(pid_file(dir), format!("{}\n", std::process::id())) {
        println!("error: cannot write `{}`: {e}", pid_file(dir).display());
        return 1;
    }
    println!("ok");
    let _ = io::stdout().flush();
    to_null();
    serve(dir, net, udp, tcp);
    0
}

/// stderr into `DIR/log`.
fn log_to(dir: &Path) {
    if let Ok(f) = File::options()
        .create(true)
        .append(true)
        .open(dir.join("log"))
    {
        // SAFETY: dup2 onto our own stderr.
        unsafe { libc::dup2(f.as_raw_fd(), 2) };
    }
}

/// stdin and stdout on `/dev/null` (the caller's pipe closed).
fn to_null() {
    if let Ok(null) = File::options().read(true).write(true).open("/dev/null") {
        // SAFETY: dup2 onto our own stdin and stdout.
        unsafe {
            libc::dup2(null.as_raw_fd(), 0);
            libc::dup2(null.as_raw_fd(), 1);
        }
    }
}

/// The sockets on `gw:53`; a responder that just exited may still hold
/// them for a moment, so `EADDRINUSE` is retried for two seconds.
fn bind(gw: Ipv4Addr) -> io::Result<(UdpSocket, TcpListener)> {
    let end = Instant::now() + WAIT;
    loop {
        let r = UdpSocket::bind((gw, 53)).and_then(|u| Ok((u, TcpListener::bind((gw, 53))?)));
        match r {
            Err(e) if e.kind() == io::ErrorKind::AddrInUse && Instant::now() < end => {
                std::thread::sleep(Duration::from_millis(50));
            }
            r => return r,
        }
    }
}

fn serve(dir: &Path, net: (Ipv4Addr, u8), udp: UdpSocket, tcp: TcpListener) {
    let inflight = Arc::new(AtomicUsize::new(0));
    let mut checked = Instant::now();
    let mut buf = [0u8; 4096];
    loop {
        let (u, t) = {
            let mut fds = [
                PollFd::new(udp.as_fd(), PollFlags::POLLIN),
                PollFd::new(tcp.as_fd(), PollFlags::POLLIN),
            ];
            let _ = poll(&mut fds, PollTimeout::from(1000u16));
            let ready = |f: &PollFd| f.revents().is_some_and(|r| r.contains(PollFlags::POLLIN));
            (ready(&fds[0]), ready(&fds[1]))
        };
        if u {
            if let Ok((n, peer)) = udp.recv_from(&mut buf) {
                on_udp(dir, net, &udp, &buf[..n], peer, &inflight);
            }
        }
        if t {
            if let Ok((s, _)) = tcp.accept() {
                let d = dir.to_path_buf();
                std::thread::spawn(move || on_tcp(&d, net, s));
            }
        }
        if checked.elapsed() >= Duration::from_secs(1) {
            checked = Instant::now();
            if done(dir) {
                return;
            }
        }
    }
}

/// Whether the network has no container left; then the pid file (and an
/// empty log, and the directory) go, under the DNS lock, so a k3 attaching a
/// container meanwhile starts a new responder (whose bind waits for these
/// sockets to close).
fn done(dir: &Path) -> bool {
    let base = dir.parent().unwrap_or(dir);
    let Ok(_l) = records::lock(base) else {
        return false;
    };
    if !records::read(dir).is_empty() {
        return false;
    }
    let mine =
        fs::read_to_string(pid_file(dir)).is_ok_and(|p| p.trim() == std::process::id().to_string());
    if mine {
        let _ = fs::remove_file(pid_file(dir));
    }
    // nothing of the network left behind but a log with something in it
    let log = dir.join("log");
    if fs::metadata(&log).is_ok_and(|m| m.len() == 0) {
        let _ = fs::remove_file(&log);
    }
    let _ = fs::remove_dir(dir);
    true
}

/// What to send back for `msg` on the network `net` (gateway, prefix
/// length); `Forward` when the host's resolver must answer.
fn respond(dir: &Path, net: (Ipv4Addr, u8), msg: &[u8]) -> Option<Answer> {
    match packet::parse(msg) {
        Ok(q) => {
            let entries = records::read(dir);
            let (known, ours) = match packet::reverse_ip(&q.name) {
                Some(ip) => (
                    records::names_of(&entries, ip)
                        .map(|ns| ns.into_iter().map(Rdata::Ptr).collect::<Vec<_>>()),
                    in_subnet(net, ip),
                ),
                None => (
                    records::lookup(&entries, &q.name)
                        .map(|ips| ips.into_iter().map(Rdata::A).collect()),
                    false,
                ),
            };
            Some(packet::answer(&q, known.as_deref(), ours))
        }
        Err(Refused::Drop) => None,
        Err(Refused::Reply(id, flags, rcode)) => {
            Some(Answer::Reply(packet::error_reply(id, flags, rcode)))
        }
    }
}

fn on_udp(
    dir: &Path,
    (gw, prefix): (Ipv4Addr, u8),
    udp: &UdpSocket,
    msg: &[u8],
    peer: SocketAddr,
    inflight: &Arc<AtomicUsize>,
) {
    match respond(dir, (gw, prefix), msg) {
        Some(Answer::Reply(r)) => {
            let _ = udp.send_to(&r, peer);
        }
        Some(Answer::Forward) => {
            let (Ok(sock), msg) = (udp.try_clone(), msg.to_vec()) else {
                return;
            };
            if inflight.fetch_add(1, Ordering::SeqCst) >= MAX_FORWARDS {
                inflight.fetch_sub(1, Ordering::SeqCst);
                let _ = sock.send_to(&servfail(&msg), peer);
                return;
            }
            let n = Arc::clone(inflight);
            std::thread::spawn(move || {
                let _ = sock.send_to(&forward(&msg, gw), peer);
                n.fetch_sub(1, Ordering::SeqCst);
            });
        }
        None => {}
    }
}

fn on_tcp(dir: &Path, net: (Ipv4Addr, u8), mut s: TcpStream) {
    let _ = s.set_read_timeout(Some(WAIT));
    let mut len = [0u8; 2];
    if s.read_exact(&mut len).is_err() {
        return;
    }
    let mut msg = vec![0u8; u16::from_be_bytes(len) as usize];
    if s.read_exact(&mut msg).is_err() {
        return;
    }
    let reply = match respond(dir, net, &msg) {
        Some(Answer::Reply(r)) => r,
        Some(Answer::Forward) => forward(&msg, net.0),
        None => return,
    };
    let n = u16::try_from(reply.len()).unwrap_or(u16::MAX);
    let _ = s.write_all(&n.to_be_bytes());
    let _ = s.write_all(&reply[..n as usize]);
}

fn servfail(msg: &[u8]) -> Vec<u8> {
    match packet::parse(msg) {
        Ok(q) => packet::reply(&q, Rcode::ServFail, &[]),
        Err(_) => Vec::new(),
    }
}

/// The host's IPv4 resolvers, this responder excepted.
pub fn upstreams(resolv_conf: &str, gw: Ipv4Addr) -> Vec<Ipv4Addr> {
    resolv_conf
        .lines()
        .filter_map(|l| {
            let mut w = l.split_whitespace();
            (w.next() == Some("nameserver")).then(|| w.next()?.parse().ok())?
        })
        .filter(|ip| *ip != gw)
        .collect()
}

/// `msg` asked of the host's resolvers in turn; SERVFAIL when none answers.
fn forward(msg: &[u8], gw: Ipv4Addr) -> Vec<u8> {
    let conf = fs::read_to_string("/etc/resolv.conf").unwrap_or_default();
    for ns in upstreams(&conf, gw) {
        if let Some(r) = ask(msg, ns) {
            return r;
        }
    }
    servfail(msg)
}

fn ask(msg: &[u8], ns: Ipv4Addr) -> Option<Vec<u8>> {
    let s = UdpSocket::bind((Ipv4Addr::UNSPECIFIED, 0)).ok()?;
    s.set_read_timeout(Some(WAIT)).ok()?;
    s.connect((ns, 53)).ok()?;
    s.send(msg).ok()?;
    let mut buf = vec![0u8; 4096];
    let n = s.recv(&mut buf).ok()?;
    buf.truncate(n);
    // the reply to this query (same id)
    (buf.get(..2) == msg.get(..2)).then_some(buf)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn gateway_and_prefix() {
        let gw = Ipv4Addr::new(10, 9, 0, 1);
        assert_eq!(gateway_arg("10.9.0.1"), Some((gw, 32)));
        assert_eq!(gateway_arg("10.9.0.1/24"), Some((gw, 24)));
        assert_eq!(gateway_arg("10.9.0.1/33"), None);
        assert_eq!(gateway_arg("10.9.0/24"), None);
        assert!(in_subnet((gw, 24), Ipv4Addr::new(10, 9, 0, 200)));
        assert!(!in_subnet((gw, 24), Ipv4Addr::new(10, 9, 1, 2)));
        assert!(in_subnet((gw, 0), Ipv4Addr::new(1, 2, 3, 4)));
        assert!(!in_subnet((gw, 32), Ipv4Addr::new(10, 9, 0, 2)));
    }

    #[test]
    fn upstreams_skip_the_responder_and_ipv6() {
        let conf = "search lan\nnameserver 10.77.0.1\nnameserver ::1\nnameserver 10.255.255.53\n";
        assert_eq!(
            upstreams(conf, Ipv4Addr::new(10, 77, 0, 1)),
            vec![Ipv4Addr::new(10, 255, 255, 53)]
        );
    }

    #[test]
    fn answers_from_the_records_file() {
        let d = tempfile::tempdir().unwrap();
        let e = records::Entry {
            hash: "h".into(),
            ip: Ipv4Addr::new(10, 9, 0, 2),
            names: vec!["db".into()],
        };
        records::write(d.path(), &[e]).unwrap();
        let mut q = vec![
            0, 1, 1, 0, 0, 1, 0, 0, 0, 0, 0, 0, 2, b'D', b'b', 0, 0, 1, 0, 1,
        ];
        let net = (Ipv4Addr::new(10, 9, 0, 1), 24);
        let Some(Answer::Reply(r)) = respond(d.path(), net, &q) else {
            panic!("no reply")
        };
        assert_eq!(&r[r.len() - 4..], &[10, 9, 0, 2]);
        q[13] = b'x';
        let Some(Answer::Reply(r)) = respond(d.path(), net, &q) else {
            panic!("no reply")
        };
        assert_eq!(r[3] & 0xf, Rcode::NxDomain as u8);
        assert_eq!(respond(d.path(), net, &[1, 2, 3]), None);
        // PTR of its address: its name; another address of the subnet:
        // NXDOMAIN; an address elsewhere: the host's resolver
        let ptr = |name: &str| {
            let mut m = vec![0, 2, 1, 0, 0, 1, 0, 0, 0, 0, 0, 0];
            for l in name.split('.') {
                m.push(u8::try_from(l.len()).unwrap());
                m.extend_from_slice(l.as_bytes());
            }
            m.extend_from_slice(&[0, 0, 12, 0, 1]);
            respond(d.path(), net, &m).unwrap()
        };
        let Answer::Reply(r) = ptr("2.0.9.10.in-addr.arpa") else {
            panic!("forwarded")
        };
        assert_eq!(&r[r.len() - 4..], b"\x02db\0");
        let Answer::Reply(r) = ptr("3.0.9.10.in-addr.arpa") else {
            panic!("forwarded")
        };
        assert_eq!(r[3] & 0xf, Rcode::NxDomain as u8);
        assert_eq!(ptr("2.0.8.10.in-addr.arpa"), Answer::Forward);
    }
}
