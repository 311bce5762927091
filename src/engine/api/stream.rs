//! Docker's multiplexed attach stream (a container without a pty): each piece
//! of output is a frame of an 8-byte header, the stream (1 stdout, 2 stderr),
//! three zero bytes and the payload's length as a big-endian u32, then the
//! payload. A container with a pty sends its bytes unframed instead.

/// The frame stream number of stdout.
pub const STDOUT: u8 = 1;
/// The frame stream number of stderr.
pub const STDERR: u8 = 2;

/// The frames of `stream` carrying `payload`: one (pieces over 4 GiB are split),
/// none for an empty payload.
pub fn encode(stream: u8, payload: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(payload.len() + 8);
    for piece in payload.chunks(u32::MAX as usize) {
        out.extend_from_slice(&[stream, 0, 0, 0]);
        out.extend_from_slice(&u32::try_from(piece.len()).unwrap_or(u32::MAX).to_be_bytes());
        out.extend_from_slice(piece);
    }
    out
}

/// Splits a multiplexed stream as it arrives, in pieces of any size.
#[derive(Debug, Default)]
pub struct Demux {
    buf: Vec<u8>,
}

impl Demux {
    /// Adds `data`; returns the frames now complete, as (stream, payload).
    pub fn feed(&mut self, data: &[u8]) -> Vec<(u8, Vec<u8>)> {
        self.buf.extend_from_slice(data);
        let mut frames = Vec::new();
        let mut at = 0;
        while self.buf.len() - at >= 8 {
            let h = &self.buf[at..at + 8];
            let len = u32::from_be_bytes([h[4], h[5], h[6], h[7]]) as usize;
            if self.buf.len() - at - 8 < len {
                break;
            }
            frames.push((h[0], self.buf[at + 8..at + 8 + len].to_vec()));
            at += 8 + len;
        }
        self.buf.drain(..at);
        frames
    }

    /// Bytes of a frame not complete yet.
    pub fn pending(&self) -> usize {
        self.buf.len()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn header_layout() {
        assert_eq!(
            encode(STDOUT, b"hi\n"),
            b"\x01\x00\x00\x00\x00\x00\x00\x03hi\n"
        );
        assert_eq!(encode(STDERR, b""), b"");
        let big = vec![b'x'; 300];
        assert_eq!(
            &encode(STDERR, &big)[..8],
            b"\x02\x00\x00\x00\x00\x00\x01\x2c"
        );
    }

    #[test]
    fn demux_in_pieces_of_any_size() {
        let mut wire = encode(STDOUT, b"out\n");
        wire.extend(encode(STDERR, b"err\n"));
        wire.extend(b"\x01\0\0\0\0\0\0\0"); // an empty frame, as a peer may send
        for cut in 0..wire.len() {
            let mut d = Demux::default();
            let mut got = d.feed(&wire[..cut]);
            got.extend(d.feed(&wire[cut..]));
            assert_eq!(
                got,
                vec![
                    (STDOUT, b"out\n".to_vec()),
                    (STDERR, b"err\n".to_vec()),
                    (STDOUT, vec![])
                ]
            );
            assert_eq!(d.pending(), 0);
        }
        let mut d = Demux::default();
        assert!(d.feed(&wire[..10]).is_empty());
        assert_eq!(d.pending(), 10);
    }
}
