//! Unit tests of manifest parsing: every media type and shape.

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
        let parsed = parse_manifest(media_type, image_json(Some(media_type)).as_bytes()).unwrap();
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
        ParseError::UnsupportedMediaType("application/vnd.oci.artifact.manifest.v1+json".into())
    );
    assert_eq!(
        err(OCI_INDEX, &image_json(Some(OCI_MANIFEST))),
        ParseError::MediaTypeConflict {
            given: OCI_INDEX.into(),
            declared: OCI_MANIFEST.into()
        }
    );
}
