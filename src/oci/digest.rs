//! Content digests (`sha256:<hex>`, `sha512:<hex>`): parsing, computing, and verifying bytes as they
//! stream past, so every blob and manifest read or written is checked against the digest it claims.

use std::fmt;
use std::str::FromStr;

use sha2::{Digest as _, Sha256, Sha512};

/// A digest that does not parse, or bytes that do not hash to the digest they claim.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum DigestError {
    #[error("invalid digest `{input}`: {reason}")]
    Invalid { input: String, reason: String },
    #[error("digest mismatch: expected {expected}, got {actual}")]
    Mismatch { expected: Digest, actual: Digest },
}

/// A digest algorithm this client can verify.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Algorithm {
    Sha256,
    Sha512,
}

impl Algorithm {
    /// The algorithm's name as it appears before the `:`.
    pub fn name(self) -> &'static str {
        match self {
            Algorithm::Sha256 => "sha256",
            Algorithm::Sha512 => "sha512",
        }
    }

    /// The number of lowercase hex characters of an encoded digest.
    fn hex_len(self) -> usize {
        match self {
            Algorithm::Sha256 => 64,
            Algorithm::Sha512 => 128,
        }
    }
}

/// A validated content digest, e.g. `sha256:e3b0c442...`.
///
/// | input                      | result                          |
/// |----------------------------|---------------------------------|
/// | `sha256:` + 64 lower hex   | ok                              |
/// | `sha512:` + 128 lower hex  | ok                              |
/// | upper-case hex, wrong length, other algorithm | error        |
#[derive(Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Digest {
    algorithm: Algorithm,
    hex: String,
}

impl Digest {
    /// Parses `algorithm:hex`.
    pub fn parse(input: &str) -> Result<Digest, DigestError> {
        let invalid = |reason: &str| DigestError::Invalid {
            input: input.to_owned(),
            reason: reason.to_owned(),
        };
        let (algorithm, hex) = input
            .split_once(':')
            .ok_or_else(|| invalid("expected `<algorithm>:<hex>`"))?;
        let algorithm = match algorithm {
            "sha256" => Algorithm::Sha256,
            "sha512" => Algorithm::Sha512,
            _ => return Err(invalid("unsupported algorithm (sha256 and sha512 are)")),
        };
        if hex.len() != algorithm.hex_len() {
            return Err(invalid(&format!(
                "{} needs {} hex characters, found {}",
                algorithm.name(),
                algorithm.hex_len(),
                hex.len()
            )));
        }
        if !hex.bytes().all(|b| matches!(b, b'0'..=b'9' | b'a'..=b'f')) {
            return Err(invalid("the encoded part must be lowercase hex"));
        }
        Ok(Digest {
            algorithm,
            hex: hex.to_owned(),
        })
    }

    /// The SHA-256 digest of `bytes` (the algorithm of every digest this client writes).
    pub fn sha256(bytes: &[u8]) -> Digest {
        Digest {
            algorithm: Algorithm::Sha256,
            hex: format!("{:x}", Sha256::digest(bytes)),
        }
    }

    /// The algorithm.
    pub fn algorithm(&self) -> Algorithm {
        self.algorithm
    }

    /// The encoded (hex) part.
    pub fn hex(&self) -> &str {
        &self.hex
    }

    /// A verifier that hashes bytes with this digest's algorithm.
    pub fn verifier(&self) -> Verifier {
        Verifier::new(self.clone())
    }

    /// Checks `bytes` against this digest.
    pub fn verify(&self, bytes: &[u8]) -> Result<(), DigestError> {
        let mut verifier = self.verifier();
        verifier.update(bytes);
        verifier.finish()
    }
}

impl fmt::Display for Digest {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}:{}", self.algorithm.name(), self.hex)
    }
}

impl fmt::Debug for Digest {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Digest({self})")
    }
}

impl FromStr for Digest {
    type Err = DigestError;
    fn from_str(s: &str) -> Result<Digest, DigestError> {
        Digest::parse(s)
    }
}

enum Hasher {
    Sha256(Sha256),
    Sha512(Sha512),
}

/// Hashes bytes as they stream past and compares the result with the expected digest at the end.
pub struct Verifier {
    expected: Digest,
    hasher: Hasher,
    len: u64,
}

impl Verifier {
    /// A verifier expecting `expected`.
    pub fn new(expected: Digest) -> Verifier {
        let hasher = match expected.algorithm {
            Algorithm::Sha256 => Hasher::Sha256(Sha256::new()),
            Algorithm::Sha512 => Hasher::Sha512(Sha512::new()),
        };
        Verifier {
            expected,
            hasher,
            len: 0,
        }
    }

    /// Feeds the next bytes.
    pub fn update(&mut self, bytes: &[u8]) {
        self.len += bytes.len() as u64;
        match &mut self.hasher {
            Hasher::Sha256(h) => h.update(bytes),
            Hasher::Sha512(h) => h.update(bytes),
        }
    }

    /// The number of bytes fed so far.
    pub fn len(&self) -> u64 {
        self.len
    }

    /// Whether no bytes were fed yet.
    pub fn is_empty(&self) -> bool {
        self.len == 0
    }

    /// The digest of the bytes fed so far (the verifier stays usable).
    pub fn actual(&self) -> Digest {
        let hex = match &self.hasher {
            Hasher::Sha256(h) => format!("{:x}", h.clone().finalize()),
            Hasher::Sha512(h) => format!("{:x}", h.clone().finalize()),
        };
        Digest {
            algorithm: self.expected.algorithm,
            hex,
        }
    }

    /// `Ok` when the bytes fed match the expected digest, else [`DigestError::Mismatch`].
    pub fn finish(self) -> Result<(), DigestError> {
        let actual = self.actual();
        if actual == self.expected {
            Ok(())
        } else {
            Err(DigestError::Mismatch {
                expected: self.expected,
                actual,
            })
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const EMPTY: &str = "sha256:e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855";

    #[test]
    fn parses_and_displays_sha256() {
        let d = Digest::parse(EMPTY).unwrap();
        assert_eq!(d.algorithm(), Algorithm::Sha256);
        assert_eq!(d.to_string(), EMPTY);
        assert_eq!(d, Digest::sha256(b""));
    }

    #[test]
    fn parses_sha512() {
        let hex = "a".repeat(128);
        let d = Digest::parse(&format!("sha512:{hex}")).unwrap();
        assert_eq!(d.algorithm(), Algorithm::Sha512);
        assert_eq!(d.hex(), hex);
    }

    #[test]
    fn rejects_malformed() {
        for bad in [
            "",
            "sha256",
            "sha256:",
            "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855",
            "sha256:E3B0C44298FC1C149AFBF4C8996FB92427AE41E4649B934CA495991B7852B855",
            "sha256:e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b85",
            "sha256:e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b8555",
            "sha256:g3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855",
            "md5:d41d8cd98f00b204e9800998ecf8427e",
            "SHA256:e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855",
            "sha512:abc",
        ] {
            assert!(Digest::parse(bad).is_err(), "{bad:?} should be refused");
        }
    }

    #[test]
    fn streaming_verifier_accepts_matching_bytes_in_pieces() {
        let data = b"hello, registry";
        let digest = Digest::sha256(data);
        let mut v = digest.verifier();
        for chunk in data.chunks(4) {
            v.update(chunk);
        }
        assert_eq!(v.len(), data.len() as u64);
        v.finish().unwrap();
    }

    #[test]
    fn streaming_verifier_reports_both_digests_on_mismatch() {
        let digest = Digest::sha256(b"expected");
        let mut v = digest.verifier();
        v.update(b"actual");
        match v.finish() {
            Err(DigestError::Mismatch { expected, actual }) => {
                assert_eq!(expected, digest);
                assert_eq!(actual, Digest::sha256(b"actual"));
            }
            other => panic!("expected a mismatch, got {other:?}"),
        }
    }

    #[test]
    fn sha512_verifier() {
        let hex = format!("{:x}", Sha512::digest(b"abc"));
        let digest = Digest::parse(&format!("sha512:{hex}")).unwrap();
        digest.verify(b"abc").unwrap();
        assert!(digest.verify(b"abd").is_err());
    }
}
