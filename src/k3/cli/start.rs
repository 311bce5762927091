//! `k3 start ID...`; `-a` attaches to one container's output and exits with its
//! code (docker's and podman's `start -a`).

use clap::Args;

use crate::cli::attach::relay_to_end;
use crate::cli::run::forward_signals;
use crate::cli::{detach_keys, Failure};
use k3_engine::container::{attach, start, ContainerError};
use k3_engine::context::Engine;
use k3_engine::options::OptionsError;

/// `k3 start` arguments.
#[derive(Args, Debug)]
pub struct StartArgs {
    /// On failure, print the error as a JSON object on stdout
    #[arg(long)]
    pub json: bool,
    /// Attach to the container's output and exit with its code (one container)
    #[arg(long, short = 'a')]
    pub attach: bool,
    /// With `--attach`: pass stdin too (a container created with `-i`)
    #[arg(long, short = 'i')]
    pub interactive: bool,
    /// Keys that detach from the container's terminal: a comma-separated list of
    /// ctrl-<x> (x one of a-z @ [ \ ] ^ _) or single characters, "" for none
    /// [default: ctrl-p,ctrl-q]
    #[arg(long = "detach-keys", value_name = "KEYS", allow_hyphen_values = true)]
    pub detach_keys: Option<String>,
    /// Container ids
    #[arg(required = true)]
    pub ids: Vec<String>,
}

/// `k3 start`.
pub fn run(ctx: &mut Engine, a: StartArgs) -> Result<i32, Failure> {
    if a.attach {
        return start_attached(ctx, &a);
    }
    for id in &a.ids {
        start::start(ctx, id).map_err(|e| Failure::about(id, a.json)(e.into()))?;
        println!("{id}");
    }
    Ok(0)
}

/// `start -a ID`: attached before the start when the container is created (its
/// monitor already runs), so nothing of the output is missed; a stopped one is
/// attached to right after its start.
fn start_attached(ctx: &mut Engine, a: &StartArgs) -> Result<i32, Failure> {
    let [id] = a.ids.as_slice() else {
        let joined = a.ids.join(" ");
        return Err(Failure::about(&joined, a.json)(
            ContainerError::from(OptionsError {
                option: "attach",
                value: joined.clone(),
                reason: "attaches to one container only".into(),
            })
            .into(),
        ));
    };
    let keys = detach_keys::keys(a.detach_keys.as_deref(), id, a.json)?;
    let fail = Failure::about(id, a.json);
    let early = attach::connect(ctx, id).ok();
    start::start(ctx, id).map_err(|e| fail(e.into()))?;
    let mut at = match early {
        Some(at) => at,
        None => {
            let fail = Failure::about(id, a.json);
            attach::connect(ctx, id).map_err(|e| fail(e.into()))?
        }
    };
    forward_signals(ctx, id);
    at.set_detach_keys(keys);
    relay_to_end(ctx, id, at, a.interactive)
}
