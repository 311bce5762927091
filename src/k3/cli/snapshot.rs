//! `k3 snapshot prepare|rm|ls`: container snapshots (what `create` uses).

use clap::Subcommand;

use crate::cli::app::{print_json, Failure, Root};
use k3_engine::db::snapshots as snapshot_records;
use k3_engine::error::EngineError;
use k3_engine::images;
use k3_engine::store::snapshots;

/// The `k3 snapshot` verbs.
#[derive(Subcommand, Debug)]
pub enum SnapshotCmd {
    /// Mount a container rootfs from an image; prints its path.
    Prepare {
        /// The container id.
        id: String,
        /// The image.
        image: String,
        /// Writable layer limit in MB.
        #[arg(long, allow_hyphen_values = true)]
        disk_limit: Option<u64>,
    },
    /// Unmount and delete a container snapshot.
    Rm {
        /// The container id.
        id: String,
    },
    /// List container snapshots as JSON.
    Ls,
}

/// `k3 snapshot`.
pub fn run(ctx: &Root, cmd: &SnapshotCmd) -> Result<(), Failure> {
    match cmd {
        SnapshotCmd::Prepare {
            id,
            image,
            disk_limit,
        } => {
            let rec = images::find(&ctx.db, image, &ctx.default_registry)?;
            let rootfs = snapshots::prepare(&ctx.store, &ctx.db, id, &rec, *disk_limit)?;
            println!("{}", rootfs.display());
            Ok(())
        }
        SnapshotCmd::Rm { id } => {
            snapshots::remove(&ctx.store, &ctx.db, id)?;
            Ok(())
        }
        SnapshotCmd::Ls => {
            let all = snapshot_records::list(ctx.db.conn()).map_err(EngineError::from)?;
            print_json(&all)
        }
    }
}
