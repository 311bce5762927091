//! `k3 push`: uploads a local image's config and layer blobs the registry
//! does not have yet (each in one `PUT` from the stored blob, or linked from
//! the image's own repository on the same registry), then its manifest, byte
//! for byte as stored, so the pushed digest is the local one.

use std::fs::File;
use std::path::PathBuf;

use crate::db::Db;
use crate::digest::{self, Digest, DigestError};
use crate::image::auth::AuthError;
use crate::image::manifest::OCI_MANIFEST;
use crate::image::progress::Progress;
use crate::image::pull::{self, PullOptions};
use crate::image::reference::{self, ReferenceError, ReferenceExt};
use crate::image::registry::RegistryError;
use crate::images::{self, ImagesError};
use crate::store::content::{ContentError, Store};

/// A push that failed.
#[derive(Debug, thiserror::Error)]
pub enum PushError {
    /// The image is not there.
    #[error(transparent)]
    Images(#[from] ImagesError),
    /// The destination is malformed.
    #[error(transparent)]
    Reference(#[from] ReferenceError),
    /// The destination names a digest.
    #[error("invalid destination `{0}`: push to `NAME[:TAG]`")]
    Digest(String),
    /// The credentials file is unusable.
    #[error(transparent)]
    Auth(#[from] AuthError),
    /// The registry refused or failed.
    #[error(transparent)]
    Registry(#[from] RegistryError),
    /// A stored blob is missing or corrupt.
    #[error(transparent)]
    Content(#[from] ContentError),
    /// A recorded digest is malformed.
    #[error("image record digest `{value}` is malformed")]
    Record {
        /// The value.
        value: String,
        /// Why.
        #[source]
        source: DigestError,
    },
    /// A blob file could not be opened.
    #[error("cannot open blob `{path}`")]
    Open {
        /// The blob file.
        path: PathBuf,
        /// Why.
        #[source]
        source: std::io::Error,
    },
}

/// What a push did.
#[derive(Debug, Clone)]
pub struct Pushed {
    /// The reference pushed to.
    pub reference: String,
    /// The tag (or digest) the manifest was stored under.
    pub tag: String,
    /// The manifest digest.
    pub digest: Digest,
    /// The manifest's size in bytes.
    pub size: usize,
    /// Blobs uploaded.
    pub uploaded: usize,
    /// Blobs the registry had already (in the repository, or linked from
    /// the image's own repository).
    pub skipped: usize,
}

/// Pushes the image `input` names to `dest` (default: `input` itself).
pub fn push(
    store: &Store,
    db: &Db,
    input: &str,
    dest: Option<&str>,
    opts: &PullOptions,
    progress: &dyn Progress,
) -> Result<Pushed, PushError> {
    let _lock = store.lock(false)?;
    let rec = images::find(db, input, &opts.default_registry)?;
    let target = dest.unwrap_or(input);
    let r = reference::parse(target, &opts.default_registry)?;
    if r.digest().is_some() && dest.is_some() {
        return Err(PushError::Digest(target.to_string()));
    }
    let registry = pull::client(&r, opts)?;
    let parse = |d: &str| {
        digest::parse(d).map_err(|source| PushError::Record {
            value: d.to_string(),
            source,
        })
    };
    let mut blobs = vec![parse(&rec.config_digest)?];
    for l in &rec.layers {
        blobs.push(parse(&l.digest)?);
    }
    // the image's own repository, when it is on the same registry: its blobs
    // are linked from there instead of uploaded again
    let from = reference::parse(&rec.name, &opts.default_registry)
        .ok()
        .filter(|src| src.registry() == r.registry() && src.repository() != r.repository())
        .map(|src| src.repository().to_string());
    let (mut uploaded, mut skipped) = (0, 0);
    for d in &blobs {
        if registry.has_blob(d)? {
            skipped += 1;
            continue;
        }
        if let Some(from) = &from {
            if registry.mount_blob(d, from)? {
                progress.message(&format!("{d}: mounted from `{from}`"));
                skipped += 1;
                continue;
            }
        }
        let path = store.blob_path(d);
        let f = File::open(&path).map_err(|source| PushError::Open {
            path: path.clone(),
            source,
        })?;
        let size = f
            .metadata()
            .map_err(|source| PushError::Open { path, source })?
            .len();
        registry.put_blob(d, size, f)?;
        progress.message(&format!("{d}: pushed"));
        uploaded += 1;
    }
    let manifest_digest = parse(&rec.manifest_digest)?;
    let bytes = store.read_blob(&manifest_digest)?;
    let media_type = serde_json::from_slice::<serde_json::Value>(&bytes)
        .ok()
        .and_then(|v| v["mediaType"].as_str().map(str::to_string))
        .unwrap_or_else(|| OCI_MANIFEST.to_string());
    // a push by digest stores the manifest under its own digest
    let tag = match r.tag() {
        Some(t) if r.digest().is_none() => t.to_string(),
        _ => manifest_digest.to_string(),
    };
    registry.put_manifest(&tag, &media_type, &bytes)?;
    Ok(Pushed {
        reference: format!("{}:{tag}", r.name()),
        tag,
        digest: manifest_digest,
        size: bytes.len(),
        uploaded,
        skipped,
    })
}
