//! The pure half of the Docker Hub backend: the tag listing's JSON ([`TagPage`], [`HubTag`]) ->
//! an [`Inventory`], and an image's repository path -> Hub's `namespace` and `repository`.
//!
//! | Hub's listing                                   | inventory                                        |
//! |-------------------------------------------------|--------------------------------------------------|
//! | tags sharing a `digest`                         | one [`Version`] with those tags (sorted)         |
//! | `tag_last_pushed` (else `last_updated`)         | `created_at`: the earliest among its tags        |
//! | `images[].digest` other than the tag's digest   | `children` (an index's platform manifests)       |
//! | `media_type` (else `content_type`)              | `media_type`                                     |
//! | a tag without a usable digest or a valid name   | left out; `incomplete` says which                |
//! | one tag name listed with two digests            | left out (it moved while being listed)           |
//!
//! Hub lists tags only: untagged manifests never reach the inventory.

use super::super::{Inventory, Version};
use crate::registry::Digest;
use std::collections::BTreeMap;

/// One page of `GET /v2/namespaces/{namespace}/repositories/{repository}/tags`.
#[derive(Debug, Clone, Default, PartialEq, Eq, serde::Deserialize, serde::Serialize)]
pub struct TagPage {
    /// Tags across every page.
    #[serde(default)]
    pub count: Option<u64>,
    /// The absolute URL of the next page; `None` on the last.
    #[serde(default)]
    pub next: Option<String>,
    #[serde(default)]
    pub results: Vec<HubTag>,
}

/// A tag as Hub lists it (the fields cleanup reads; the rest is ignored).
#[derive(Debug, Clone, Default, PartialEq, Eq, serde::Deserialize, serde::Serialize)]
pub struct HubTag {
    pub name: String,
    /// The manifest or index the tag points at.
    #[serde(default)]
    pub digest: Option<String>,
    #[serde(default)]
    pub last_updated: Option<String>,
    #[serde(default)]
    pub tag_last_pushed: Option<String>,
    #[serde(default)]
    pub media_type: Option<String>,
    /// `image`, or another kind of artifact.
    #[serde(default)]
    pub content_type: Option<String>,
    /// Platform images (for an index) or the image itself.
    #[serde(default)]
    pub images: Option<Vec<HubImage>>,
}

/// One entry of a tag's `images`.
#[derive(Debug, Clone, Default, PartialEq, Eq, serde::Deserialize, serde::Serialize)]
pub struct HubImage {
    #[serde(default)]
    pub digest: Option<String>,
    #[serde(default)]
    pub architecture: Option<String>,
    #[serde(default)]
    pub os: Option<String>,
    #[serde(default)]
    pub variant: Option<String>,
}

/// Hub's two path parts of a repository: `library/nginx` -> (`library`, `nginx`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HubRepository {
    pub namespace: String,
    pub repository: String,
}

impl std::fmt::Display for HubRepository {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}/{}", self.namespace, self.repository)
    }
}

/// Splits a repository path at its `/`: `user/app` -> `user` + `app`. Hub has no deeper paths,
/// so `a/b/c` (and a path without a namespace) is refused rather than guessed.
pub fn split_repository(path: &str) -> Option<HubRepository> {
    let (namespace, repository) = path.split_once('/')?;
    let part = |s: &str| {
        !s.is_empty()
            && s.bytes()
                .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b"._-".contains(&b))
    };
    (part(namespace) && part(repository)).then(|| HubRepository {
        namespace: namespace.to_string(),
        repository: repository.to_string(),
    })
}

/// The inventory of `image` from every listed tag.
pub fn to_inventory(image: &str, tags: &[HubTag]) -> Inventory {
    let mut left_out: Vec<String> = Vec::new();
    let mut by_name: BTreeMap<&str, Option<&HubTag>> = BTreeMap::new();
    for tag in tags {
        if !crate::registry::reference::is_tag(&tag.name) {
            left_out.push(format!("{:?} is not a valid tag name", short(&tag.name)));
            continue;
        }
        match by_name.get(tag.name.as_str()) {
            None => {
                by_name.insert(&tag.name, Some(tag));
            }
            Some(Some(seen)) if seen.digest != tag.digest => {
                left_out.push(format!("`{}` was listed with two digests", tag.name));
                by_name.insert(&tag.name, None);
            }
            Some(_) => {}
        }
    }
    let mut versions: BTreeMap<Digest, Version> = BTreeMap::new();
    for tag in by_name.into_values().flatten() {
        let Some(digest) = tag.digest.as_deref().and_then(|d| Digest::parse(d).ok()) else {
            left_out.push(format!("`{}` has no usable digest", tag.name));
            continue;
        };
        let version = versions
            .entry(digest.clone())
            .or_insert_with(|| Version::new(digest.clone(), &[]));
        version.tags.push(tag.name.clone());
        let pushed = tag
            .tag_last_pushed
            .as_deref()
            .or(tag.last_updated.as_deref())
            .and_then(|t| t.parse::<jiff::Timestamp>().ok());
        version.created_at = match (version.created_at, pushed) {
            (Some(a), Some(b)) => Some(a.min(b)),
            (a, b) => a.or(b),
        };
        if version.media_type.is_empty() {
            version.media_type = [&tag.media_type, &tag.content_type]
                .into_iter()
                .flatten()
                .find(|m| !m.is_empty())
                .cloned()
                .unwrap_or_default();
        }
        for image in tag.images.iter().flatten() {
            if let Some(child) = image.digest.as_deref().and_then(|d| Digest::parse(d).ok())
                && child != digest
                && !version.children.contains(&child)
            {
                version.children.push(child);
            }
        }
    }
    let mut versions: Vec<Version> = versions.into_values().collect();
    for v in &mut versions {
        v.tags.sort();
    }
    versions.sort_by(|a, b| a.tags.first().cmp(&b.tags.first()));
    Inventory {
        image: image.to_string(),
        versions,
        incomplete: (!left_out.is_empty())
            .then(|| format!("tags left out: {}", left_out.join("; "))),
    }
}

/// At most 40 characters of an untrusted name.
fn short(s: &str) -> String {
    s.chars().take(40).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn digest(n: u8) -> String {
        format!("sha256:{}", format!("{n:02x}").repeat(32))
    }

    fn tag(name: &str, d: u8, pushed: &str, images: &[u8]) -> HubTag {
        HubTag {
            name: name.into(),
            digest: Some(digest(d)),
            tag_last_pushed: Some(pushed.into()),
            last_updated: Some("2030-01-01T00:00:00Z".into()),
            media_type: Some("application/vnd.oci.image.index.v1+json".into()),
            content_type: Some("image".into()),
            images: Some(
                images
                    .iter()
                    .map(|&i| HubImage {
                        digest: Some(digest(i)),
                        architecture: Some("amd64".into()),
                        os: Some("linux".into()),
                        variant: None,
                    })
                    .collect(),
            ),
        }
    }

    #[test]
    fn hub_s_documented_page_parses() {
        // The shape of Docker's API reference (`paginated_tags`), plus the `digest`,
        // `media_type` and `content_type` Hub sends with each tag.
        let page: TagPage = serde_json::from_str(
            r#"{"count": 1, "next": null, "previous": null, "results": [{
                "creator": 1234, "full_size": 123456, "id": 12345,
                "images": [{"architecture": "amd64", "features": null, "digest": "sha256:0101010101010101010101010101010101010101010101010101010101010101",
                    "last_pulled": null, "last_pushed": "2021-01-05T21:06:53.506400Z", "os": "linux",
                    "os_features": null, "os_version": null, "size": 123456, "status": "active", "variant": null}],
                "last_updated": "2021-01-05T21:06:53.506400Z", "last_updater": 1234,
                "last_updater_username": "dockeruser", "name": "latest", "repository": 5678,
                "tag_last_pulled": null, "tag_last_pushed": "2021-01-05T21:06:53.506400Z",
                "tag_status": "active", "v2": true,
                "digest": "sha256:0202020202020202020202020202020202020202020202020202020202020202",
                "media_type": "application/vnd.oci.image.index.v1+json", "content_type": "image"}]}"#,
        )
        .unwrap();
        assert_eq!(page.next, None);
        let inventory = to_inventory("docker.io/user/app", &page.results);
        assert_eq!(inventory.incomplete, None);
        let v = &inventory.versions[0];
        assert_eq!(v.digest.to_string(), digest(2));
        assert_eq!(v.tags, ["latest"]);
        assert_eq!(v.children.len(), 1);
        assert_eq!(
            v.created_at,
            Some("2021-01-05T21:06:53.5064Z".parse().unwrap())
        );
    }

    #[test]
    fn tags_of_one_digest_are_one_version_as_old_as_its_first_push() {
        let tags = [
            tag("main-old", 1, "2024-01-01T00:00:00Z", &[1, 11, 12]),
            tag("latest", 1, "2024-03-01T00:00:00.123456Z", &[1, 11, 12]),
            tag("pr-2", 2, "2024-02-01T00:00:00Z", &[2]),
        ];
        let inventory = to_inventory("docker.io/user/app", &tags);
        assert_eq!(inventory.incomplete, None);
        assert_eq!(inventory.versions.len(), 2);
        let release = &inventory.versions[0];
        assert_eq!(release.tags, ["latest", "main-old"]);
        assert_eq!(
            release.created_at,
            Some("2024-01-01T00:00:00Z".parse().unwrap())
        );
        // The index's own digest is not its child.
        let children: Vec<String> = release.children.iter().map(|d| d.to_string()).collect();
        assert_eq!(children, [digest(11), digest(12)]);
        assert_eq!(
            release.media_type,
            "application/vnd.oci.image.index.v1+json"
        );
        // A single-platform image lists itself: no children.
        assert!(inventory.versions[1].children.is_empty());
        assert_eq!(inventory.versions[1].tags, ["pr-2"]);
    }

    #[test]
    fn last_updated_stands_in_for_a_missing_push_time() {
        let mut t = tag("edge", 3, "", &[]);
        t.tag_last_pushed = None;
        t.media_type = None;
        let inventory = to_inventory("x", &[t]);
        assert_eq!(
            inventory.versions[0].created_at,
            Some("2030-01-01T00:00:00Z".parse().unwrap())
        );
        assert_eq!(inventory.versions[0].media_type, "image");
    }

    #[test]
    fn unusable_tags_are_left_out_and_make_the_listing_incomplete() {
        let mut no_digest = tag("nodigest", 1, "2024-01-01T00:00:00Z", &[]);
        no_digest.digest = None;
        let bad_name = tag("../../x", 2, "2024-01-01T00:00:00Z", &[]);
        let moved_a = tag("moved", 3, "2024-01-01T00:00:00Z", &[]);
        let moved_b = tag("moved", 4, "2024-01-01T00:00:00Z", &[]);
        let twice = tag("twice", 5, "2024-01-01T00:00:00Z", &[]);
        let inventory = to_inventory(
            "x",
            &[no_digest, bad_name, moved_a, moved_b, twice.clone(), twice],
        );
        let tags: Vec<&str> = inventory
            .versions
            .iter()
            .flat_map(|v| v.tags.iter().map(String::as_str))
            .collect();
        assert_eq!(tags, ["twice"]);
        let why = inventory.incomplete.unwrap();
        for needle in [
            "`nodigest` has no usable digest",
            "\"../../x\" is not a valid tag name",
            "`moved` was listed with two digests",
        ] {
            assert!(why.contains(needle), "{why}");
        }
    }

    #[test]
    fn repository_paths_split_into_namespace_and_name() {
        let split = |p| split_repository(p).map(|r| (r.namespace, r.repository));
        assert_eq!(
            split("library/nginx"),
            Some(("library".into(), "nginx".into()))
        );
        assert_eq!(
            split("user/my-app_2.x"),
            Some(("user".into(), "my-app_2.x".into()))
        );
        assert_eq!(split("nginx"), None);
        assert_eq!(split("a/b/c"), None);
        assert_eq!(split("user/"), None);
        assert_eq!(split("User/app"), None);
    }
}
