//! Issue 14: a registry that refuses a large monolithic blob PUT (413, as a proxy with a body
//! size limit answers) gets the blob in chunks (POST, PATCH, PUT), per the distribution spec.

use std::collections::BTreeMap;

use super::cli::{layout, publish_cli};
use crate::registry::harness::Registry;
use crate::registry::proxy::{Fault, Proxy, Rule};
use crate::sample::SampleSpec;
use registry_action::registry::Digest;

/// The chunk size on registries other than ghcr.io.
const CHUNK: usize = 8 << 20;

/// A proxy that answers 413 to a blob PUT whose body is over 1 MiB: the publish of an image
/// with a 20 MiB layer succeeds in chunks of at most 8 MiB, in order, each `Content-Range`
/// naming its bytes, and the target holds the source's digest (skopeo). Without the fallback
/// the publish failed with the 413.
#[test]
fn issue_14_a_refused_large_put_is_uploaded_in_chunks() {
    let Some(registry) = Registry::plain() else {
        return;
    };
    let proxy = Proxy::start(
        registry.addr,
        vec![Rule {
            matching: "PUT /v2/big/app/blobs/uploads/",
            times: usize::MAX,
            fault: Fault::RefuseLarger {
                limit: 1 << 20,
                status: 413,
            },
        }],
    );
    let (_dir, image) = layout(&SampleSpec {
        platforms: vec!["linux/amd64".into()],
        single_manifest: true,
        shared_base: None,
        layer_sizes: vec![48 * 1024, (20 << 20) + 12_345],
        seed: 77,
        ..SampleSpec::default()
    });
    let big = image.blobs.iter().map(|b| b.size).max().unwrap_or_default();
    let r = publish_cli(
        format!("oci:{}", image.dir.display()),
        format!("{}/big/app", proxy.addr),
        "type=raw,value=v1.0.0",
        &[],
    );
    assert!(r.success(), "{}", r.console());

    let requests = proxy.requests();
    let refused: Vec<_> = requests.iter().filter(|q| q.outcome == "413").collect();
    assert_eq!(refused.len(), 1, "the big layer's PUT: {requests:?}");
    assert!(refused[0].body_len > 1 << 20);
    // Each session's PATCHes, in order: contiguous ranges from 0, at most CHUNK bytes each.
    let mut sessions: BTreeMap<String, Vec<(u64, u64, usize)>> = BTreeMap::new();
    for q in requests.iter().filter(|q| q.what.starts_with("PATCH ")) {
        assert_eq!(q.outcome, "forwarded", "{q:?}");
        assert!(q.body_len <= CHUNK, "a chunk over 8 MiB: {q:?}");
        let range = q.content_range.as_deref().expect("Content-Range");
        let (first, last) = range.split_once('-').expect("<first>-<last>");
        let (first, last): (u64, u64) = (first.parse().unwrap(), last.parse().unwrap());
        assert_eq!((last - first + 1) as usize, q.body_len, "{q:?}");
        let upload = q.what.rsplit('/').next().unwrap_or_default().to_owned();
        sessions
            .entry(upload)
            .or_default()
            .push((first, last, q.body_len));
    }
    assert_eq!(sessions.len(), 1, "one chunked upload: {sessions:?}");
    let chunks = sessions.into_values().next().unwrap_or_default();
    let mut next = 0;
    for (first, last, _) in &chunks {
        assert_eq!(*first, next, "{chunks:?}");
        next = last + 1;
    }
    assert_eq!(next, big, "the whole layer: {chunks:?}");
    assert_eq!(chunks.len(), 3, "8 + 8 + 4 MiB: {chunks:?}");
    // The session was closed with an empty PUT carrying the digest.
    assert!(
        requests
            .iter()
            .any(|q| q.what.starts_with("PUT /v2/big/app/blobs/uploads/")
                && q.body_len == 0
                && q.outcome == "forwarded"),
        "{requests:?}"
    );
    let raw = registry.skopeo_raw("big/app:v1.0.0");
    assert_eq!(Digest::sha256(&raw), image.root.digest);
}
