//! The whole `k3` command line: the global options, every verb (the container
//! verbs are flattened in from [`ContainerCmd`]), and the mapping of a result
//! to messages, seed 000's JSON error object (`--json`) and an exit code.

use std::process::ExitCode;

use clap::{Parser, Subcommand};

use crate::cli::globals::{
    engine_ctx, exit_code, open, other, socket_path, Failure, Globals, Root,
};
use crate::cli::images::ImageCmd;
use crate::cli::remote::{self, Remote};
use crate::cli::{
    self as container_cli, archive, cp, images, login, prune, pull, push, selftest, serve,
    snapshot, tag, ContainerCmd,
};
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
        cmd: ImageCmd,
    },
    /// Remove an image (refused while a container snapshot uses it).
    Rmi(images::RmiArgs),
    /// Give an image another name: SOURCE TARGET.
    Tag(tag::TagArgs),
    /// Write images to an OCI archive (stdout unless `-o`).
    Save(archive::SaveArgs),
    /// Read images from an OCI archive (stdin unless `-i`).
    Load(archive::LoadArgs),
    /// Push an image to a registry.
    Push(push::PushArgs),
    /// Copy files and directories between a container and the host.
    Cp(cp::CpArgs),
    /// Store credentials for a registry in the auth file.
    Login(login::LoginArgs),
    /// Remove a registry's credentials from the auth file.
    Logout(login::LogoutArgs),
    /// Container commands without a top-level form.
    #[command(name = "container")]
    ContainerGroup {
        /// The container verb.
        #[command(subcommand)]
        cmd: prune::ContainerGroupCmd,
    },
    /// Engine-wide commands.
    System {
        /// The system verb.
        #[command(subcommand)]
        cmd: prune::SystemCmd,
    },
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
    // ps and inspect fail as podman's do: 125 (a bad filter, an unknown name)
    let engine_125 = matches!(
        &cli.cmd,
        Cmd::Container(ContainerCmd::Ps(_) | ContainerCmd::Inspect(_))
    );
    // and so does `images` (a bad filter, a `before`/`since` image not there)
    let images_125 = matches!(
        &cli.cmd,
        Cmd::Images(_)
            | Cmd::Image {
                cmd: ImageCmd::Ls(_)
            }
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
            if images_125 {
                ExitCode::from(125)
            } else {
                ExitCode::FAILURE
            }
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
            } else if engine_125 {
                ExitCode::from(125)
            } else {
                ExitCode::FAILURE
            }
        }
    }
}

fn container_verb(ctx: Root, globals: &Globals, cmd: ContainerCmd) -> Result<(), Failure> {
    // a bad `--detach-keys` before anything runs, with or without the daemon
    if let Err(e) = container_cli::detach_keys::check(&cmd) {
        eprintln!("k3: error: {e}");
        return Err(Failure::Exit(125));
    }
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
    match &cli.cmd {
        Cmd::Prune => return images::prune(&mut engine_ctx(ctx, &cli.globals)?),
        Cmd::ContainerGroup {
            cmd: prune::ContainerGroupCmd::Prune(a),
        } => return prune::containers(&mut engine_ctx(ctx, &cli.globals)?, *a),
        Cmd::System {
            cmd: prune::SystemCmd::Prune(a),
        } => return prune::system(&mut engine_ctx(ctx, &cli.globals)?, *a),
        _ => {}
    }
    if let Cmd::Container(_) = &cli.cmd {
        let Cmd::Container(cmd) = std::mem::replace(&mut cli.cmd, Cmd::Prune) else {
            return Ok(());
        };
        return container_verb(ctx, &cli.globals, cmd);
    }
    match &cli.cmd {
        Cmd::Pull(a) => pull::run(&ctx, &cli.globals, a),
        Cmd::Images(a)
        | Cmd::Image {
            cmd: ImageCmd::Ls(a),
        } => images::images(&ctx, a),
        Cmd::Image { cmd } => image(&ctx, &cli.globals, cmd),
        Cmd::Rmi(a) => images::rmi(&ctx, a),
        Cmd::Tag(a) => tag::run(&ctx, a),
        Cmd::Save(a) => archive::save(&ctx, a),
        Cmd::Load(a) => archive::load(&ctx, a),
        Cmd::Push(a) => push::run(&ctx, &cli.globals, a),
        Cmd::Login(a) => login::login(&ctx, &cli.globals, a),
        Cmd::Logout(a) => login::logout(&ctx, &cli.globals, a),
        Cmd::Cp(a) => cp::run(&ctx, a),
        Cmd::Snapshot { cmd } => snapshot::run(&ctx, cmd),
        Cmd::Prune
        | Cmd::Container(_)
        | Cmd::ContainerGroup { .. }
        | Cmd::System { .. }
        | Cmd::Serve(_)
        | Cmd::Selftest { .. } => Ok(()),
    }
}

/// The `k3 image` verbs.
fn image(ctx: &Root, globals: &Globals, cmd: &ImageCmd) -> Result<(), Failure> {
    match cmd {
        ImageCmd::Inspect { name } => images::inspect(ctx, name),
        ImageCmd::Ls(a) => images::images(ctx, a),
        ImageCmd::Rm(a) => images::rmi(ctx, a),
        ImageCmd::Tag(a) => tag::run(ctx, a),
        ImageCmd::Prune(a) => prune::images(&ctx.store, &ctx.db, *a),
        ImageCmd::Save(a) => archive::save(ctx, a),
        ImageCmd::Load(a) => archive::load(ctx, a),
        ImageCmd::Push(a) => push::run(ctx, globals, a),
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
