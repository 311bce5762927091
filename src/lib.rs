//! k3: an OCI runtime (`k3rt`) and a container engine (`k3`) in one crate.
