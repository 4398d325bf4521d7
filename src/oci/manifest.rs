//! A manifest as parsed: what it lists (child manifests or blobs), its subject, artifact type and
//! annotations, read from the exact bytes without re-serializing them.

use super::descriptor::{Descriptor, Platform};
use super::digest::Digest;
use super::media::{
    DOCKER_MANIFEST, DOCKER_MANIFEST_LIST, DOCKER_SCHEMA1, OCI_INDEX, OCI_MANIFEST,
};
use serde::Deserialize;
use std::collections::BTreeMap;

/// Why a manifest could not be understood.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ParseError {
    #[error(
        "Docker schema 1 manifests are not supported (deprecated since 2017); re-push the image with a \
         current Docker or buildx, or convert it: `skopeo copy --format v2s2 SRC DST`"
    )]
    Schema1,
    #[error(
        "unsupported manifest media type `{0}` (supported: OCI image manifest and index, Docker \
         schema 2 manifest and manifest list)"
    )]
    UnsupportedMediaType(String),
    #[error("manifest declares media type `{declared}` but is served as `{given}`")]
    MediaTypeConflict { given: String, declared: String },
    #[error("malformed {media_type}: {message}")]
    Invalid { media_type: String, message: String },
}

/// Whether a manifest lists manifests or blobs.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    /// OCI index or Docker manifest list.
    Index,
    /// OCI image manifest or Docker schema 2 manifest.
    Image,
}

/// What one manifest refers to.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Parsed {
    /// The effective media type: the declared `mediaType`, else the one it was given with.
    pub media_type: String,
    pub kind: Kind,
    /// Child manifests (an index's entries).
    pub manifests: Vec<Descriptor>,
    /// Blobs: the config, then the layers.
    pub blobs: Vec<Descriptor>,
    /// The image this one refers to (signatures, SBOMs): recorded, not followed.
    pub subject: Option<Descriptor>,
    pub artifact_type: Option<String>,
    pub annotations: BTreeMap<String, String>,
}

impl Parsed {
    /// The platforms of an index's entries, in order. Buildx attestation manifests are not
    /// platforms (buildx lists them as `unknown/unknown`), so they are left out here; they are
    /// still children of the index and copied with it.
    pub fn platforms(&self) -> Vec<String> {
        self.manifests
            .iter()
            .filter(|d| !d.is_attestation())
            .filter_map(|d| d.platform.as_ref().map(Platform::to_string))
            .collect()
    }
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct Doc {
    schema_version: Option<i64>,
    media_type: Option<String>,
    artifact_type: Option<String>,
    config: Option<RawDescriptor>,
    layers: Option<Vec<RawDescriptor>>,
    manifests: Option<Vec<RawDescriptor>>,
    subject: Option<RawDescriptor>,
    #[serde(default)]
    annotations: BTreeMap<String, String>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct RawDescriptor {
    media_type: Option<String>,
    digest: String,
    size: u64,
    platform: Option<Platform>,
    #[serde(default)]
    annotations: BTreeMap<String, String>,
    artifact_type: Option<String>,
}

fn kind_of(media_type: &str) -> Option<Kind> {
    match media_type {
        OCI_INDEX | DOCKER_MANIFEST_LIST => Some(Kind::Index),
        OCI_MANIFEST | DOCKER_MANIFEST => Some(Kind::Image),
        _ => None,
    }
}

/// Parses a manifest of `media_type` (the descriptor's or the registry's `Content-Type`; empty
/// when unknown, then the declared `mediaType` or the shape decides).
pub fn parse_manifest(media_type: &str, bytes: &[u8]) -> Result<Parsed, ParseError> {
    if DOCKER_SCHEMA1.contains(&media_type) {
        return Err(ParseError::Schema1);
    }
    let invalid = |media_type: &str, message: String| ParseError::Invalid {
        media_type: if media_type.is_empty() {
            "manifest"
        } else {
            media_type
        }
        .to_owned(),
        message,
    };
    let doc: Doc = serde_json::from_slice(bytes).map_err(|e| invalid(media_type, e.to_string()))?;
    let declared = doc.media_type.as_deref().filter(|m| !m.is_empty());
    if doc.schema_version == Some(1) || declared.is_some_and(|d| DOCKER_SCHEMA1.contains(&d)) {
        return Err(ParseError::Schema1);
    }
    let effective = match (declared, media_type) {
        (Some(d), given) if given.is_empty() || kind_of(given).is_none() => d.to_owned(),
        (Some(d), given) if d != given && kind_of(d).is_some() => {
            return Err(ParseError::MediaTypeConflict {
                given: given.to_owned(),
                declared: d.to_owned(),
            });
        }
        (_, "") if doc.manifests.is_some() => OCI_INDEX.to_owned(),
        (_, "") => OCI_MANIFEST.to_owned(),
        (_, given) => given.to_owned(),
    };
    let kind =
        kind_of(&effective).ok_or_else(|| ParseError::UnsupportedMediaType(effective.clone()))?;
    if doc.schema_version != Some(2) {
        return Err(invalid(&effective, "schemaVersion must be 2".into()));
    }
    let convert = |raw: RawDescriptor, field: &str| -> Result<Descriptor, ParseError> {
        let digest =
            Digest::parse(&raw.digest).map_err(|e| invalid(&effective, format!("{field}: {e}")))?;
        Ok(Descriptor {
            media_type: raw.media_type.unwrap_or_default(),
            digest,
            size: raw.size,
            platform: raw.platform,
            annotations: raw.annotations,
            artifact_type: raw.artifact_type,
        })
    };
    let mut parsed = Parsed {
        media_type: effective.clone(),
        kind,
        manifests: Vec::new(),
        blobs: Vec::new(),
        subject: doc.subject.map(|s| convert(s, "subject")).transpose()?,
        artifact_type: doc.artifact_type,
        annotations: doc.annotations,
    };
    match kind {
        Kind::Index => {
            let entries = doc
                .manifests
                .ok_or_else(|| invalid(&effective, "an index needs `manifests`".into()))?;
            for entry in entries {
                parsed.manifests.push(convert(entry, "manifests")?);
            }
        }
        Kind::Image => {
            let config = doc
                .config
                .ok_or_else(|| invalid(&effective, "an image manifest needs `config`".into()))?;
            parsed.blobs.push(convert(config, "config")?);
            for layer in doc.layers.unwrap_or_default() {
                parsed.blobs.push(convert(layer, "layers")?);
            }
        }
    }
    Ok(parsed)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::oci::media::{DOCKER_MANIFEST, DOCKER_MANIFEST_LIST, OCI_INDEX, OCI_MANIFEST};

    fn d(n: u8) -> String {
        format!("sha256:{}", format!("{n:02x}").repeat(32))
    }

    fn image_json(media_type: Option<&str>) -> String {
        let mt = media_type.map_or(String::new(), |m| format!(r#""mediaType":"{m}","#));
        format!(
            r#"{{"schemaVersion":2,{mt}"config":{{"mediaType":"c","digest":"{}","size":10}},
            "layers":[{{"mediaType":"l","digest":"{}","size":20}},{{"mediaType":"l","digest":"{}","size":0}}]}}"#,
            d(1),
            d(2),
            d(3)
        )
    }

    #[test]
    fn oci_and_docker_image_manifests() {
        for media_type in [OCI_MANIFEST, DOCKER_MANIFEST] {
            let parsed =
                parse_manifest(media_type, image_json(Some(media_type)).as_bytes()).unwrap();
            assert_eq!(parsed.kind, Kind::Image);
            assert_eq!(parsed.media_type, media_type);
            let blobs: Vec<(String, u64)> = parsed
                .blobs
                .iter()
                .map(|b| (b.digest.to_string(), b.size))
                .collect();
            assert_eq!(blobs, vec![(d(1), 10), (d(2), 20), (d(3), 0)]);
            assert!(parsed.manifests.is_empty());
            assert_eq!(parsed.subject, None);
        }
    }

    #[test]
    fn missing_media_type_field_uses_the_given_one() {
        let parsed = parse_manifest(DOCKER_MANIFEST, image_json(None).as_bytes()).unwrap();
        assert_eq!(parsed.media_type, DOCKER_MANIFEST);
        // Unknown from both sides: the shape decides.
        assert_eq!(
            parse_manifest("", image_json(None).as_bytes())
                .unwrap()
                .media_type,
            OCI_MANIFEST
        );
        // A generic Content-Type defers to the declared one.
        let parsed = parse_manifest(
            "application/json",
            image_json(Some(OCI_MANIFEST)).as_bytes(),
        )
        .unwrap();
        assert_eq!(parsed.media_type, OCI_MANIFEST);
    }

    /// Regression: a buildx image with attestations was shown as `linux/amd64, linux/arm64,
    /// unknown/unknown`. Only entries buildx marks as attestation manifests are left out: an entry
    /// without the annotation keeps its platform, whatever it says.
    #[test]
    fn attestation_manifests_are_not_platforms() {
        let json = format!(
            r#"{{"schemaVersion":2,"mediaType":"{OCI_INDEX}","manifests":[
            {{"mediaType":"{OCI_MANIFEST}","digest":"{}","size":5,"platform":{{"architecture":"amd64","os":"linux"}}}},
            {{"mediaType":"{OCI_MANIFEST}","digest":"{}","size":6,"platform":{{"architecture":"unknown","os":"unknown"}},
              "annotations":{{"vnd.docker.reference.type":"attestation-manifest","vnd.docker.reference.digest":"{}"}}}},
            {{"mediaType":"{OCI_MANIFEST}","digest":"{}","size":7,"platform":{{"architecture":"unknown","os":"unknown"}}}}]}}"#,
            d(1),
            d(2),
            d(1),
            d(3)
        );
        let parsed = parse_manifest(OCI_INDEX, json.as_bytes()).unwrap();
        assert_eq!(parsed.manifests.len(), 3);
        assert!(parsed.manifests[1].is_attestation());
        assert!(!parsed.manifests[2].is_attestation());
        assert_eq!(parsed.platforms(), vec!["linux/amd64", "unknown/unknown"]);
    }

    #[test]
    fn indexes_and_manifest_lists_with_platforms() {
        for media_type in [OCI_INDEX, DOCKER_MANIFEST_LIST] {
            let json = format!(
                r#"{{"schemaVersion":2,"mediaType":"{media_type}","manifests":[
                {{"mediaType":"{OCI_MANIFEST}","digest":"{}","size":5,"platform":{{"architecture":"amd64","os":"linux"}}}},
                {{"mediaType":"{OCI_MANIFEST}","digest":"{}","size":6,"platform":{{"architecture":"arm64","os":"linux","variant":"v8"}}}},
                {{"mediaType":"{OCI_MANIFEST}","digest":"{}","size":7,"platform":{{"architecture":"unknown","os":"unknown"}},
                  "annotations":{{"vnd.docker.reference.type":"attestation-manifest"}}}},
                {{"mediaType":"{OCI_INDEX}","digest":"{}","size":8}}]}}"#,
                d(1),
                d(2),
                d(3),
                d(4)
            );
            let parsed = parse_manifest(media_type, json.as_bytes()).unwrap();
            assert_eq!(parsed.kind, Kind::Index);
            assert_eq!(parsed.manifests.len(), 4);
            assert!(parsed.blobs.is_empty());
            assert_eq!(parsed.platforms(), vec!["linux/amd64", "linux/arm64/v8"]);
            assert_eq!(
                parsed.manifests[2].annotations["vnd.docker.reference.type"],
                "attestation-manifest"
            );
            assert_eq!(parsed.manifests[3].media_type, OCI_INDEX);
        }
    }

    #[test]
    fn artifact_manifest_with_subject() {
        let json = format!(
            r#"{{"schemaVersion":2,"mediaType":"{OCI_MANIFEST}","artifactType":"application/vnd.dev.sigstore.bundle+json",
            "config":{{"mediaType":"application/vnd.oci.empty.v1+json","digest":"{}","size":2}},
            "layers":[{{"mediaType":"application/vnd.dev.sigstore.bundle+json","digest":"{}","size":99}}],
            "subject":{{"mediaType":"{OCI_INDEX}","digest":"{}","size":500}}}}"#,
            d(1),
            d(2),
            d(9)
        );
        let parsed = parse_manifest(OCI_MANIFEST, json.as_bytes()).unwrap();
        assert_eq!(
            parsed.artifact_type.as_deref(),
            Some("application/vnd.dev.sigstore.bundle+json")
        );
        assert_eq!(parsed.blobs.len(), 2);
        let subject = parsed.subject.unwrap();
        assert_eq!(subject.digest.to_string(), d(9));
        assert_eq!(subject.media_type, OCI_INDEX);
    }

    #[test]
    fn schema1_is_refused_with_the_fix() {
        let v1 = r#"{"schemaVersion":1,"name":"x","tag":"y","fsLayers":[]}"#;
        for media_type in [
            "application/vnd.docker.distribution.manifest.v1+prettyjws",
            "application/vnd.docker.distribution.manifest.v1+json",
            "",
            DOCKER_MANIFEST,
        ] {
            let err = parse_manifest(media_type, v1.as_bytes()).unwrap_err();
            assert_eq!(err, ParseError::Schema1, "{media_type}");
            assert!(err.to_string().contains("skopeo copy --format v2s2"));
        }
    }

    #[test]
    fn malformed_and_unsupported_manifests() {
        let err = |mt: &str, json: &str| parse_manifest(mt, json.as_bytes()).unwrap_err();
        assert!(matches!(
            err(OCI_MANIFEST, "not json"),
            ParseError::Invalid { .. }
        ));
        assert!(matches!(
            err(OCI_MANIFEST, r#"{"schemaVersion":2}"#),
            ParseError::Invalid { .. }
        ));
        assert!(matches!(
            err(OCI_INDEX, r#"{"schemaVersion":2}"#),
            ParseError::Invalid { .. }
        ));
        let bad_digest = r#"{"schemaVersion":2,"config":{"digest":"sha256:nope","size":1}}"#;
        assert!(err(OCI_MANIFEST, bad_digest).to_string().contains("config"));
        let negative = format!(
            r#"{{"schemaVersion":2,"config":{{"digest":"{}","size":-1}}}}"#,
            d(1)
        );
        assert!(matches!(
            err(OCI_MANIFEST, &negative),
            ParseError::Invalid { .. }
        ));
        assert_eq!(
            err("application/vnd.oci.artifact.manifest.v1+json", "{}"),
            ParseError::UnsupportedMediaType(
                "application/vnd.oci.artifact.manifest.v1+json".into()
            )
        );
        assert_eq!(
            err(OCI_INDEX, &image_json(Some(OCI_MANIFEST))),
            ParseError::MediaTypeConflict {
                given: OCI_INDEX.into(),
                declared: OCI_MANIFEST.into()
            }
        );
    }
}
