//! The `k3` command line as a library: every verb's clap definitions and its
//! dispatch to the engine, so that tests and the man page generator can use
//! them without the binary. `main.rs` only readies the process and calls
//! [`cli::app::main`].

pub mod cli;
pub mod reaper;

/// k3's whole command line as a clap command (for the man pages and completions).
pub fn command() -> clap::Command {
    <cli::app::Cli as clap::CommandFactory>::command()
}
