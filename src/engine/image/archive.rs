//! `save` and `load`: images as an OCI archive, a tar of an OCI image layout
//! (`oci-layout`, `index.json`, `blobs/<alg>/<hex>`), the format of `podman
//! save --format oci-archive` and skopeo's `oci-archive:`. Each image is one
//! `index.json` entry whose `org.opencontainers.image.ref.name` annotation is
//! its full reference, as podman writes it.
//!
//! `load` streams the archive: each blob goes to a tmp file while it is
//! hashed and is renamed into the store only when its digest matches its
//! name; the layers are then unpacked from the stored blobs as a pull does.
//! A failed load removes every blob and layer it added and records nothing.

use std::collections::HashSet;
use std::fs::File;
use std::io::{self, Read, Write};
use std::path::PathBuf;

use oci_spec::image::{Descriptor, ImageIndex};

use crate::db::images::{self as records, ImageRecord};
use crate::db::{Db, DbError};
use crate::digest::{self, Algorithm, Digest, HashingReader};
use crate::image::layer::{self, LayerError};
use crate::image::manifest::{self, Manifest, ManifestError, OCI_MANIFEST};
use crate::image::progress::Progress;
use crate::image::reference::{self, ReferenceExt};
use crate::images::{self, ImagesError};
use crate::store::content::{ContentError, Store};

/// The annotation naming an image in `index.json`.
pub const REF_NAME: &str = "org.opencontainers.image.ref.name";
/// The largest `index.json` or `oci-layout` read.
const MAX_DOCUMENT: u64 = 8 << 20;

/// A `save` or `load` that failed.
#[derive(Debug, thiserror::Error)]
pub enum ArchiveError {
    /// An image named is not there.
    #[error(transparent)]
    Images(#[from] ImagesError),
    /// Reading or writing the archive failed.
    #[error("cannot {op} the archive")]
    Stream {
        /// What was tried.
        op: &'static str,
        /// Why.
        #[source]
        source: io::Error,
    },
    /// A tmp file could not be made or written.
    #[error("cannot {op} `{path}`")]
    Io {
        /// What was tried.
        op: &'static str,
        /// The path.
        path: PathBuf,
        /// Why.
        #[source]
        source: io::Error,
    },
    /// The archive is not an OCI archive k3 can read.
    #[error("not an OCI archive: {0}")]
    Format(String),
    /// A blob's content does not match its name.
    #[error("archive blob `{name}` failed verification")]
    Verify {
        /// The entry name.
        name: String,
        /// The mismatch.
        #[source]
        source: digest::DigestError,
    },
    /// A manifest or config is unusable.
    #[error(transparent)]
    Manifest(#[from] ManifestError),
    /// A layer could not be unpacked.
    #[error(transparent)]
    Layer(#[from] LayerError),
    /// The store failed.
    #[error(transparent)]
    Content(#[from] ContentError),
    /// Recording an image failed.
    #[error(transparent)]
    Db(#[from] DbError),
}

fn stream(op: &'static str) -> impl FnOnce(io::Error) -> ArchiveError {
    move |source| ArchiveError::Stream { op, source }
}

/// Writes the images `names` name as an OCI archive to `out`; their references.
pub fn save(
    store: &Store,
    db: &Db,
    names: &[String],
    default_registry: &str,
    out: impl Write,
) -> Result<Vec<String>, ArchiveError> {
    let _lock = store.lock(false)?;
    let recs = names
        .iter()
        .map(|n| images::find(db, n, default_registry))
        .collect::<Result<Vec<_>, _>>()?;
    let mut tar = tar::Builder::new(out);
    let mut written = HashSet::new();
    let mut entries = Vec::new();
    append_bytes(&mut tar, "oci-layout", br#"{"imageLayoutVersion":"1.0.0"}"#)?;
    for dir in ["blobs/", "blobs/sha256/", "blobs/sha512/"] {
        let mut h = header(tar::EntryType::Directory, 0);
        h.set_mode(0o755);
        tar.append_data(&mut h, dir, io::empty())
            .map_err(stream("write"))?;
    }
    for rec in &recs {
        let manifest_digest =
            digest::parse(&rec.manifest_digest).map_err(|source| ArchiveError::Verify {
                name: rec.manifest_digest.clone(),
                source,
            })?;
        let manifest_bytes = store.read_blob(&manifest_digest)?;
        let media_type = serde_json::from_slice::<serde_json::Value>(&manifest_bytes)
            .ok()
            .and_then(|v| v["mediaType"].as_str().map(str::to_string))
            .unwrap_or_else(|| OCI_MANIFEST.to_string());
        let mut blobs = vec![rec.manifest_digest.as_str(), rec.config_digest.as_str()];
        blobs.extend(rec.layers.iter().map(|l| l.digest.as_str()));
        for b in blobs {
            if written.insert(b.to_string()) {
                append_blob(&mut tar, store, b)?;
            }
        }
        let name = rec.reference();
        entries.push(serde_json::json!({
            "mediaType": media_type,
            "digest": rec.manifest_digest,
            "size": manifest_bytes.len(),
            "annotations": {REF_NAME: name},
        }));
    }
    let index = serde_json::json!({"schemaVersion": 2, "manifests": entries});
    append_bytes(&mut tar, "index.json", index.to_string().as_bytes())?;
    tar.into_inner()
        .and_then(|mut w| w.flush())
        .map_err(stream("write"))?;
    Ok(recs.iter().map(ImageRecord::reference).collect())
}

fn header(kind: tar::EntryType, size: u64) -> tar::Header {
    let mut h = tar::Header::new_ustar();
    h.set_entry_type(kind);
    h.set_size(size);
    h.set_mode(0o644);
    h.set_uid(0);
    h.set_gid(0);
    h.set_mtime(0);
    h
}

fn append_bytes<W: Write>(
    tar: &mut tar::Builder<W>,
    path: &str,
    data: &[u8],
) -> Result<(), ArchiveError> {
    let mut h = header(tar::EntryType::Regular, data.len() as u64);
    tar.append_data(&mut h, path, data).map_err(stream("write"))
}

fn append_blob<W: Write>(
    tar: &mut tar::Builder<W>,
    store: &Store,
    d: &str,
) -> Result<(), ArchiveError> {
    let parsed = digest::parse(d).map_err(|source| ArchiveError::Verify {
        name: d.to_string(),
        source,
    })?;
    let path = store.blob_path(&parsed);
    let io_err = |op| {
        let path = path.clone();
        move |source| ArchiveError::Io { op, path, source }
    };
    let f = File::open(&path).map_err(io_err("open"))?;
    let size = f.metadata().map_err(io_err("stat"))?.len();
    let mut h = header(tar::EntryType::Regular, size);
    let name = format!("blobs/{}/{}", parsed.algorithm(), parsed.digest());
    tar.append_data(&mut h, name, f).map_err(stream("write"))
}

/// Blobs and layers a load added, removed again if it fails.
#[derive(Default)]
struct Added {
    blobs: Vec<Digest>,
    layers: Vec<Digest>,
}

/// Reads an OCI archive from `input` into the store and records its images;
/// their references.
pub fn load(
    store: &Store,
    db: &Db,
    input: impl Read,
    default_registry: &str,
    progress: &dyn Progress,
) -> Result<Vec<String>, ArchiveError> {
    let _lock = store.lock(false)?;
    let mut added = Added::default();
    let result = load_into(store, db, input, default_registry, progress, &mut added);
    if result.is_err() {
        for d in &added.blobs {
            let _ = store.remove_blob(d);
        }
        for d in &added.layers {
            let _ = store.remove_layer(d);
        }
    }
    result
}

fn load_into(
    store: &Store,
    db: &Db,
    input: impl Read,
    default_registry: &str,
    progress: &dyn Progress,
    added: &mut Added,
) -> Result<Vec<String>, ArchiveError> {
    let mut archive = tar::Archive::new(input);
    let mut index = None;
    let mut layout = false;
    let mut docker_manifest = false;
    for entry in archive.entries().map_err(stream("read"))? {
        let mut entry = entry.map_err(stream("read"))?;
        let path = entry.path().map_err(stream("read"))?.into_owned();
        let name = path.to_string_lossy().trim_start_matches("./").to_string();
        match name.as_str() {
            "index.json" => index = Some(read_small(&mut entry, "index.json")?),
            "oci-layout" => layout = true,
            "manifest.json" => docker_manifest = true,
            _ => {
                if let Some(d) = blob_name(&name) {
                    if entry.header().entry_type().is_file() {
                        store_blob(store, &mut entry, &d, &name, added)?;
                    }
                }
            }
        }
    }
    let Some(index) = index else {
        return Err(ArchiveError::Format(if docker_manifest {
            "a docker archive (`manifest.json`): k3 reads OCI archives (`podman save --format oci-archive`)".to_string()
        } else {
            "no `index.json`".to_string()
        }));
    };
    if !layout {
        return Err(ArchiveError::Format("no `oci-layout`".to_string()));
    }
    let index: ImageIndex = serde_json::from_slice(&index)
        .map_err(|e| ArchiveError::Format(format!("malformed `index.json`: {e}")))?;
    if index.manifests().is_empty() {
        return Err(ArchiveError::Format(
            "`index.json` lists no image".to_string(),
        ));
    }
    let mut loaded = Vec::new();
    for desc in index.manifests() {
        let rec = load_image(store, desc, default_registry, progress, added)?;
        records::put(db.conn(), &rec)?;
        loaded.push(rec.reference());
    }
    Ok(loaded)
}

/// `blobs/<alg>/<hex>` as a digest.
fn blob_name(name: &str) -> Option<Digest> {
    let rest = name.strip_prefix("blobs/")?;
    let (alg, hex) = rest.split_once('/')?;
    digest::parse(&format!("{alg}:{hex}")).ok()
}

fn read_small(r: &mut impl Read, what: &str) -> Result<Vec<u8>, ArchiveError> {
    let mut out = Vec::new();
    r.take(MAX_DOCUMENT + 1)
        .read_to_end(&mut out)
        .map_err(stream("read"))?;
    if out.len() as u64 > MAX_DOCUMENT {
        return Err(ArchiveError::Format(format!(
            "`{what}` is larger than `{MAX_DOCUMENT}` bytes"
        )));
    }
    Ok(out)
}

/// Streams one blob entry into the store, verified against its name.
fn store_blob(
    store: &Store,
    entry: &mut impl Read,
    d: &Digest,
    name: &str,
    added: &mut Added,
) -> Result<(), ArchiveError> {
    if store.has_blob(d) {
        return Ok(());
    }
    let algorithm = Algorithm::of(d).map_err(|source| ArchiveError::Verify {
        name: name.to_string(),
        source,
    })?;
    let tmp = store.tmp_path("blob");
    let io_err = |op| {
        let path = tmp.clone();
        move |source| ArchiveError::Io { op, path, source }
    };
    let result = (|| {
        let mut f = File::create(&tmp).map_err(io_err("create"))?;
        let mut hashing = HashingReader::new(entry, algorithm);
        io::copy(&mut hashing, &mut f).map_err(stream("read"))?;
        f.sync_all().map_err(io_err("sync"))?;
        let (actual, _, _) = hashing.finish();
        digest::check(&actual, d).map_err(|source| ArchiveError::Verify {
            name: name.to_string(),
            source,
        })?;
        Ok(store.commit_blob(&tmp, d)?)
    })();
    match result {
        Ok(true) => {
            added.blobs.push(d.clone());
            Ok(())
        }
        Ok(false) => Ok(()),
        Err(e) => {
            let _ = std::fs::remove_file(&tmp);
            Err(e)
        }
    }
}

/// The image one `index.json` entry names: its manifest (the host's
/// platform of a nested index), config and unpacked layers.
fn load_image(
    store: &Store,
    desc: &Descriptor,
    default_registry: &str,
    progress: &dyn Progress,
    added: &mut Added,
) -> Result<ImageRecord, ArchiveError> {
    let top = desc.digest();
    let bytes = stored(store, top)?;
    let (manifest_digest, manifest) =
        match manifest::parse(&bytes, Some(desc.media_type().as_ref()), top)? {
            Manifest::Image(m) => (top.clone(), *m),
            Manifest::Index(i) => {
                let chosen = manifest::select_platform(&i, manifest::host_platform(), top)?;
                let inner = stored(store, chosen.digest())?;
                match manifest::parse(&inner, Some(chosen.media_type().as_ref()), chosen.digest())?
                {
                    Manifest::Image(m) => (chosen.digest().clone(), *m),
                    Manifest::Index(_) => {
                        return Err(ManifestError::MediaType("nested index".into()).into())
                    }
                }
            }
        };
    let config_bytes = stored(store, manifest.config().digest())?;
    let config = manifest::parse_config(
        &config_bytes,
        manifest.config().digest(),
        manifest.layers().len(),
    )?;
    for (l, diff_id) in manifest.layers().iter().zip(&config.diff_ids) {
        manifest::layer_compression(l)?;
        if !store.has_layer(l.digest()) {
            let c = layer::unpack_stored(store, l, diff_id, progress)?;
            if c.layer {
                added.layers.push(l.digest().clone());
            }
        }
    }
    let (name, tag) = name_of(desc, manifest.config().digest(), default_registry)?;
    Ok(crate::image::pull::image_record(
        name,
        tag,
        top,
        &manifest_digest,
        &manifest,
        &config_bytes,
        &config,
    ))
}

/// A blob the archive must have held.
fn stored(store: &Store, d: &Digest) -> Result<Vec<u8>, ArchiveError> {
    if !store.has_blob(d) {
        return Err(ArchiveError::Format(format!("blob `{d}` is missing")));
    }
    Ok(store.read_blob(d)?)
}

/// The name and tag an entry is recorded under: its `ref.name` annotation
/// (a full reference, as podman and k3 write it); without one the image is
/// untagged, named after its id under `localhost/`.
fn name_of(
    desc: &Descriptor,
    config: &Digest,
    default_registry: &str,
) -> Result<(String, String), ArchiveError> {
    let annotated = desc
        .annotations()
        .as_ref()
        .and_then(|a| a.get(REF_NAME))
        .filter(|n| !n.is_empty());
    match annotated {
        Some(n) => {
            let r = reference::parse(n, default_registry)
                .map_err(|e| ArchiveError::Format(format!("invalid `{REF_NAME}` `{n}`: {e}")))?;
            Ok((r.name(), r.record_tag()))
        }
        None => Ok((
            format!(
                "localhost/{}",
                &config.digest()[..12.min(config.digest().len())]
            ),
            String::new(),
        )),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::image::progress::{reporter, Mode};

    fn gz(raw: &[u8]) -> Vec<u8> {
        let mut e = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
        e.write_all(raw).unwrap();
        e.finish().unwrap()
    }

    fn layer_tar() -> Vec<u8> {
        let mut b = tar::Builder::new(Vec::new());
        let mut h = header(tar::EntryType::Regular, 5);
        b.append_data(&mut h, "hello", &b"world"[..]).unwrap();
        b.into_inner().unwrap()
    }

    /// An image in `store` recorded as `127.0.0.1:5000/x:v1`.
    fn seed(store: &Store, db: &Db) -> ImageRecord {
        let raw = layer_tar();
        let blob = gz(&raw);
        let layer = digest::of(Algorithm::Sha256, &blob);
        let diff = digest::of(Algorithm::Sha256, &raw);
        let config = serde_json::json!({
            "architecture": "amd64", "os": "linux",
            "rootfs": {"type": "layers", "diff_ids": [diff.to_string()]},
            "config": {"Cmd": ["/bin/sh"]}
        })
        .to_string();
        let cd = digest::of(Algorithm::Sha256, config.as_bytes());
        let manifest = serde_json::json!({
            "schemaVersion": 2, "mediaType": OCI_MANIFEST,
            "config": {"mediaType": "application/vnd.oci.image.config.v1+json", "digest": cd.to_string(), "size": config.len()},
            "layers": [{"mediaType": "application/vnd.oci.image.layer.v1.tar+gzip", "digest": layer.to_string(), "size": blob.len()}]
        })
        .to_string();
        let md = digest::of(Algorithm::Sha256, manifest.as_bytes());
        store.write_blob(&layer, &blob).unwrap();
        store.write_blob(&cd, config.as_bytes()).unwrap();
        store.write_blob(&md, manifest.as_bytes()).unwrap();
        let quiet = reporter(Mode::Quiet);
        let m: oci_spec::image::ImageManifest = serde_json::from_str(&manifest).unwrap();
        let checked = manifest::parse_config(config.as_bytes(), &cd, 1).unwrap();
        layer::unpack_stored(store, &m.layers()[0], &diff, quiet.as_ref()).unwrap();
        let rec = crate::image::pull::image_record(
            "127.0.0.1:5000/x".into(),
            "v1".into(),
            &md,
            &md,
            &m,
            config.as_bytes(),
            &checked,
        );
        records::upsert(db.conn(), &rec).unwrap();
        rec
    }

    #[test]
    fn save_then_load_into_another_store_round_trips() {
        let (a, b) = (tempfile::tempdir().unwrap(), tempfile::tempdir().unwrap());
        let (sa, sb) = (
            Store::open(a.path()).unwrap(),
            Store::open(b.path()).unwrap(),
        );
        let (da, dbb) = (Db::open_in_memory().unwrap(), Db::open_in_memory().unwrap());
        let rec = seed(&sa, &da);
        let mut out = Vec::new();
        let saved = save(
            &sa,
            &da,
            &["127.0.0.1:5000/x:v1".into()],
            "docker.io",
            &mut out,
        )
        .unwrap();
        assert_eq!(saved, vec!["127.0.0.1:5000/x:v1"]);
        let quiet = reporter(Mode::Quiet);
        let loaded = load(&sb, &dbb, &out[..], "docker.io", quiet.as_ref()).unwrap();
        assert_eq!(loaded, vec!["127.0.0.1:5000/x:v1"]);
        let got = records::get(dbb.conn(), "127.0.0.1:5000/x", "v1")
            .unwrap()
            .unwrap();
        assert_eq!(
            (got.manifest_digest, got.config_digest, got.layers),
            (rec.manifest_digest, rec.config_digest, rec.layers.clone())
        );
        let layer = digest::parse(&rec.layers[0].digest).unwrap();
        assert_eq!(
            std::fs::read(sb.layer_path(&layer).join("hello")).unwrap(),
            b"world"
        );
        assert_eq!(std::fs::read_dir(sb.tmp_dir()).unwrap().count(), 0);
    }

    #[test]
    fn a_tampered_blob_loads_nothing_and_leaves_nothing() {
        let (a, b) = (tempfile::tempdir().unwrap(), tempfile::tempdir().unwrap());
        let (sa, sb) = (
            Store::open(a.path()).unwrap(),
            Store::open(b.path()).unwrap(),
        );
        let (da, dbb) = (Db::open_in_memory().unwrap(), Db::open_in_memory().unwrap());
        let rec = seed(&sa, &da);
        // the config blob, renamed to another digest: the entry lies about its name
        let mut out = Vec::new();
        save(
            &sa,
            &da,
            &["127.0.0.1:5000/x:v1".into()],
            "docker.io",
            &mut out,
        )
        .unwrap();
        let cd = digest::parse(&rec.config_digest).unwrap();
        let config = sa.read_blob(&cd).unwrap();
        let pos = out
            .windows(config.len())
            .position(|w| w == config.as_slice())
            .unwrap();
        out[pos + 5] ^= 1;
        let quiet = reporter(Mode::Quiet);
        let err = load(&sb, &dbb, &out[..], "docker.io", quiet.as_ref()).unwrap_err();
        assert!(matches!(err, ArchiveError::Verify { .. }), "{err}");
        assert!(sb.list_blobs().unwrap().is_empty());
        assert!(sb.list_layers().unwrap().is_empty());
        assert!(records::list(dbb.conn()).unwrap().is_empty());
        assert_eq!(std::fs::read_dir(sb.tmp_dir()).unwrap().count(), 0);
    }

    #[test]
    fn refuses_docker_archives_and_unknown_images() {
        let b = tempfile::tempdir().unwrap();
        let sb = Store::open(b.path()).unwrap();
        let dbb = Db::open_in_memory().unwrap();
        let mut t = tar::Builder::new(Vec::new());
        let mut h = header(tar::EntryType::Regular, 2);
        t.append_data(&mut h, "manifest.json", &b"[]"[..]).unwrap();
        let out = t.into_inner().unwrap();
        let quiet = reporter(Mode::Quiet);
        let err = load(&sb, &dbb, &out[..], "docker.io", quiet.as_ref()).unwrap_err();
        assert!(err.to_string().contains("docker archive"), "{err}");
        let err = save(&sb, &dbb, &["nope:v1".into()], "docker.io", Vec::new()).unwrap_err();
        assert!(err.to_string().contains("not found"), "{err}");
    }
}
