//! One layer, one pass: the blob streams from the registry (or the local
//! store), is hashed and written to a tmp blob file, decompressed (gzip,
//! zstd or none, sniffed from the magic bytes), hashed again for its
//! `diff_id`, and unpacked into a tmp snapshot directory. Only when both
//! digests match are the blob and the snapshot renamed into place.

use std::fs::{self, File};
use std::io::{self, BufRead, BufReader, Read, Write};
use std::path::PathBuf;

use crate::digest::{self, Algorithm, Digest, DigestError, HashingReader};
use crate::image::progress::{human, Counting, Progress};
use crate::image::registry::{ErrorSlot, Registry, RegistryBlob, RegistryError, ResumableReader};
use crate::image::unpack::{self, UnpackError, UnpackOptions};
use crate::store::content::{remove_tree, ContentError, Store};
use oci_spec::image::Descriptor;

/// Read buffer between the network and the decompressor.
const BUF: usize = 256 << 10;

/// A layer that could not be fetched or unpacked.
#[derive(Debug, thiserror::Error)]
pub enum LayerError {
    /// The registry stream failed.
    #[error("layer `{layer}`")]
    Fetch {
        /// The layer digest.
        layer: String,
        /// Why.
        #[source]
        source: RegistryError,
    },
    /// The blob does not match its digest or size.
    #[error("layer `{layer}` failed verification")]
    Verify {
        /// The layer digest.
        layer: String,
        /// The mismatch.
        #[source]
        source: DigestError,
    },
    /// The blob's size is not the descriptor's.
    #[error("layer `{layer}` is `{actual}` bytes, its descriptor says `{expected}`")]
    Size {
        /// The layer digest.
        layer: String,
        /// Descriptor size.
        expected: u64,
        /// Bytes received.
        actual: u64,
    },
    /// The uncompressed content does not match the config's `diff_id`.
    #[error("layer `{layer}` content does not match its `diff_id`")]
    DiffId {
        /// The layer digest.
        layer: String,
        /// The mismatch.
        #[source]
        source: DigestError,
    },
    /// Decompressing failed.
    #[error("layer `{layer}` could not be decompressed")]
    Decompress {
        /// The layer digest.
        layer: String,
        /// Why.
        #[source]
        source: io::Error,
    },
    /// Unpacking failed (including a rejected malicious entry).
    #[error("layer `{layer}` could not be unpacked")]
    Unpack {
        /// The layer digest.
        layer: String,
        /// Why.
        #[source]
        source: UnpackError,
    },
    /// A tmp file or directory could not be made.
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
    /// Committing into the store failed.
    #[error(transparent)]
    Content(#[from] ContentError),
}

/// What fetching a layer created in the store.
#[derive(Debug, Default, Clone, Copy)]
pub struct Created {
    /// A new blob file.
    pub blob: bool,
    /// A new snapshot directory.
    pub layer: bool,
    /// Bytes that came over the network.
    pub downloaded: u64,
}

/// Hashes what passes and copies it to an optional tmp file.
struct Tee<R> {
    inner: HashingReader<R>,
    out: Option<File>,
}

impl<R: Read> Read for Tee<R> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let n = self.inner.read(buf)?;
        if let Some(f) = self.out.as_mut() {
            f.write_all(&buf[..n])?;
        }
        Ok(n)
    }
}

/// A decompressor that hands its source back.
#[allow(clippy::large_enum_variant)] // one per layer, on the stack of its thread
enum Decoder<R: BufRead> {
    Plain(R),
    Gzip(flate2::bufread::MultiGzDecoder<R>),
    Zstd(zstd::Decoder<'static, R>),
}

impl<R: BufRead> Decoder<R> {
    fn new(mut src: R) -> io::Result<Self> {
        let head = src.fill_buf()?;
        Ok(if head.starts_with(&[0x1f, 0x8b]) {
            Decoder::Gzip(flate2::bufread::MultiGzDecoder::new(src))
        } else if head.starts_with(&[0x28, 0xb5, 0x2f, 0xfd]) {
            Decoder::Zstd(zstd::Decoder::with_buffer(src)?)
        } else {
            Decoder::Plain(src)
        })
    }

    fn into_inner(self) -> R {
        match self {
            Decoder::Plain(r) => r,
            Decoder::Gzip(d) => d.into_inner(),
            Decoder::Zstd(d) => d.finish(),
        }
    }
}

impl<R: BufRead> Read for Decoder<R> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        match self {
            Decoder::Plain(r) => r.read(buf),
            Decoder::Gzip(d) => d.read(buf),
            Decoder::Zstd(d) => d.read(buf),
        }
    }
}

/// Fetches (or reads from the local blob) and unpacks one layer.
pub fn fetch_layer(
    store: &Store,
    registry: &Registry,
    desc: &Descriptor,
    diff_id: &Digest,
    progress: &dyn Progress,
) -> Result<Created, LayerError> {
    fetch_or_unpack(store, Some(registry), desc, diff_id, progress)
}

/// Unpacks one layer from its blob in the store (`load`): verified as a
/// fetched one is; a blob not in the store is an error.
pub fn unpack_stored(
    store: &Store,
    desc: &Descriptor,
    diff_id: &Digest,
    progress: &dyn Progress,
) -> Result<Created, LayerError> {
    fetch_or_unpack(store, None, desc, diff_id, progress)
}

fn fetch_or_unpack(
    store: &Store,
    registry: Option<&Registry>,
    desc: &Descriptor,
    diff_id: &Digest,
    progress: &dyn Progress,
) -> Result<Created, LayerError> {
    let layer = desc.digest().to_string();
    let local = store.has_blob(desc.digest());
    let slot = ErrorSlot::default();
    let source: Box<dyn Read> = if local {
        let path = store.blob_path(desc.digest());
        Box::new(File::open(&path).map_err(|source| LayerError::Io {
            op: "open",
            path,
            source,
        })?)
    } else {
        let Some(registry) = registry else {
            return Err(LayerError::Io {
                op: "find",
                path: store.blob_path(desc.digest()),
                source: io::Error::from(io::ErrorKind::NotFound),
            });
        };
        let blob = RegistryBlob {
            registry,
            digest: desc.digest().clone(),
        };
        Box::new(ResumableReader::new(
            blob,
            layer.clone(),
            desc.size(),
            slot.clone(),
        ))
    };
    let bar = progress.layer(desc.digest(), desc.size());
    let counted = Counting {
        inner: source,
        progress: bar.as_ref(),
    };
    let tmp = Tmp::new(store, !local)?;
    let result = run_pipeline(counted, &tmp, desc, diff_id, &slot);
    let outcome = result.and_then(|()| commit(store, &tmp, desc, local));
    match &outcome {
        Ok(_) if local => bar.finish("unpacked from local blob"),
        Ok(_) => bar.finish(&format!("downloaded and unpacked {}", human(desc.size()))),
        Err(_) => bar.finish("failed"),
    }
    tmp.cleanup();
    outcome.map(|mut c| {
        c.downloaded = if local { 0 } else { desc.size() };
        c
    })
}

/// The tmp blob file and snapshot dir of one layer.
struct Tmp {
    blob: Option<(PathBuf, File)>,
    dir: PathBuf,
}

impl Tmp {
    fn new(store: &Store, with_blob: bool) -> Result<Tmp, LayerError> {
        let dir = store.tmp_path("layer");
        fs::create_dir(&dir).map_err(|source| LayerError::Io {
            op: "create",
            path: dir.clone(),
            source,
        })?;
        let blob = if with_blob {
            let path = store.tmp_path("blob");
            let file = File::create(&path).map_err(|source| LayerError::Io {
                op: "create",
                path: path.clone(),
                source,
            })?;
            Some((path, file))
        } else {
            None
        };
        Ok(Tmp { blob, dir })
    }

    fn cleanup(&self) {
        let _ = remove_tree(&self.dir);
        if let Some((p, _)) = &self.blob {
            let _ = fs::remove_file(p);
        }
    }
}

fn run_pipeline<R: Read>(
    src: R,
    tmp: &Tmp,
    desc: &Descriptor,
    diff_id: &Digest,
    slot: &ErrorSlot,
) -> Result<(), LayerError> {
    let layer = desc.digest().to_string();
    let out = match &tmp.blob {
        Some((path, f)) => Some(f.try_clone().map_err(|source| LayerError::Io {
            op: "open",
            path: path.clone(),
            source,
        })?),
        None => None,
    };
    let algorithm = |d| {
        Algorithm::of(d).map_err(|source| LayerError::Verify {
            layer: layer.clone(),
            source,
        })
    };
    let tee = Tee {
        inner: HashingReader::new(src, algorithm(desc.digest())?),
        out,
    };
    let buffered = BufReader::with_capacity(BUF, tee);
    let decoder = Decoder::new(buffered).map_err(|e| stream_error(&layer, slot, e))?;
    let mut diff = HashingReader::new(decoder, algorithm(diff_id)?);
    let unpacked = unpack::unpack(&mut diff, &tmp.dir, UnpackOptions::default());
    let unpacked = unpacked.and_then(|_| diff.drain().map_err(UnpackError::Tar));
    let (actual_diff, _, decoder) = diff.finish();
    let mut buffered = decoder.into_inner();
    let drained = io::copy(&mut buffered, &mut io::sink());
    let tee = buffered.into_inner();
    let (actual, count, _) = tee.inner.finish();
    if let Some(err) = slot.lock().ok().and_then(|mut s| s.take()) {
        return Err(LayerError::Fetch { layer, source: err });
    }
    // A wrong blob explains any unpack error it caused: report it first.
    if drained.is_ok() && (count != desc.size() || &actual != desc.digest()) {
        return Err(verify_error(&layer, desc, &actual, count));
    }
    if let Err(source) = unpacked {
        return Err(match source {
            UnpackError::Tar(e) => stream_error(&layer, slot, e),
            other => LayerError::Unpack {
                layer,
                source: other,
            },
        });
    }
    drained.map_err(|e| stream_error(&layer, slot, e))?;
    digest::check(&actual_diff, diff_id).map_err(|source| LayerError::DiffId { layer, source })
}

fn verify_error(layer: &str, desc: &Descriptor, actual: &Digest, count: u64) -> LayerError {
    if count != desc.size() {
        return LayerError::Size {
            layer: layer.to_string(),
            expected: desc.size(),
            actual: count,
        };
    }
    LayerError::Verify {
        layer: layer.to_string(),
        source: DigestError::Mismatch {
            expected: desc.digest().to_string(),
            actual: actual.to_string(),
        },
    }
}

/// A stream error: the registry's own error if it left one, else a
/// decompression/tar error.
fn stream_error(layer: &str, slot: &ErrorSlot, e: io::Error) -> LayerError {
    if let Some(source) = slot.lock().ok().and_then(|mut s| s.take()) {
        return LayerError::Fetch {
            layer: layer.to_string(),
            source,
        };
    }
    if e.kind() == io::ErrorKind::InvalidData || e.kind() == io::ErrorKind::InvalidInput {
        return LayerError::Decompress {
            layer: layer.to_string(),
            source: e,
        };
    }
    LayerError::Unpack {
        layer: layer.to_string(),
        source: UnpackError::Tar(e),
    }
}

fn commit(store: &Store, tmp: &Tmp, desc: &Descriptor, local: bool) -> Result<Created, LayerError> {
    let mut created = Created::default();
    if let Some((path, _)) = tmp.blob.as_ref().filter(|_| !local) {
        created.blob = store.commit_blob(path, desc.digest())?;
    }
    created.layer = store.commit_layer(&tmp.dir, desc.digest())?;
    Ok(created)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::image::progress::{reporter, Mode};
    use crate::image::registry::Endpoint;

    fn layer_tar() -> Vec<u8> {
        let mut b = tar::Builder::new(Vec::new());
        let mut h = tar::Header::new_gnu();
        h.set_path("hello").unwrap();
        h.set_size(5);
        h.set_mode(0o644);
        h.set_uid(0);
        h.set_gid(0);
        h.set_mtime(0);
        h.set_cksum();
        b.append(&h, &b"world"[..]).unwrap();
        b.into_inner().unwrap()
    }

    fn compress(raw: &[u8], how: &str) -> Vec<u8> {
        match how {
            "gzip" => {
                let mut e = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
                e.write_all(raw).unwrap();
                e.finish().unwrap()
            }
            "zstd" => zstd::encode_all(raw, 3).unwrap(),
            _ => raw.to_vec(),
        }
    }

    fn registry() -> Registry {
        Registry::new(
            Endpoint {
                registry: "127.0.0.1:1".into(),
                api_host: "127.0.0.1:1".into(),
                repository: "unused".into(),
                plain_http: true,
            },
            None,
        )
    }

    fn desc(blob: &[u8]) -> Descriptor {
        Descriptor::new(
            oci_spec::image::MediaType::Other(String::new()),
            blob.len() as u64,
            digest::of(Algorithm::Sha256, blob),
        )
    }

    #[test]
    fn unpacks_gzip_zstd_and_plain_local_blobs() {
        let dir = tempfile::tempdir().unwrap();
        let store = Store::open(dir.path()).unwrap();
        let raw = layer_tar();
        let diff_id = digest::of(Algorithm::Sha256, &raw);
        let quiet = reporter(Mode::Quiet);
        for how in ["gzip", "zstd", "none"] {
            let blob = compress(&raw, how);
            let d = desc(&blob);
            store.write_blob(d.digest(), &blob).unwrap();
            let c = fetch_layer(&store, &registry(), &d, &diff_id, quiet.as_ref()).unwrap();
            assert!(c.layer && !c.blob, "{how}");
            let content = fs::read(store.layer_path(d.digest()).join("hello")).unwrap();
            assert_eq!(content, b"world", "{how}");
        }
        assert_eq!(fs::read_dir(store.tmp_dir()).unwrap().count(), 0);
    }

    #[test]
    fn rejects_wrong_blob_and_wrong_diff_id() {
        let dir = tempfile::tempdir().unwrap();
        let store = Store::open(dir.path()).unwrap();
        let raw = layer_tar();
        let blob = compress(&raw, "gzip");
        let d = desc(&blob);
        let quiet = reporter(Mode::Quiet);
        let wrong_diff = digest::of(Algorithm::Sha256, b"other");
        store.write_blob(d.digest(), &blob).unwrap();
        let err = fetch_layer(&store, &registry(), &d, &wrong_diff, quiet.as_ref()).unwrap_err();
        assert!(matches!(err, LayerError::DiffId { .. }), "{err}");
        let mut tampered = blob.clone();
        let last = tampered.len() - 9;
        tampered[last] ^= 0xff;
        fs::write(store.blob_path(d.digest()), &tampered).unwrap();
        let diff_id = digest::of(Algorithm::Sha256, &raw);
        let err = fetch_layer(&store, &registry(), &d, &diff_id, quiet.as_ref()).unwrap_err();
        assert!(matches!(err, LayerError::Verify { .. }), "{err}");
        assert!(!store.has_layer(d.digest()));
        assert_eq!(fs::read_dir(store.tmp_dir()).unwrap().count(), 0);
    }
}
