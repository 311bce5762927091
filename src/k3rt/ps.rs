//! `k3rt ps`: the container's processes, through ps(1) or as JSON pids.

use clap::Args;

use crate::list::ListFormat;
use k3_runtime::container::{ps, Ctx};

/// `k3rt ps` arguments.
#[derive(Args, Debug)]
pub struct PsArgs {
    /// Output format: `table` runs ps(1) on the container's pids, `json` prints the pids
    #[arg(
        short,
        long,
        value_enum,
        default_value = "table",
        allow_hyphen_values = true
    )]
    pub format: ListFormat,
    /// Container id
    pub id: String,
    /// Arguments for ps(1) with --format table [default: -ef]
    #[arg(trailing_var_arg = true, allow_hyphen_values = true)]
    pub ps_args: Vec<String>,
}

/// `k3rt ps`.
pub fn run(ctx: &Ctx, a: &PsArgs) -> k3_runtime::Result<u8> {
    let json = matches!(a.format, ListFormat::Json);
    println!("{}", ps::ps(ctx, &a.id, json, &a.ps_args)?.trim_end());
    Ok(0)
}
