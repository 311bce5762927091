//! Hand-made tar archives for the layer fuzzer: raw ustar headers (so names
//! like `../x` that the tar crate's builder refuses can be written), and a
//! fix-up that keeps mutated headers' checksums valid (else the fuzzer would
//! only test the checksum check) and device numbers harmless (1:3, /dev/null).

use std::path::Path;

fn octal(field: &mut [u8], v: u64) {
    let s = format!("{:0w$o}\0", v, w = field.len() - 1);
    let b = s.as_bytes();
    let n = b.len().min(field.len());
    field[..n].copy_from_slice(&b[b.len() - n..]);
}

/// One raw entry: a header and its data padded to 512.
pub fn entry(name: &[u8], typ: u8, link: &[u8], mode: u64, data: &[u8]) -> Vec<u8> {
    let mut h = [0u8; 512];
    let n = name.len().min(100);
    h[..n].copy_from_slice(&name[..n]);
    octal(&mut h[100..108], mode);
    octal(&mut h[108..116], 0);
    octal(&mut h[116..124], 0);
    octal(&mut h[124..136], data.len() as u64);
    octal(&mut h[136..148], 1_600_000_000);
    h[156] = typ;
    let l = link.len().min(100);
    h[157..157 + l].copy_from_slice(&link[..l]);
    h[257..263].copy_from_slice(b"ustar\0");
    h[263..265].copy_from_slice(b"00");
    if typ == b'3' {
        octal(&mut h[329..337], 1);
        octal(&mut h[337..345], 3);
    }
    set_checksum(&mut h);
    let mut out = h.to_vec();
    out.extend_from_slice(data);
    out.resize(out.len().div_ceil(512) * 512, 0);
    out
}

fn set_checksum(h: &mut [u8]) {
    h[148..156].fill(b' ');
    let sum: u64 = h.iter().map(|&b| u64::from(b)).sum();
    octal(&mut h[148..155], sum);
    h[155] = b' ';
}

fn pax(records: &[(&str, &[u8])]) -> Vec<u8> {
    let mut body = Vec::new();
    for (k, v) in records {
        let rest = k.len() + v.len() + 3;
        let mut len = rest + 1;
        while format!("{len}").len() + rest != len {
            len += 1;
        }
        body.extend_from_slice(format!("{len} {k}=").as_bytes());
        body.extend_from_slice(v);
        body.push(b'\n');
    }
    body
}

fn end() -> Vec<u8> {
    vec![0; 1024]
}

/// Seeds with every entry type and the classic escapes.
pub fn seeds(outside: &Path) -> Vec<Vec<u8>> {
    let abs = outside.to_string_lossy().into_owned();
    let abs_b = abs.as_bytes();
    let f = |n: &str, d: &[u8]| entry(n.as_bytes(), b'0', b"", 0o644, d);
    let dir = |n: &str| entry(n.as_bytes(), b'5', b"", 0o755, b"");
    let sym = |n: &str, t: &[u8]| entry(n.as_bytes(), b'2', t, 0o777, b"");
    let hard = |n: &str, t: &[u8]| entry(n.as_bytes(), b'1', t, 0o644, b"");
    let cat = |parts: Vec<Vec<u8>>| -> Vec<u8> {
        let mut v: Vec<u8> = parts.concat();
        v.extend(end());
        v
    };
    let sentinel = format!("{abs}/sentinel");
    let long = "d/".repeat(60) + "f";
    vec![
        cat(vec![
            dir("etc/"),
            f("etc/hostname", b"h\n"),
            sym("etc/l", b"hostname"),
            hard("etc/h", b"etc/hostname"),
            entry(b"dev/null", b'3', b"", 0o666, b""),
            entry(b"fifo", b'6', b"", 0o644, b""),
        ]),
        cat(vec![f("../escape", b"x")]),
        cat(vec![f("a/../../escape", b"x")]),
        cat(vec![f("/abs", b"x")]),
        cat(vec![sym("link", abs_b), f("link/sentinel", b"pwned")]),
        cat(vec![sym("link", b"../outside"), f("link/new", b"pwned")]),
        cat(vec![sym("s", sentinel.as_bytes()), f("s", b"pwned")]),
        cat(vec![
            sym("s", sentinel.as_bytes()),
            hard("h", b"s"),
            f("h", b"pwned"),
        ]),
        cat(vec![hard("h", sentinel.as_bytes())]),
        cat(vec![hard("h", b"../outside/sentinel"), f("h", b"pwned")]),
        cat(vec![
            dir("d/"),
            f("d/.wh.x", b""),
            f("d/.wh..wh..opq", b""),
            f(".wh.", b""),
            f(".wh...", b""),
        ]),
        cat(vec![
            entry(
                b"PaxHeaders/x",
                b'x',
                b"",
                0o644,
                &pax(&[
                    ("path", long.as_bytes()),
                    ("SCHILY.xattr.user.k", b"v"),
                    ("SCHILY.xattr.trusted.overlay.opaque", b"y"),
                    ("mtime", b"99999999999999999999.5"),
                    ("uid", b"4294967296"),
                    ("size", b"-1"),
                ]),
            ),
            f("x", b"data"),
        ]),
        cat(vec![
            entry(
                b"././@LongLink",
                b'L',
                b"",
                0o644,
                format!("{long}\0").as_bytes(),
            ),
            f("short", b"long name"),
            entry(
                b"././@LongLink",
                b'K',
                b"",
                0o644,
                b"../../outside/sentinel\0",
            ),
            sym("k", b"x"),
        ]),
        cat(vec![
            dir("ro/"),
            f("ro/f", b"x"),
            entry(b"ro/", b'5', b"", 0o000, b""),
        ]),
        cat(vec![
            f("big", &[7u8; 3000]),
            f("big", b"smaller"),
            dir("big/"),
        ]),
    ]
}

/// Walks the archive as a reader would and fixes each header's checksum and
/// device numbers after a mutation.
pub fn fix_headers(mut b: Vec<u8>) -> Vec<u8> {
    let mut off = 0usize;
    while off + 512 <= b.len() {
        let h = &mut b[off..off + 512];
        if h.iter().all(|&c| c == 0) {
            off += 512;
            continue;
        }
        if h[156] == b'4' {
            h[156] = b'3';
        }
        if h[156] == b'3' {
            octal(&mut h[329..337], 1);
            octal(&mut h[337..345], 3);
        }
        set_checksum(h);
        let size_field = String::from_utf8_lossy(&h[124..136]).into_owned();
        let size = u64::from_str_radix(size_field.trim_matches(|c: char| c == '\0' || c == ' '), 8)
            .unwrap_or(0)
            .min(1 << 20) as usize;
        off += 512 + size.div_ceil(512) * 512;
    }
    b
}
