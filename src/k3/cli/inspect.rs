//! `k3 inspect [-f TEMPLATE] NAME...`: docker's and podman's JSON array, one
//! element per container (k3's fields and docker's beside them); `--format` takes
//! a Go template (`{{.State.Pid}}`, `{{json .Config}}`) and prints one line per
//! container. An unknown name is reported on stderr while the known ones are still
//! printed, and the exit status is then 125, as podman's.

use clap::Args;

use crate::cli::{print_json, template, Failure};
use k3_engine::container::{list, ContainerError};
use k3_engine::context::Engine;
use k3_engine::error::chain_message;
use k3_engine::options::OptionsError;

/// `k3 inspect` arguments.
#[derive(Args, Debug)]
pub struct InspectArgs {
    /// On failure, print the first failure's error as a JSON object on stdout
    /// (instead of the array)
    #[arg(long)]
    pub json: bool,
    /// A Go template applied to each record, one line each (`{{.State.Pid}}`,
    /// `{{json .Config}}`), or `json`
    #[arg(long, short = 'f', allow_hyphen_values = true)]
    pub format: Option<String>,
    /// Container ids or names
    #[arg(required = true, value_name = "ID")]
    pub ids: Vec<String>,
}

/// `k3 inspect`.
pub fn run(ctx: &mut Engine, a: InspectArgs) -> Result<i32, Failure> {
    let mut found = Vec::new();
    let mut failures = Vec::new();
    for id in &a.ids {
        match list::inspect(ctx, id) {
            Ok(v) => found.push((id, v)),
            Err(e) => failures.push(Failure::about(id, a.json)(e.into())),
        }
    }
    if a.json && !failures.is_empty() {
        // the error object is the whole of stdout, as for every other verb
        return Err(failures.remove(0));
    }
    match a.format.as_deref() {
        None | Some("json") => {
            print_json(&found.iter().map(|(_, v)| v).collect::<Vec<_>>());
        }
        Some(f) => {
            // every line rendered before any is printed: a bad template prints nothing
            let mut lines = Vec::with_capacity(found.len());
            for (id, v) in &found {
                lines.push(template::format(f, v).map_err(|reason| {
                    Failure::about(id, a.json)(
                        ContainerError::from(OptionsError {
                            option: "format",
                            value: f.to_string(),
                            reason,
                        })
                        .into(),
                    )
                })?);
            }
            lines.iter().for_each(|l| println!("{l}"));
        }
    }
    let Some(last) = failures.pop() else {
        return Ok(0);
    };
    for f in &failures {
        eprintln!("k3: error: {}", chain_message(&f.error));
    }
    Err(last)
}
