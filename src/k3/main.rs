//! `k3`, the container engine CLI: the command line lives in `k3::cli`; this
//! entry point only readies the process and hands over.

use std::process::ExitCode;

use clap::Parser;

use k3::cli::app::{self, Cli};
use k3::reaper;
use k3_engine::monitor;

fn main() -> ExitCode {
    // SAFETY: restoring the default SIGPIPE action before any thread starts,
    // so `k3 images | head` ends quietly like other Unix tools.
    unsafe { libc::signal(libc::SIGPIPE, libc::SIG_DFL) };
    let argv: Vec<String> = std::env::args().collect();
    if argv.first().is_some_and(|a| reaper::is_init(a)) {
        reaper::main(&argv[1..]);
    }
    if argv.get(1).map(String::as_str) == Some("__dns") {
        k3_engine::network::dns::main(&argv[2..]);
    }
    if argv.get(1).map(String::as_str) == Some("__ptyhold") {
        k3_engine::container::exec::hold_main();
    }
    if argv.get(1).map(String::as_str) == Some("__monitor") {
        monitor::main(argv.get(2).map_or("", String::as_str));
    }
    app::main(Cli::parse())
}
