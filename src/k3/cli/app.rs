//! The whole `k3` command line: the global options, every verb (the container
//! verbs are flattened in from [`ContainerCmd`]), and the mapping of a result
//! to messages, seed 000's JSON error object (`--json`) and an exit code.

use std::process::ExitCode;

use clap::{Parser, Subcommand};

use crate::cli::globals::{
    engine_ctx, exit_code, open, other, socket_path, Failure, Globals, Root,
};
use crate::cli::remote::{self, Remote};
use crate::cli::{self as container_cli, images, pull, selftest, serve, snapshot, ContainerCmd};
use k3_engine::error::chain_message;

/// k3's command line: the global options and one verb.
#[derive(Parser, Debug)]
#[command(
    name = "k3",
    version,
    long_about = None,
    about = "k3: a container engine (images, containers, volumes, networks, an HTTP API) that drives any OCI runtime"
)]
pub struct Cli {
    #[command(flatten)]
    globals: Globals,
    #[command(subcommand)]
    cmd: Cmd,
}

// Parsed once per process; boxing the flattened container verbs is not
// possible with clap's `flatten`.
#[allow(clippy::large_enum_variant)]
#[derive(Subcommand, Debug)]
enum Cmd {
    /// Pull an image: NAME[:TAG|@DIGEST].
    Pull(pull::PullArgs),
    /// List images.
    Images(images::ImagesArgs),
    /// Image commands.
    Image {
        /// The image verb.
        #[command(subcommand)]
        cmd: images::ImageCmd,
    },
    /// Remove an image (refused while a container snapshot uses it).
    Rmi(images::RmiArgs),
    /// Remove unreferenced blobs, layers and snapshots.
    Prune,
    /// Container snapshots (what `create` uses; exposed for tests and debugging).
    Snapshot {
        /// The snapshot verb.
        #[command(subcommand)]
        cmd: snapshot::SnapshotCmd,
    },
    /// Run the daemon: HTTP API, dashboard, restart supervisor, webhooks.
    Serve(serve::ServeArgs),
    /// Built-in tests.
    Selftest {
        /// The selftest verb.
        #[command(subcommand)]
        cmd: selftest::SelftestCmd,
    },
    #[command(flatten)]
    Container(ContainerCmd),
}

/// Runs the parsed command line; the process' exit code.
pub fn main(cli: Cli) -> ExitCode {
    // run/create/start/exec answer as docker does: 125 engine, 126/127 program
    let docker_codes = matches!(
        &cli.cmd,
        Cmd::Container(
            ContainerCmd::Run(_)
                | ContainerCmd::Create(_)
                | ContainerCmd::Start(_)
                | ContainerCmd::Exec(_)
        )
    );
    let json = matches!(&cli.cmd, Cmd::Pull(p) if p.json);
    let input = match &cli.cmd {
        Cmd::Pull(p) => serde_json::json!(p.reference),
        _ => serde_json::Value::Null,
    };
    match run(cli) {
        Ok(()) => ExitCode::SUCCESS,
        Err(Failure::Engine(e)) => {
            if json {
                let obj = e.to_object(input);
                println!("{}", serde_json::to_string(&obj).unwrap_or_default());
            }
            eprintln!("k3: error: {}", chain_message(&e));
            ExitCode::FAILURE
        }
        Err(Failure::Other(e)) => {
            eprintln!("k3: error: {e:#}");
            ExitCode::FAILURE
        }
        Err(Failure::Exit(code)) => ExitCode::from(exit_code(code)),
        Err(Failure::Container(f)) => {
            if f.json {
                println!("{}", serde_json::to_string(&f.object()).unwrap_or_default());
            }
            let msg = chain_message(&f.error);
            eprintln!("k3: error: {msg}");
            if docker_codes {
                ExitCode::from(container_cli::docker_exit_code(&msg))
            } else {
                ExitCode::FAILURE
            }
        }
    }
}

fn container_verb(ctx: Root, globals: &Globals, cmd: ContainerCmd) -> Result<(), Failure> {
    match remote::try_remote(&socket_path(&ctx, globals), &cmd) {
        Ok(Remote::Exit(0)) => return Ok(()),
        Ok(Remote::Exit(code)) => return Err(Failure::Exit(code)),
        Ok(Remote::Local) => {}
        Err(e) => return Err(other(e)),
    }
    let mut cctx = engine_ctx(ctx, globals)?;
    match container_cli::dispatch(&mut cctx, cmd) {
        Ok(0) => Ok(()),
        Ok(code) => Err(Failure::Exit(code)),
        Err(f) => Err(Failure::Container(f)),
    }
}

fn run(mut cli: Cli) -> Result<(), Failure> {
    let ctx = open(&cli.globals)?;
    if let Cmd::Serve(a) = &cli.cmd {
        let a = a.clone();
        return serve::run(ctx, &cli.globals, a);
    }
    if let Cmd::Selftest { cmd } = &cli.cmd {
        let cmd = cmd.clone();
        return selftest::run(ctx, &cli.globals, cmd);
    }
    if let Cmd::Prune = &cli.cmd {
        return images::prune(&mut engine_ctx(ctx, &cli.globals)?);
    }
    if let Cmd::Container(_) = &cli.cmd {
        let Cmd::Container(cmd) = std::mem::replace(&mut cli.cmd, Cmd::Prune) else {
            return Ok(());
        };
        return container_verb(ctx, &cli.globals, cmd);
    }
    match &cli.cmd {
        Cmd::Pull(a) => pull::run(&ctx, &cli.globals, a),
        Cmd::Images(a) => images::images(&ctx, a),
        Cmd::Image { cmd } => images::image(&ctx, cmd),
        Cmd::Rmi(a) => images::rmi(&ctx, a),
        Cmd::Snapshot { cmd } => snapshot::run(&ctx, cmd),
        Cmd::Prune | Cmd::Container(_) | Cmd::Serve(_) | Cmd::Selftest { .. } => Ok(()),
    }
}

#[cfg(test)]
mod tests {
    use super::Cli;
    use clap::CommandFactory;

    #[test]
    fn definitions_are_consistent() {
        Cli::command().debug_assert();
    }
}
