//! `registry-action publish --source ...` through the real binary, as a workflow runs it: every
//! image shape lands byte-for-byte, credentials and a private CA work, dry-run writes nothing, and
//! a changed release tag is refused with nothing written.

use crate::registry::harness::{PASSWORD, Registry, USER};
use crate::registry::proxy::{Fault, Proxy, Rule};
use crate::sample::{SampleSpec, write_archive, write_layout};
use crate::support::{Run, run};

/// `registry-action publish --source <source> --images <images> --tags <tags>` with `vars`.
pub(super) fn publish_cli(
    source: impl AsRef<str>,
    images: impl AsRef<str>,
    tags: impl AsRef<str>,
    vars: &[(&str, &str)],
) -> Run {
    run(
        &[
            "publish",
            "--source",
            source.as_ref(),
            "--images",
            images.as_ref(),
            "--tags",
            tags.as_ref(),
        ],
        vars,
    )
}

/// The sample image of `seed`, as an OCI layout.
pub(super) fn sample(seed: u64) -> (tempfile::TempDir, crate::sample::SampleImage) {
    layout(&SampleSpec {
        seed,
        ..SampleSpec::default()
    })
}

pub(super) fn layout(spec: &SampleSpec) -> (tempfile::TempDir, crate::sample::SampleImage) {
    let dir = tempfile::tempdir().expect("temp dir");
    let image = write_layout(&dir.path().join("layout"), spec).expect("sample layout");
    (dir, image)
}

pub(super) fn writes(registry: &Registry, since: usize) -> Vec<String> {
    registry.access_log()[since..]
        .iter()
        .filter(|(line, _)| {
            line.starts_with("PUT")
                || line.starts_with("POST")
                || line.starts_with("PATCH")
                || line.starts_with("DELETE")
        })
        .map(|(line, _)| line.clone())
        .collect()
}

#[test]
fn every_image_shape_lands_byte_for_byte() {
    let Some(registry) = Registry::plain() else {
        return;
    };
    let shapes = [
        ("oci-index", SampleSpec::default()),
        (
            "docker-list",
            SampleSpec {
                docker_media_types: true,
                ..SampleSpec::default()
            },
        ),
        (
            "attested",
            SampleSpec {
                attestation: true,
                ..SampleSpec::default()
            },
        ),
        (
            "nested",
            SampleSpec {
                nested_index: true,
                ..SampleSpec::default()
            },
        ),
        (
            "single",
            SampleSpec {
                single_manifest: true,
                empty_layer: true,
                ..SampleSpec::default()
            },
        ),
    ];
    for (name, spec) in shapes {
        let (_dir, image) = layout(&spec);
        let source = format!("oci:{}", image.dir.display());
        let target = format!("{}/shapes/{name}", registry.name());
        let r = publish_cli(&source, &target, "type=raw,value=v1.0.0", &[]);
        assert!(r.success(), "{name}: {}\n{}", r.stdout(), r.stderr());
        assert_eq!(r.get("digest"), image.root.digest.to_string(), "{name}");
        assert_eq!(
            r.get("refs"),
            format!("{target}@{}", image.root.digest),
            "{name}"
        );
        let root = std::fs::read(image.dir.join("blobs/sha256").join(image.root.digest.hex()))
            .expect("root bytes");
        assert_eq!(
            registry.skopeo_raw(&format!("shapes/{name}:v1.0.0")),
            root,
            "{name}"
        );
        for manifest in &image.manifests {
            let bytes = std::fs::read(image.dir.join("blobs/sha256").join(manifest.digest.hex()))
                .expect("manifest bytes");
            assert_eq!(
                registry.skopeo_raw(&format!("shapes/{name}@{}", manifest.digest)),
                bytes,
                "{name} child {}",
                manifest.digest
            );
        }
        assert!(
            r.summary_file.contains("### Published"),
            "{}",
            r.summary_file
        );
    }
}

#[test]
fn archive_and_registry_sources_publish_the_same_digest() {
    let Some(registry) = Registry::plain() else {
        return;
    };
    let (dir, image) = sample(9);
    let archive = dir.path().join("image.tar");
    write_archive(&image.dir, &archive).expect("archive");
    let from_archive = publish_cli(
        format!("oci-archive:{}", archive.display()),
        format!("{}/src/app", registry.name()),
        "type=raw,value=build",
        &[],
    );
    assert!(from_archive.success(), "{}", from_archive.stdout());
    let from_registry = publish_cli(
        format!("docker://{}/src/app:build", registry.name()),
        format!("{}/copy/app", registry.name()),
        "type=raw,value=copied",
        &[],
    );
    assert!(from_registry.success(), "{}", from_registry.stdout());
    assert_eq!(from_archive.get("digest"), image.root.digest.to_string());
    assert_eq!(from_registry.get("digest"), image.root.digest.to_string());
    assert!(
        from_registry.summary_file.contains("| 0 | "),
        "same registry: blobs are mounted, not uploaded: {}",
        from_registry.summary_file
    );
}

/// A sample image published (from its layout) to `source` as `src/app:build`; with its layout's
/// directory and its root manifest's bytes.
fn in_registry(
    source: &Registry,
    spec: &SampleSpec,
) -> (tempfile::TempDir, crate::sample::SampleImage, Vec<u8>) {
    let (dir, image) = layout(spec);
    let pushed = publish_cli(
        format!("oci:{}", image.dir.display()),
        format!("{}/src/app", source.name()),
        "type=raw,value=build",
        &[],
    );
    assert!(pushed.success(), "{}", pushed.stdout());
    let root = std::fs::read(image.dir.join("blobs/sha256").join(image.root.digest.hex()))
        .expect("root manifest");
    (dir, image, root)
}

/// `registry-action publish` of `src/app:build` in `source` to `images` (one per line) as `v1`.
fn publish_from(source: &Registry, images: &str) -> Run {
    let published = publish_cli(
        format!("docker://{}/src/app:build", source.name()),
        images,
        "type=raw,value=v1",
        &[],
    );
    assert!(published.success(), "{}", published.stdout());
    published
}

/// The blob GETs `registry` answered after the first `since` lines of its access log, and how
/// many distinct blobs they asked for.
fn blob_gets(registry: &Registry, since: usize) -> (Vec<String>, usize) {
    let gets: Vec<String> = registry.access_log()[since..]
        .iter()
        .map(|(line, _)| line.clone())
        .filter(|line| line.starts_with("GET ") && line.contains("/blobs/"))
        .collect();
    let distinct = gets.iter().collect::<std::collections::BTreeSet<_>>().len();
    (gets, distinct)
}

/// A registry source read for two destinations, one of them cutting two blob uploads off: the
/// source gives each blob once for both uploads, and once more for each retried upload.
#[test]
fn a_registry_source_is_read_once_for_all_destinations_and_again_only_for_retries() {
    let (Some(source), Some(b), Some(c)) =
        (Registry::plain(), Registry::plain(), Registry::plain())
    else {
        return;
    };
    let (_dir, image, root) = in_registry(
        &source,
        &SampleSpec {
            seed: 11,
            // Layers of several download steps, odd-sized.
            layer_sizes: vec![3 * 1024 * 1024 + 17, 1024 * 1024 + 3],
            ..SampleSpec::default()
        },
    );
    let proxy = Proxy::start(
        b.name().parse().expect("registry address"),
        vec![Rule {
            matching: "PUT /v2/dst/app/blobs/uploads/",
            times: 2,
            fault: Fault::Reset,
        }],
    );
    let since = source.access_log().len();
    let published = publish_from(
        &source,
        &format!("{}/dst/app\n{}/dst/app", proxy.addr, c.name()),
    );
    assert_eq!(published.get("digest"), image.root.digest.to_string());
    assert_eq!(b.skopeo_raw("dst/app:v1"), root);
    assert_eq!(c.skopeo_raw("dst/app:v1"), root);
    let resets = proxy.seen().iter().filter(|(_, o)| o == "reset").count();
    assert_eq!(resets, 2, "{:#?}", proxy.seen());
    let (gets, distinct) = blob_gets(&source, since);
    assert!(distinct >= 4, "{gets:#?}");
    assert_eq!(gets.len(), distinct + resets, "{gets:#?}");
}

/// Two repositories on one registry from a registry source elsewhere: the second mounts every
/// blob from the first, and the source gives each blob once.
#[test]
fn a_registry_source_for_two_repositories_on_one_registry_is_read_once() {
    let (Some(source), Some(target)) = (Registry::plain(), Registry::plain()) else {
        return;
    };
    let (_dir, _image, root) = in_registry(
        &source,
        &SampleSpec {
            seed: 12,
            layer_sizes: vec![2 * 1024 * 1024 + 1, 4097],
            ..SampleSpec::default()
        },
    );
    let since = (source.access_log().len(), target.access_log().len());
    publish_from(&source, &format!("{0}/one/app\n{0}/two/app", target.name()));
    let log = target.access_log();
    let mounts = log[since.1..]
        .iter()
        .filter(|(line, status)| line.contains("mount=") && *status == 201)
        .count();
    assert!(mounts >= 3, "the second repository mounts: {log:#?}");
    for repo in ["one/app", "two/app"] {
        assert_eq!(target.skopeo_raw(&format!("{repo}:v1")), root, "{repo}");
    }
    let (gets, distinct) = blob_gets(&source, since.0);
    assert_eq!(gets.len(), distinct, "{gets:#?}");
    assert!(distinct >= 3, "{gets:#?}");
}

#[test]
fn credentials_and_a_private_ca_reach_a_tls_registry() {
    let Some(registry) = Registry::tls_basic() else {
        return;
    };
    let (_dir, image) = sample(3);
    let credentials = format!(
        "registry={},username={USER},password-env=REGISTRY_TOKEN",
        registry.name()
    );
    let ca = registry.ca_file();
    let r = run(
        &[
            "publish",
            "--source",
            &format!("oci:{}", image.dir.display()),
            "--images",
            &format!("{}/private/app", registry.name()),
            "--tags",
            "type=raw,value=v2.0.0",
        ],
        &[
            ("INPUT_CREDENTIALS", &credentials),
            ("REGISTRY_TOKEN", PASSWORD),
            ("SSL_CERT_FILE", ca.to_str().unwrap()),
            ("GITHUB_ACTIONS", "true"),
        ],
    );
    assert!(r.success(), "{}\n{}", r.stdout(), r.stderr());
    assert!(
        r.stdout().contains(&format!("::add-mask::{PASSWORD}")),
        "the password is masked first"
    );
    assert_eq!(
        r.stdout().matches(PASSWORD).count(),
        1,
        "and never printed otherwise: {}",
        r.stdout()
    );
    assert!(!r.summary_file.contains(PASSWORD) && !r.outputs_file.contains(PASSWORD));
}

/// Regression: `--images r/octo/dup --images r/Octo/dup` uploaded everything twice and listed
/// the tags and refs twice.
#[test]
fn an_image_listed_twice_is_published_and_listed_once() {
    let Some(registry) = Registry::plain() else {
        return;
    };
    let (_dir, image) = sample(12);
    let once = format!("{}/octo/dup", registry.name());
    let again = format!("{}/Octo/dup", registry.name());
    let since = registry.access_log().len();
    let r = run(
        &[
            "publish",
            "--source",
            &format!("oci:{}", image.dir.display()),
            "--images",
            &once,
            "--images",
            &again,
            "--tags",
            "type=raw,value=v1.0.0",
        ],
        &[],
    );
    assert!(r.success(), "{}\n{}", r.stdout(), r.stderr());
    assert_eq!(r.get("refs"), format!("{once}@{}", image.root.digest));
    assert_eq!(r.get("tags"), format!("{once}:v1.0.0"));
    assert!(
        r.stdout().contains(&format!(
            "warning: input `images`, line 2: `{again}` is `{once}`, already listed on line 1"
        )),
        "{}",
        r.stdout()
    );
    assert!(
        r.summary_file.contains("already listed on line 1"),
        "{}",
        r.summary_file
    );
    // Each blob and manifest is written once: no PUT repeats.
    let puts: Vec<String> = writes(&registry, since)
        .into_iter()
        .filter(|line| line.starts_with("PUT") && !line.contains("/blobs/uploads/"))
        .collect();
    let mut distinct = puts.clone();
    distinct.sort();
    distinct.dedup();
    assert_eq!(puts.len(), distinct.len(), "{puts:#?}");
    let uploads = writes(&registry, since)
        .into_iter()
        .filter(|line| line.starts_with("POST"))
        .count();
    let blobs = image.blobs.len();
    assert!(uploads <= blobs, "{uploads} uploads for {blobs} blobs");
}

#[test]
fn dry_run_reads_and_plans_but_writes_nothing() {
    let Some(registry) = Registry::plain() else {
        return;
    };
    let (_dir, image) = sample(4);
    let since = registry.access_log().len();
    let r = run(
        &[
            "publish",
            "--dry-run",
            "--source",
            &format!("oci:{}", image.dir.display()),
            "--images",
            &format!("{}/dry/app", registry.name()),
            "--tags",
            "type=raw,value=v3.0.0",
        ],
        &[],
    );
    assert!(r.success(), "{}", r.stdout());
    assert_eq!(writes(&registry, since), Vec::<String>::new());
    assert!(r.stdout().contains("upload"), "{}", r.stdout());
    assert!(
        r.summary_file.contains("dry run: nothing was written"),
        "{}",
        r.summary_file
    );
    assert_eq!(r.get("digest"), image.root.digest.to_string());
}

#[test]
fn a_changed_release_tag_is_refused_and_nothing_is_written() {
    let Some(registry) = Registry::plain() else {
        return;
    };
    let target = format!("{}/releases/app", registry.name());
    let (_d1, first) = sample(5);
    let (_d2, second) = sample(6);
    let tags = "type=raw,value=v1.0.0\ntype=raw,value=latest";
    assert!(
        run(
            &[
                "publish",
                "--source",
                &format!("oci:{}", first.dir.display()),
                "--images",
                &target,
                "--tags",
                tags
            ],
            &[]
        )
        .success()
    );
    let since = registry.access_log().len();
    let r = publish_cli(
        format!("oci:{}", second.dir.display()),
        &target,
        tags,
        &[("GITHUB_ACTIONS", "true")],
    );
    assert!(!r.success());
    assert!(
        r.stdout().contains("release tags are immutable"),
        "{}",
        r.stdout()
    );
    assert!(r.stdout().contains("overwrite-releases"), "{}", r.stdout());
    assert_eq!(writes(&registry, since), Vec::<String>::new());
    assert!(
        !r.outputs_file.contains("digest<<"),
        "no digest output for a refused publish"
    );
    let r = publish_cli(
        format!("oci:{}", second.dir.display()),
        &target,
        tags,
        &[("INPUT_OVERWRITE-RELEASES", "true")],
    );
    assert!(r.success(), "{}", r.stdout());
    assert_eq!(r.get("digest"), second.root.digest.to_string());
    // What was replaced stays on record, in the log and the summary.
    let was = first.root.digest.to_string();
    assert!(
        r.stdout()
            .contains(&format!("v1.0.0: pushed, replacing {was}")),
        "{}",
        r.stdout()
    );
    assert!(
        r.summary_file.contains("**replaced**") && r.summary_file.contains(&was),
        "{}",
        r.summary_file
    );
}

#[test]
fn new_tags_on_an_image_already_there_cost_one_put_each() {
    let Some(registry) = Registry::plain() else {
        return;
    };
    let (_dir, image) = sample(8);
    let repo = format!("{}/tagged/app", registry.name());
    assert!(
        run(
            &[
                "publish",
                "--source",
                &format!("oci:{}", image.dir.display()),
                "--images",
                &repo,
                "--tags",
                "type=raw,value=build"
            ],
            &[]
        )
        .success()
    );
    let since = registry.access_log().len();
    let tags = (1..=6)
        .map(|i| format!("type=raw,value=extra-{i}"))
        .collect::<Vec<_>>()
        .join("\n");
    let r = publish_cli(format!("docker://{repo}:build"), &repo, &tags, &[]);
    assert!(r.success(), "{}", r.stdout());
    let log: Vec<String> = registry.access_log()[since..]
        .iter()
        .map(|(l, _)| l.clone())
        .collect();
    // ping + GET the source tag + HEAD the root + the tag listing (which of the tags are there
    // already) + the source's tag listing (its referrers' tags: none) + the one probe of the
    // source registry's referrers API (distribution has none: 404, remembered for the run) + 6
    // tag PUTs: nothing else is read or written
    assert_eq!(log.len(), 12, "{log:#?}");
    assert!(!log.iter().any(|l| l.contains("/blobs/")), "{log:#?}");
    assert!(
        r.stdout().contains("the image was already there"),
        "{}",
        r.stdout()
    );
    assert!(
        r.summary_file.contains("the whole image"),
        "{}",
        r.summary_file
    );
}

/// The digest `repo_and_ref` points at in `registry`, read by skopeo.
pub(super) fn digest_at(registry: &Registry, repo_and_ref: &str) -> String {
    registry_action::registry::Digest::sha256(&registry.skopeo_raw(repo_and_ref)).to_string()
}

/// Publishes a v0.2.0 release, then a v0.1.1 hotfix of another build, with `tags` and `flavor`.
/// Returns the two root digests.
fn release_then_hotfix(target: &str, tags: &str, flavor: &str) -> (String, String) {
    let mut digests = Vec::new();
    for (seed, version) in [(11, "v0.2.0"), (12, "v0.1.1")] {
        let (_dir, image) = layout(&SampleSpec {
            seed,
            ..SampleSpec::default()
        });
        let rules = tags.replace("VERSION", version);
        let r = run(
            &[
                "publish",
                "--source",
                &format!("oci:{}", image.dir.display()),
                "--images",
                target,
                "--tags",
                &rules,
                "--flavor",
                flavor,
            ],
            &[],
        );
        assert!(r.success(), "{}", r.stdout());
        digests.push(image.root.digest.to_string());
    }
    (digests.remove(0), digests.remove(0))
}

#[test]
fn a_hotfix_leaves_suffixed_and_prefixed_rolling_tags_on_the_newer_release() {
    let Some(registry) = Registry::plain() else {
        return;
    };
    let semver = |pattern: &str| format!("type=semver,pattern={pattern},value=VERSION,prefix=v");
    let rules = [
        semver("{{version}}"),
        semver("{{major}}.{{minor}}"),
        semver("{{major}}"),
    ]
    .join("\n");
    let suffixed = format!("{}/variants/alpine", registry.name());
    let (newer, hotfix) = release_then_hotfix(&suffixed, &rules, "suffix=-alpine");
    let at = |tag: &str| digest_at(&registry, &format!("variants/alpine:{tag}"));
    assert_eq!(at("latest"), newer, "latest moved back to the hotfix");
    assert_eq!(at("v0-alpine"), newer, "v0-alpine moved back to the hotfix");
    assert_eq!(at("v0.2-alpine"), newer);
    assert_eq!(at("v0.1-alpine"), hotfix);
    assert_eq!(at("v0.1.1-alpine"), hotfix);

    let bare = |pattern: &str| format!("type=semver,pattern={pattern},value=VERSION");
    let rules = [bare("{{version}}"), bare("{{major}}")].join("\n");
    let prefixed = format!("{}/variants/api", registry.name());
    let (newer, hotfix) = release_then_hotfix(&prefixed, &rules, "prefix=api-");
    let at = |tag: &str| digest_at(&registry, &format!("variants/api:{tag}"));
    assert_eq!(at("latest"), newer, "latest moved back to the hotfix");
    assert_eq!(at("api-0"), newer, "api-0 moved back to the hotfix");
    assert_eq!(at("api-0.1.1"), hotfix);
}

#[test]
fn a_raw_latest_rule_moves_only_forward_like_the_flavor_latest() {
    let Some(registry) = Registry::plain() else {
        return;
    };
    let rules = "type=semver,pattern={{version}},value=VERSION,prefix=v\ntype=raw,value=latest";
    let target = format!("{}/raw/latest", registry.name());
    let (newer, hotfix) = release_then_hotfix(&target, rules, "latest=auto");
    assert_eq!(digest_at(&registry, "raw/latest:latest"), newer);
    assert_eq!(digest_at(&registry, "raw/latest:v0.1.1"), hotfix);
    // Without a version (a branch build), a raw `latest` is simply set.
    let (_dir, image) = sample(13);
    let r = publish_cli(
        format!("oci:{}", image.dir.display()),
        &target,
        "type=raw,value=latest",
        &[],
    );
    assert!(r.success(), "{}", r.stdout());
    assert_eq!(
        digest_at(&registry, "raw/latest:latest"),
        image.root.digest.to_string()
    );
}

/// Review finding 4: a local (not Actions) error is printed whole, one line per line: the second
/// registry's refusal is not cut, and no line holds a literal `\n`.
/// Review finding 5: the step summary of a refused publish says so, with each refusal.
#[test]
fn a_refusal_on_two_registries_is_reported_whole_in_the_log_and_the_summary() {
    let (Some(a), Some(b)) = (Registry::plain(), Registry::plain()) else {
        return;
    };
    let images = format!("{}/octo/app\n{}/octo/app", a.name(), b.name());
    let (_d1, first) = sample(21);
    let (_d2, second) = sample(22);
    let publish = |image: &crate::sample::SampleImage, vars: &[(&str, &str)]| {
        let source = format!("oci:{}", image.dir.display());
        let args = [
            "publish",
            "--source",
            &source,
            "--images",
            &images,
            "--tags",
            "type=raw,value=v0.2.0",
        ];
        run(&args, vars)
    };
    let published = publish(&first, &[]);
    assert!(published.success(), "{}", published.stdout());

    let r = publish(&second, &[]);
    assert!(!r.success());
    let console = format!("{}{}", r.stdout(), r.stderr());
    for registry in [&a, &b] {
        let line = format!(
            "{}/octo/app:v0.2.0: release tags are immutable and `v0.2.0` already points at {}; publish a new version, or set `overwrite-releases: true`",
            registry.name(),
            first.root.digest
        );
        assert!(console.lines().any(|l| l == line), "{line}\nin:\n{console}");
    }
    assert!(
        console.contains("error: refused, nothing was written:\n"),
        "{console}"
    );
    assert!(
        !console.contains("\\n") && !console.contains("…(+"),
        "{console}"
    );

    let summary = &r.summary_file;
    assert!(
        summary.contains("### Publish refused: nothing was written"),
        "{summary}"
    );
    for registry in [&a, &b] {
        assert!(
            summary.contains(&format!(
                "- {}/octo/app:v0.2.0: release tags are immutable",
                registry.name()
            )),
            "{summary}"
        );
    }
    assert!(!summary.contains("### Published"), "{summary}");
}

/// Review finding 4: a source without a transport keeps its whole hint.
#[test]
fn a_source_error_keeps_its_whole_hint() {
    let r = publish_cli(
        "/tmp/registry-action-no-such-layout",
        "127.0.0.1:9/octo/app",
        "type=raw,value=v1",
        &[],
    );
    assert!(!r.success());
    let console = format!("{}{}", r.stdout(), r.stderr());
    let hint = console
        .lines()
        .find(|l| l.starts_with("hint: use `oci:"))
        .unwrap_or_else(|| panic!("no hint line in:\n{console}"));
    assert!(!hint.contains("…(+"), "{hint}");
    assert!(hint.contains("docker://"), "{hint}");
}

/// Review findings 5 and 11: a target that answers 405 to every upload (a read-only registry)
/// fails the run; the summary's heading says the publish is incomplete and which tags were not
/// written, states the failure once with its count, and does not advise running again.
#[test]
fn a_read_only_target_gives_an_incomplete_summary_without_run_again_advice() {
    let Some(registry) = Registry::plain() else {
        return;
    };
    let proxy = Proxy::start(
        registry.name().parse().expect("registry address"),
        vec![Rule {
            matching: "POST /v2/readonly/app/blobs/uploads/",
            times: 1000,
            fault: Fault::Respond {
                status: 405,
                headers: vec![],
                body:
                    r#"{"errors":[{"code":"UNSUPPORTED","message":"the registry is read-only"}]}"#
                        .into(),
            },
        }],
    );
    let (_dir, image) = sample(23);
    let blobs = image.blobs.len();
    assert!(blobs > 1, "the sample has several blobs");
    let r = publish_cli(
        format!("oci:{}", image.dir.display()),
        format!("{}/readonly/app", proxy.addr),
        "type=raw,value=v1.0.0\ntype=raw,value=latest",
        &[],
    );
    assert!(!r.success(), "{}", r.stdout());
    let summary = &r.summary_file;
    assert!(!summary.contains("### Published"), "{summary}");
    assert!(summary.contains("### Publish incomplete:"), "{summary}");
    assert!(summary.contains("**No tag was written**"), "{summary}");
    let target = format!("{}/readonly/app", proxy.addr);
    for tag in ["v1.0.0", "latest"] {
        let row = format!("| `{target}` | `{tag}` | **not written** (an earlier step failed) |");
        assert!(summary.contains(&row), "{summary}");
    }
    assert!(summary.contains("HTTP 405 UNSUPPORTED"), "{summary}");
    assert!(summary.contains(&format!("({blobs} blobs)")), "{summary}");
    assert_eq!(summary.matches("HTTP 405").count(), 1, "{summary}");
    assert!(!summary.to_lowercase().contains("run again"), "{summary}");
    let console = format!("{}{}", r.stdout(), r.stderr());
    assert_eq!(console.matches("HTTP 405").count(), 1, "{console}");
    assert!(
        !console.to_lowercase().contains("run the step again"),
        "{console}"
    );
}

/// Review finding 6: a dry run whose real run would be refused fails like the real run (an
/// `::error` annotation, a non-zero exit), says it is a dry run, and still writes its plan.
#[test]
fn a_dry_run_that_a_real_run_would_refuse_fails_and_says_why() {
    let Some(registry) = Registry::plain() else {
        return;
    };
    let target = format!("{}/dryrefused/app", registry.name());
    let (_d1, first) = sample(24);
    let (_d2, second) = sample(25);
    let publish = |image: &crate::sample::SampleImage, dry_run: &str| {
        let source = format!("oci:{}", image.dir.display());
        let args = [
            "publish",
            "--source",
            &source,
            "--images",
            &target,
            "--tags",
            "type=raw,value=v2.0.0",
        ];
        run(
            &args,
            &[("GITHUB_ACTIONS", "true"), ("INPUT_DRY-RUN", dry_run)],
        )
    };
    assert!(publish(&first, "false").success());
    let since = registry.access_log().len();
    let r = publish(&second, "true");
    assert!(!r.success(), "{}", r.stdout());
    assert_eq!(writes(&registry, since), Vec::<String>::new());
    let stdout = r.stdout();
    assert!(stdout.contains("dry run: nothing was written"), "{stdout}");
    let error = stdout
        .lines()
        .find(|l| l.starts_with("::error"))
        .unwrap_or_else(|| panic!("no ::error in:\n{stdout}"));
    assert!(error.contains("a real run would be refused"), "{error}");
    assert!(error.contains("release tags are immutable"), "{error}");
    assert!(
        r.summary_file
            .contains("### Publish plan (dry run: nothing was written)")
            && r.summary_file.contains("**A real run would be refused**"),
        "{}",
        r.summary_file
    );

    let fine = publish(&first, "true");
    assert!(fine.success(), "{}", fine.stdout());
    assert!(fine.stdout().contains("dry run: nothing was written"));
    assert!(!fine.stdout().contains("::error"), "{}", fine.stdout());
}

/// Review finding 8: the log names each tag's outcome in words and the published digest per
/// target, not Rust debug values.
#[test]
fn the_publish_log_is_worded_and_names_the_digest() {
    let Some(registry) = Registry::plain() else {
        return;
    };
    let target = format!("{}/worded/app", registry.name());
    let (_dir, image) = sample(26);
    let source = format!("oci:{}", image.dir.display());
    let publish = || publish_cli(&source, &target, "type=raw,value=v1.0.0", &[]);
    let first = publish();
    assert!(first.success(), "{}", first.stdout());
    let stdout = first.stdout();
    assert!(stdout.lines().any(|l| l == "  v1.0.0: pushed"), "{stdout}");
    assert!(
        stdout
            .lines()
            .any(|l| l == format!("published {target}@{}", image.root.digest)),
        "{stdout}"
    );
    let again = publish();
    assert!(again.success(), "{}", again.stdout());
    assert!(
        again
            .stdout()
            .lines()
            .any(|l| l == "  v1.0.0: unchanged (already there)"),
        "{}",
        again.stdout()
    );
    for shown in [&stdout, &again.stdout()] {
        assert!(
            !shown.contains("Pushed") && !shown.contains("Unchanged") && !shown.contains("(\""),
            "{shown}"
        );
    }
}

/// Review finding 15: a publish for which no rule computed a tag pushes the image by digest only
/// and warns about it, naming the digest.
#[test]
fn a_publish_without_tags_warns_that_it_went_by_digest_only() {
    let Some(registry) = Registry::plain() else {
        return;
    };
    let (_dir, image) = sample(27);
    let r = run(
        &[
            "publish",
            "--source",
            &format!("oci:{}", image.dir.display()),
            "--images",
            &format!("{}/untagged/app", registry.name()),
            "--tags",
            "type=ref,event=tag",
        ],
        &[
            ("GITHUB_ACTIONS", "true"),
            ("GITHUB_EVENT_NAME", "push"),
            ("GITHUB_REF", "refs/heads/main"),
        ],
    );
    assert!(r.success(), "{}\n{}", r.stdout(), r.stderr());
    assert_eq!(r.get("digest"), image.root.digest.to_string());
    let warning = r
        .stdout()
        .lines()
        .find(|l| l.starts_with("::warning") && l.contains("no tag was computed"))
        .map(str::to_owned)
        .unwrap_or_else(|| panic!("no warning in:\n{}", r.stdout()));
    assert!(warning.contains("by digest only"), "{warning}");
    assert!(
        warning.contains(&image.root.digest.to_string()),
        "{warning}"
    );
    assert!(
        r.summary_file.contains("**No tag was computed**"),
        "{}",
        r.summary_file
    );
}

#[test]
fn a_corrupt_layer_in_the_source_writes_nothing_and_names_the_source_and_file() {
    let Some(registry) = Registry::plain() else {
        return;
    };
    let (_dir, image) = sample(77);
    // The largest blob (a layer) altered in place, its size kept.
    let layer = image.blobs.iter().max_by_key(|b| b.size).expect("a layer");
    let path = image.dir.join("blobs/sha256").join(layer.digest.hex());
    let mut bytes = std::fs::read(&path).expect("layer");
    let middle = bytes.len() / 2;
    bytes[middle] ^= 0xff;
    std::fs::write(&path, bytes).expect("altered layer");
    let source = format!("oci:{}", image.dir.display());
    let r = publish_cli(
        &source,
        format!("{}/app", registry.name()),
        "type=raw,value=v1",
        &[],
    );
    assert!(
        !r.success(),
        "a corrupt source was published: {}",
        r.console()
    );
    assert_eq!(
        writes(&registry, 0),
        Vec::<String>::new(),
        "a corrupt source wrote"
    );
    let console = r.console();
    assert!(
        console.contains("input `source`")
            && console.contains(&source)
            && console.contains(&layer.digest.hex()[..12])
            && console.contains("nothing was written"),
        "the error should name the source and the file: {console}"
    );
}
