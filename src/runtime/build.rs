//! Builds k3rt-dmz, the tiny static program the container init execs last
//! (see process/dmz/dmz.c), for `include_bytes!`.

// a build script reports failure by panicking: cargo shows the message
#![allow(clippy::expect_used, clippy::panic)]

use std::path::PathBuf;
use std::process::Command;

fn main() {
    let src = "process/dmz/dmz.c";
    println!("cargo:rerun-if-changed={src}");
    let out = PathBuf::from(std::env::var("OUT_DIR").expect("OUT_DIR")).join("k3rt-dmz");
    let cc = std::env::var("CC").unwrap_or_else(|_| "cc".into());
    let status = Command::new(&cc)
        .args([
            "-static",
            "-nostdlib",
            "-nostartfiles",
            "-Os",
            "-fno-stack-protector",
            "-fno-pie",
            "-no-pie",
            "-s",
            "-o",
        ])
        .arg(&out)
        .arg(src)
        .status()
        .unwrap_or_else(|e| panic!("run `{cc}` to build k3rt-dmz: {e}"));
    assert!(status.success(), "building k3rt-dmz with `{cc}` failed");
}
