//! Docker-style image references, `[REGISTRY/]PATH[:TAG][@DIGEST]`, parsed
//! into oci-spec's [`Reference`].
//!
//! The first path component is a registry when it holds a `.` or a `:` or is
//! `localhost` (an IPv6 host in brackets included); otherwise the configured
//! default registry is used. On `docker.io` a single-component path gets the
//! `library/` prefix. The tag defaults to `latest` unless a digest is given.
//!
//! The grammar is checked here, not by oci-spec's `Reference::from_str`: that
//! one compiles a large regular expression in every process (some 50 ms, and
//! 1.2 MB of binary), and it lets through what docker refuses (an uppercase
//! first component that is not a host, Unicode tags) while refusing IPv6
//! hosts docker takes.

pub use oci_spec::distribution::Reference;

use crate::digest::{self, Digest, DigestError};

/// The registry used when a reference names none.
pub const DOCKER_HUB: &str = "docker.io";
/// The API endpoint of [`DOCKER_HUB`].
const DOCKER_HUB_API: &str = "registry-1.docker.io";
/// The tag used when a reference names neither tag nor digest.
pub const DEFAULT_TAG: &str = "latest";
/// The most characters of a canonical name (`registry/repository`).
const NAME_MAX: usize = 255;

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

/// Parses `input`, using `default_registry` when it names no registry.
pub fn parse(input: &str, default_registry: &str) -> Result<Reference, ReferenceError> {
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
    if registry.len() + 1 + repository.len() > NAME_MAX {
        return Err(ReferenceError::TooLong {
            reference: input.chars().take(64).collect::<String>() + "...",
        });
    }
    validate_registry(&registry, input)?;
    validate_path(&repository, input)?;
    if let Some(tag) = &tag {
        validate_tag(tag, input)?;
    }
    Ok(match (tag, digest) {
        (Some(t), Some(d)) => {
            Reference::with_tag_and_digest(registry, repository, t, d.to_string())
        }
        (None, Some(d)) => Reference::with_digest(registry, repository, d.to_string()),
        (t, None) => Reference::with_tag(
            registry,
            repository,
            t.unwrap_or_else(|| DEFAULT_TAG.to_string()),
        ),
    })
}

/// What k3 asks of a parsed reference.
pub trait ReferenceExt {
    /// `registry/repository`, the name images are recorded under.
    fn name(&self) -> String;
    /// What to ask the registry for: the digest if given, else the tag.
    fn manifest_reference(&self) -> String;
    /// The tag the image is recorded under (empty for a digest-only pull).
    fn record_tag(&self) -> String;
    /// The host to talk to for this registry.
    fn api_host(&self) -> &str;
}

impl ReferenceExt for Reference {
    fn name(&self) -> String {
        format!("{}/{}", self.registry(), self.repository())
    }

    fn manifest_reference(&self) -> String {
        self.digest()
            .or(self.tag())
            .unwrap_or(DEFAULT_TAG)
            .to_string()
    }

    fn record_tag(&self) -> String {
        self.tag().unwrap_or_default().to_string()
    }

    fn api_host(&self) -> &str {
        if self.registry() == DOCKER_HUB {
            DOCKER_HUB_API
        } else {
            self.registry()
        }
    }
}

fn split_digest(input: &str) -> Result<(&str, Option<Digest>), ReferenceError> {
    match input.split_once('@') {
        None => Ok((input, None)),
        Some((rest, d)) => {
            let digest = digest::parse(d).map_err(|source| ReferenceError::Digest {
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

/// `host[:port]`: a DNS name or IPv4 address, or an IPv6 address in brackets;
/// the port fits 16 bits.
fn validate_registry(registry: &str, input: &str) -> Result<(), ReferenceError> {
    let err = || ReferenceError::Registry {
        registry: registry.to_string(),
        reference: input.to_string(),
    };
    let (host_ok, port) = match registry.strip_prefix('[') {
        Some(v6) => {
            let (addr, after) = v6.split_once(']').ok_or_else(err)?;
            let addr_ok =
                !addr.is_empty() && addr.chars().all(|c| c.is_ascii_hexdigit() || c == ':');
            match after {
                "" => (addr_ok, None),
                _ => (addr_ok, Some(after.strip_prefix(':').ok_or_else(err)?)),
            }
        }
        None => {
            let (host, port) = match registry.split_once(':') {
                Some((h, p)) => (h, Some(p)),
                None => (registry, None),
            };
            let ok = !host.is_empty()
                && host
                    .chars()
                    .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '.');
            (ok, port)
        }
    };
    match port {
        _ if !host_ok => Err(err()),
        Some(p) if p.parse::<u16>().is_err() || p.starts_with('+') => Err(err()),
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
        assert!(parse(&ok, "docker.io").is_ok());
        let short = "a".repeat(255 - 18);
        assert!(parse(&short, "docker.io").is_ok());
        assert!(parse(&format!("{short}b"), "docker.io").is_err());
        let long = "a".repeat(256);
        let e = parse(&long, "docker.io").unwrap_err();
        assert!(matches!(e, ReferenceError::TooLong { .. }), "{e}");
        assert!(e.to_string().len() < 200, "{e}");
    }

    fn hub(s: &str) -> Reference {
        parse(s, DOCKER_HUB).unwrap()
    }

    #[test]
    fn bare_name_gets_hub_library_and_latest() {
        let r = hub("alpine");
        assert_eq!(r.registry(), "docker.io");
        assert_eq!(r.repository(), "library/alpine");
        assert_eq!(r.tag(), Some("latest"));
        assert_eq!(r.api_host(), "registry-1.docker.io");
        assert_eq!(r.to_string(), "docker.io/library/alpine:latest");
        assert_eq!(hub("busybox").name(), "docker.io/library/busybox");
    }

    #[test]
    fn user_repo_and_tag() {
        let r = hub("bitnami/nginx:1.25");
        assert_eq!(r.repository(), "bitnami/nginx");
        assert_eq!(r.tag(), Some("1.25"));
        let r = hub("library/x:tag");
        assert_eq!(
            (r.name().as_str(), r.tag()),
            ("docker.io/library/x", Some("tag"))
        );
    }

    #[test]
    fn localhost_and_ip_with_port_are_registries() {
        let r = hub("localhost:5000/x");
        assert_eq!((r.registry(), r.repository()), ("localhost:5000", "x"));
        let r = hub("127.0.0.1:5000/a/b:v1");
        assert_eq!(r.registry(), "127.0.0.1:5000");
        assert_eq!(r.repository(), "a/b");
        assert_eq!(r.tag(), Some("v1"));
        assert_eq!(hub("localhost/x").registry(), "localhost");
        let r = hub("[::1]:5000/a/b:v2");
        assert_eq!((r.registry(), r.repository()), ("[::1]:5000", "a/b"));
        assert_eq!(r.tag(), Some("v2"));
        assert_eq!(hub("[fe80::1]/x").registry(), "[fe80::1]");
    }

    #[test]
    fn name_with_port_like_tag_is_not_a_registry() {
        let r = hub("node:18");
        assert_eq!(r.repository(), "library/node");
        assert_eq!(r.tag(), Some("18"));
    }

    #[test]
    fn digest_without_tag() {
        let d = format!("sha256:{}", "a".repeat(64));
        let r = hub(&format!("host:5000/a/b@{d}"));
        assert_eq!((r.registry(), r.repository()), ("host:5000", "a/b"));
        assert_eq!(r.tag(), None);
        assert_eq!(r.digest(), Some(d.as_str()));
        assert_eq!(r.manifest_reference(), d);
        assert_eq!(r.record_tag(), "");
        let r = hub(&format!("[::1]:5000/x@{d}"));
        assert_eq!((r.registry(), r.tag()), ("[::1]:5000", None));
    }

    #[test]
    fn configured_default_registry() {
        let r = parse("busybox", "127.0.0.1:5000").unwrap();
        assert_eq!(r.registry(), "127.0.0.1:5000");
        assert_eq!(r.repository(), "busybox");
        let r = parse("a/b:1", "127.0.0.1:5000").unwrap();
        assert_eq!((r.registry(), r.repository()), ("127.0.0.1:5000", "a/b"));
        assert_eq!(
            parse("quay.io/x", "127.0.0.1:5000").unwrap().registry(),
            "quay.io"
        );
    }

    #[test]
    fn index_docker_io_is_hub() {
        assert_eq!(hub("index.docker.io/foo/bar").registry(), "docker.io");
    }

    #[test]
    fn rejects_bad_input() {
        let err = |s: &str| parse(s, DOCKER_HUB).unwrap_err();
        assert_eq!(err(""), ReferenceError::Empty);
        for bad in ["Alpine", "UPPER", "UPPER/x", "a/B", "a//b", "é"] {
            assert!(
                matches!(err(bad), ReferenceError::Component { .. }),
                "{bad}"
            );
        }
        for bad in ["alpine:-x", "alpine:ä", "x:.y"] {
            assert!(matches!(err(bad), ReferenceError::Tag { .. }), "{bad}");
        }
        assert!(matches!(
            err("alpine@sha256:xyz"),
            ReferenceError::Digest { .. }
        ));
        let upper_hex = format!("alpine@sha256:{}", "A".repeat(64));
        assert!(matches!(err(&upper_hex), ReferenceError::Digest { .. }));
        let sha384 = format!("alpine@sha384:{}", "a".repeat(96));
        assert!(matches!(err(&sha384), ReferenceError::Digest { .. }));
        assert!(matches!(
            err("host:99999/x"),
            ReferenceError::Registry { .. }
        ));
        for bad in [
            "[::1/x", "[::1]x/y", "[]:5/x", "[g::1]/x", "h:+80/x", "a_b.io/x",
        ] {
            assert!(matches!(err(bad), ReferenceError::Registry { .. }), "{bad}");
        }
        let msg = err("a/B").to_string();
        assert!(msg.contains("`B`") && msg.contains("lowercase"), "{msg}");
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
