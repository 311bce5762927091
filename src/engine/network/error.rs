//! The network module's error and its seed 000 class.

use std::io;
use std::net::Ipv4Addr;

use crate::db::DbError;
use crate::error_kind::ErrorKind;

/// A network failure.
#[derive(Debug, thiserror::Error)]
pub enum NetworkError {
    /// No such network, for a container that asks to join it (seed 000: NETWORK_ERROR).
    #[error("network `{0}` not found")]
    NotFound(String),
    /// No such network, named by a network verb itself (`rm`, `inspect`: 404).
    #[error("network `{0}` not found")]
    NoSuchNetwork(String),
    /// A static IP outside the subnet.
    #[error("IP `{ip}` is not in the subnet `{subnet}` of network `{network}`")]
    IpOutside {
        /// The address asked for.
        ip: Ipv4Addr,
        /// The network's name.
        network: String,
        /// The network's subnet.
        subnet: String,
    },
    /// A static IP that is the network, broadcast or gateway address.
    #[error("IP `{ip}` is {what} of network `{network}`")]
    IpReserved {
        /// The address asked for.
        ip: Ipv4Addr,
        /// Which reserved address: network, broadcast or gateway.
        what: &'static str,
        /// The network's name.
        network: String,
    },
    /// A static IP another container holds.
    #[error("IP `{ip}` is already in use on network `{network}`")]
    IpInUse {
        /// The address asked for.
        ip: Ipv4Addr,
        /// The network's name.
        network: String,
    },
    /// No address left.
    #[error("no free IP address left in network `{network}` (`{subnet}`)")]
    Exhausted {
        /// The network's name.
        network: String,
        /// The network's subnet.
        subnet: String,
    },
    /// The host port is published by another container.
    #[error("port `{port}/{proto}` is already published by container `{by}`")]
    PortTaken {
        /// The host port.
        port: u16,
        /// `tcp` or `udp`.
        proto: &'static str,
        /// The container publishing it.
        by: String,
    },
    /// The host port is published by a container of another k3 root.
    #[error("port `{port}/{proto}` is already published by container `{by}` of k3 root `{root}`")]
    PortTakenByRoot {
        /// The host port.
        port: u16,
        /// `tcp` or `udp`.
        proto: &'static str,
        /// The container publishing it.
        by: String,
        /// Its k3 root.
        root: String,
    },
    /// The host port is bound by a host process.
    #[error("port `{port}/{proto}` is already in use on the host")]
    PortBound {
        /// The host port.
        port: u16,
        /// `tcp` or `udp`.
        proto: &'static str,
    },
    /// A network option is malformed.
    #[error("invalid `{what}` value `{value}`: {reason}")]
    Invalid {
        /// The option's name.
        what: &'static str,
        /// The value given.
        value: String,
        /// What is wrong with it.
        reason: String,
    },
    /// The network exists.
    #[error("network `{0}` already exists")]
    Exists(String),
    /// The network has containers.
    #[error("network `{name}` is in use by container(s) `{}`", users.join("`, `"))]
    InUse {
        /// The network's name.
        name: String,
        /// The containers on it.
        users: Vec<String>,
    },
    /// A netlink or namespace operation failed.
    #[error("cannot {op} `{what}`")]
    Sys {
        /// What was being done, e.g. `create bridge`.
        op: &'static str,
        /// The interface, namespace or file it was done to.
        what: String,
        /// The underlying error.
        #[source]
        source: io::Error,
    },
    /// An nft command failed.
    #[error("nftables: {0}")]
    Nft(String),
    /// The database failed.
    #[error(transparent)]
    Db(#[from] DbError),
}

impl NetworkError {
    /// The seed 000 class.
    pub fn kind(&self) -> ErrorKind {
        match self {
            NetworkError::PortTaken { .. }
            | NetworkError::PortTakenByRoot { .. }
            | NetworkError::PortBound { .. }
            | NetworkError::Invalid { .. }
            | NetworkError::Exists(_)
            | NetworkError::InUse { .. } => ErrorKind::Validation,
            NetworkError::Db(_) => ErrorKind::Db,
            NetworkError::NoSuchNetwork(_) => ErrorKind::NotFound,
            _ => ErrorKind::Network,
        }
    }
}

pub(super) fn sys(op: &'static str, what: impl ToString) -> impl FnOnce(io::Error) -> NetworkError {
    let what = what.to_string();
    move |source| NetworkError::Sys { op, what, source }
}
