//! k3rt's command line as a library: the clap definitions and one module per
//! verb, each with its arguments and a `run` that calls `k3_runtime`. The
//! binary (`main.rs`) parses, dispatches and maps the result to an exit code;
//! the man page and completion generator (`k3-docgen`) reads [`Cli`].

pub mod cli;

pub mod checkpoint;
pub mod create;
pub mod delete;
pub mod events;
pub mod exec;
pub mod features;
pub mod kill;
pub mod list;
pub mod pause;
pub mod ps;
pub mod run;
pub mod spec;
pub mod start;
pub mod state;
pub mod update;

pub use cli::{dispatch, Cli, Cmd, LogFormat};

/// k3rt's whole command line as a clap command (for the man pages and completions).
pub fn command() -> clap::Command {
    <Cli as clap::CommandFactory>::command()
}
