//! The names referrers go by on registries without the OCI 1.1 referrers API: the referrers tag
//! schema's `sha256-<hex>` (an index of the subject's referrers) and cosign's legacy
//! `sha256-<hex>.sig` / `.att` / `.sbom` tags.

use super::digest::{Algorithm, Digest};

/// cosign's legacy suffixes: signature, attestation, SBOM.
const COSIGN_SUFFIXES: [&str; 3] = ["sig", "att", "sbom"];

/// The digest a cosign-style tag `sha256-<hex>.sig` / `.att` / `.sbom` refers to.
pub fn cosign_subject(tag: &str) -> Option<Digest> {
    let rest = tag.strip_prefix("sha256-")?;
    let (hex, suffix) = rest.split_once('.')?;
    COSIGN_SUFFIXES
        .contains(&suffix)
        .then(|| Digest::parse(&format!("sha256:{hex}")).ok())
        .flatten()
}

/// The referrers tag schema's tag for `subject`: `<algorithm>-<hex>`.
pub fn fallback_tag(subject: &Digest) -> String {
    format!("{}-{}", subject.algorithm().name(), subject.hex())
}

/// The subject whose referrers index a tag of the referrers tag schema holds.
pub fn fallback_subject(tag: &str) -> Option<Digest> {
    let hex = tag.strip_prefix("sha256-")?;
    (hex.len() == 64)
        .then(|| Digest::parse(&format!("{}:{hex}", Algorithm::Sha256.name())).ok())
        .flatten()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tags_name_their_subject() {
        let subject = Digest::sha256(b"image");
        let fallback = fallback_tag(&subject);
        assert_eq!(fallback, format!("sha256-{}", subject.hex()));
        assert_eq!(fallback_subject(&fallback), Some(subject.clone()));
        for suffix in COSIGN_SUFFIXES {
            assert_eq!(
                cosign_subject(&format!("{fallback}.{suffix}")),
                Some(subject.clone())
            );
        }
        assert_eq!(cosign_subject(&format!("{fallback}.txt")), None);
        assert_eq!(cosign_subject(&fallback), None);
        assert_eq!(fallback_subject(&format!("{fallback}.sig")), None);
        assert_eq!(fallback_subject("sha256-abc"), None);
        assert_eq!(fallback_subject("latest"), None);
    }
}
