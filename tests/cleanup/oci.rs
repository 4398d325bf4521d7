//! `registry-action cleanup` on a real local registry (deletes enabled): multi-arch images with
//! attestations under `main-*`, `pr-N`, release and `latest` tags, a pinned clock. A dry run
//! deletes nothing and shows every decision with its rule; the real run deletes exactly the
//! selected versions, parents first, and every kept tag and child still pulls byte-for-byte.

use super::backend::{Backend, POLICY};
use super::images::manifest_bytes;
use crate::registry::harness::Registry;

fn deletes(registry: &Registry) -> Vec<String> {
    registry
        .access_log()
        .into_iter()
        .filter(|(line, _)| line.starts_with("DELETE"))
        .map(|(line, _)| line)
        .collect()
}

pub fn cleanup_deletes_what_the_policy_selects_and_kept_tags_stay_whole(backend: &Backend) {
    let registry = &backend.registry;
    let release = backend.publish_image(1, true, &["v1.0.0", "latest", "main-old"]);
    let branch = backend.publish_image(2, true, &["main-aaa"]);
    let closed = backend.publish_image(3, true, &["pr-1"]);
    let open = backend.publish_image(4, true, &["pr-2"]);
    // The release's platform images under another index: deleting it must not take them.
    let shared = backend.publish_image(1, false, &["main-ccc"]);
    let kept_signature = backend.sign(31, &release.image);
    let orphan_signature = backend.sign(32, &branch.image);
    assert!(
        release
            .image
            .manifests
            .iter()
            .any(|m| m.digest == shared.image.manifests[0].digest)
    );

    let dry = backend.cleanup(POLICY, true);
    if std::env::var_os("SHOW_SUMMARY").is_some() {
        eprintln!("{}\n{}", dry.summary_file, dry.stdout());
    }
    assert!(dry.success(), "{}\n{}", dry.stdout(), dry.stderr());
    assert!(deletes(registry).is_empty(), "a dry run deleted");
    // The log reads as a dry run, not as a real one.
    let log = dry.stdout();
    let dry_line = log.find("Dry run: nothing is deleted");
    assert!(
        dry_line.is_some_and(|at| at < log.find("/app:").unwrap_or(0)),
        "{log}"
    );
    assert!(
        log.contains("  Would delete main-") && !log.contains("  Delete "),
        "{log}"
    );
    let expected: Vec<_> = [&branch.image, &closed.image]
        .iter()
        .flat_map(|i| std::iter::once(&i.root).chain(&i.manifests))
        .chain([&shared.image.root, &orphan_signature.image.root])
        .map(|d| d.digest.clone())
        .collect();
    assert_eq!(dry.get("deleted"), expected.len().to_string());
    assert_eq!(dry.get("failed"), "0");
    assert!(
        dry.summary_file.contains("would delete"),
        "{}",
        dry.summary_file
    );
    assert!(
        dry.summary_file
            .contains("line 3: `delete tag=main-* older-than=14d`"),
        "{}",
        dry.summary_file
    );
    assert!(
        dry.summary_file.contains("line 4: `delete pr=closed`"),
        "{}",
        dry.summary_file
    );
    let report: serde_json::Value = serde_json::from_str(&dry.get("report")).expect("report json");
    assert_eq!(report["dry_run"], true);

    let real = backend.cleanup(POLICY, false);
    assert!(real.success(), "{}\n{}", real.stdout(), real.stderr());
    assert_eq!(real.get("deleted"), expected.len().to_string());
    assert_eq!(real.get("failed"), "0");
    let done = deletes(registry);
    assert_eq!(done.len(), expected.len(), "{done:#?}");
    for digest in &expected {
        assert!(
            done.iter().any(|l| l.contains(&digest.to_string())),
            "{digest} not deleted"
        );
    }
    let position = |d: &registry_action::registry::Digest| {
        done.iter()
            .position(|l| l.contains(&d.to_string()))
            .expect("deleted")
    };
    assert!(
        position(&orphan_signature.image.root.digest) < position(&branch.image.root.digest),
        "a signature goes before what it signs"
    );
    for image in [&branch.image, &closed.image] {
        for child in &image.manifests {
            assert!(
                position(&image.root.digest) < position(&child.digest),
                "child before its index"
            );
        }
    }

    // Every kept tag and every child of it pulls byte-for-byte.
    for (kept, tags) in [
        (&release.image, ["v1.0.0", "latest", "main-old"].as_slice()),
        (&open.image, ["pr-2"].as_slice()),
    ] {
        for tag in tags {
            assert_eq!(
                registry.skopeo_raw(&format!("app:{tag}")),
                manifest_bytes(kept, &kept.root.digest),
                "{tag}"
            );
        }
        for child in &kept.manifests {
            assert_eq!(
                registry.skopeo_raw(&format!("app@{}", child.digest)),
                manifest_bytes(kept, &child.digest)
            );
        }
    }
    let tag = format!("app:sha256-{}.sig", release.image.root.digest.hex());
    let signature = &kept_signature.image;
    assert_eq!(
        registry.skopeo_raw(&tag),
        manifest_bytes(signature, &signature.root.digest)
    );
    let again = backend.cleanup(POLICY, false);
    assert_eq!(again.get("deleted"), "0", "{}", again.summary_file);
}

pub fn an_unreadable_manifest_spares_every_untagged_version(backend: &Backend) {
    let registry = &backend.registry;
    let kept = backend.publish_image(1, true, &["latest"]);
    let branch = backend.publish_image(2, true, &["main-aaa"]);
    // Break the kept index: one of its platform images is gone.
    let missing = format!(
        "docker://{}/app@{}",
        registry.name(),
        kept.image.manifests[0].digest
    );
    let status = std::process::Command::new("skopeo")
        .args(["delete", "--tls-verify=false", &missing])
        .status()
        .expect("run skopeo");
    assert!(status.success());
    let before = deletes(registry).len();
    let r = backend.cleanup(POLICY, false);
    assert!(r.success(), "{}\n{}", r.stdout(), r.stderr());
    let done = deletes(registry)[before..].to_vec();
    assert_eq!(done.len(), 1, "only the tagged index goes: {done:#?}");
    assert!(done[0].contains(&branch.image.root.digest.to_string()));
    assert!(
        r.summary_file.contains("**Fail closed:**"),
        "{}",
        r.summary_file
    );
    assert!(
        r.summary_file.contains("could not be read"),
        "{}",
        r.summary_file
    );
    for child in &branch.image.manifests {
        registry.skopeo_raw(&format!("app@{}", child.digest));
    }
}
