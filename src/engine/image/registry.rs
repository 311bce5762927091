//! A small client for the registry v2 / OCI distribution API: manifests and
//! blobs over HTTP(S), anonymous, bearer-token and basic auth, and blob
//! streams that resume with `Range` requests after a dropped connection.
//!
//! Plain HTTP is used only for loopback registries or those marked insecure.

use std::io::{self, Read};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use crate::digest::{self, Algorithm, Digest, DigestError};
use crate::image::auth::{self, AuthError, Challenge, Credentials};
use crate::image::manifest::ACCEPT;

/// The largest manifest or config accepted (bytes).
const MAX_DOCUMENT: u64 = 8 << 20;
/// How often a blob stream is reopened after an error.
const BLOB_RETRIES: u32 = 5;

/// A registry request that failed.
#[derive(Debug, thiserror::Error)]
pub enum RegistryError {
    /// No connection could be made or it broke.
    #[error("cannot reach registry `{registry}`")]
    Unreachable {
        /// The registry host.
        registry: String,
        /// Why.
        #[source]
        source: Box<ureq::Transport>,
    },
    /// The registry answered 404.
    #[error("{what} `{name}` not found in registry `{registry}`")]
    NotFound {
        /// `manifest` or `blob`.
        what: &'static str,
        /// `repository:reference` or the blob digest.
        name: String,
        /// The registry host.
        registry: String,
    },
    /// The registry refused our credentials (or we had none).
    #[error("registry `{registry}` denied access to `{repository}` (HTTP `{status}`): {hint}")]
    Denied {
        /// The registry host.
        registry: String,
        /// The repository.
        repository: String,
        /// 401 or 403.
        status: u16,
        /// What to do.
        hint: String,
    },
    /// Another HTTP error status.
    #[error("registry `{registry}` answered HTTP `{status}` for `{url}`: {body}")]
    Status {
        /// The registry host.
        registry: String,
        /// The request URL.
        url: String,
        /// The status code.
        status: u16,
        /// The start of the answer body.
        body: String,
    },
    /// The challenge or credentials file was unusable.
    #[error(transparent)]
    Auth(#[from] AuthError),
    /// The token endpoint failed.
    #[error("token request to `{realm}` failed: {reason}")]
    Token {
        /// The token endpoint.
        realm: String,
        /// Why.
        reason: String,
    },
    /// Reading an answer body failed.
    #[error("reading `{url}` from registry `{registry}` failed")]
    Read {
        /// The registry host.
        registry: String,
        /// The request URL.
        url: String,
        /// Why.
        #[source]
        source: io::Error,
    },
    /// A document exceeded [`MAX_DOCUMENT`].
    #[error("`{url}` is larger than `{MAX_DOCUMENT}` bytes")]
    TooLarge {
        /// The request URL.
        url: String,
    },
    /// A blob or manifest did not match its digest.
    #[error("content of `{name}` from registry `{registry}` failed verification")]
    Digest {
        /// What was fetched.
        name: String,
        /// The registry host.
        registry: String,
        /// The mismatch.
        #[source]
        source: DigestError,
    },
    /// A blob stream ended early or ran long and could not be resumed.
    #[error("blob `{digest}` stream: {reason}")]
    Stream {
        /// The blob.
        digest: String,
        /// What went wrong.
        reason: String,
    },
}

impl RegistryError {
    /// Whether retrying the same request may succeed.
    fn is_transient(&self) -> bool {
        match self {
            RegistryError::Unreachable { .. } | RegistryError::Read { .. } => true,
            RegistryError::Status { status, .. } => *status >= 500 || *status == 429,
            _ => false,
        }
    }
}

/// How to reach one repository of a registry.
#[derive(Debug, Clone)]
pub struct Endpoint {
    /// `host[:port]` as the user named it.
    pub registry: String,
    /// The host actually contacted.
    pub api_host: String,
    /// The repository path.
    pub repository: String,
    /// Use plain HTTP.
    pub plain_http: bool,
}

/// Whether `host[:port]` is a loopback address.
pub fn is_loopback(host: &str) -> bool {
    let name = if let Some(rest) = host.strip_prefix('[') {
        rest.split(']').next().unwrap_or("")
    } else {
        host.rsplit_once(':').map_or(host, |(h, _)| h)
    };
    name == "localhost"
        || name
            .parse::<std::net::IpAddr>()
            .is_ok_and(|ip| ip.is_loopback())
}

/// A manifest as fetched.
#[derive(Debug)]
pub struct FetchedManifest {
    /// The raw bytes (what the digest is over).
    pub bytes: Vec<u8>,
    /// The `Content-Type` header.
    pub content_type: Option<String>,
    /// The digest of `bytes`.
    pub digest: Digest,
}

/// Shows the endpoint only: credentials and the bearer token stay out of logs.
impl std::fmt::Debug for Registry {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Registry")
            .field("endpoint", &self.endpoint)
            .field(
                "credentials",
                &self.credentials.as_ref().map(|_| "<hidden>"),
            )
            .finish_non_exhaustive()
    }
}

/// A client for one repository.
pub struct Registry {
    agent: ureq::Agent,
    endpoint: Endpoint,
    credentials: Option<Credentials>,
    authorization: Mutex<Option<String>>,
}

impl Registry {
    /// A client for `endpoint`, with optional basic credentials.
    pub fn new(endpoint: Endpoint, credentials: Option<Credentials>) -> Self {
        let agent = ureq::AgentBuilder::new()
            .timeout_connect(Duration::from_secs(10))
            .timeout_read(Duration::from_secs(60))
            .user_agent(concat!("k3/", env!("CARGO_PKG_VERSION")))
            .build();
        Registry {
            agent,
            endpoint,
            credentials,
            authorization: Mutex::new(None),
        }
    }

    /// The registry as the user named it.
    pub fn registry(&self) -> &str {
        &self.endpoint.registry
    }

    fn url(&self, kind: &str, reference: &str) -> String {
        let scheme = if self.endpoint.plain_http {
            "http"
        } else {
            "https"
        };
        format!(
            "{scheme}://{}/v2/{}/{kind}/{reference}",
            self.endpoint.api_host, self.endpoint.repository
        )
    }

    /// The digest a tag points to (a `HEAD`), if the registry says.
    pub fn head_manifest(&self, reference: &str) -> Result<Option<Digest>, RegistryError> {
        let url = self.url("manifests", reference);
        let resp = self.send("HEAD", &url, &[("Accept", ACCEPT)], "manifest", reference)?;
        Ok(resp
            .header("Docker-Content-Digest")
            .and_then(|d| digest::parse(d).ok()))
    }

    /// Fetches a manifest by tag or digest; a digest reference is verified.
    pub fn get_manifest(&self, reference: &str) -> Result<FetchedManifest, RegistryError> {
        let url = self.url("manifests", reference);
        let resp = self.send("GET", &url, &[("Accept", ACCEPT)], "manifest", reference)?;
        let content_type = resp.header("Content-Type").map(str::to_string);
        let header_digest = resp.header("Docker-Content-Digest").map(str::to_string);
        let bytes = self.read_document(resp, &url)?;
        let expected = match digest::parse(reference) {
            Ok(d) => Some(d),
            Err(_) => header_digest.and_then(|d| digest::parse(&d).ok()),
        };
        let algorithm = expected
            .as_ref()
            .and_then(|e| Algorithm::of(e).ok())
            .unwrap_or(Algorithm::Sha256);
        let digest = digest::of(algorithm, &bytes);
        if let Some(e) = expected {
            digest::check(&digest, &e).map_err(|source| self.digest_error(reference, source))?;
        }
        Ok(FetchedManifest {
            bytes,
            content_type,
            digest,
        })
    }

    /// Fetches a small blob (a config) whole and verifies it.
    pub fn get_blob(&self, digest: &Digest) -> Result<Vec<u8>, RegistryError> {
        let url = self.url("blobs", digest.as_ref());
        let resp = self.send("GET", &url, &[], "blob", digest.as_ref())?;
        let bytes = self.read_document(resp, &url)?;
        digest::verify(digest, &bytes)
            .map_err(|source| self.digest_error(digest.as_ref(), source))?;
        Ok(bytes)
    }

    /// A digest failure for `name`.
    pub fn digest_error(&self, name: &str, source: DigestError) -> RegistryError {
        RegistryError::Digest {
            name: name.to_string(),
            registry: self.endpoint.registry.clone(),
            source,
        }
    }

    /// Opens a blob stream starting at `offset` (a `Range` request when > 0);
    /// a server that ignores the range has the skipped prefix read away.
    pub fn open_blob(
        &self,
        digest: &Digest,
        offset: u64,
    ) -> Result<Box<dyn Read + Send>, RegistryError> {
        let url = self.url("blobs", digest.as_ref());
        let range = format!("bytes={offset}-");
        let headers: &[(&str, &str)] = if offset > 0 {
            &[("Range", &range)]
        } else {
            &[]
        };
        let resp = self.send("GET", &url, headers, "blob", digest.as_ref())?;
        let partial = resp.status() == 206;
        let mut reader = resp.into_reader();
        if offset > 0 && !partial {
            io::copy(&mut (&mut reader).take(offset), &mut io::sink()).map_err(|source| {
                RegistryError::Read {
                    registry: self.endpoint.registry.clone(),
                    url: url.clone(),
                    source,
                }
            })?;
        }
        Ok(Box::new(reader))
    }

    fn read_document(&self, resp: ureq::Response, url: &str) -> Result<Vec<u8>, RegistryError> {
        let mut bytes = Vec::new();
        resp.into_reader()
            .take(MAX_DOCUMENT + 1)
            .read_to_end(&mut bytes)
            .map_err(|source| RegistryError::Read {
                registry: self.endpoint.registry.clone(),
                url: url.to_string(),
                source,
            })?;
        if bytes.len() as u64 > MAX_DOCUMENT {
            return Err(RegistryError::TooLarge {
                url: url.to_string(),
            });
        }
        Ok(bytes)
    }

    /// Sends a request, answering one auth challenge if the registry asks.
    fn send(
        &self,
        method: &str,
        url: &str,
        headers: &[(&str, &str)],
        what: &'static str,
        name: &str,
    ) -> Result<ureq::Response, RegistryError> {
        self.send_body(method, url, headers, None, what, name)
    }

    /// [`Registry::send`] with an optional body (sent again after a challenge).
    fn send_body(
        &self,
        method: &str,
        url: &str,
        headers: &[(&str, &str)],
        body: Option<&[u8]>,
        what: &'static str,
        name: &str,
    ) -> Result<ureq::Response, RegistryError> {
        match self.send_once(method, url, headers, body) {
            Err(ureq::Error::Status(401, resp)) => {
                let challenge = resp.header("WWW-Authenticate").unwrap_or("").to_string();
                self.authenticate(&challenge)?;
                let again = self.send_once(method, url, headers, body);
                self.check(again, url, what, name)
            }
            other => self.check(other, url, what, name),
        }
    }

    #[allow(clippy::result_large_err)] // ureq's own error type, matched at once
    fn send_once(
        &self,
        method: &str,
        url: &str,
        headers: &[(&str, &str)],
        body: Option<&[u8]>,
    ) -> Result<ureq::Response, ureq::Error> {
        let mut req = self.agent.request(method, url);
        for (k, v) in headers {
            req = req.set(k, v);
        }
        if let Some(auth) = self.current_authorization() {
            req = req.set("Authorization", &auth);
        }
        match body {
            Some(b) => req.send_bytes(b),
            None => req.call(),
        }
    }

    fn base_url(&self) -> String {
        let scheme = if self.endpoint.plain_http {
            "http"
        } else {
            "https"
        };
        format!("{scheme}://{}", self.endpoint.api_host)
    }

    /// Checks the credentials against the registry's `/v2/` (`login`):
    /// answers its challenge and fails when access is denied.
    pub fn check_login(&self) -> Result<(), RegistryError> {
        let url = format!("{}/v2/", self.base_url());
        self.send("GET", &url, &[], "endpoint", "/v2/").map(|_| ())
    }

    /// Whether the repository has blob `digest` (a `HEAD`).
    pub fn has_blob(&self, digest: &Digest) -> Result<bool, RegistryError> {
        let url = self.url("blobs", digest.as_ref());
        match self.send("HEAD", &url, &[], "blob", digest.as_ref()) {
            Ok(_) => Ok(true),
            Err(RegistryError::NotFound { .. }) => Ok(false),
            Err(e) => Err(e),
        }
    }

    /// Asks the registry to link blob `digest` from repository `from` into
    /// this one (a cross-repository mount, no upload); whether it did.
    pub fn mount_blob(&self, digest: &Digest, from: &str) -> Result<bool, RegistryError> {
        let url = format!(
            "{}/v2/{}/blobs/uploads/?mount={digest}&from={from}",
            self.base_url(),
            self.endpoint.repository
        );
        let resp = self.send("POST", &url, &[], "upload", digest.as_ref())?;
        // 201: mounted; 202: an upload session was opened instead (unused)
        Ok(resp.status() == 201)
    }

    /// Uploads blob `digest` of `size` bytes from `data` in one request
    /// (`POST` an upload session, then `PUT` its content with the digest).
    pub fn put_blob(
        &self,
        digest: &Digest,
        size: u64,
        data: impl Read,
    ) -> Result<(), RegistryError> {
        let start = format!(
            "{}/v2/{}/blobs/uploads/",
            self.base_url(),
            self.endpoint.repository
        );
        let resp = self.send("POST", &start, &[], "upload", digest.as_ref())?;
        let location = resp.header("Location").unwrap_or("").to_string();
        if location.is_empty() {
            return Err(RegistryError::Status {
                registry: self.endpoint.registry.clone(),
                url: start,
                status: resp.status(),
                body: "no `Location` for the upload".to_string(),
            });
        }
        let mut url = if location.starts_with('/') {
            format!("{}{location}", self.base_url())
        } else {
            location
        };
        url.push(if url.contains('?') { '&' } else { '?' });
        url.push_str("digest=");
        url.push_str(digest.as_ref());
        let mut req = self
            .agent
            .put(&url)
            .set("Content-Type", "application/octet-stream")
            .set("Content-Length", &size.to_string());
        if let Some(auth) = self.current_authorization() {
            req = req.set("Authorization", &auth);
        }
        self.check(req.send(data), &url, "upload", digest.as_ref())
            .map(|_| ())
    }

    /// Stores a manifest under `reference` (a tag or its digest).
    pub fn put_manifest(
        &self,
        reference: &str,
        media_type: &str,
        bytes: &[u8],
    ) -> Result<(), RegistryError> {
        let url = self.url("manifests", reference);
        self.send_body(
            "PUT",
            &url,
            &[("Content-Type", media_type)],
            Some(bytes),
            "manifest",
            reference,
        )
        .map(|_| ())
    }

    fn current_authorization(&self) -> Option<String> {
        self.authorization.lock().ok().and_then(|a| a.clone())
    }

    #[allow(clippy::result_large_err)]
    fn check(
        &self,
        result: Result<ureq::Response, ureq::Error>,
        url: &str,
        what: &'static str,
        name: &str,
    ) -> Result<ureq::Response, RegistryError> {
        let registry = self.endpoint.registry.clone();
        match result {
            Ok(resp) => Ok(resp),
            Err(ureq::Error::Transport(t)) => Err(RegistryError::Unreachable {
                registry,
                source: Box::new(t),
            }),
            Err(ureq::Error::Status(404, _)) => Err(RegistryError::NotFound {
                what,
                name: format!("{}:{name}", self.endpoint.repository),
                registry,
            }),
            Err(ureq::Error::Status(status @ (401 | 403), _)) => Err(self.denied(status)),
            Err(ureq::Error::Status(status, resp)) => Err(RegistryError::Status {
                registry,
                url: url.to_string(),
                status,
                body: body_snippet(resp),
            }),
        }
    }

    fn denied(&self, status: u16) -> RegistryError {
        let hint = if self.credentials.is_some() {
            "check the credentials in the credentials file".to_string()
        } else {
            format!(
                "add credentials for `{}` to the credentials file",
                self.endpoint.registry
            )
        };
        RegistryError::Denied {
            registry: self.endpoint.registry.clone(),
            repository: self.endpoint.repository.clone(),
            status,
            hint,
        }
    }

    /// Answers a `WWW-Authenticate` challenge, storing the header to send.
    fn authenticate(&self, header: &str) -> Result<(), RegistryError> {
        let value = match auth::parse_challenge(header)? {
            Challenge::Basic => match &self.credentials {
                Some(c) => c.basic_header(),
                None => return Err(self.denied(401)),
            },
            Challenge::Bearer {
                realm,
                service,
                scope,
            } => {
                // no repository (a `login`): a token for the registry itself
                let scope = scope.unwrap_or_else(|| {
                    if self.endpoint.repository.is_empty() {
                        String::new()
                    } else {
                        format!("repository:{}:pull", self.endpoint.repository)
                    }
                });
                format!(
                    "Bearer {}",
                    self.fetch_token(&realm, service.as_deref(), &scope)?
                )
            }
        };
        if let Ok(mut slot) = self.authorization.lock() {
            *slot = Some(value);
        }
        Ok(())
    }

    fn fetch_token(
        &self,
        realm: &str,
        service: Option<&str>,
        scope: &str,
    ) -> Result<String, RegistryError> {
        let terr = |reason: String| RegistryError::Token {
            realm: realm.to_string(),
            reason,
        };
        let mut req = self.agent.get(realm);
        if !scope.is_empty() {
            req = req.query("scope", scope);
        }
        if let Some(s) = service {
            req = req.query("service", s);
        }
        if let Some(c) = &self.credentials {
            req = req.set("Authorization", &c.basic_header());
        }
        let resp = match req.call() {
            Ok(r) => r,
            Err(ureq::Error::Status(401 | 403, _)) => return Err(self.denied(401)),
            Err(e) => return Err(terr(e.to_string())),
        };
        let mut text = String::new();
        resp.into_reader()
            .take(MAX_DOCUMENT)
            .read_to_string(&mut text)
            .map_err(|e| terr(format!("cannot read answer: {e}")))?;
        let body: serde_json::Value =
            serde_json::from_str(&text).map_err(|e| terr(format!("malformed answer: {e}")))?;
        body.get("token")
            .or_else(|| body.get("access_token"))
            .and_then(|t| t.as_str())
            .map(str::to_string)
            .ok_or_else(|| terr("answer has no `token`".to_string()))
    }
}

fn body_snippet(resp: ureq::Response) -> String {
    let mut body = String::new();
    let _ = resp.into_reader().take(300).read_to_string(&mut body);
    body.trim().to_string()
}

/// Something a blob can be (re)opened from at an offset.
pub trait BlobSource {
    /// A stream of the blob from `offset` on.
    fn open(&self, offset: u64) -> Result<Box<dyn Read + Send>, RegistryError>;
}

/// A registry blob as a [`BlobSource`].
#[derive(Debug)]
pub struct RegistryBlob<'a> {
    /// The client.
    pub registry: &'a Registry,
    /// The blob.
    pub digest: Digest,
}

impl BlobSource for RegistryBlob<'_> {
    fn open(&self, offset: u64) -> Result<Box<dyn Read + Send>, RegistryError> {
        self.registry.open_blob(&self.digest, offset)
    }
}

/// Where a [`ResumableReader`] leaves the error that ended it, so the caller
/// can report it instead of the `io::Error` a decoder made of it.
pub type ErrorSlot = Arc<Mutex<Option<RegistryError>>>;

/// Shows where the stream is; the source and reader stay hidden.
impl<S> std::fmt::Debug for ResumableReader<S> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ResumableReader")
            .field("name", &self.name)
            .field("size", &self.size)
            .field("offset", &self.offset)
            .field("retries_left", &self.retries_left)
            .field("resumed", &self.resumed)
            .finish_non_exhaustive()
    }
}

/// A blob stream of known size that reopens its source at the current offset
/// (with backoff) when the connection drops or ends early.
pub struct ResumableReader<S> {
    source: S,
    name: String,
    size: u64,
    offset: u64,
    inner: Option<Box<dyn Read + Send>>,
    retries_left: u32,
    backoff: Duration,
    slot: ErrorSlot,
    /// How many times the stream was reopened after an error.
    pub resumed: u32,
}

impl<S: BlobSource> ResumableReader<S> {
    /// A stream of `size` bytes of `source`, named `name` in errors.
    pub fn new(source: S, name: String, size: u64, slot: ErrorSlot) -> Self {
        ResumableReader {
            source,
            name,
            size,
            offset: 0,
            inner: None,
            retries_left: BLOB_RETRIES,
            backoff: Duration::from_millis(100),
            slot,
            resumed: 0,
        }
    }

    /// Sets the first retry delay (doubled on each retry).
    pub fn with_backoff(mut self, backoff: Duration) -> Self {
        self.backoff = backoff;
        self
    }

    fn fail(&self, err: RegistryError) -> io::Error {
        let msg = err.to_string();
        if let Ok(mut slot) = self.slot.lock() {
            slot.get_or_insert(err);
        }
        io::Error::other(msg)
    }

    /// Gives up, or waits and drops the connection so the next read reopens.
    fn retry(&mut self, err: RegistryError) -> io::Result<()> {
        if self.retries_left == 0 || !err.is_transient() {
            return Err(self.fail(err));
        }
        self.retries_left -= 1;
        self.resumed += 1;
        self.inner = None;
        std::thread::sleep(self.backoff);
        self.backoff *= 2;
        Ok(())
    }

    fn stream_error(&self, reason: String) -> RegistryError {
        RegistryError::Stream {
            digest: self.name.clone(),
            reason,
        }
    }
}

impl<S: BlobSource> Read for ResumableReader<S> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        loop {
            if self.inner.is_none() {
                match self.source.open(self.offset) {
                    Ok(r) => self.inner = Some(r),
                    Err(e) => {
                        self.retry(e)?;
                        continue;
                    }
                }
            }
            let Some(inner) = self.inner.as_mut() else {
                continue;
            };
            match inner.read(buf) {
                Ok(0) if self.offset < self.size => {
                    let reason = format!("ended at `{}` of `{}` bytes", self.offset, self.size);
                    let err = RegistryError::Read {
                        registry: String::new(),
                        url: self.name.clone(),
                        source: io::Error::new(io::ErrorKind::UnexpectedEof, reason),
                    };
                    self.retry(err)?;
                }
                Ok(n) => {
                    self.offset += n as u64;
                    if self.offset > self.size {
                        let reason = format!("longer than its descriptor size `{}`", self.size);
                        return Err(self.fail(self.stream_error(reason)));
                    }
                    return Ok(n);
                }
                Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                Err(source) => {
                    let err = RegistryError::Read {
                        registry: String::new(),
                        url: self.name.clone(),
                        source,
                    };
                    self.retry(err)?;
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::cell::RefCell;

    /// Serves `data`, cutting each of the first `cuts` streams after `chunk` bytes.
    struct Flaky {
        data: Vec<u8>,
        chunk: usize,
        cuts: RefCell<u32>,
        opens: RefCell<Vec<u64>>,
    }

    struct Cut(io::Cursor<Vec<u8>>, bool);

    impl Read for Cut {
        fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
            match self.0.read(buf)? {
                0 if self.1 => Err(io::Error::new(io::ErrorKind::ConnectionReset, "reset")),
                n => Ok(n),
            }
        }
    }

    impl BlobSource for &Flaky {
        fn open(&self, offset: u64) -> Result<Box<dyn Read + Send>, RegistryError> {
            self.opens.borrow_mut().push(offset);
            let rest = self.data[usize::try_from(offset).unwrap()..].to_vec();
            let mut cuts = self.cuts.borrow_mut();
            if *cuts > 0 {
                *cuts -= 1;
                let part = rest[..self.chunk.min(rest.len())].to_vec();
                return Ok(Box::new(Cut(io::Cursor::new(part), true)));
            }
            Ok(Box::new(io::Cursor::new(rest)))
        }
    }

    fn flaky(cuts: u32) -> Flaky {
        Flaky {
            data: (0..10_000u32).map(|i| (i % 251) as u8).collect(),
            chunk: 3000,
            cuts: RefCell::new(cuts),
            opens: RefCell::new(Vec::new()),
        }
    }

    #[test]
    fn resumes_after_resets_with_ranges() {
        let src = flaky(2);
        let slot = ErrorSlot::default();
        let mut r = ResumableReader::new(&src, "b".into(), 10_000, slot)
            .with_backoff(Duration::from_millis(1));
        let mut out = Vec::new();
        r.read_to_end(&mut out).unwrap();
        assert_eq!(out, src.data);
        assert_eq!(*src.opens.borrow(), vec![0, 3000, 6000]);
        assert_eq!(r.resumed, 2);
    }

    #[test]
    fn gives_up_after_retries() {
        let src = flaky(BLOB_RETRIES + 1);
        let slot = ErrorSlot::default();
        let mut r = ResumableReader::new(&src, "b".into(), 10_000, slot.clone())
            .with_backoff(Duration::from_millis(1));
        let mut out = Vec::new();
        assert!(r.read_to_end(&mut out).is_err());
        assert!(slot.lock().unwrap().is_some());
    }

    #[test]
    fn rejects_blob_longer_than_descriptor() {
        let src = flaky(0);
        let mut r = ResumableReader::new(&src, "b".into(), 100, ErrorSlot::default());
        let mut out = Vec::new();
        let err = r.read_to_end(&mut out).unwrap_err();
        assert!(err.to_string().contains("longer than"), "{err}");
    }

    #[test]
    fn loopback_detection() {
        for h in [
            "127.0.0.1:5000",
            "localhost",
            "localhost:1",
            "[::1]:5000",
            "127.1.2.3",
        ] {
            assert!(is_loopback(h), "{h}");
        }
        for h in ["docker.io", "10.0.0.1:5000", "example.com:443"] {
            assert!(!is_loopback(h), "{h}");
        }
    }
}
