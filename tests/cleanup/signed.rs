//! The same signed history cleaned on every backend: a release (`latest`, `v1.0.0`) and a branch
//! build (`main-aaa`), both multi-arch with attestations and both signed with a cosign `.sig`,
//! all 20 days old, under the shared [`POLICY`]. A dry run deletes nothing and plans what the
//! real run deletes: the branch build (on Hub its tags only: Hub lists and deletes tags) with its
//! signature first; the release, its platform images and its signature stay whole.

use super::backend::{Backend, Kind, POLICY};
use super::images::signature_tag;
use crate::sample::SampleImage;
use registry_action::registry::Digest;

/// The digests in `run`'s report `deletions`, in the order they went.
fn deleted_in_order(run: &crate::support::Run) -> Vec<String> {
    let report: serde_json::Value = serde_json::from_str(&run.get("report")).expect("report");
    report["images"][0]["deletions"]
        .as_array()
        .map(|all| {
            all.iter()
                .filter_map(|d| d["digest"].as_str().map(str::to_owned))
                .collect()
        })
        .unwrap_or_default()
}

/// What deleting `image` removes on `backend`: its index and platform images (on Hub, which
/// lists tags only, the tagged index).
fn removed(backend: &Backend, image: &SampleImage) -> Vec<Digest> {
    let mut all = vec![image.root.digest.clone()];
    if backend.kind() != Kind::Hub {
        all.extend(image.manifests.iter().map(|m| m.digest.clone()));
    }
    all
}

/// The scenario (see the module doc).
pub fn a_signature_follows_its_image(backend: &Backend) {
    let release = backend.publish_image(1, true, &["v1.0.0", "latest"]);
    let branch = backend.publish_image(2, true, &["main-aaa"]);
    let kept_signature = backend.sign(31, &release.image);
    let orphan_signature = backend.sign(32, &branch.image);
    backend.backdate_all(20);

    let dry = backend.cleanup(POLICY, true);
    assert!(dry.success(), "{}\n{}", dry.stdout(), dry.stderr());
    assert_eq!(backend.deletions(), 0, "a dry run deleted");
    let mut expected = removed(backend, &branch.image);
    expected.push(orphan_signature.image.root.digest.clone());
    assert_eq!(
        dry.get("deleted"),
        expected.len().to_string(),
        "{}",
        dry.summary_file
    );

    let real = backend.cleanup(POLICY, false);
    assert!(real.success(), "{}\n{}", real.stdout(), real.stderr());
    assert_eq!(
        real.get("deleted"),
        dry.get("deleted"),
        "{}",
        real.summary_file
    );
    assert_eq!(real.get("failed"), "0");
    let order = deleted_in_order(&real);
    let mut went = order.clone();
    went.sort();
    went.dedup();
    let mut planned: Vec<String> = expected.iter().map(Digest::to_string).collect();
    planned.sort();
    assert_eq!(went, planned);
    let position = |d: &Digest| {
        order
            .iter()
            .position(|o| *o == d.to_string())
            .unwrap_or_else(|| panic!("{d} not deleted: {order:?}"))
    };
    assert!(
        position(&orphan_signature.image.root.digest) < position(&branch.image.root.digest),
        "a signature goes before what it signs: {order:?}"
    );
    assert!(
        backend.read(":main-aaa").is_none(),
        "main-aaa still resolves"
    );
    let orphan_tag = format!(":{}", signature_tag(&branch.image));
    assert!(
        backend.read(&orphan_tag).is_none(),
        "the orphan signature stays"
    );

    // The release is whole: both tags, every platform image, its signature.
    for tag in ["latest", "v1.0.0"] {
        let root = release.bytes(&release.image.root.digest);
        assert_eq!(backend.read(&format!(":{tag}")), Some(root), "{tag}");
    }
    for child in &release.image.manifests {
        let bytes = release.bytes(&child.digest);
        assert_eq!(backend.read(&format!("@{}", child.digest)), Some(bytes));
    }
    let signature = &kept_signature.image;
    assert_eq!(
        backend.read(&format!(":{}", signature_tag(&release.image))),
        Some(kept_signature.bytes(&signature.root.digest))
    );
    let again = backend.cleanup(POLICY, false);
    assert_eq!(again.get("deleted"), "0", "{}", again.summary_file);
}
