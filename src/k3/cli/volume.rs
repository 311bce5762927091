//! `k3 volume ls|rm|inspect`.

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
    }
    Ok(0)
}
