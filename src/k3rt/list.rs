//! `k3rt list`: the containers under the root, as a table, JSON or ids.

use clap::{Args, ValueEnum};

use k3_runtime::container::list::{self, Format};
use k3_runtime::container::Ctx;

/// Output format of `list` and `ps`.
#[derive(Copy, Clone, Debug, ValueEnum)]
pub enum ListFormat {
    /// A table for people
    Table,
    /// JSON
    Json,
}

/// `k3rt list` arguments.
#[derive(Args, Debug)]
pub struct ListArgs {
    /// Output format
    #[arg(
        short,
        long,
        value_enum,
        default_value = "table",
        allow_hyphen_values = true
    )]
    pub format: ListFormat,
    /// Print container ids only
    #[arg(short, long)]
    pub quiet: bool,
}

/// `k3rt list`.
pub fn run(ctx: &Ctx, a: &ListArgs) -> k3_runtime::Result<u8> {
    let f = match (a.quiet, a.format) {
        (true, _) => Format::Quiet,
        (_, ListFormat::Json) => Format::Json,
        _ => Format::Table,
    };
    print!("{}", list::list(ctx, f)?);
    Ok(0)
}
