//! `k3 container prune`, `k3 image prune`, `k3 volume prune` and `k3 system
//! prune`: what each removes as podman and docker do. Without `-f` each asks
//! first on stderr and goes on only when a `y` answers on stdin.

use std::io::{BufRead, Write};

use clap::{Args, Subcommand};

use crate::cli::globals::{other, Failure};
use crate::cli::images::prune as store_gc;
use k3_engine::container::{list, remove};
use k3_engine::context::Engine;
use k3_engine::db::container_state::Status;
use k3_engine::db::networks as network_records;
use k3_engine::db::Db;
use k3_engine::image::progress::human;
use k3_engine::images::{self, ImagePrune};
use k3_engine::network::{self, DEFAULT_NAME};
use k3_engine::store::content::Store;
use k3_engine::store::volumes;

/// The `k3 container` verbs that have no top-level form.
#[derive(Subcommand, Debug)]
pub enum ContainerGroupCmd {
    /// Remove all stopped and created containers.
    Prune(ForceArgs),
}

/// `-f` of the prune verbs.
#[derive(Args, Debug, Clone, Copy)]
pub struct ForceArgs {
    /// Do not ask for confirmation.
    #[arg(long, short = 'f')]
    pub force: bool,
}

/// `k3 image prune` arguments.
#[derive(Args, Debug, Clone, Copy)]
pub struct ImagePruneArgs {
    /// Remove every image no container uses, not only untagged ones.
    #[arg(long, short = 'a')]
    pub all: bool,
    /// Do not ask for confirmation.
    #[arg(long, short = 'f')]
    pub force: bool,
}

/// `k3 system prune` arguments.
#[derive(Args, Debug, Clone, Copy)]
pub struct SystemPruneArgs {
    /// Remove every image no container uses, not only untagged ones.
    #[arg(long, short = 'a')]
    pub all: bool,
    /// Remove the volumes no container uses too.
    #[arg(long)]
    pub volumes: bool,
    /// Do not ask for confirmation.
    #[arg(long, short = 'f')]
    pub force: bool,
}

/// The `k3 system` verbs.
#[derive(Subcommand, Debug)]
pub enum SystemCmd {
    /// Remove stopped containers, unused networks, untagged images (all unused
    /// ones with `-a`), unused volumes with `--volumes`, and unreferenced blobs.
    Prune(SystemPruneArgs),
}

/// Asks `question` on stderr unless `force`; whether to go on.
pub fn confirmed(force: bool, question: &str) -> std::io::Result<bool> {
    if force {
        return Ok(true);
    }
    eprint!("WARNING! {question}\nAre you sure you want to continue? [y/N] ");
    std::io::stderr().flush()?;
    let mut answer = String::new();
    std::io::stdin().lock().read_line(&mut answer)?;
    Ok(matches!(answer.trim(), "y" | "Y" | "yes" | "Yes" | "YES"))
}

/// `k3 container prune`.
pub fn containers(ctx: &mut Engine, a: ForceArgs) -> Result<(), Failure> {
    if !confirmed(a.force, "This will remove all stopped containers.").map_err(other)? {
        return Ok(());
    }
    for id in prune_containers(ctx)? {
        println!("{id}");
    }
    Ok(())
}

/// Removes every container that is not running; their ids.
fn prune_containers(ctx: &mut Engine) -> Result<Vec<String>, Failure> {
    let mut removed = Vec::new();
    for c in list::list(ctx, true)? {
        if c.status == Status::Running {
            continue;
        }
        remove::remove(ctx, &c.id, false)?;
        removed.push(c.id);
    }
    Ok(removed)
}

/// `k3 image prune`.
pub fn images(store: &Store, db: &Db, a: ImagePruneArgs) -> Result<(), Failure> {
    let question = if a.all {
        "This will remove all images without at least one container associated to them."
    } else {
        "This will remove all dangling images."
    };
    if !confirmed(a.force, question).map_err(other)? {
        return Ok(());
    }
    prune_images(store, db, a.all)
}

fn prune_images(store: &Store, db: &Db, all: bool) -> Result<(), Failure> {
    let which = if all {
        ImagePrune::Unused
    } else {
        ImagePrune::Dangling
    };
    let p = images::prune_images(store, db, which)?;
    for r in &p.untagged {
        println!("untagged: {r}");
    }
    println!("Total reclaimed space: {}", human(p.reclaimed));
    Ok(())
}

/// `k3 system prune`.
pub fn system(ctx: &mut Engine, a: SystemPruneArgs) -> Result<(), Failure> {
    let mut what = vec![
        "all stopped containers",
        "all networks not used by at least one container",
    ];
    if a.volumes {
        what.push("all volumes not used by at least one container");
    }
    what.push(if a.all {
        "all images without at least one container associated to them"
    } else {
        "all dangling images"
    });
    if !confirmed(
        a.force,
        &format!("This will remove:\n  - {}", what.join("\n  - ")),
    )
    .map_err(other)?
    {
        return Ok(());
    }
    let containers = prune_containers(ctx)?;
    println!("Deleted Containers:");
    for id in &containers {
        println!("{id}");
    }
    println!("Deleted Networks:");
    for name in prune_networks(ctx)? {
        println!("{name}");
    }
    if a.volumes {
        println!("Deleted Volumes:");
        for name in volumes::prune(&ctx.store, &ctx.db)? {
            println!("{name}");
        }
    }
    println!("Deleted Images:");
    prune_images(&ctx.store, &ctx.db, a.all)?;
    store_gc(ctx)
}

/// Removes every network but the default one that no container uses.
fn prune_networks(ctx: &mut Engine) -> Result<Vec<String>, Failure> {
    let mut removed = Vec::new();
    let all = network_records::list(ctx.db.conn()).map_err(|e| Failure::Engine(e.into()))?;
    for n in all {
        if n.name == DEFAULT_NAME
            || !network_records::leases(ctx.db.conn(), Some(&n.name))
                .map_err(|e| Failure::Engine(e.into()))?
                .is_empty()
        {
            continue;
        }
        network::remove(ctx, &n.name).map_err(other)?;
        removed.push(n.name);
    }
    Ok(removed)
}
