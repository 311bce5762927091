//! `k3 inspect [-f TEMPLATE] ID`: JSON with k3's fields and docker's beside
//! them; `--format` takes a Go template (`{{.State.Pid}}`, `{{json .Config}}`).

use clap::Args;

use crate::cli::{print_json, template, Failure};
use k3_engine::container::{list, ContainerError};
use k3_engine::context::Engine;
use k3_engine::options::OptionsError;

/// `k3 inspect` arguments.
#[derive(Args, Debug)]
pub struct InspectArgs {
    /// On failure, print the error as a JSON object on stdout
    #[arg(long)]
    pub json: bool,
    /// A Go template applied to the record (`{{.State.Pid}}`, `{{json .Config}}`), or `json`
    #[arg(long, short = 'f', allow_hyphen_values = true)]
    pub format: Option<String>,
    /// Container id
    pub id: String,
}

/// `k3 inspect`.
pub fn run(ctx: &mut Engine, a: InspectArgs) -> Result<i32, Failure> {
    let v = list::inspect(ctx, &a.id).map_err(|e| Failure::about(&a.id, a.json)(e.into()))?;
    match a.format.as_deref() {
        None => print_json(&v),
        Some(f) => {
            let text = template::format(f, &v).map_err(|reason| {
                Failure::about(&a.id, a.json)(
                    ContainerError::from(OptionsError {
                        option: "format",
                        value: f.to_string(),
                        reason,
                    })
                    .into(),
                )
            })?;
            println!("{text}");
        }
    }
    Ok(0)
}
