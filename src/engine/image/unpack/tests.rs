//! Unpack tests with tars (benign and malicious) built in memory.

use super::*;
use std::os::unix::fs::{FileTypeExt, MetadataExt};
use std::path::PathBuf;

enum E<'a> {
    Dir(&'a str, u32),
    File(&'a str, &'a [u8], u32),
    Sym(&'a str, &'a str),
    Hard(&'a str, &'a str),
    Fifo(&'a str),
}

/// A tar with raw names (no sanitizing by the `tar` builder).
fn tar_of(entries: &[E<'_>]) -> Vec<u8> {
    let mut b = tar::Builder::new(Vec::new());
    for e in entries {
        let mut h = tar::Header::new_gnu();
        h.set_mtime(1_600_000_000);
        h.set_uid(0);
        h.set_gid(0);
        let (name, link, data, kind, mode): (&str, &str, &[u8], tar::EntryType, u32) = match e {
            E::Dir(n, m) => (n, "", b"", tar::EntryType::Directory, *m),
            E::File(n, d, m) => (n, "", d, tar::EntryType::Regular, *m),
            E::Sym(n, t) => (n, t, b"", tar::EntryType::Symlink, 0o777),
            E::Hard(n, t) => (n, t, b"", tar::EntryType::Link, 0o644),
            E::Fifo(n) => (n, "", b"", tar::EntryType::Fifo, 0o600),
        };
        h.set_entry_type(kind);
        h.set_mode(mode);
        h.set_size(data.len() as u64);
        h.as_old_mut().name[..name.len()].copy_from_slice(name.as_bytes());
        h.as_old_mut().linkname[..link.len()].copy_from_slice(link.as_bytes());
        h.set_cksum();
        b.append(&h, data).unwrap();
    }
    b.into_inner().unwrap()
}

struct Fixture {
    _dir: tempfile::TempDir,
    root: PathBuf,
    outside: PathBuf,
}

fn fixture() -> Fixture {
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path().join("root");
    let outside = dir.path().join("outside");
    std::fs::create_dir(&root).unwrap();
    std::fs::create_dir(&outside).unwrap();
    std::fs::write(outside.join("secret"), "keep").unwrap();
    Fixture {
        _dir: dir,
        root,
        outside,
    }
}

fn run(f: &Fixture, entries: &[E<'_>]) -> Result<UnpackStats, UnpackError> {
    unpack(&tar_of(entries)[..], &f.root, UnpackOptions::default())
}

fn assert_outside_untouched(f: &Fixture) {
    let names: Vec<_> = std::fs::read_dir(&f.outside)
        .unwrap()
        .map(|e| e.unwrap().file_name())
        .collect();
    assert_eq!(names, vec![OsString::from("secret")]);
    assert_eq!(
        std::fs::read_to_string(f.outside.join("secret")).unwrap(),
        "keep"
    );
}

#[test]
fn unpacks_files_dirs_links_and_metadata() {
    let f = fixture();
    let stats = run(
        &f,
        &[
            E::Dir("./", 0o755),
            E::Dir("bin/", 0o750),
            E::File("bin/tool", b"#!/bin/sh\n", 0o4755),
            E::Sym("bin/sh", "tool"),
            E::Hard("bin/tool2", "bin/tool"),
            E::File("nodir/deep/file", b"x", 0o600),
            E::Fifo("fifo"),
            E::File("/abs", b"inside", 0o644),
        ],
    )
    .unwrap();
    assert_eq!(stats.entries, 8);
    let tool = std::fs::metadata(f.root.join("bin/tool")).unwrap();
    assert_eq!(tool.mode() & 0o7777, 0o4755);
    assert_eq!(tool.mtime(), 1_600_000_000);
    assert_eq!(tool.nlink(), 2);
    let bin = std::fs::metadata(f.root.join("bin")).unwrap();
    assert_eq!(bin.mode() & 0o7777, 0o750);
    assert_eq!(
        bin.mtime(),
        1_600_000_000,
        "dir mtime set after its children"
    );
    assert_eq!(
        std::fs::read_link(f.root.join("bin/sh")).unwrap(),
        Path::new("tool")
    );
    assert_eq!(std::fs::read(f.root.join("nodir/deep/file")).unwrap(), b"x");
    assert!(std::fs::symlink_metadata(f.root.join("fifo"))
        .unwrap()
        .file_type()
        .is_fifo());
    assert_eq!(std::fs::read(f.root.join("abs")).unwrap(), b"inside");
    assert_outside_untouched(&f);
}

#[test]
fn pax_xattrs_are_applied_and_overlay_ones_dropped() {
    let f = fixture();
    let mut b = tar::Builder::new(Vec::new());
    b.append_pax_extensions([
        ("SCHILY.xattr.user.k3", &b"v"[..]),
        ("SCHILY.xattr.trusted.overlay.redirect", &b"/x"[..]),
    ])
    .unwrap();
    let mut h = tar::Header::new_gnu();
    h.set_path("f").unwrap();
    h.set_uid(0);
    h.set_gid(0);
    h.set_mtime(0);
    h.set_size(1);
    h.set_mode(0o644);
    h.set_cksum();
    b.append(&h, &b"z"[..]).unwrap();
    let data = b.into_inner().unwrap();
    unpack(&data[..], &f.root, UnpackOptions::default()).unwrap();
    let path = cstr(f.root.join("f").as_os_str()).unwrap();
    let mut buf = [0u8; 8];
    // SAFETY: valid path, name and buffer.
    let n = unsafe {
        libc::getxattr(
            path.as_ptr(),
            c"user.k3".as_ptr(),
            buf.as_mut_ptr().cast(),
            buf.len(),
        )
    };
    assert_eq!(n, 1, "user.k3 xattr missing");
    assert_eq!(buf[0], b'v');
    // SAFETY: as above.
    let n = unsafe {
        libc::getxattr(
            path.as_ptr(),
            c"trusted.overlay.redirect".as_ptr(),
            buf.as_mut_ptr().cast(),
            buf.len(),
        )
    };
    assert!(n < 0);
}

#[test]
fn whiteouts_become_overlay_form() {
    // SAFETY: geteuid has no preconditions.
    if unsafe { libc::geteuid() } != 0 {
        eprintln!("whiteout devices and trusted xattrs need root; skipped");
        return;
    }
    let f = fixture();
    run(
        &f,
        &[
            E::Dir("etc/", 0o755),
            E::File("etc/.wh.gone", b"", 0o644),
            E::Dir("opq/", 0o755),
            E::File("opq/.wh..wh..opq", b"", 0o644),
            E::File("opq/new", b"n", 0o644),
            E::File(".wh..wh.plnk", b"", 0o644),
        ],
    )
    .unwrap();
    let wh = std::fs::symlink_metadata(f.root.join("etc/gone")).unwrap();
    assert!(wh.file_type().is_char_device());
    assert_eq!(wh.rdev(), 0);
    assert!(!f.root.join("etc/.wh.gone").exists());
    assert!(!f.root.join(".wh..wh.plnk").exists());
    let opq = cstr(f.root.join("opq").as_os_str()).unwrap();
    let mut buf = [0u8; 4];
    // SAFETY: valid path, name and buffer.
    let n = unsafe {
        libc::getxattr(
            opq.as_ptr(),
            c"trusted.overlay.opaque".as_ptr(),
            buf.as_mut_ptr().cast(),
            4,
        )
    };
    assert_eq!(n, 1);
    assert_eq!(buf[0], b'y');
    assert!(!f.root.join("opq/.wh..wh..opq").exists());
    assert!(f.root.join("opq/new").exists());
}

#[test]
fn rejects_dotdot_traversal() {
    let f = fixture();
    let err = run(&f, &[E::File("../outside/evil", b"x", 0o644)]).unwrap_err();
    assert!(matches!(err, UnpackError::Traversal(_)), "{err}");
    let err = run(&f, &[E::File("a/../../outside/evil", b"x", 0o644)]).unwrap_err();
    assert!(matches!(err, UnpackError::Traversal(_)), "{err}");
    assert_outside_untouched(&f);
}

#[test]
fn rejects_write_through_absolute_symlink() {
    let f = fixture();
    let target = f.outside.to_str().unwrap();
    let err = run(
        &f,
        &[E::Sym("link", target), E::File("link/evil", b"x", 0o644)],
    )
    .unwrap_err();
    assert!(matches!(err, UnpackError::Escape(_)), "{err}");
    assert_outside_untouched(&f);
}

#[test]
fn rejects_write_through_relative_symlink() {
    let f = fixture();
    let err = run(
        &f,
        &[
            E::Dir("d/", 0o755),
            E::Sym("d/up", "../../outside"),
            E::File("d/up/evil", b"x", 0o644),
        ],
    )
    .unwrap_err();
    assert!(matches!(err, UnpackError::Escape(_)), "{err}");
    assert_outside_untouched(&f);
}

#[test]
fn replaces_symlink_instead_of_writing_through_it() {
    let f = fixture();
    let secret = f.outside.join("secret");
    run(
        &f,
        &[
            E::Sym("s", secret.to_str().unwrap()),
            E::File("s", b"overwrite", 0o644),
        ],
    )
    .unwrap();
    assert_eq!(std::fs::read(f.root.join("s")).unwrap(), b"overwrite");
    assert!(!std::fs::symlink_metadata(f.root.join("s"))
        .unwrap()
        .file_type()
        .is_symlink());
    assert_outside_untouched(&f);
}

#[test]
fn rejects_hardlink_escapes() {
    let f = fixture();
    let err = run(&f, &[E::Hard("h", "../outside/secret")]).unwrap_err();
    assert!(matches!(err, UnpackError::LinkEscape { .. }), "{err}");
    let abs = f.outside.join("secret");
    let err = run(
        &f,
        &[
            E::Sym("s", f.outside.to_str().unwrap()),
            E::Hard("h2", "s/secret"),
        ],
    )
    .unwrap_err();
    assert!(matches!(err, UnpackError::LinkEscape { .. }), "{err}");
    // An absolute target is looked up inside the snapshot, never outside.
    let err = run(&f, &[E::Hard("h3", abs.to_str().unwrap())]).unwrap_err();
    assert!(matches!(err, UnpackError::Io { .. }), "{err}");
    assert_eq!(std::fs::metadata(&abs).unwrap().nlink(), 1);
    assert_outside_untouched(&f);
}

#[test]
fn truncated_tar_is_an_error() {
    let f = fixture();
    let data = tar_of(&[E::File("big", &[7u8; 5000], 0o644)]);
    let err = unpack(&data[..1024], &f.root, UnpackOptions::default()).unwrap_err();
    assert!(matches!(err, UnpackError::Tar(_)), "{err}");
}

/// One file entry owned by `uid` in its header, with `pax` records before it.
fn owned_tar(uid: u64, pax: &[(&str, &[u8])]) -> Vec<u8> {
    let mut b = tar::Builder::new(Vec::new());
    if !pax.is_empty() {
        b.append_pax_extensions(pax.iter().copied()).unwrap();
    }
    let mut h = tar::Header::new_gnu();
    h.set_path("f").unwrap();
    h.set_uid(uid);
    h.set_gid(0);
    h.set_mtime(0);
    h.set_size(1);
    h.set_mode(0o644);
    h.set_cksum();
    b.append(&h, &b"z"[..]).unwrap();
    b.into_inner().unwrap()
}

#[test]
fn owner_ids_beyond_32_bits_are_refused_not_wrapped_to_root() {
    for (uid, pax) in [
        (1u64 << 32, &[][..]),
        (1000, &[("uid", &b"4294967296"[..])][..]),
        (1000, &[("gid", &b"-1"[..])][..]),
    ] {
        let f = fixture();
        let err = unpack(&owned_tar(uid, pax)[..], &f.root, UnpackOptions::default()).unwrap_err();
        assert!(matches!(err, UnpackError::Owner { .. }), "{err}");
        assert!(err.to_string().contains("`f`"), "{err}");
        assert!(!f.root.join("f").exists());
    }
}
