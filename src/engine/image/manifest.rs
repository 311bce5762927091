//! Manifest documents: OCI image index / docker manifest list (resolved to the
//! host platform), OCI image manifest / docker schema2 manifest, and the few
//! image config fields a pull needs.

use serde::{Deserialize, Serialize};

use crate::image::digest::Digest;

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

/// A content descriptor.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct Descriptor {
    /// The media type of the referenced content.
    #[serde(default)]
    pub media_type: String,
    /// The content digest.
    pub digest: Digest,
    /// The content size in bytes.
    pub size: u64,
    /// The platform (index entries only).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub platform: Option<Platform>,
}

/// A platform of an index entry.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct Platform {
    /// CPU architecture (`amd64`, `arm64` ...).
    pub architecture: String,
    /// Operating system (`linux`).
    pub os: String,
    /// CPU variant (`v8` ...).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub variant: Option<String>,
}

/// An image manifest (OCI or docker schema2).
#[derive(Debug, Clone, Deserialize)]
pub struct ImageManifest {
    /// The config descriptor.
    pub config: Descriptor,
    /// Layer descriptors, bottom first.
    pub layers: Vec<Descriptor>,
}

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

#[derive(Deserialize)]
struct Index {
    manifests: Vec<Descriptor>,
}

/// A parsed manifest document.
#[derive(Debug, Clone)]
pub enum Manifest {
    /// An index / manifest list.
    Index(Vec<Descriptor>),
    /// A single-platform image manifest.
    Image(ImageManifest),
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
    match media.as_str() {
        OCI_INDEX | DOCKER_LIST => index(bytes, perr),
        OCI_MANIFEST | DOCKER_MANIFEST => image(bytes, perr),
        "" | "application/json" if probe.schema_version == Some(2) => {
            if probe.manifests.is_some() {
                index(bytes, perr)
            } else {
                image(bytes, perr)
            }
        }
        other => Err(ManifestError::MediaType(other.to_string())),
    }
}

fn index(
    bytes: &[u8],
    perr: impl Fn(serde_json::Error) -> ManifestError,
) -> Result<Manifest, ManifestError> {
    let idx: Index = serde_json::from_slice(bytes).map_err(perr)?;
    Ok(Manifest::Index(idx.manifests))
}

fn image(
    bytes: &[u8],
    perr: impl Fn(serde_json::Error) -> ManifestError,
) -> Result<Manifest, ManifestError> {
    Ok(Manifest::Image(
        serde_json::from_slice(bytes).map_err(perr)?,
    ))
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
    entries: &'a [Descriptor],
    (os, arch): (&str, &str),
    index_digest: &Digest,
) -> Result<&'a Descriptor, ManifestError> {
    entries
        .iter()
        .find(|d| {
            d.platform
                .as_ref()
                .is_some_and(|p| p.os == os && p.architecture == arch)
        })
        .ok_or_else(|| ManifestError::NoPlatform {
            platform: format!("{os}/{arch}"),
            digest: index_digest.to_string(),
            available: entries
                .iter()
                .filter_map(|d| d.platform.as_ref())
                .map(|p| format!("`{}/{}`", p.os, p.architecture))
                .collect::<Vec<_>>()
                .join(", "),
        })
}

/// The image config fields a pull checks.
#[derive(Debug, Clone, Deserialize)]
pub struct ImageConfig {
    /// The layer list.
    pub rootfs: RootFs,
    /// Creation time as written by the builder.
    #[serde(default)]
    pub created: Option<String>,
}

/// `rootfs` of an image config.
#[derive(Debug, Clone, Deserialize)]
pub struct RootFs {
    /// Digests of the uncompressed layers, bottom first.
    pub diff_ids: Vec<Digest>,
}

/// Parses an image config and checks it against the manifest's layers.
pub fn parse_config(
    bytes: &[u8],
    digest: &Digest,
    layers: usize,
) -> Result<ImageConfig, ManifestError> {
    let config: ImageConfig =
        serde_json::from_slice(bytes).map_err(|source| ManifestError::Parse {
            what: "image config",
            digest: digest.to_string(),
            source,
        })?;
    if config.rootfs.diff_ids.len() != layers {
        return Err(ManifestError::DiffIds {
            diff_ids: config.rootfs.diff_ids.len(),
            layers,
        });
    }
    Ok(config)
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
    let m = d.media_type.as_str();
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
        digest: d.digest.to_string(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn dg(c: char) -> String {
        format!("sha256:{}", c.to_string().repeat(64))
    }

    fn any() -> Digest {
        dg('0').parse().unwrap()
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
        let Manifest::Index(entries) = parse(doc.as_bytes(), None, &any()).unwrap() else {
            panic!("not an index")
        };
        let d = select_platform(&entries, ("linux", "amd64"), &any()).unwrap();
        assert_eq!(d.digest.to_string(), dg('b'));
        let err = select_platform(&entries, ("linux", "s390x"), &any()).unwrap_err();
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
        assert_eq!(m.layers.len(), 1);
        assert_eq!(layer_compression(&m.layers[0]).unwrap(), Compression::Gzip);
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
        let mut d = Descriptor {
            media_type: "application/vnd.oci.image.layer.v1.tar+zstd".into(),
            digest: any(),
            size: 0,
            platform: None,
        };
        assert_eq!(layer_compression(&d).unwrap(), Compression::Zstd);
        d.media_type = "application/vnd.oci.image.layer.v1.tar".into();
        assert_eq!(layer_compression(&d).unwrap(), Compression::None);
        d.media_type = "text/plain".into();
        assert!(layer_compression(&d).is_err());
    }

    #[test]
    fn config_diff_ids_must_match_layers() {
        let doc = format!(
            r#"{{"rootfs":{{"type":"layers","diff_ids":["{}"]}}}}"#,
            dg('e')
        );
        assert!(parse_config(doc.as_bytes(), &any(), 1).is_ok());
        assert!(matches!(
            parse_config(doc.as_bytes(), &any(), 2),
            Err(ManifestError::DiffIds { .. })
        ));
    }
}
