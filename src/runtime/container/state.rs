//! `state`: the runtime-spec state of one container, with runc's extra fields.

use std::collections::HashMap;
use std::path::PathBuf;

use serde::Serialize;

use crate::container::GlobalFlags;
use crate::error::OutputError;
use crate::statedir::ContainerDir;
use crate::Result;
use k3_oci::state::{ContainerState, Status};

/// What `state` and `list --format json` print.
#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct StateView {
    /// The runtime-spec version of the bundle.
    pub oci_version: String,
    /// The container id.
    pub id: String,
    /// The live status.
    pub status: Status,
    /// The init's pid (0 once stopped).
    pub pid: i32,
    /// The bundle directory.
    pub bundle: PathBuf,
    /// The rootfs on the host.
    pub rootfs: PathBuf,
    /// Creation time, RFC 3339.
    pub created: String,
    /// The user that created the container.
    pub owner: String,
    /// The spec's annotations.
    #[serde(skip_serializing_if = "HashMap::is_empty")]
    pub annotations: HashMap<String, String>,
}

/// The live view of a loaded state.
pub fn view(dir: &ContainerDir, st: &ContainerState) -> StateView {
    let status = dir.status(st);
    StateView {
        oci_version: st.oci_version.clone(),
        id: st.id.clone(),
        status,
        pid: if status == Status::Stopped { 0 } else { st.pid },
        bundle: st.bundle.clone(),
        rootfs: st.rootfs.clone(),
        created: st.created.clone(),
        owner: st.owner.clone(),
        annotations: st.annotations.clone(),
    }
}

/// `k3rt state ID` as pretty JSON.
pub fn state(ctx: &GlobalFlags, id: &str) -> Result<String> {
    let dir = ctx.container(id)?;
    let st = dir.load()?;
    serde_json::to_string_pretty(&view(&dir, &st)).map_err(|source| {
        OutputError::Encode {
            what: "state",
            source,
        }
        .into()
    })
}
