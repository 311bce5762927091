//! Docker-style image references, `[REGISTRY/]PATH[:TAG][@DIGEST]`, parsed
//! by oci-spec's [`Reference`] (docker's grammar and normalisation: the
//! first path component is a registry when it holds a `.` or a `:` or is
//! `localhost`; a single component on `docker.io` gets `library/`; the tag
//! defaults to `latest` unless a digest is given).
//!
//! What oci-spec leaves out is here: a configurable default registry, IPv6
//! registry hosts (`[::1]:5000`), docker's checks that its grammar is looser
//! than (an ASCII tag, a port that fits 16 bits, a digest k3 can verify, 255
//! characters for the whole name) and errors that name the part at fault.

pub use oci_spec::distribution::{ParseError, Reference};

use crate::digest::{self, DigestError};

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
    /// Outside the reference grammar.
    #[error("invalid image reference `{reference}`: {source}: use `[registry/]path[:tag][@digest]`, the path in lowercase letters, digits and `.` `_` `-` separators")]
    Format {
        /// The whole reference.
        reference: String,
        /// oci-spec's reason.
        source: ParseError,
    },
    /// The repository has uppercase letters (and would parse without them).
    #[error("invalid image reference `{reference}`: the repository must be lowercase")]
    Uppercase {
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
    let r = match bracketed_host(input) {
        Some((host, rest)) => {
            with_registry(parse_grammar(&format!("localhost/{rest}"), input)?, host)
        }
        None if names_registry(input) || default_registry == DOCKER_HUB => {
            parse_grammar(input, input)?
        }
        None => parse_grammar(&format!("{default_registry}/{input}"), input)?,
    };
    check(&r, input)?;
    Ok(r)
}

/// oci-spec's parse, with docker's diagnosis of an uppercase repository.
fn parse_grammar(s: &str, input: &str) -> Result<Reference, ReferenceError> {
    s.parse::<Reference>().map_err(|source| {
        let lower = s.to_lowercase();
        if source == ParseError::NameTooLong {
            too_long(input)
        } else if lower != s && lower.parse::<Reference>().is_ok() {
            ReferenceError::Uppercase {
                reference: input.to_string(),
            }
        } else {
            ReferenceError::Format {
                reference: input.to_string(),
                source,
            }
        }
    })
}

fn too_long(input: &str) -> ReferenceError {
    ReferenceError::TooLong {
        reference: input.chars().take(64).collect::<String>() + "...",
    }
}

/// Whether the first path component is a registry (docker's rule).
fn names_registry(input: &str) -> bool {
    input
        .split_once('/')
        .is_some_and(|(first, _)| first.contains(['.', ':']) || first == "localhost")
}

/// `[v6addr][:port]` and the rest, when the reference starts with an IPv6 host.
fn bracketed_host(input: &str) -> Option<(&str, &str)> {
    let (first, rest) = input.split_once('/')?;
    let (addr, port) = first.strip_prefix('[')?.split_once(']')?;
    let addr_ok = !addr.is_empty() && addr.chars().all(|c| c.is_ascii_hexdigit() || c == ':');
    let port_ok = port.is_empty() || port.starts_with(':');
    (addr_ok && port_ok).then_some((first, rest))
}

/// `r` on `registry` instead of its own.
fn with_registry(r: Reference, registry: &str) -> Reference {
    let (reg, repo) = (registry.to_string(), r.repository().to_string());
    match (r.tag(), r.digest()) {
        (Some(t), Some(d)) => Reference::with_tag_and_digest(reg, repo, t.into(), d.into()),
        (None, Some(d)) => Reference::with_digest(reg, repo, d.into()),
        (t, None) => Reference::with_tag(reg, repo, t.unwrap_or(DEFAULT_TAG).into()),
    }
}

/// What docker refuses and oci-spec's grammar lets through.
fn check(r: &Reference, input: &str) -> Result<(), ReferenceError> {
    // the canonical name, so a name and its canonical form are both accepted
    // or both refused (found by the fuzzer)
    if r.registry().len() + 1 + r.repository().len() > NAME_MAX {
        return Err(too_long(input));
    }
    // oci-spec's grammar lets an uppercase first component through as a host,
    // which then falls back into the repository (`UPPER/x`): docker refuses it
    if r.repository().chars().any(|c| c.is_ascii_uppercase()) {
        return Err(ReferenceError::Uppercase {
            reference: input.to_string(),
        });
    }
    if let Some(port) = r.registry().rsplit_once(':').map(|(_, p)| p) {
        if !r.registry().ends_with(']') && port.parse::<u16>().is_err() {
            return Err(ReferenceError::Registry {
                registry: r.registry().to_string(),
                reference: input.to_string(),
            });
        }
    }
    if let Some(tag) = r.tag() {
        // oci-spec's `\w` is Unicode; docker's is ASCII
        if !tag.is_ascii() {
            return Err(ReferenceError::Tag {
                tag: tag.to_string(),
                reference: input.to_string(),
            });
        }
    }
    if let Some(d) = r.digest() {
        digest::parse(d).map_err(|source| ReferenceError::Digest {
            reference: input.to_string(),
            source,
        })?;
    }
    Ok(())
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
        assert!(matches!(err("Alpine"), ReferenceError::Uppercase { .. }));
        assert!(matches!(err("UPPER"), ReferenceError::Uppercase { .. }));
        assert!(matches!(err("UPPER/x"), ReferenceError::Uppercase { .. }));
        assert!(matches!(err("a/B"), ReferenceError::Uppercase { .. }));
        assert!(matches!(err("alpine:-x"), ReferenceError::Format { .. }));
        assert!(matches!(err("alpine:ä"), ReferenceError::Tag { .. }));
        assert!(matches!(err("a//b"), ReferenceError::Format { .. }));
        assert!(matches!(
            err("alpine@sha256:xyz"),
            ReferenceError::Format { .. }
        ));
        let upper_hex = format!("alpine@sha256:{}", "A".repeat(64));
        assert!(matches!(err(&upper_hex), ReferenceError::Digest { .. }));
        let sha384 = format!("alpine@sha384:{}", "a".repeat(96));
        assert!(matches!(err(&sha384), ReferenceError::Digest { .. }));
        assert!(matches!(
            err("host:99999/x"),
            ReferenceError::Registry { .. }
        ));
        assert!(matches!(err("[::1/x"), ReferenceError::Format { .. }));
        assert!(matches!(err("é"), ReferenceError::Format { .. }));
        let msg = err("a/B").to_string();
        assert!(msg.contains("`a/B`") && msg.contains("lowercase"), "{msg}");
    }
}
