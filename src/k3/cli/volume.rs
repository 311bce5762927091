//! `k3 volume create|ls|inspect|rm|prune`.

use clap::Subcommand;

use crate::cli::{print_json, Failure};
use k3_engine::context::Engine;
use k3_engine::db::volumes as records;
use k3_engine::error::EngineError;
use k3_engine::store::volumes;

/// The `k3 volume` verbs.
#[derive(Subcommand, Debug)]
pub enum VolumeCmd {
    /// List volumes as JSON.
    Ls,
    /// Remove a volume no container uses.
    Rm {
        /// Volume name
        name: String,
    },
    /// Create a volume.
    Create {
        /// Volume name: `[A-Za-z0-9][A-Za-z0-9_.-]`, at most 64 characters
        name: String,
        /// Succeed when the volume exists already.
        #[arg(long)]
        ignore: bool,
    },
    /// Show volumes as JSON (docker's fields, plus the containers using it).
    Inspect {
        /// Volume names
        #[arg(required = true)]
        names: Vec<String>,
    },
    /// Remove every volume no container uses.
    Prune(crate::cli::prune::ForceArgs),
}

fn fail(name: &str) -> impl FnOnce(EngineError) -> Failure + '_ {
    move |error| Failure {
        error: Box::new(error),
        json: false,
        input: serde_json::json!(name),
        container_id: None,
    }
}

/// `k3 volume`.
pub fn run(ctx: &mut Engine, cmd: VolumeCmd) -> Result<i32, Failure> {
    match cmd {
        VolumeCmd::Ls => {
            let all = records::list(ctx.db.conn()).map_err(|e| fail("")(e.into()))?;
            print_json(&all);
        }
        VolumeCmd::Rm { name } => {
            volumes::remove(&ctx.store, &ctx.db, &name).map_err(|e| fail(&name)(e.into()))?;
            println!("{name}");
        }
        VolumeCmd::Create { name, ignore } => {
            match volumes::create(&ctx.store, &ctx.db, &name) {
                Err(volumes::VolumeError::Exists(_)) if ignore => {}
                r => {
                    r.map_err(|e| fail(&name)(e.into()))?;
                }
            }
            println!("{name}");
        }
        VolumeCmd::Inspect { names } => {
            let mut all = Vec::new();
            for name in &names {
                all.push(volumes::inspect(&ctx.db, name).map_err(|e| fail(name)(e.into()))?);
            }
            print_json(&all);
        }
        VolumeCmd::Prune(a) => {
            let question = "This will remove all volumes not used by at least one container.";
            if crate::cli::prune::confirmed(a.force, question).map_err(|e| {
                fail("")(EngineError::Volume(volumes::VolumeError::Io {
                    op: "ask before pruning",
                    path: "stdin".into(),
                    source: e,
                }))
            })? {
                for name in volumes::prune(&ctx.store, &ctx.db).map_err(|e| fail("")(e.into()))? {
                    println!("{name}");
                }
            }
        }
    }
    Ok(0)
}
