//! `k3rt features`: what this runtime supports, as the runtime-spec's features JSON.

use k3_runtime::container::features;

/// `k3rt features`.
pub fn run() -> k3_runtime::Result<u8> {
    println!("{:#}", features::features());
    Ok(0)
}
