//! The pure half of the GHCR backend: package versions (from the API) + what their manifests
//! list (from the registry) -> an [`Inventory`], and the placeholder manifest that removes one
//! tag from a version.
//!
//! On GHCR every manifest is a version: an index, each platform image and attestation manifest
//! under it, signatures. The API gives id, digest, tags and `created_at`; the registry gives the
//! edges (an index's children, a referrer's `subject`).

use crate::cleanup::oci::{ManifestGraph, readable_order};
use crate::cleanup::{Inventory, Version};
use crate::registry::Digest;
use octocrab::models::packages::PackageVersion;
use std::collections::BTreeMap;

/// One listed version, as the backend needs it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Listed {
    pub id: u64,
    pub digest: Digest,
    pub tags: Vec<String>,
    pub created_at: Option<jiff::Timestamp>,
}

/// The listed versions, and why some could not be used (their names are not digests).
pub fn listed(versions: &[PackageVersion]) -> (Vec<Listed>, Vec<String>) {
    let mut good = Vec::with_capacity(versions.len());
    let mut bad = Vec::new();
    for v in versions {
        match Digest::parse(&v.name) {
            Ok(digest) => good.push(Listed {
                id: *v.id,
                digest,
                tags: v
                    .metadata
                    .as_ref()
                    .and_then(|m| m.container.as_ref())
                    .map(|c| c.tags.clone())
                    .unwrap_or_default(),
                created_at: jiff::Timestamp::from_second(v.created_at.timestamp()).ok(),
            }),
            Err(_) => bad.push(format!(
                "version {} is named `{}`, not a digest",
                v.id, v.name
            )),
        }
    }
    (good, bad)
}

/// The inventory of `image` from its listed versions and the manifests read for them.
pub fn inventory(
    image: String,
    listed: &[Listed],
    manifests: &BTreeMap<Digest, Result<ManifestGraph, String>>,
    unusable: &[String],
) -> Inventory {
    let mut versions: BTreeMap<Digest, Version> = BTreeMap::new();
    for l in listed {
        let mut version = Version::new(l.digest.clone(), &[]);
        version.tags = l.tags.clone();
        version.created_at = l.created_at;
        match manifests.get(&l.digest) {
            Some(Ok(graph)) => {
                version.media_type = graph.media_type.clone();
                version.children = graph.children.clone();
                version.subject = graph.subject.clone();
            }
            Some(Err(why)) => version.unreadable = Some(why.clone()),
            None => version.unreadable = Some("the manifest was not read".into()),
        }
        versions.insert(l.digest.clone(), version);
    }
    Inventory {
        image,
        versions: readable_order(versions),
        incomplete: (!unusable.is_empty()).then(|| unusable.join("; ")),
    }
}

/// The digest of the empty JSON object `{}`: the config and only layer of a placeholder.
pub const EMPTY_JSON_DIGEST: &str =
    "sha256:44136fa355b3678a1146ad16f7e8649e94fb4fc21fe77e8310c060f61caaff8a";
pub const EMPTY_JSON_MEDIA_TYPE: &str = "application/vnd.oci.empty.v1+json";
pub const OCI_MANIFEST: &str = "application/vnd.oci.image.manifest.v1+json";

/// A placeholder OCI manifest, unique to (`tag`, `nonce`): pushed under `tag` it takes the tag
/// off the version that had it; deleting the placeholder's version then removes the tag.
pub fn placeholder_manifest(tag: &str, nonce: &str) -> Vec<u8> {
    let empty = serde_json::json!({
        "mediaType": EMPTY_JSON_MEDIA_TYPE,
        "digest": EMPTY_JSON_DIGEST,
        "size": 2,
    });
    serde_json::to_vec(&serde_json::json!({
        "schemaVersion": 2,
        "mediaType": OCI_MANIFEST,
        "config": empty,
        "layers": [empty],
        "annotations": {
            "org.opencontainers.image.description": "registry-action: a placeholder that removes a tag, deleted right after",
            "dev.registry-action.untag": format!("{tag} {nonce}"),
        },
    }))
    .expect("a JSON value serializes")
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::oci::parse_manifest;

    fn api_version(id: u64, name: &str, tags: &[&str], created: &str) -> PackageVersion {
        serde_json::from_value(serde_json::json!({
            "id": id,
            "name": name,
            "url": format!("https://api.github.com/orgs/o/packages/container/app/versions/{id}"),
            "package_html_url": "https://github.com/orgs/o/packages/container/package/app",
            "created_at": created,
            "updated_at": created,
            "html_url": format!("https://github.com/orgs/o/packages/container/app/{id}"),
            "metadata": {"package_type": "container", "container": {"tags": tags}},
        }))
        .expect("the documented shape parses")
    }

    #[test]
    fn versions_map_to_an_inventory_with_edges_from_the_registry() {
        let (index, child, odd) = (
            Digest::sha256(b"index"),
            Digest::sha256(b"child"),
            Digest::sha256(b"odd"),
        );
        let api = vec![
            api_version(
                3,
                &index.to_string(),
                &["latest", "v1.0.0"],
                "2024-05-01T10:00:00Z",
            ),
            api_version(2, &child.to_string(), &[], "2024-05-01T09:59:58Z"),
            api_version(1, &odd.to_string(), &[], "2024-04-01T00:00:00Z"),
            api_version(9, "not-a-digest", &[], "2024-04-01T00:00:00Z"),
        ];
        let (listed, bad) = listed(&api);
        assert_eq!(listed.len(), 3);
        assert_eq!(bad, ["version 9 is named `not-a-digest`, not a digest"]);
        assert_eq!(listed[0].id, 3);
        assert_eq!(listed[0].tags, ["latest", "v1.0.0"]);
        assert_eq!(
            listed[1].created_at,
            Some("2024-05-01T09:59:58Z".parse().unwrap())
        );
        let mut manifests = BTreeMap::new();
        manifests.insert(
            index.clone(),
            Ok(ManifestGraph {
                media_type: "application/vnd.oci.image.index.v1+json".into(),
                children: vec![child.clone()],
                subject: None,
                config: None,
            }),
        );
        manifests.insert(odd.clone(), Err("manifest unknown".to_string()));
        let inv = inventory("ghcr.io/o/app".into(), &listed, &manifests, &bad);
        assert_eq!(inv.versions.len(), 3);
        assert_eq!(inv.versions[0].digest, index, "tagged roots first");
        assert_eq!(inv.versions[0].children, std::slice::from_ref(&child));
        assert_eq!(inv.versions[1].digest, child, "then what they list");
        let odd_v = inv.versions.iter().find(|v| v.digest == odd).unwrap();
        assert_eq!(odd_v.unreadable.as_deref(), Some("manifest unknown"));
        let child_v = inv.versions.iter().find(|v| v.digest == child).unwrap();
        assert_eq!(
            child_v.unreadable.as_deref(),
            Some("the manifest was not read")
        );
        assert!(inv.incomplete.unwrap().contains("not-a-digest"));
    }

    #[test]
    fn placeholders_are_valid_unique_oci_manifests() {
        let a = placeholder_manifest("main-abc", "1");
        let b = placeholder_manifest("main-abc", "2");
        assert_ne!(Digest::sha256(&a), Digest::sha256(&b));
        let parsed = parse_manifest(OCI_MANIFEST, &a).expect("a valid manifest");
        assert_eq!(parsed.blobs.len(), 2);
        assert_eq!(parsed.blobs[0].digest.to_string(), EMPTY_JSON_DIGEST);
        assert_eq!(Digest::sha256(b"{}").to_string(), EMPTY_JSON_DIGEST);
    }
}
