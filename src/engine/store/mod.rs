//! The on-disk store under the k3 root (`/var/lib/k3` by default):
//!
//! ```text
//! k3.db                      SQLite records (see `db`)
//! blobs/<alg>/<hex>          content-addressed blobs (manifests, configs, layers)
//! snapshots/<alg>/<hex>      one unpacked layer per layer blob, overlayfs form
//! overlays/<id>/             a container snapshot: rootfs/ upper/ work/
//!                            (or disk.img + rw/ for a disk-limited one)
//! tmp/                       work files, renamed into place when complete
//! volumes/<name>/_data       named volumes (kept after their containers go)
//! containers/<hash>/         a container bundle: config.json, etc files, logs
//! run/<runtime>/             the OCI runtime's --root
//! ```

pub mod content;
pub mod copy;
pub mod copyup;
pub mod loopdev;
pub mod mount;
pub mod snapshots;
pub mod snapshotter;
pub mod volumes;
