//! `k3 ps` / `k3 ls` (`-a`, `--format json`, `-q`).

use clap::{Args, ValueEnum};

use crate::cli::{print_json, Failure};
use k3_engine::container::list;
use k3_engine::context::Engine;

/// Output format of a listing.
#[derive(Clone, Copy, Debug, ValueEnum)]
pub enum Format {
    /// A table for people
    Table,
    /// JSON
    Json,
}

/// `k3 ps` arguments.
#[derive(Args, Debug)]
pub struct PsArgs {
    /// Show stopped containers too
    #[arg(long, short = 'a')]
    pub all: bool,
    /// Print container ids only
    #[arg(long, short = 'q')]
    pub quiet: bool,
    /// Output format
    #[arg(long, value_enum, default_value_t = Format::Table, allow_hyphen_values = true)]
    pub format: Format,
}

/// `k3 ps`.
pub fn run(ctx: &mut Engine, a: PsArgs) -> Result<i32, Failure> {
    let all = list::list(ctx, a.all).map_err(|e| Failure {
        error: Box::new(e.into()),
        json: matches!(a.format, Format::Json),
        input: serde_json::Value::Null,
        container_id: None,
    })?;
    match (a.quiet, a.format) {
        (true, _) => all.iter().for_each(|c| println!("{}", c.id)),
        (false, Format::Json) => print_json(&all),
        (false, Format::Table) => {
            println!(
                "{:<20} {:<32} {:<24} {:<8} {:<7} {:<16} PORTS",
                "CONTAINER ID", "IMAGE", "COMMAND", "STATUS", "EXIT", "IP"
            );
            for c in &all {
                let exit = c.exit_code.map(|e| e.to_string()).unwrap_or_default();
                let cmd: String = c.command.chars().take(24).collect();
                println!(
                    "{:<20} {:<32} {:<24} {:<8} {:<7} {:<16} {}",
                    c.id,
                    c.image,
                    cmd,
                    c.status.as_str(),
                    exit,
                    c.ip.clone().unwrap_or_default(),
                    c.ports.join(",")
                );
            }
        }
    }
    Ok(0)
}
