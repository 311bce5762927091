//! The `k3` command line as a library: clap definitions and the dispatch of
//! the container verbs to the engine, so that tests can parse and run them
//! without the binary. `main.rs` adds the image, daemon and self-test verbs.

pub mod cli;
