//! The `k3` command line as a library: every verb's clap definitions and its
//! dispatch to the engine, so that tests and the man page generator can use
//! them without the binary. `main.rs` only readies the process and calls
//! [`cli::app::main`].

pub mod cli;
