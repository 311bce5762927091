//! `k3 network create|ls|inspect|rm`.

use clap::Subcommand;

use crate::cli::{print_json, Failure};
use k3_engine::context::Engine;
use k3_engine::db::networks;
use k3_engine::error::EngineError;
use k3_engine::network;

/// The `k3 network` verbs.
#[derive(Subcommand, Debug)]
pub enum NetworkCmd {
    /// Create a bridge network, isolated from the other k3 networks; its
    /// containers find each other by name (a DNS responder on the gateway).
    Create {
        /// Network name
        name: String,
        /// IPv4 subnet in CIDR form, e.g. `10.89.0.0/24`
        #[arg(long, allow_hyphen_values = true)]
        subnet: String,
        /// Gateway address (the bridge's) [default: the subnet's first address]
        #[arg(long, allow_hyphen_values = true)]
        gateway: Option<String>,
        /// Print the network record, or the error, as a JSON object
        #[arg(long)]
        json: bool,
    },
    /// List networks.
    Ls {
        /// Print network names only
        #[arg(long, short = 'q')]
        quiet: bool,
        /// Output format
        #[arg(long, value_enum, default_value_t = crate::cli::ps::Format::Table, allow_hyphen_values = true)]
        format: crate::cli::ps::Format,
    },
    /// A network and its leases as JSON.
    Inspect {
        /// Network name
        name: String,
    },
    /// Remove a network (refused while containers use it).
    Rm {
        /// Network name
        name: String,
        /// On failure, print the error as a JSON object on stdout
        #[arg(long)]
        json: bool,
    },
}

fn fail(name: &str, json: bool) -> impl FnOnce(network::NetworkError) -> Failure + '_ {
    move |e| Failure {
        error: Box::new(EngineError::Container(e.into())),
        json,
        input: serde_json::json!(name),
        container_id: None,
    }
}

/// `k3 network`.
pub fn run(ctx: &mut Engine, cmd: NetworkCmd) -> Result<i32, Failure> {
    match cmd {
        NetworkCmd::Create {
            name,
            subnet,
            gateway,
            json,
        } => {
            let r = network::create(ctx, &name, &subnet, gateway.as_deref())
                .map_err(fail(&name, json))?;
            if json {
                print_json(&r);
            } else {
                println!("{}", r.name);
            }
        }
        NetworkCmd::Ls { quiet, format } => {
            let all = networks::list(ctx.db.conn()).map_err(|e| fail("", false)(e.into()))?;
            match (quiet, format) {
                (true, _) => all.iter().for_each(|n| println!("{}", n.name)),
                (false, crate::cli::ps::Format::Json) => print_json(&all),
                (false, _) => {
                    println!("{:<16} {:<16} {:<20} GATEWAY", "NAME", "BRIDGE", "SUBNET");
                    for n in &all {
                        println!(
                            "{:<16} {:<16} {:<20} {}",
                            n.name, n.bridge, n.subnet, n.gateway
                        );
                    }
                }
            }
        }
        NetworkCmd::Inspect { name } => {
            let i = network::inspect(ctx, &name).map_err(fail(&name, false))?;
            print_json(&i);
        }
        NetworkCmd::Rm { name, json } => {
            network::remove(ctx, &name).map_err(fail(&name, json))?;
            println!("{name}");
        }
    }
    Ok(0)
}
