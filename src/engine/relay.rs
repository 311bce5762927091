//! The relay between the caller's terminal and a container: one poll loop for
//! the standalone attach (the monitor's socket), the daemon's attach stream
//! (`k3 attach`/`k3 run` through `k3 serve`) and an exec's pty. What differs
//! between them (how output is decoded, how input and its end are sent, how a
//! resize is applied, what a closed connection means) is a [`Peer`]; the signal
//! proxy of a foreground run is [`forward_signals`], its delivery a closure.

use std::io::Write;
use std::os::fd::{AsFd, AsRawFd, BorrowedFd};

use nix::poll::{poll, PollFd, PollFlags, PollTimeout};
use nix::sys::signal::{SigSet, Signal};

use crate::console;
use crate::detach::Matcher;

/// The container's side of a relay.
pub trait Peer: Sized {
    /// How a relay ended, as its caller tells it.
    type End;
    /// The detach keys that end the relay, as a matcher of typed input
    /// (`None`: no detaching, as without a pty or with `--detach-keys ""`).
    fn detach_keys(&self) -> Option<Matcher>;
    /// The connection, polled for the container's output.
    fn fd(&self) -> BorrowedFd<'_>;
    /// Reads the container's output (0: the connection closed).
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize>;
    /// Writes the bytes read to `out` and `err`; an end when they tell one
    /// (the container's exit code).
    fn output(
        &mut self,
        data: &[u8],
        out: &mut dyn Write,
        err: &mut dyn Write,
    ) -> Option<Self::End>;
    /// What is due before the first poll, once SIGWINCH has its signalfd (a
    /// resize meanwhile is not lost): output that came before the relay, a
    /// pty's first size; nothing by default.
    fn begin(&mut self, _out: &mut dyn Write, _err: &mut dyn Write) {}
    /// Sends typed input (never empty); an error ends the relay as
    /// [`Peer::closed`].
    fn send(&mut self, data: &[u8]) -> std::io::Result<()>;
    /// The caller's input ended: so does the container's.
    fn input_ended(&mut self);
    /// Sets the container's pty to the size of the caller's terminal `term`.
    fn resize(&mut self, term: BorrowedFd<'_>);
    /// The connection closed (or failed) without an end of its own.
    fn closed(&mut self) -> Self::End;
    /// The caller typed the detach keys.
    fn detached(&mut self) -> Self::End;

    /// [`relay`] of this peer, which it ends.
    fn relay(
        mut self,
        input: Option<BorrowedFd<'_>>,
        term: Option<BorrowedFd<'_>>,
        out: &mut dyn Write,
        err: &mut dyn Write,
    ) -> Self::End {
        relay(&mut self, input, term, out, err)
    }
}

/// Relays until `peer` ends (or the detach keys, when it has them): `input`
/// (when given) to the container, its output to `out` and `err`, SIGWINCH
/// (when `term` is given) as the size of `term`.
pub fn relay<P: Peer>(
    peer: &mut P,
    input: Option<BorrowedFd<'_>>,
    term: Option<BorrowedFd<'_>>,
    out: &mut dyn Write,
    err: &mut dyn Write,
) -> P::End {
    let winch = term.and_then(|_| console::winch_fd());
    let mut input = input;
    let mut keys = peer.detach_keys();
    peer.begin(out, err);
    loop {
        let mut fds = vec![PollFd::new(peer.fd(), PollFlags::POLLIN)];
        if let Some(i) = input {
            fds.push(PollFd::new(i, PollFlags::POLLIN));
        }
        if let Some(w) = &winch {
            fds.push(PollFd::new(w.as_fd(), PollFlags::POLLIN));
        }
        if poll(&mut fds, PollTimeout::NONE).is_err() {
            continue;
        }
        let ready: Vec<bool> = fds
            .iter()
            .map(|f| f.revents().is_some_and(|r| !r.is_empty()))
            .collect();
        drop(fds);
        if ready[0] {
            let mut chunk = [0u8; 16384];
            match peer.read(&mut chunk) {
                Ok(0) | Err(_) => return peer.closed(),
                Ok(n) => {
                    if let Some(end) = peer.output(&chunk[..n], out, err) {
                        return end;
                    }
                }
            }
        }
        // A resize before the typed input that came with it: a command typed
        // right after the window changed sees the new size.
        if let (Some(w), Some(t)) = (&winch, term) {
            if ready
                .get(1 + usize::from(input.is_some()))
                .copied()
                .unwrap_or(false)
            {
                let _ = w.read_signal();
                peer.resize(t);
            }
        }
        if let (Some(i), true) = (input, ready.get(1).copied().unwrap_or(false)) {
            let mut chunk = [0u8; 16384];
            match console::read_some(i.as_raw_fd(), &mut chunk) {
                Ok(0) | Err(_) => {
                    peer.input_ended();
                    input = None;
                }
                Ok(n) => {
                    let (data, detach) = match &mut keys {
                        Some(k) => k.feed(&chunk[..n]),
                        None => (chunk[..n].to_vec(), false),
                    };
                    if !data.is_empty() && peer.send(&data).is_err() {
                        return peer.closed();
                    }
                    if detach {
                        return peer.detached();
                    }
                }
            }
        }
    }
}

/// Like docker's sig-proxy: SIGINT, SIGTERM, SIGHUP, SIGQUIT and SIGUSR1/2
/// sent to a foreground `k3 run` (or `k3 start -a`) go to the container
/// through `deliver`, from a thread that waits for them (they are blocked
/// everywhere else).
pub fn forward_signals(mut deliver: impl FnMut(Signal) + Send + 'static) {
    let mut set = SigSet::empty();
    for s in [
        Signal::SIGINT,
        Signal::SIGTERM,
        Signal::SIGHUP,
        Signal::SIGQUIT,
        Signal::SIGUSR1,
        Signal::SIGUSR2,
    ] {
        set.add(s);
    }
    if set.thread_block().is_err() {
        return;
    }
    // SIGWINCH is for the relay's signalfd alone: blocked before the thread
    // starts, or the kernel may hand it to that thread, which drops it (a
    // resize lost now and then).
    console::block_winch();
    std::thread::spawn(move || {
        while let Ok(sig) = set.wait() {
            deliver(sig);
        }
    });
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::Read;
    use std::os::unix::net::UnixStream;

    /// A peer over one end of a socket pair that records what the loop asks.
    struct Fake {
        conn: UnixStream,
        /// The container's end, dropped when the input ends (the loop then
        /// sees the connection close).
        other: Option<UnixStream>,
        keys: Option<Matcher>,
        sent: Vec<u8>,
        events: Vec<&'static str>,
    }

    impl Peer for Fake {
        type End = &'static str;
        fn detach_keys(&self) -> Option<Matcher> {
            self.keys.clone()
        }
        fn fd(&self) -> BorrowedFd<'_> {
            self.conn.as_fd()
        }
        fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
            self.conn.read(buf)
        }
        fn begin(&mut self, out: &mut dyn Write, _err: &mut dyn Write) {
            let _ = out.write_all(b"early ");
        }
        fn output(
            &mut self,
            data: &[u8],
            out: &mut dyn Write,
            _err: &mut dyn Write,
        ) -> Option<&'static str> {
            let _ = out.write_all(data);
            data.ends_with(b"EXIT").then_some("exited")
        }
        fn send(&mut self, data: &[u8]) -> std::io::Result<()> {
            self.sent.extend_from_slice(data);
            self.events.push("send");
            Ok(())
        }
        fn input_ended(&mut self) {
            self.events.push("input ended");
            self.other = None;
        }
        fn resize(&mut self, _term: BorrowedFd<'_>) {
            self.events.push("resize");
        }
        fn closed(&mut self) -> &'static str {
            "closed"
        }
        fn detached(&mut self) -> &'static str {
            "detached"
        }
    }

    fn fake(keys: Option<Matcher>) -> (Fake, UnixStream) {
        let (conn, other) = UnixStream::pair().unwrap();
        let peer = Fake {
            conn,
            other: Some(other.try_clone().unwrap()),
            keys,
            sent: Vec::new(),
            events: Vec::new(),
        };
        (peer, other)
    }

    /// A pipe holding `data`, its write end closed: input that then ends.
    fn input(data: &[u8]) -> std::os::fd::OwnedFd {
        let (r, w) = nix::unistd::pipe().unwrap();
        nix::unistd::write(&w, data).unwrap();
        r
    }

    #[test]
    fn output_until_the_peer_tells_the_end() {
        let (mut peer, mut other) = fake(None);
        other.write_all(b"hello EXIT").unwrap();
        let (mut out, mut err) = (Vec::new(), Vec::new());
        assert_eq!(relay(&mut peer, None, None, &mut out, &mut err), "exited");
        assert_eq!(out, b"early hello EXIT");
        assert!(err.is_empty());
    }

    /// Input read as it was written, one read a record (as keys typed on a
    /// terminal come one at a time); its end after the last.
    fn typed(records: &[&[u8]]) -> std::os::fd::OwnedFd {
        use nix::sys::socket::{socketpair, AddressFamily, SockFlag, SockType};
        let (r, w) = socketpair(
            AddressFamily::Unix,
            SockType::SeqPacket,
            None,
            SockFlag::empty(),
        )
        .unwrap();
        for rec in records {
            nix::unistd::write(&w, rec).unwrap();
        }
        r
    }

    #[test]
    fn detach_keys_end_the_relay_after_the_input_before_them() {
        let keys = crate::detach::Keys::parse("ctrl-a,x").unwrap();
        let (mut peer, _other) = fake(keys.matcher());
        let i = typed(&[b"ab", b"\x01", b"y", b"\x01", b"x", b"cd"]);
        let (mut out, mut err) = (Vec::new(), Vec::new());
        assert_eq!(
            relay(&mut peer, Some(i.as_fd()), None, &mut out, &mut err),
            "detached"
        );
        // the partial sequence went on with the key that broke it
        assert_eq!(peer.sent, b"ab\x01y");
    }

    #[test]
    fn keys_in_one_read_are_input() {
        let (mut peer, other) = fake(Some(Matcher::default()));
        drop(other);
        let i = input(b"ab\x10\x11cd");
        let (mut out, mut err) = (Vec::new(), Vec::new());
        assert_eq!(
            relay(&mut peer, Some(i.as_fd()), None, &mut out, &mut err),
            "closed"
        );
        assert_eq!(peer.sent, b"ab\x10\x11cd");
    }

    #[test]
    fn without_keys_input_passes_whole_then_ends_then_the_connection_closes() {
        let (mut peer, other) = fake(None);
        drop(other);
        let i = input(b"ab\x10\x11cd");
        let (mut out, mut err) = (Vec::new(), Vec::new());
        assert_eq!(
            relay(&mut peer, Some(i.as_fd()), None, &mut out, &mut err),
            "closed"
        );
        assert_eq!(peer.sent, b"ab\x10\x11cd");
        assert_eq!(peer.events, ["send", "input ended"]);
    }

    #[test]
    fn a_resize_goes_before_the_input_that_came_with_it() {
        let (mut peer, other) = fake(None);
        drop(other);
        let i = input(b"ls\n");
        // a SIGWINCH pending for this thread when the relay starts
        console::block_winch();
        nix::sys::pthread::pthread_kill(nix::sys::pthread::pthread_self(), Signal::SIGWINCH)
            .unwrap();
        let (mut out, mut err) = (Vec::new(), Vec::new());
        let term = i.as_fd();
        assert_eq!(
            relay(&mut peer, Some(i.as_fd()), Some(term), &mut out, &mut err),
            "closed"
        );
        assert_eq!(peer.events, ["resize", "send", "input ended"]);
    }
}
