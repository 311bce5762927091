//! `k3 pull`: resolve a reference to the host platform's manifest, fetch the
//! config, fetch and unpack the missing layers in parallel (bounded), store
//! the documents as blobs and record the image. A failed pull removes every
//! blob and snapshot it created and records nothing; a pull of an image
//! already present downloads nothing.

use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::Mutex;

use crate::db::images::{self, ImageRecord, LayerRecord};
use crate::db::{self, Db, DbError};
use crate::digest::{self, Digest};
use crate::image::auth::{self, AuthError};
use crate::image::layer::{self, Created, LayerError};
use crate::image::manifest::{self, CheckedConfig, Manifest, ManifestError};
use crate::image::progress::Progress;
use crate::image::reference::{self, Reference, ReferenceError, ReferenceExt};
use crate::image::registry::{self, Endpoint, Registry, RegistryError};
use crate::store::content::{ContentError, Store};
use oci_spec::image::{Descriptor, ImageManifest};

/// A pull that failed.
#[derive(Debug, thiserror::Error)]
pub enum PullError {
    /// The reference is malformed.
    #[error(transparent)]
    Reference(#[from] ReferenceError),
    /// The registry failed.
    #[error(transparent)]
    Registry(#[from] RegistryError),
    /// A manifest or config is unusable.
    #[error(transparent)]
    Manifest(#[from] ManifestError),
    /// The credentials file is unusable.
    #[error(transparent)]
    Auth(#[from] AuthError),
    /// A layer failed.
    #[error(transparent)]
    Layer(#[from] LayerError),
    /// The store failed.
    #[error(transparent)]
    Content(#[from] ContentError),
    /// Recording the image failed.
    #[error(transparent)]
    Db(#[from] DbError),
    /// Flushing the store to disk failed.
    #[error("cannot sync the store at `{path}`")]
    Sync {
        /// The store root.
        path: PathBuf,
        /// Why.
        #[source]
        source: std::io::Error,
    },
}

/// How to pull.
#[derive(Debug, Clone)]
pub struct PullOptions {
    /// Registry for references that name none.
    pub default_registry: String,
    /// Registries reached over plain HTTP (besides loopback ones).
    pub insecure: Vec<String>,
    /// The credentials file.
    pub auth_file: PathBuf,
    /// Layers fetched at once.
    pub max_concurrent: usize,
}

/// What a pull did.
#[derive(Debug, Clone)]
pub struct PullOutcome {
    /// The image record.
    pub record: ImageRecord,
    /// Layers fetched over the network.
    pub layers_downloaded: usize,
    /// Bytes of layer blobs fetched over the network.
    pub bytes_downloaded: u64,
    /// The image was already present; nothing was fetched.
    pub up_to_date: bool,
}

/// Pulls `input` into the store.
pub fn pull(
    store: &Store,
    db: &Db,
    input: &str,
    opts: &PullOptions,
    progress: &dyn Progress,
) -> Result<PullOutcome, PullError> {
    let r = reference::parse(input, &opts.default_registry)?;
    let registry = client(&r, opts)?;
    let _lock = store.lock(false)?;
    if let Some(record) = present(store, db, &registry, &r)? {
        progress.message(&format!("{}: image is up to date", record.reference()));
        return Ok(PullOutcome {
            record,
            layers_downloaded: 0,
            bytes_downloaded: 0,
            up_to_date: true,
        });
    }
    let resolved = resolve(&registry, &r)?;
    let config_bytes = registry.get_blob(resolved.manifest.config().digest())?;
    let config = manifest::parse_config(
        &config_bytes,
        resolved.manifest.config().digest(),
        resolved.manifest.layers().len(),
    )?;
    let mut created = Undo::default();
    let result = fetch_and_record(
        store,
        db,
        &registry,
        &r,
        &resolved,
        &config_bytes,
        &config,
        opts,
        progress,
        &mut created,
    );
    if result.is_err() {
        created.rollback(store);
    }
    result
}

/// The registry client for `r`'s repository.
pub fn client(r: &Reference, opts: &PullOptions) -> Result<Registry, AuthError> {
    connect(r, r.repository(), opts)
}

/// A client for `repository` of `r`'s registry, with the credentials the
/// file has for it.
pub fn connect(r: &Reference, repository: &str, opts: &PullOptions) -> Result<Registry, AuthError> {
    let creds = auth::load_credentials(&opts.auth_file, r.registry())?;
    Ok(Registry::new(endpoint(r, repository, opts), creds))
}

/// How to reach `repository` (empty: the registry itself, for `login`) of
/// `r`'s registry: plain HTTP for loopback registries and those marked insecure.
pub fn endpoint(r: &Reference, repository: &str, opts: &PullOptions) -> Endpoint {
    let plain_http =
        registry::is_loopback(r.registry()) || opts.insecure.iter().any(|h| h == r.registry());
    Endpoint {
        registry: r.registry().to_string(),
        api_host: r.api_host().to_string(),
        repository: repository.to_string(),
        plain_http,
    }
}

/// The stored record if the reference already resolves to it and all its
/// layers are unpacked.
fn present(
    store: &Store,
    db: &Db,
    registry: &Registry,
    r: &Reference,
) -> Result<Option<ImageRecord>, PullError> {
    let record = match (r.digest(), r.tag()) {
        (Some(d), _) => images::find_by_digest(db.conn(), &r.name(), d)?,
        (None, Some(tag)) => match images::get(db.conn(), &r.name(), tag)? {
            None => None,
            Some(rec) => {
                let head = registry.head_manifest(tag)?;
                head.filter(|d| d.to_string() == rec.digest).map(|_| rec)
            }
        },
        (None, None) => None,
    };
    Ok(record.filter(|rec| complete(store, rec)))
}

fn complete(store: &Store, rec: &ImageRecord) -> bool {
    rec.layers
        .iter()
        .all(|l| digest::parse(&l.digest).is_ok_and(|d| store.has_layer(&d)))
}

/// The documents a reference resolves to.
struct Resolved {
    /// What the reference points to (an index or the manifest).
    target: Digest,
    /// The index, if the reference pointed to one.
    index: Option<(Digest, Vec<u8>)>,
    manifest_digest: Digest,
    manifest_bytes: Vec<u8>,
    manifest: ImageManifest,
}

fn resolve(registry: &Registry, r: &Reference) -> Result<Resolved, PullError> {
    let top = registry.get_manifest(&r.manifest_reference())?;
    match manifest::parse(&top.bytes, top.content_type.as_deref(), &top.digest)? {
        Manifest::Image(m) => Ok(Resolved {
            target: top.digest.clone(),
            index: None,
            manifest_digest: top.digest,
            manifest_bytes: top.bytes,
            manifest: *m,
        }),
        Manifest::Index(index) => {
            let chosen = manifest::select_platform(&index, manifest::host_platform(), &top.digest)?;
            let inner = registry.get_manifest(chosen.digest().as_ref())?;
            match manifest::parse(&inner.bytes, inner.content_type.as_deref(), &inner.digest)? {
                Manifest::Image(m) => Ok(Resolved {
                    target: top.digest.clone(),
                    index: Some((top.digest, top.bytes)),
                    manifest_digest: inner.digest,
                    manifest_bytes: inner.bytes,
                    manifest: *m,
                }),
                Manifest::Index(_) => Err(ManifestError::MediaType("nested index".into()).into()),
            }
        }
    }
}

/// Blobs and snapshots this pull created, removed if it fails.
#[derive(Default)]
struct Undo {
    blobs: Vec<Digest>,
    layers: Vec<Digest>,
}

impl Undo {
    fn rollback(&self, store: &Store) {
        for d in &self.blobs {
            let _ = store.remove_blob(d);
        }
        for d in &self.layers {
            let _ = store.remove_layer(d);
        }
    }

    fn note(&mut self, d: &Digest, c: Created) {
        if c.blob {
            self.blobs.push(d.clone());
        }
        if c.layer {
            self.layers.push(d.clone());
        }
    }
}

#[allow(clippy::too_many_arguments)]
fn fetch_and_record(
    store: &Store,
    db: &Db,
    registry: &Registry,
    r: &Reference,
    resolved: &Resolved,
    config_bytes: &[u8],
    config: &CheckedConfig,
    opts: &PullOptions,
    progress: &dyn Progress,
    undo: &mut Undo,
) -> Result<PullOutcome, PullError> {
    let m = &resolved.manifest;
    for l in m.layers() {
        manifest::layer_compression(l)?;
    }
    let jobs: Vec<(&Descriptor, &Digest)> = m
        .layers()
        .iter()
        .zip(&config.diff_ids)
        .filter(|(l, _)| !store.has_layer(l.digest()))
        .collect();
    let results = fetch_parallel(store, registry, &jobs, opts.max_concurrent, progress);
    let mut first_err = None;
    let (mut downloaded, mut bytes) = (0, 0);
    for ((desc, _), res) in jobs.iter().zip(results) {
        match res {
            Some(Ok(c)) => {
                undo.note(desc.digest(), c);
                downloaded += usize::from(c.downloaded > 0);
                bytes += c.downloaded;
            }
            Some(Err(e)) => {
                first_err.get_or_insert(e);
            }
            None => {}
        }
    }
    if let Some(e) = first_err {
        return Err(e.into());
    }
    let mut docs = vec![(m.config().digest().clone(), config_bytes.to_vec())];
    docs.push((
        resolved.manifest_digest.clone(),
        resolved.manifest_bytes.clone(),
    ));
    docs.extend(resolved.index.clone());
    for (d, bytes) in &docs {
        if store.write_blob(d, bytes)? {
            undo.blobs.push(d.clone());
        }
    }
    sync(store)?;
    let record = record_of(r, resolved, config_bytes, config);
    images::put(db.conn(), &record)?;
    Ok(PullOutcome {
        record,
        layers_downloaded: downloaded,
        bytes_downloaded: bytes,
        up_to_date: false,
    })
}

type JobResult = Option<Result<Created, LayerError>>;

/// Runs the layer jobs on up to `max` threads; stops taking new jobs after
/// the first failure (jobs not run stay `None`).
fn fetch_parallel(
    store: &Store,
    registry: &Registry,
    jobs: &[(&Descriptor, &Digest)],
    max: usize,
    progress: &dyn Progress,
) -> Vec<JobResult> {
    let next = AtomicUsize::new(0);
    let failed = AtomicBool::new(false);
    let results: Mutex<Vec<JobResult>> = Mutex::new((0..jobs.len()).map(|_| None).collect());
    let workers = max.clamp(1, jobs.len().max(1));
    std::thread::scope(|s| {
        for _ in 0..workers {
            s.spawn(|| loop {
                let i = next.fetch_add(1, Ordering::SeqCst);
                if i >= jobs.len() || failed.load(Ordering::SeqCst) {
                    break;
                }
                let (desc, diff_id) = jobs[i];
                let res = layer::fetch_layer(store, registry, desc, diff_id, progress);
                if res.is_err() {
                    failed.store(true, Ordering::SeqCst);
                }
                if let Ok(mut all) = results.lock() {
                    all[i] = Some(res);
                }
            });
        }
    });
    results.into_inner().unwrap_or_else(|p| p.into_inner())
}

/// Flushes the store's filesystem so the record never points at lost data.
fn sync(store: &Store) -> Result<(), PullError> {
    let err = |source| PullError::Sync {
        path: store.root().to_path_buf(),
        source,
    };
    let dir = std::fs::File::open(store.root()).map_err(err)?;
    // SAFETY: a valid open fd.
    if unsafe { libc::syncfs(std::os::fd::AsRawFd::as_raw_fd(&dir)) } < 0 {
        return Err(err(std::io::Error::last_os_error()));
    }
    Ok(())
}

fn record_of(
    r: &Reference,
    resolved: &Resolved,
    config_bytes: &[u8],
    config: &CheckedConfig,
) -> ImageRecord {
    image_record(
        r.name(),
        r.record_tag(),
        &resolved.target,
        &resolved.manifest_digest,
        &resolved.manifest,
        config_bytes,
        config,
    )
}

/// The database record of an image `name:tag` whose top digest is `top` (the index
/// or the manifest), from its checked manifest and config; pull and load both make it.
pub(crate) fn image_record(
    name: String,
    tag: String,
    top: &Digest,
    manifest_digest: &Digest,
    m: &ImageManifest,
    config_bytes: &[u8],
    config: &CheckedConfig,
) -> ImageRecord {
    let layers: Vec<LayerRecord> = m
        .layers()
        .iter()
        .zip(&config.diff_ids)
        .map(|(l, diff)| LayerRecord {
            digest: l.digest().to_string(),
            diff_id: diff.to_string(),
            size: l.size(),
            media_type: l.media_type().to_string(),
        })
        .collect();
    ImageRecord {
        name,
        tag,
        digest: top.to_string(),
        manifest_digest: manifest_digest.to_string(),
        config_digest: m.config().digest().to_string(),
        config: serde_json::from_slice(config_bytes).unwrap_or(serde_json::Value::Null),
        size: m.config().size() + layers.iter().map(|l| l.size).sum::<u64>(),
        layers,
        created_at: db::now(),
    }
}
