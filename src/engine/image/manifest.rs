//! Manifest documents as oci-spec types: an OCI image index or docker
//! manifest list (resolved to the host platform), an OCI image manifest or
//! docker schema2 manifest, and the image config. What oci-spec leaves to its
//! user is here: the docker media types, telling the documents apart, the
//! host platform, the checks a pull relies on (digests k3 can verify,
//! `diff_ids` matching the layers) and a layer's compression.

use oci_spec::image::{Descriptor, ImageConfiguration, ImageIndex, ImageManifest};
use serde::Deserialize;

use crate::digest::{self, Algorithm, Digest, DigestError};

/// OCI image index.
pub const OCI_INDEX: &str = "application/vnd.oci.image.index.v1+json";
/// Docker manifest list.
pub const DOCKER_LIST: &str = "application/vnd.docker.distribution.manifest.list.v2+json";
/// OCI image manifest.
pub const OCI_MANIFEST: &str = "application/vnd.oci.image.manifest.v1+json";
/// Docker schema2 manifest.
pub const DOCKER_MANIFEST: &str = "application/vnd.docker.distribution.manifest.v2+json";
/// The `Accept` header for manifest requests.
pub const ACCEPT: &str = "application/vnd.oci.image.index.v1+json, application/vnd.docker.distribution.manifest.list.v2+json, application/vnd.oci.image.manifest.v1+json, application/vnd.docker.distribution.manifest.v2+json";

/// A manifest that cannot be used.
#[derive(Debug, thiserror::Error)]
pub enum ManifestError {
    /// Not JSON of the expected shape.
    #[error("malformed {what} `{digest}`")]
    Parse {
        /// `manifest` or `image config`.
        what: &'static str,
        /// The document's digest.
        digest: String,
        /// Why.
        #[source]
        source: serde_json::Error,
    },
    /// A media type we do not handle (e.g. docker schema1).
    #[error("unsupported manifest media type `{0}`: use an OCI or docker schema2 image")]
    MediaType(String),
    /// A digest in the document that k3 cannot verify.
    #[error("`{field}` `{value}` in `{document}` cannot be verified")]
    Digest {
        /// The document's digest.
        document: String,
        /// The field (`layers[].digest`, `rootfs.diff_ids` ...).
        field: &'static str,
        /// The value.
        value: String,
        /// Why.
        #[source]
        source: DigestError,
    },
    /// An index without an entry for the host platform.
    #[error("no manifest for platform `{platform}` in index `{digest}` (has: {available})")]
    NoPlatform {
        /// The wanted `os/arch`.
        platform: String,
        /// The index digest.
        digest: String,
        /// The platforms present.
        available: String,
    },
    /// A layer media type we cannot unpack.
    #[error("unsupported layer media type `{media_type}` for layer `{digest}`")]
    LayerType {
        /// The media type.
        media_type: String,
        /// The layer digest.
        digest: String,
    },
    /// Config `rootfs.diff_ids` does not match the manifest's layers.
    #[error("image config lists `{diff_ids}` diff_ids but the manifest has `{layers}` layers")]
    DiffIds {
        /// Count in the config.
        diff_ids: usize,
        /// Count in the manifest.
        layers: usize,
    },
}

/// The fields that tell the documents apart.
#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct Probe {
    #[serde(default)]
    media_type: Option<String>,
    #[serde(default)]
    manifests: Option<serde_json::Value>,
    #[serde(default)]
    schema_version: Option<u32>,
}

/// A parsed manifest document.
#[derive(Debug, Clone)]
pub enum Manifest {
    /// An index / manifest list.
    Index(Box<ImageIndex>),
    /// A single-platform image manifest.
    Image(Box<ImageManifest>),
}

/// Parses a manifest document; `content_type` is the HTTP header, if any.
pub fn parse(
    bytes: &[u8],
    content_type: Option<&str>,
    digest: &Digest,
) -> Result<Manifest, ManifestError> {
    let perr = |source| ManifestError::Parse {
        what: "manifest",
        digest: digest.to_string(),
        source,
    };
    let probe: Probe = serde_json::from_slice(bytes).map_err(perr)?;
    let header = content_type.map(|c| c.split(';').next().unwrap_or("").trim().to_string());
    let media = probe.media_type.or(header).unwrap_or_default();
    let index = match media.as_str() {
        OCI_INDEX | DOCKER_LIST => true,
        OCI_MANIFEST | DOCKER_MANIFEST => false,
        "" | "application/json" if probe.schema_version == Some(2) => probe.manifests.is_some(),
        other => return Err(ManifestError::MediaType(other.to_string())),
    };
    let manifest = if index {
        Manifest::Index(Box::new(serde_json::from_slice(bytes).map_err(perr)?))
    } else {
        Manifest::Image(Box::new(serde_json::from_slice(bytes).map_err(perr)?))
    };
    let descriptors: Vec<(&'static str, &Descriptor)> = match &manifest {
        Manifest::Index(i) => i
            .manifests()
            .iter()
            .map(|d| ("manifests[].digest", d))
            .collect(),
        Manifest::Image(m) => std::iter::once(("config.digest", m.config()))
            .chain(m.layers().iter().map(|d| ("layers[].digest", d)))
            .collect(),
    };
    for (field, d) in descriptors {
        Algorithm::of(d.digest()).map_err(|source| ManifestError::Digest {
            document: digest.to_string(),
            field,
            value: d.digest().to_string(),
            source,
        })?;
    }
    Ok(manifest)
}

/// The host platform as OCI names it (`linux/amd64`).
pub fn host_platform() -> (&'static str, &'static str) {
    let arch = match std::env::consts::ARCH {
        "x86_64" => "amd64",
        "aarch64" => "arm64",
        "x86" => "386",
        "powerpc64" => "ppc64le",
        other => other,
    };
    ("linux", arch)
}

/// The index entry for `os/arch` (the first one if several).
pub fn select_platform<'a>(
    index: &'a ImageIndex,
    (os, arch): (&str, &str),
    index_digest: &Digest,
) -> Result<&'a Descriptor, ManifestError> {
    let entries = index.manifests();
    entries
        .iter()
        .find(|d| {
            d.platform()
                .as_ref()
                .is_some_and(|p| p.os().to_string() == os && p.architecture().to_string() == arch)
        })
        .ok_or_else(|| ManifestError::NoPlatform {
            platform: format!("{os}/{arch}"),
            digest: index_digest.to_string(),
            available: entries
                .iter()
                .filter_map(|d| d.platform().as_ref())
                .map(|p| format!("`{}/{}`", p.os(), p.architecture()))
                .collect::<Vec<_>>()
                .join(", "),
        })
}

/// An image config checked against its manifest: the document, and its
/// `rootfs.diff_ids` as digests k3 verifies, one per layer.
#[derive(Debug, Clone)]
pub struct CheckedConfig {
    /// The image config.
    pub config: ImageConfiguration,
    /// Digests of the uncompressed layers, bottom first.
    pub diff_ids: Vec<Digest>,
}

/// Parses an image config and checks it against the manifest's layers.
pub fn parse_config(
    bytes: &[u8],
    digest: &Digest,
    layers: usize,
) -> Result<CheckedConfig, ManifestError> {
    let config: ImageConfiguration =
        serde_json::from_slice(bytes).map_err(|source| ManifestError::Parse {
            what: "image config",
            digest: digest.to_string(),
            source,
        })?;
    let diff_ids = config.rootfs().diff_ids();
    if diff_ids.len() != layers {
        return Err(ManifestError::DiffIds {
            diff_ids: diff_ids.len(),
            layers,
        });
    }
    let diff_ids = diff_ids
        .iter()
        .map(|d| {
            digest::parse(d).map_err(|source| ManifestError::Digest {
                document: digest.to_string(),
                field: "rootfs.diff_ids",
                value: d.clone(),
                source,
            })
        })
        .collect::<Result<_, _>>()?;
    Ok(CheckedConfig { config, diff_ids })
}

/// How a layer blob is compressed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Compression {
    /// A plain tar.
    None,
    /// gzip.
    Gzip,
    /// zstd.
    Zstd,
}

/// The compression a layer media type announces.
pub fn layer_compression(d: &Descriptor) -> Result<Compression, ManifestError> {
    let m = d.media_type().as_ref();
    let base = m.strip_suffix("+gzip").or_else(|| m.strip_suffix(".gzip"));
    if base.is_some() {
        return Ok(Compression::Gzip);
    }
    if m.ends_with("+zstd") || m.ends_with(".zstd") {
        return Ok(Compression::Zstd);
    }
    let known_plain = [
        "application/vnd.oci.image.layer.v1.tar",
        "application/vnd.oci.image.layer.nondistributable.v1.tar",
        "application/vnd.docker.image.rootfs.diff.tar",
    ];
    if known_plain.contains(&m) {
        return Ok(Compression::None);
    }
    Err(ManifestError::LayerType {
        media_type: m.to_string(),
        digest: d.digest().to_string(),
    })
}

#[cfg(test)]
mod tests {
    use oci_spec::image::{DescriptorBuilder, MediaType};

    use super::*;

    fn dg(c: char) -> String {
        format!("sha256:{}", c.to_string().repeat(64))
    }

    fn any() -> Digest {
        digest::parse(&dg('0')).unwrap()
    }

    #[test]
    fn parses_oci_index_and_selects_platform() {
        let doc = format!(
            r#"{{"schemaVersion":2,"mediaType":"{OCI_INDEX}","manifests":[
              {{"mediaType":"{OCI_MANIFEST}","digest":"{}","size":1,"platform":{{"architecture":"arm64","os":"linux"}}}},
              {{"mediaType":"{OCI_MANIFEST}","digest":"{}","size":2,"platform":{{"architecture":"amd64","os":"linux"}}}}]}}"#,
            dg('a'),
            dg('b')
        );
        let Manifest::Index(index) = parse(doc.as_bytes(), None, &any()).unwrap() else {
            panic!("not an index")
        };
        let d = select_platform(&index, ("linux", "amd64"), &any()).unwrap();
        assert_eq!(d.digest().to_string(), dg('b'));
        let err = select_platform(&index, ("linux", "s390x"), &any()).unwrap_err();
        assert!(err.to_string().contains("`linux/arm64`"), "{err}");
    }

    #[test]
    fn parses_docker_schema2_by_content_type() {
        let doc = format!(
            r#"{{"schemaVersion":2,"config":{{"mediaType":"application/vnd.docker.container.image.v1+json","digest":"{}","size":3}},
               "layers":[{{"mediaType":"application/vnd.docker.image.rootfs.diff.tar.gzip","digest":"{}","size":4}}]}}"#,
            dg('c'),
            dg('d')
        );
        let Manifest::Image(m) = parse(doc.as_bytes(), Some(DOCKER_MANIFEST), &any()).unwrap()
        else {
            panic!("not an image")
        };
        assert_eq!(m.layers().len(), 1);
        assert_eq!(
            layer_compression(&m.layers()[0]).unwrap(),
            Compression::Gzip
        );
    }

    #[test]
    fn refuses_digests_k3_cannot_verify() {
        let doc = format!(
            r#"{{"schemaVersion":2,"mediaType":"{OCI_MANIFEST}","config":{{"mediaType":"x","digest":"{}","size":3}},
               "layers":[{{"mediaType":"x","digest":"sha384:{}","size":4}}]}}"#,
            dg('c'),
            "e".repeat(96)
        );
        let err = parse(doc.as_bytes(), None, &any()).unwrap_err();
        assert!(matches!(err, ManifestError::Digest { .. }), "{err}");
        assert!(
            err.to_string().contains("`layers[].digest` `sha384:eee"),
            "{err}"
        );
    }

    #[test]
    fn rejects_schema1() {
        let doc = r#"{"schemaVersion":1,"mediaType":"application/vnd.docker.distribution.manifest.v1+prettyjws"}"#;
        assert!(matches!(
            parse(doc.as_bytes(), None, &any()),
            Err(ManifestError::MediaType(_))
        ));
    }

    #[test]
    fn layer_types() {
        let layer = |m: &str| {
            DescriptorBuilder::default()
                .media_type(MediaType::from(m))
                .digest(any())
                .size(0u64)
                .build()
                .unwrap()
        };
        let d = layer("application/vnd.oci.image.layer.v1.tar+zstd");
        assert_eq!(layer_compression(&d).unwrap(), Compression::Zstd);
        let d = layer("application/vnd.oci.image.layer.v1.tar");
        assert_eq!(layer_compression(&d).unwrap(), Compression::None);
        assert!(layer_compression(&layer("text/plain")).is_err());
    }

    #[test]
    fn config_diff_ids_must_match_layers() {
        let doc = |id: &str| {
            format!(
                r#"{{"architecture":"amd64","os":"linux","rootfs":{{"type":"layers","diff_ids":["{id}"]}}}}"#
            )
        };
        let ok = doc(&dg('e'));
        assert_eq!(
            parse_config(ok.as_bytes(), &any(), 1).unwrap().diff_ids,
            vec![digest::parse(&dg('e')).unwrap()]
        );
        assert!(matches!(
            parse_config(ok.as_bytes(), &any(), 2),
            Err(ManifestError::DiffIds { .. })
        ));
        let bad = doc("sha256:ABC");
        assert!(matches!(
            parse_config(bad.as_bytes(), &any(), 1),
            Err(ManifestError::Digest { .. })
        ));
    }
}
