//! Docker-style image references: `[REGISTRY/]PATH[:TAG][@DIGEST]`.
//!
//! The first path component is a registry when it holds a `.` or a `:` or is
//! `localhost`; otherwise the configured default registry is used. On
//! `docker.io` a single-component path gets the `library/` prefix. The tag
//! defaults to `latest` unless a digest is given.

use std::fmt;

use crate::image::digest::{Digest, DigestError};

/// The registry used when a reference names none.
pub const DOCKER_HUB: &str = "docker.io";
/// The API endpoint of [`DOCKER_HUB`].
const DOCKER_HUB_API: &str = "registry-1.docker.io";
/// The tag used when a reference names neither tag nor digest.
pub const DEFAULT_TAG: &str = "latest";

/// A reference that could not be parsed.
#[derive(Debug, thiserror::Error, PartialEq)]
pub enum ReferenceError {
    /// Nothing was given.
    #[error("image reference is empty")]
    Empty,
    /// A repository path component breaks the grammar.
    #[error("invalid repository path component `{component}` in `{reference}`: use lowercase letters, digits and `.` `_` `-` separators")]
    Component {
        /// The offending component.
        component: String,
        /// The whole reference.
        reference: String,
    },
    /// The tag breaks the grammar.
    #[error("invalid tag `{tag}` in `{reference}`: use up to 128 of `[A-Za-z0-9_.-]`, not starting with `.` or `-`")]
    Tag {
        /// The offending tag.
        tag: String,
        /// The whole reference.
        reference: String,
    },
    /// The registry host breaks the grammar.
    #[error("invalid registry `{registry}` in `{reference}`")]
    Registry {
        /// The offending registry.
        registry: String,
        /// The whole reference.
        reference: String,
    },
    /// The name is longer than the distribution spec allows (255).
    #[error("invalid image name `{reference}`: longer than 255 characters")]
    TooLong {
        /// The start of the reference.
        reference: String,
    },
    /// The digest part is malformed.
    #[error("invalid digest in `{reference}`")]
    Digest {
        /// The whole reference.
        reference: String,
        /// Why.
        #[source]
        source: DigestError,
    },
}

/// A parsed image reference.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Reference {
    /// Registry host with optional port, e.g. `127.0.0.1:5000` or `docker.io`.
    pub registry: String,
    /// Repository path inside the registry, e.g. `library/alpine`.
    pub repository: String,
    /// The tag, if one was given or defaulted.
    pub tag: Option<String>,
    /// The digest, if one was given.
    pub digest: Option<Digest>,
}

impl Reference {
    /// Parses `input`, using `default_registry` when it names no registry.
    pub fn parse(input: &str, default_registry: &str) -> Result<Self, ReferenceError> {
        if input.is_empty() {
            return Err(ReferenceError::Empty);
        }
        let (rest, digest) = split_digest(input)?;
        let (name, tag) = split_tag(rest);
        let (registry, mut repository) = split_registry(name, default_registry);
        if registry == DOCKER_HUB && !repository.contains('/') {
            repository = format!("library/{repository}");
        }
        // the canonical name (`registry/repository`), so a name and its canonical
        // form are both accepted or both refused (found by the fuzzer)
        if registry.len() + 1 + repository.len() > 255 {
            return Err(ReferenceError::TooLong {
                reference: input.chars().take(64).collect::<String>() + "...",
            });
        }
        validate_registry(&registry, input)?;
        validate_path(&repository, input)?;
        if let Some(tag) = &tag {
            validate_tag(tag, input)?;
        }
        let tag = match (tag, &digest) {
            (None, None) => Some(DEFAULT_TAG.to_string()),
            (tag, _) => tag,
        };
        Ok(Reference {
            registry,
            repository,
            tag,
            digest,
        })
    }

    /// `registry/repository`, the name images are recorded under.
    pub fn name(&self) -> String {
        format!("{}/{}", self.registry, self.repository)
    }

    /// What to ask the registry for: the digest if given, else the tag.
    pub fn manifest_reference(&self) -> String {
        match (&self.digest, &self.tag) {
            (Some(d), _) => d.to_string(),
            (None, Some(t)) => t.clone(),
            (None, None) => DEFAULT_TAG.to_string(),
        }
    }

    /// The tag the image is recorded under (empty for a digest-only pull).
    pub fn record_tag(&self) -> String {
        self.tag.clone().unwrap_or_default()
    }

    /// The host to talk to for this registry.
    pub fn api_host(&self) -> &str {
        if self.registry == DOCKER_HUB {
            DOCKER_HUB_API
        } else {
            &self.registry
        }
    }
}

impl fmt::Display for Reference {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.name())?;
        if let Some(tag) = &self.tag {
            write!(f, ":{tag}")?;
        }
        if let Some(digest) = &self.digest {
            write!(f, "@{digest}")?;
        }
        Ok(())
    }
}

fn split_digest(input: &str) -> Result<(&str, Option<Digest>), ReferenceError> {
    match input.split_once('@') {
        None => Ok((input, None)),
        Some((rest, d)) => {
            let digest = d.parse().map_err(|source| ReferenceError::Digest {
                reference: input.to_string(),
                source,
            })?;
            Ok((rest, Some(digest)))
        }
    }
}

/// Splits a `:tag` that follows the last `/`.
fn split_tag(name: &str) -> (&str, Option<String>) {
    let last_slash = name.rfind('/').map_or(0, |i| i + 1);
    match name[last_slash..].rfind(':') {
        Some(i) => (
            &name[..last_slash + i],
            Some(name[last_slash + i + 1..].to_string()),
        ),
        None => (name, None),
    }
}

fn split_registry(name: &str, default_registry: &str) -> (String, String) {
    match name.split_once('/') {
        Some((first, rest))
            if first.contains('.') || first.contains(':') || first == "localhost" =>
        {
            let registry = if first == "index.docker.io" {
                DOCKER_HUB
            } else {
                first
            };
            (registry.to_string(), rest.to_string())
        }
        _ => (default_registry.to_string(), name.to_string()),
    }
}

fn validate_registry(registry: &str, input: &str) -> Result<(), ReferenceError> {
    let err = || ReferenceError::Registry {
        registry: registry.to_string(),
        reference: input.to_string(),
    };
    let (host, port) = match registry.rsplit_once(':') {
        Some((h, p)) if !h.ends_with(']') || registry.starts_with('[') => (h, Some(p)),
        _ => (registry, None),
    };
    if host.is_empty()
        || !host
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || "-.[]:".contains(c))
    {
        return Err(err());
    }
    match port {
        Some(p) if p.parse::<u16>().is_err() => Err(err()),
        _ => Ok(()),
    }
}

fn validate_path(path: &str, input: &str) -> Result<(), ReferenceError> {
    for component in path.split('/') {
        if !valid_component(component) {
            return Err(ReferenceError::Component {
                component: component.to_string(),
                reference: input.to_string(),
            });
        }
    }
    Ok(())
}

/// `[a-z0-9]+((\.|_|__|-+)[a-z0-9]+)*`
fn valid_component(c: &str) -> bool {
    let bytes = c.as_bytes();
    let alnum = |b: &u8| b.is_ascii_lowercase() || b.is_ascii_digit();
    if bytes.is_empty() || !alnum(&bytes[0]) || !alnum(&bytes[bytes.len() - 1]) {
        return false;
    }
    let mut i = 0;
    while i < bytes.len() {
        if alnum(&bytes[i]) {
            i += 1;
            continue;
        }
        let start = i;
        while i < bytes.len() && !alnum(&bytes[i]) {
            i += 1;
        }
        let sep = &c[start..i];
        let ok = sep == "." || sep == "_" || sep == "__" || sep.chars().all(|ch| ch == '-');
        if !ok {
            return false;
        }
    }
    true
}

fn validate_tag(tag: &str, input: &str) -> Result<(), ReferenceError> {
    let ok = !tag.is_empty()
        && tag.len() <= 128
        && !tag.starts_with('.')
        && !tag.starts_with('-')
        && tag
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || "_.-".contains(c));
    if ok {
        Ok(())
    } else {
        Err(ReferenceError::Tag {
            tag: tag.to_string(),
            reference: input.to_string(),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_longer_than_255_are_refused() {
        let ok = format!("docker.io/library/{}", "a".repeat(255 - 18));
        assert!(Reference::parse(&ok, "docker.io").is_ok());
        let short = "a".repeat(255 - 18);
        assert!(Reference::parse(&short, "docker.io").is_ok());
        assert!(Reference::parse(&format!("{short}b"), "docker.io").is_err());
        let long = "a".repeat(256);
        let e = Reference::parse(&long, "docker.io").unwrap_err();
        assert!(matches!(e, ReferenceError::TooLong { .. }), "{e}");
        assert!(e.to_string().len() < 200, "{e}");
    }

    fn parse(s: &str) -> Reference {
        Reference::parse(s, DOCKER_HUB).unwrap()
    }

    #[test]
    fn bare_name_gets_hub_library_and_latest() {
        let r = parse("alpine");
        assert_eq!(r.registry, "docker.io");
        assert_eq!(r.repository, "library/alpine");
        assert_eq!(r.tag.as_deref(), Some("latest"));
        assert_eq!(r.api_host(), "registry-1.docker.io");
        assert_eq!(r.to_string(), "docker.io/library/alpine:latest");
    }

    #[test]
    fn user_repo_and_tag() {
        let r = parse("bitnami/nginx:1.25");
        assert_eq!(r.repository, "bitnami/nginx");
        assert_eq!(r.tag.as_deref(), Some("1.25"));
    }

    #[test]
    fn localhost_and_ip_with_port_are_registries() {
        let r = parse("localhost:5000/x");
        assert_eq!(
            (r.registry.as_str(), r.repository.as_str()),
            ("localhost:5000", "x")
        );
        let r = parse("127.0.0.1:5000/a/b:v1");
        assert_eq!(r.registry, "127.0.0.1:5000");
        assert_eq!(r.repository, "a/b");
        assert_eq!(r.tag.as_deref(), Some("v1"));
        let r = parse("localhost/x");
        assert_eq!(r.registry, "localhost");
    }

    #[test]
    fn name_with_port_like_tag_is_not_a_registry() {
        let r = parse("node:18");
        assert_eq!(r.repository, "library/node");
        assert_eq!(r.tag.as_deref(), Some("18"));
    }

    #[test]
    fn digest_without_tag() {
        let d = format!("sha256:{}", "a".repeat(64));
        let r = parse(&format!("127.0.0.1:5000/x@{d}"));
        assert_eq!(r.tag, None);
        assert_eq!(r.digest.as_ref().unwrap().to_string(), d);
        assert_eq!(r.manifest_reference(), d);
        assert_eq!(r.record_tag(), "");
    }

    #[test]
    fn configured_default_registry() {
        let r = Reference::parse("busybox", "127.0.0.1:5000").unwrap();
        assert_eq!(r.registry, "127.0.0.1:5000");
        assert_eq!(r.repository, "busybox");
    }

    #[test]
    fn index_docker_io_is_hub() {
        assert_eq!(parse("index.docker.io/foo/bar").registry, "docker.io");
    }

    #[test]
    fn rejects_bad_input() {
        assert_eq!(Reference::parse("", DOCKER_HUB), Err(ReferenceError::Empty));
        assert!(matches!(
            Reference::parse("Alpine", DOCKER_HUB),
            Err(ReferenceError::Component { .. })
        ));
        assert!(matches!(
            Reference::parse("alpine:-x", DOCKER_HUB),
            Err(ReferenceError::Tag { .. })
        ));
        assert!(matches!(
            Reference::parse("a//b", DOCKER_HUB),
            Err(ReferenceError::Component { .. })
        ));
        assert!(matches!(
            Reference::parse("alpine@sha256:xyz", DOCKER_HUB),
            Err(ReferenceError::Digest { .. })
        ));
        assert!(matches!(
            Reference::parse("host:99999/x", DOCKER_HUB),
            Err(ReferenceError::Registry { .. })
        ));
        let msg = Reference::parse("a/B", DOCKER_HUB).unwrap_err().to_string();
        assert!(msg.contains("`B`"), "{msg}");
    }

    #[test]
    fn component_grammar() {
        for ok in ["a", "a.b", "a_b", "a__b", "a---b", "a1-2"] {
            assert!(valid_component(ok), "{ok}");
        }
        for bad in ["", "-a", "a-", "a___b", "a..b", "a._b"] {
            assert!(!valid_component(bad), "{bad}");
        }
    }
}
