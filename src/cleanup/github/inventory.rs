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
use std::collections::{BTreeMap, BTreeSet};

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

/// What was learnt of each manifest read so far (or why it could not be read).
pub type Read = BTreeMap<Digest, Result<ManifestGraph, String>>;

/// Whether `tag` is a referrers tag schema index (`sha256-<64 hex>`): it lists referrers, whose
/// `subject` must be read.
fn referrers_tag(tag: &str) -> bool {
    tag.strip_prefix("sha256-")
        .is_some_and(|hex| hex.len() == 64 && hex.bytes().all(|b| b.is_ascii_hexdigit()))
}

/// The listed versions that need no read: plain image manifests (see [`ManifestGraph::leaves`])
/// that a manifest already read lists, untagged. Their children (none) and subject (none) are
/// known from the parent's descriptor, and their fate follows their parents'.
pub fn leaves(listed: &[Listed], read: &Read) -> BTreeSet<Digest> {
    let untagged: BTreeSet<&Digest> = listed
        .iter()
        .filter(|l| l.tags.is_empty())
        .map(|l| &l.digest)
        .collect();
    let lists_referrers: BTreeSet<&Digest> = listed
        .iter()
        .filter(|l| l.tags.iter().any(|t| referrers_tag(t)))
        .map(|l| &l.digest)
        .collect();
    read.iter()
        .filter(|(d, _)| !lists_referrers.contains(d))
        .filter_map(|(_, r)| r.as_ref().ok())
        .flat_map(|g| &g.leaves)
        .filter(|d| untagged.contains(d) && !read.contains_key(*d))
        .cloned()
        .collect()
}

/// Versions created this close together are taken for one push (an index and what it lists).
const ONE_PUSH_SECONDS: i64 = 60;

/// The next manifests to read, given those read so far; empty when the plan has all it needs.
///
/// Every tagged version first (its tags decide, and its graph goes with it either way). Then
/// untagged versions no read manifest lists as a plain image: indexes, referrers (their
/// `subject` is only in their own manifest), lone images. Those go in rounds of one version per
/// push (the newest of a run of versions created within a minute: GHCR lists newest first, and
/// an index is pushed after its children), so reading an untagged index makes its children
/// leaves before they are read; a round is topped up to `at_least` reads.
pub fn next_reads(listed: &[Listed], read: &Read, at_least: usize) -> Vec<Digest> {
    let leaves = leaves(listed, read);
    let pending: Vec<&Listed> = listed
        .iter()
        .filter(|l| !read.contains_key(&l.digest) && !leaves.contains(&l.digest))
        .collect();
    let tagged: Vec<Digest> = pending
        .iter()
        .filter(|l| !l.tags.is_empty())
        .map(|l| l.digest.clone())
        .collect();
    if !tagged.is_empty() {
        return tagged;
    }
    let (mut picked, mut skipped) = (Vec::new(), Vec::new());
    let mut last: Option<jiff::Timestamp> = None;
    for l in pending {
        let same_push = match (last, l.created_at) {
            (Some(a), Some(b)) => (a.as_second() - b.as_second()).abs() < ONE_PUSH_SECONDS,
            _ => false,
        };
        if same_push {
            skipped.push(l.digest.clone());
        } else {
            picked.push(l.digest.clone());
            last = l.created_at;
        }
    }
    let top_up = at_least.saturating_sub(picked.len());
    picked.extend(skipped.into_iter().take(top_up));
    picked
}

/// What a leaf is known to be without reading it: an image manifest, no children, no subject.
pub fn leaf_graph() -> ManifestGraph {
    ManifestGraph {
        media_type: String::new(),
        children: Vec::new(),
        subject: None,
        config: None,
        leaves: Vec::new(),
    }
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
                leaves: Vec::new(),
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

    fn listed_at(n: u64, tags: &[&str], at: i64) -> Listed {
        Listed {
            id: n,
            digest: Digest::sha256(&n.to_be_bytes()),
            tags: tags.iter().map(|t| t.to_string()).collect(),
            created_at: jiff::Timestamp::from_second(at).ok(),
        }
    }

    fn index_of(children: &[&Listed], leaves: &[&Listed]) -> ManifestGraph {
        ManifestGraph {
            media_type: "application/vnd.oci.image.index.v1+json".into(),
            children: children.iter().map(|l| l.digest.clone()).collect(),
            subject: None,
            config: None,
            leaves: leaves.iter().map(|l| l.digest.clone()).collect(),
        }
    }

    /// Rounds of reads until none is asked; `graphs` answers each read (a leaf when absent).
    fn rounds(listed: &[Listed], graphs: &BTreeMap<Digest, ManifestGraph>) -> Vec<Vec<u64>> {
        let mut read = Read::new();
        let mut rounds = Vec::new();
        loop {
            let next = next_reads(listed, &read, 2);
            if next.is_empty() {
                return rounds;
            }
            let ids = next
                .iter()
                .map(|d| listed.iter().find(|l| &l.digest == d).unwrap().id)
                .collect();
            for d in next {
                let graph = graphs.get(&d).cloned().unwrap_or_else(leaf_graph);
                read.insert(d, Ok(graph));
            }
            rounds.push(ids);
        }
    }

    #[test]
    fn only_tagged_versions_and_untagged_ones_no_index_lists_are_read() {
        // Newest first: a tagged push (index 10, images 11, 12, a nested index 13 listing 14),
        // an untagged push an hour older (index 20, images 21, 22), a lone untagged image 30
        // a day older, and a referrers tag index 40 listing a signature 41.
        let t = 1_800_000_000;
        let listed = vec![
            listed_at(10, &["main-a"], t),
            listed_at(13, &[], t - 1),
            listed_at(14, &[], t - 1),
            listed_at(11, &[], t - 2),
            listed_at(12, &[], t - 2),
            listed_at(20, &[], t - 3_600),
            listed_at(21, &[], t - 3_601),
            listed_at(22, &[], t - 3_601),
            listed_at(30, &[], t - 86_400),
            listed_at(41, &[], t - 90_000),
        ];
        let hex = Digest::sha256(&10u64.to_be_bytes()).hex().to_string();
        let mut listed = listed;
        listed.push(listed_at(
            40,
            &[format!("sha256-{hex}").as_str()],
            t - 90_000,
        ));
        let l = |id: u64| listed.iter().find(|l| l.id == id).unwrap();
        let graphs: BTreeMap<Digest, ManifestGraph> = [
            (
                l(10).digest.clone(),
                index_of(&[l(11), l(12), l(13)], &[l(11), l(12)]),
            ),
            (l(13).digest.clone(), index_of(&[l(14)], &[l(14)])),
            (
                l(20).digest.clone(),
                index_of(&[l(21), l(22)], &[l(21), l(22)]),
            ),
            (l(40).digest.clone(), index_of(&[l(41)], &[l(41)])),
        ]
        .into();
        let rounds = rounds(&listed, &graphs);
        // Tagged first; then one per push (13 for the first, 20, 30, 41): 14, 21, 22, 11, 12
        // are known from their index; 41 is read, as the referrers index lists it.
        assert_eq!(rounds, vec![vec![10, 40], vec![13, 20, 30, 41]]);
    }

    #[test]
    fn a_round_is_topped_up_and_an_unread_index_lets_nothing_be_skipped() {
        let t = 1_800_000_000;
        let listed: Vec<Listed> = (1..=4).map(|n| listed_at(n, &[], t)).collect();
        let mut read = Read::new();
        assert_eq!(
            next_reads(&listed, &read, 2).len(),
            2,
            "one push, topped up to 2"
        );
        read.insert(listed[0].digest.clone(), Err("manifest unknown".into()));
        assert!(leaves(&listed, &read).is_empty());
        assert_eq!(next_reads(&listed, &read, 1).len(), 1);
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
