//! Publishing, verifying and cleaning up in the image against real local registries, as a
//! workflow runs them: from an OCI layout and an `oci-archive:` in the workspace, from a registry
//! (which needs a writable temporary directory), `command: verify` with `sync: true`, and
//! `command: cleanup`; and all of it against the GitHub emulator as `ghcr.io` with the job's
//! token alone.

use super::job::{Job, Step};
use crate::cleanup::images::{multi_arch, publish_to};
use crate::publish::referrers::{artifact, fallback_index, listed};
use crate::registry::harness::Registry;
use crate::sample::{SampleImage, SampleSpec, write_archive, write_layout};
use registry_action::registry::{Client, Repository};

/// The release fixture's job (`v0.2.0`) publishing to the images `targets`.
fn release_job(targets: &[&Registry]) -> Option<(Job, Step)> {
    let (job, step) = Job::from_fixture("release-v0.2.0")?;
    let images: Vec<String> = targets
        .iter()
        .map(|r| format!("{}/octo/app", r.name()))
        .collect();
    Some((job, step.with("images", &images.join("\n"))))
}

fn sample_in(job: &Job, dir: &str, seed: u64) -> SampleImage {
    let spec = SampleSpec {
        seed,
        ..SampleSpec::default()
    };
    write_layout(&job.workspace().join(dir), &spec).expect("sample layout")
}

/// Asserts every release tag of `image` in `registry` is the image, byte-for-byte (skopeo).
fn assert_published(registry: &Registry, image: &SampleImage) {
    let root = std::fs::read(image.dir.join("blobs/sha256").join(image.root.digest.hex()))
        .expect("root bytes");
    for tag in ["v0.2.0", "v0.2", "v0", "latest"] {
        assert_eq!(
            registry.skopeo_raw(&format!("octo/app:{tag}")),
            root,
            "{}/octo/app:{tag} is not the image",
            registry.name()
        );
    }
}

#[test]
fn publishes_an_oci_layout_from_the_workspace_to_two_registries() {
    let (Some(ghcr), Some(hub)) = (Registry::plain(), Registry::plain()) else {
        return;
    };
    let Some((job, step)) = release_job(&[&ghcr, &hub]) else {
        return;
    };
    let image = sample_in(&job, "image", 1);
    let run = job.run(&step.with("source", "oci:image"));
    run.assert_success();
    assert_eq!(run.get("digest"), image.root.digest.to_string());
    assert_eq!(
        run.get("refs"),
        format!(
            "{}/octo/app@{d}\n{}/octo/app@{d}",
            ghcr.name(),
            hub.name(),
            d = image.root.digest
        )
    );
    assert_published(&ghcr, &image);
    assert_published(&hub, &image);
    assert!(run.summary.contains("v0.2.0"), "summary:\n{}", run.summary);
    run.assert_no_leak(&[&job.token]);
    eprintln!(
        "harness: publish oci: layout in {} ms",
        run.elapsed.as_millis()
    );
}

#[test]
fn publishes_an_oci_archive_from_the_workspace() {
    let Some(registry) = Registry::plain() else {
        return;
    };
    let Some((job, step)) = release_job(&[&registry]) else {
        return;
    };
    let dir = tempfile::tempdir().expect("temp dir");
    let image = write_layout(&dir.path().join("layout"), &SampleSpec::default()).expect("layout");
    write_archive(&image.dir, &job.workspace().join("image.tar")).expect("archive");
    let run = job.run(&step.with("source", "oci-archive:image.tar"));
    run.assert_success();
    assert_eq!(run.get("digest"), image.root.digest.to_string());
    assert_published(&registry, &image);
    eprintln!(
        "harness: publish oci-archive: in {} ms",
        run.elapsed.as_millis()
    );
}

/// Publishes `image` (a layout in the workspace) to `registry` as `octo/app:build`.
fn push_build(job: &Job, registry: &Registry, dir: &str) {
    let step = Step::default()
        .with("images", &format!("{}/octo/app", registry.name()))
        .with("tags", "type=raw,value=build")
        .with("source", &format!("oci:{dir}"));
    job.run(&step).assert_success();
}

#[test]
fn the_image_has_a_world_writable_tmp() {
    let Some(image) = super::podman::image() else {
        return;
    };
    let files = image.files();
    let tmp = files
        .iter()
        .find(|(path, _)| path.trim_end_matches('/') == "tmp");
    assert_eq!(
        tmp.map(|(_, mode)| mode & 0o7777),
        Some(0o1777),
        "the image's /tmp: {files:?}"
    );
    eprintln!("harness: the image pulls {} bytes", image.pull_bytes);
}

#[test]
fn publishes_from_a_registry_source() {
    let (Some(build), Some(target)) = (Registry::plain(), Registry::plain()) else {
        return;
    };
    let Some((job, step)) = release_job(&[&target]) else {
        return;
    };
    let image = sample_in(&job, "image", 3);
    push_build(&job, &build, "image");
    let source = format!("{}/octo/app:build", build.name());
    let run = job.run(&step.with("source", &source));
    run.assert_success();
    assert_eq!(run.get("digest"), image.root.digest.to_string());
    assert_published(&target, &image);
    eprintln!(
        "harness: publish from a registry in {} ms",
        run.elapsed.as_millis()
    );
}

/// Referrers travel with the image as the runner runs the action (every action.yml default,
/// `referrers: true` among them): a signature of the build in the source's fallback index
/// lands at the target, byte-for-byte, listed in the target's own fallback index.
#[test]
fn a_signed_build_from_a_registry_keeps_its_signature() {
    let (Some(build), Some(target)) = (Registry::plain(), Registry::plain()) else {
        return;
    };
    let Some((job, step)) = release_job(&[&target]) else {
        return;
    };
    let image = sample_in(&job, "image", 6);
    push_build(&job, &build, "image");
    let root = &image.root;
    let signature = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("runtime")
        .block_on(async {
            let client = Client::new(build.client_config()).expect("client");
            let repo = Repository::parse(&format!("{}/octo/app", build.name())).expect("repo");
            let subject = Some((&root.digest, root.size as usize, root.media_type.as_str()));
            let sig = "application/vnd.dev.sigstore.bundle.v0.3+json";
            let (signature, entry) = artifact(&client, &repo, sig, "signed", subject).await;
            fallback_index(&client, &repo, &root.digest, &[entry]).await;
            signature
        });
    let run = job.run(&step.with("source", &format!("{}/octo/app:build", build.name())));
    run.assert_success();
    assert_published(&target, &image);
    assert_eq!(
        target.skopeo_raw(&format!("octo/app@{signature}")),
        build.skopeo_raw(&format!("octo/app@{signature}")),
        "the signature is not at the target byte-for-byte"
    );
    assert_eq!(
        listed(&target, "octo/app", &root.digest),
        [signature.to_string()]
    );
    assert_eq!(run.get("referrers-copied"), "1");
}

#[test]
fn a_registry_source_without_a_writable_tmp_spills_into_the_workspace_and_cleans_up() {
    let (Some(build), Some(target)) = (Registry::plain(), Registry::plain()) else {
        return;
    };
    let Some((mut job, step)) = release_job(&[&target]) else {
        return;
    };
    let image = sample_in(&job, "image", 4);
    push_build(&job, &build, "image");
    // An image whose /tmp cannot be written (read-only here: an empty folder mounted over it).
    let empty = tempfile::tempdir().expect("temp dir");
    job.volumes
        .push(format!("{}:/tmp:ro", empty.path().display()));
    let run = job.run(&step.with("source", &format!("{}/octo/app:build", build.name())));
    run.assert_success();
    assert_published(&target, &image);
    let left: Vec<_> = std::fs::read_dir(job.workspace())
        .expect("workspace")
        .map(|e| e.expect("entry").file_name())
        .filter(|n| n.to_string_lossy().contains("registry-action-blobs"))
        .collect();
    assert!(
        left.is_empty(),
        "spilled blobs left in the workspace: {left:?}"
    );
}

#[test]
fn verify_with_sync_repairs_the_second_registry() {
    let (Some(ghcr), Some(hub)) = (Registry::plain(), Registry::plain()) else {
        return;
    };
    let Some((job, step)) = release_job(&[&ghcr]) else {
        return;
    };
    let image = sample_in(&job, "image", 5);
    job.run(&step.clone().with("source", "oci:image"))
        .assert_success();
    let images = format!("{}/octo/app\n{}/octo/app", ghcr.name(), hub.name());
    let verify = step
        .with("command", "verify")
        .with("images", &images)
        .with("sync", "true");
    let run = job.run(&verify);
    run.assert_success();
    assert_eq!(run.get("in-sync"), "true", "{}", run.log());
    assert_published(&hub, &image);
    eprintln!(
        "harness: verify with sync in {} ms",
        run.elapsed.as_millis()
    );
}

#[test]
fn cleanup_deletes_old_branch_tags_and_keeps_releases() {
    let Some(registry) = Registry::plain() else {
        return;
    };
    let Some((job, step)) = Job::from_fixture("schedule") else {
        return;
    };
    let target = format!("{}/octo/app", registry.name());
    // The sample images say `created: 1970-01-01`; the fixture's clock is 2025-11-23.
    let epoch = [("SOURCE_DATE_EPOCH", "1763856000")];
    let kept = publish_to(&target, &multi_arch(1, true), &["v0.1.0", "latest"], &epoch);
    let old = publish_to(&target, &multi_arch(2, true), &["main-aaaaaaa"], &epoch);
    let run = job.run(
        &step
            .with("command", "cleanup")
            .with("images", &target)
            .with("tags", "")
            .with(
                "retention",
                "keep tag=latest\nkeep semver=release\ndelete tag=main-* older-than=30d",
            ),
    );
    run.assert_success();
    assert_eq!(run.get("failed"), "0", "{}", run.log());
    assert!(run.get("deleted") != "0", "nothing deleted:\n{}", run.log());
    let tags = registry.skopeo_tags("octo/app");
    assert!(
        !tags.contains(&"main-aaaaaaa".to_owned()),
        "tags left: {tags:?}"
    );
    for tag in ["v0.1.0", "latest"] {
        assert_eq!(
            registry.skopeo_raw(&format!("octo/app:{tag}")),
            kept.bytes(&kept.image.root.digest)
        );
    }
    drop(old);
    eprintln!("harness: cleanup in {} ms", run.elapsed.as_millis());
}

/// The release job against GHCR as a workflow meets it: `ghcr.io/octo-org/app` (the emulator,
/// through `REGISTRY_ACTION_RESOLVE` and its CA in the workspace), the GitHub API at
/// `GITHUB_API_URL`, and the job's `GITHUB_TOKEN` (`github-token`'s default) as the only
/// credential: publish, verify, then cleanup of an old branch image.
#[test]
fn publishes_verifies_and_cleans_up_ghcr_io_with_the_job_token_alone() {
    use crate::emulator::github::GithubEmulator;
    let Some(upstream) = Registry::plain() else {
        return;
    };
    let Some((mut job, step)) = Job::from_fixture("release-v0.2.0") else {
        return;
    };
    let emulator = GithubEmulator::start(upstream.addr, "octo-org", "Organization");
    emulator.state().token = job.token.clone();
    job.set_github("GITHUB_API_URL", &emulator.api_url());
    std::fs::copy(emulator.ca_file(), job.workspace().join("ghcr-ca.pem")).expect("the CA");
    let mut step = step.with("images", "ghcr.io/octo-org/app");
    step.env.extend([
        ("REGISTRY_ACTION_RESOLVE".to_owned(), emulator.resolve()),
        (
            "SSL_CERT_FILE".to_owned(),
            "/github/workspace/ghcr-ca.pem".to_owned(),
        ),
    ]);
    let release = sample_in(&job, "image", 6);
    let run = job.run(&step.clone().with("source", "oci:image"));
    run.assert_success();
    assert_eq!(
        run.get("refs"),
        format!("ghcr.io/octo-org/app@{}", release.root.digest)
    );
    let old = sample_in(&job, "old", 7);
    job.run(
        &step
            .clone()
            .with("source", "oci:old")
            .with("tags", "type=raw,value=main-aaaaaaa"),
    )
    .assert_success();
    let verify = job.run(&step.clone().with("command", "verify"));
    verify.assert_success();
    assert_eq!(verify.get("in-sync"), "true", "{}", verify.log());
    // The fixture's clock is 2025-11-23: the branch image is two months old, the release a day.
    let now = 1_763_856_000;
    {
        let mut state = emulator.state();
        state.set_all_created("octo-org/app", now - 86_400);
        for v in state.versions.iter_mut() {
            if v.digest == old.root.digest.to_string()
                || old
                    .manifests
                    .iter()
                    .any(|m| m.digest.to_string() == v.digest)
            {
                v.created_at = now - 60 * 86_400;
            }
        }
    }
    let cleanup = job.run(&step.with("command", "cleanup").with("tags", "").with(
        "retention",
        "keep tag=latest\nkeep semver=release\ndelete tag=main-* older-than=30d",
    ));
    cleanup.assert_success();
    assert_eq!(cleanup.get("failed"), "0", "{}", cleanup.log());
    let state = emulator.state();
    assert!(
        state
            .version("octo-org/app", &old.root.digest.to_string())
            .is_none(),
        "the branch image is still a version:\n{}",
        cleanup.log()
    );
    let kept = state
        .version("octo-org/app", &release.root.digest.to_string())
        .expect("the release is kept");
    assert!(kept.tags.contains(&"v0.2.0".to_owned()), "{:?}", kept.tags);
    assert!(!state.token_requests.is_empty());
    assert!(
        state
            .token_requests
            .iter()
            .all(|t| t.status == 200 && t.user.as_deref() == Some("octocat")),
        "{:?}",
        state.token_requests
    );
    assert!(
        state
            .requests
            .iter()
            .any(|r| r.starts_with("DELETE /orgs/octo-org/"))
    );
    cleanup.assert_no_leak(&[&job.token]);
}
