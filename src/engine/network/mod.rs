//! Container networking: `host` (the host's namespace), `none` (loopback
//! only, in a namespace k3 pins like a bridge network's) and bridge networks (`kb0`,
//! `192.168.100.0/24`, made on first use; others with `k3 network create`).
//!
//! For a bridge network, [`prepare`] (seed step 6) leases an IP (and MAC),
//! records the published ports and makes a named network namespace
//! (`ROOT/netns/<hash>`), which `config.json` joins by path; [`attach`]
//! (step 9) creates the veth pair with its peer directly in that namespace
//! as `eth0`, addresses it, sets the default route and adds the DNAT rules.
//! The container's process thus starts with its network ready (no hook, no
//! race with an application that binds at once), and every step has its
//! undo.
//!
//! Bridges, their addresses, host ports and nftables rules are the host's,
//! shared by every k3 root on it: all network changes of all roots run under
//! one host-wide lock (`/run/k3/network/lock`), and a ledger beside it says
//! what each root holds (`ledger`), so two roots never lease the same IP or
//! publish the same port, and one never removes what is another's: a root's
//! leftovers are found from its own namespaces and leases, its DNAT rules
//! carry the container's host-unique hash, and a bridge another root uses
//! stays when one root removes its network.
//!
//! On a user network (not `kb0`) containers find each other by name
//! through the network's DNS responder (`dns`).

mod attach;
pub mod dns;
mod error;
mod host;
pub mod ipam;
mod lease;
mod ledger;
mod lock;
mod names;
pub mod netlink;
pub mod netns;
pub mod nft;
mod plan;
mod reconcile;
mod verbs;

pub use attach::{attach, reattach, teardown};
pub use error::NetworkError;
pub use host::{release_at, Addr, Linux, Network, HOST_DIR};
pub use names::{bridge_name, veth_name, DEFAULT_NAME, DEFAULT_SUBNET};
pub use plan::{prepare, NetPlan};
pub use reconcile::reconcile;
pub use verbs::{create, inspect, netns_path, remove, NetworkInfo};

#[cfg(test)]
mod tests;
