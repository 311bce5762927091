//! Content digests: oci-spec's [`Digest`], held to the algorithms k3 hashes
//! (`sha256:<hex>`, `sha512:<hex>`), and readers that hash what flows through
//! them so that every blob is verified while it streams.

use std::io::{self, Read};

pub use oci_spec::image::{Digest, DigestAlgorithm};
use sha2::{Digest as _, Sha256, Sha512};

/// A malformed or mismatching digest.
#[derive(Debug, thiserror::Error, PartialEq)]
pub enum DigestError {
    /// No `algorithm:` prefix.
    #[error("digest `{0}` has no `algorithm:` prefix")]
    NoAlgorithm(String),
    /// An algorithm other than sha256/sha512.
    #[error("unsupported digest algorithm `{0}`: use `sha256` or `sha512`")]
    Algorithm(String),
    /// The hex part has the wrong length or characters.
    #[error("digest `{0}` has a malformed hex part")]
    Hex(String),
    /// The content does not hash to the expected digest.
    #[error("digest mismatch: expected `{expected}`, got `{actual}`")]
    Mismatch {
        /// What the descriptor said.
        expected: String,
        /// What the content hashed to.
        actual: String,
    },
}

/// A hash algorithm k3 computes (oci-spec's [`DigestAlgorithm`] also names
/// sha384 and any other; k3 refuses those).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Algorithm {
    /// SHA-256, hex of 64 characters.
    Sha256,
    /// SHA-512, hex of 128 characters.
    Sha512,
}

impl Algorithm {
    /// The name used in digests.
    pub fn name(self) -> &'static str {
        match self {
            Algorithm::Sha256 => "sha256",
            Algorithm::Sha512 => "sha512",
        }
    }

    /// The algorithm of `d`, if k3 computes it.
    pub fn of(d: &Digest) -> Result<Algorithm, DigestError> {
        match d.algorithm() {
            DigestAlgorithm::Sha256 => Ok(Algorithm::Sha256),
            DigestAlgorithm::Sha512 => Ok(Algorithm::Sha512),
            other => Err(DigestError::Algorithm(other.to_string())),
        }
    }
}

/// Parses `s` as a digest of an algorithm k3 computes, with its hex part in
/// lowercase of the algorithm's length (so it is safe as a file name). Use
/// this, not `str::parse`: oci-spec's own parse accepts any algorithm.
pub fn parse(s: &str) -> Result<Digest, DigestError> {
    let (algorithm, _) = s
        .split_once(':')
        .ok_or_else(|| DigestError::NoAlgorithm(s.to_string()))?;
    if !["sha256", "sha512"].contains(&algorithm) {
        return Err(DigestError::Algorithm(algorithm.to_string()));
    }
    s.parse().map_err(|_| DigestError::Hex(s.to_string()))
}

/// The digest of `data` with `algorithm`.
pub fn of(algorithm: Algorithm, data: &[u8]) -> Digest {
    let mut h = Hasher::new(algorithm);
    h.update(data);
    h.finish()
}

/// Errors unless `data` hashes to `expected`.
pub fn verify(expected: &Digest, data: &[u8]) -> Result<(), DigestError> {
    check(&of(Algorithm::of(expected)?, data), expected)
}

/// Errors unless `actual` equals `expected`.
pub fn check(actual: &Digest, expected: &Digest) -> Result<(), DigestError> {
    if actual == expected {
        Ok(())
    } else {
        Err(DigestError::Mismatch {
            expected: expected.to_string(),
            actual: actual.to_string(),
        })
    }
}

/// An incremental hash of either algorithm.
#[derive(Debug)]
pub enum Hasher {
    /// SHA-256 state.
    Sha256(Sha256),
    /// SHA-512 state.
    Sha512(Box<Sha512>),
}

impl Hasher {
    /// A fresh hasher.
    pub fn new(algorithm: Algorithm) -> Self {
        match algorithm {
            Algorithm::Sha256 => Hasher::Sha256(Sha256::new()),
            Algorithm::Sha512 => Hasher::Sha512(Box::new(Sha512::new())),
        }
    }

    /// Feeds `data`.
    pub fn update(&mut self, data: &[u8]) {
        match self {
            Hasher::Sha256(h) => h.update(data),
            Hasher::Sha512(h) => h.update(data),
        }
    }

    /// The digest of everything fed.
    pub fn finish(self) -> Digest {
        let (algorithm, bytes) = match self {
            Hasher::Sha256(h) => (Algorithm::Sha256, h.finalize().to_vec()),
            Hasher::Sha512(h) => (Algorithm::Sha512, h.finalize().to_vec()),
        };
        let hex: String = bytes.iter().map(|b| format!("{b:02x}")).collect();
        parse(&format!("{}:{hex}", algorithm.name()))
            .unwrap_or_else(|e| unreachable!("a hash in lowercase hex is a digest: {e}"))
    }
}

/// A reader that hashes and counts everything read through it.
#[derive(Debug)]
pub struct HashingReader<R> {
    inner: R,
    hasher: Hasher,
    count: u64,
}

impl<R: Read> HashingReader<R> {
    /// Wraps `inner`, hashing with `algorithm`.
    pub fn new(inner: R, algorithm: Algorithm) -> Self {
        HashingReader {
            inner,
            hasher: Hasher::new(algorithm),
            count: 0,
        }
    }

    /// Reads `inner` to its end (so the hash covers all of it).
    pub fn drain(&mut self) -> io::Result<()> {
        io::copy(self, &mut io::sink()).map(|_| ())
    }

    /// Bytes read so far.
    pub fn count(&self) -> u64 {
        self.count
    }

    /// The digest and byte count of what was read, and the inner reader.
    pub fn finish(self) -> (Digest, u64, R) {
        (self.hasher.finish(), self.count, self.inner)
    }
}

impl<R: Read> Read for HashingReader<R> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let n = self.inner.read(buf)?;
        self.hasher.update(&buf[..n]);
        self.count += n as u64;
        Ok(n)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const HELLO: &str = "sha256:2cf24dba5fb0a30e26e83b2ac5b9e29e1b161e5c1fa7425e73043362938b9824";

    #[test]
    fn parses_and_displays() {
        let d = parse(HELLO).unwrap();
        assert_eq!(Algorithm::of(&d).unwrap(), Algorithm::Sha256);
        assert_eq!(d.digest(), &HELLO[7..]);
        assert_eq!(d.to_string(), HELLO);
    }

    #[test]
    fn rejects_malformed() {
        assert!(matches!(parse("abc"), Err(DigestError::NoAlgorithm(_))));
        assert!(matches!(parse("md5:abc"), Err(DigestError::Algorithm(_))));
        let sha384 = format!("sha384:{}", "a".repeat(96));
        assert!(matches!(parse(&sha384), Err(DigestError::Algorithm(_))));
        assert!(matches!(parse("sha256:ABC"), Err(DigestError::Hex(_))));
        let upper = HELLO.to_uppercase().replace("SHA256", "sha256");
        assert!(matches!(parse(&upper), Err(DigestError::Hex(_))));
        assert!(matches!(
            parse("sha256:../../etc/passwd"),
            Err(DigestError::Hex(_))
        ));
        // oci-spec's own parse takes any algorithm: only `parse` holds k3's set
        let other: Digest = "md5:abc".parse().unwrap();
        assert!(matches!(
            Algorithm::of(&other),
            Err(DigestError::Algorithm(_))
        ));
        assert!(matches!(
            verify(&other, b""),
            Err(DigestError::Algorithm(_))
        ));
    }

    #[test]
    fn verifies_content() {
        let d = parse(HELLO).unwrap();
        assert!(verify(&d, b"hello").is_ok());
        let err = verify(&d, b"hellO").unwrap_err();
        assert!(matches!(err, DigestError::Mismatch { .. }));
        assert!(err.to_string().contains(HELLO));
    }

    #[test]
    fn hashing_reader_hashes_stream() {
        let mut r = HashingReader::new(&b"hello"[..], Algorithm::Sha256);
        let mut first = [0u8; 2];
        r.read_exact(&mut first).unwrap();
        r.drain().unwrap();
        let (d, n, _) = r.finish();
        assert_eq!(n, 5);
        assert_eq!(d.to_string(), HELLO);
    }

    #[test]
    fn sha512_digest() {
        let d = of(Algorithm::Sha512, b"");
        assert!(d.to_string().starts_with("sha512:cf83e135"));
        assert_eq!(parse(d.as_ref()).unwrap(), d);
    }
}
