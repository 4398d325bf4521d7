//! SHA-256 content digests (`sha256:<hex>`) of the blobs and manifests this crate writes. Its own
//! small type rather than `registry_action`'s: the library's unit tests use this crate, and a
//! dependency back on the library would give them two copies of every library type.

use std::fmt;

use sha2::{Digest as _, Sha256};

/// The SHA-256 digest of some bytes; shown as `sha256:<64 lowercase hex>`.
#[derive(Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Digest {
    hex: String,
}

impl Digest {
    /// The SHA-256 digest of `bytes`.
    pub fn sha256(bytes: &[u8]) -> Digest {
        Digest::of(Sha256::digest(bytes))
    }

    /// Parses `sha256:<64 lowercase hex>`, as the documents this crate writes spell a digest.
    pub fn parse(input: &str) -> Option<Digest> {
        let hex = input.strip_prefix("sha256:")?;
        let valid = hex.len() == 64 && hex.bytes().all(|b| matches!(b, b'0'..=b'9' | b'a'..=b'f'));
        valid.then(|| Digest {
            hex: hex.to_owned(),
        })
    }

    /// The digest a finished hasher holds.
    pub(crate) fn of(hash: impl fmt::LowerHex) -> Digest {
        Digest {
            hex: format!("{hash:x}"),
        }
    }

    /// The encoded (hex) part, the blob's file name in an image layout.
    pub fn hex(&self) -> &str {
        &self.hex
    }
}

impl fmt::Display for Digest {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "sha256:{}", self.hex)
    }
}

impl fmt::Debug for Digest {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Digest({self})")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn digests_print_and_parse_as_sha256_hex() {
        assert_eq!(
            Digest::sha256(b"").to_string(),
            "sha256:e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"
        );
        let text = Digest::sha256(b"a").to_string();
        assert_eq!(Digest::parse(&text), Some(Digest::sha256(b"a")));
        assert_eq!(Digest::parse(&text.to_uppercase()), None);
        assert_eq!(Digest::parse("sha256:abc"), None);
    }
}
