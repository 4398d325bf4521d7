//! The publish engine with an in-memory image: request counts at the floor, re-runs, the hotfix
//! case, immutable release tags, and a failure that leaves tags untouched until a re-run.

use crate::registry::harness::Registry;
use crate::registry::image::{TestImage, index};
use crate::registry::proxy::{Fault, Proxy, Rule};
use bytes::Bytes;
use registry_action::meta::{ComputedTag, TagKind, TagName};
use registry_action::oci::media::{OCI_INDEX, OCI_MANIFEST};
use registry_action::publish::execute::{Report, SourceContent, TagOutcome, execute};
use registry_action::publish::observe::{authorize, has_root, observe};
use registry_action::publish::plan::{Content, Descriptor, Options, Plan, plan};
use registry_action::registry::{BlobSource, Client, ClientConfig, Digest, Repository};
use std::collections::BTreeMap;
use std::sync::Arc;

/// An image held in memory, as a source.
struct MemoryImage {
    content: Content,
    manifests: BTreeMap<Digest, (Bytes, String)>,
    blobs: BTreeMap<Digest, Bytes>,
}

fn memory_image(seed: &str) -> MemoryImage {
    let (root_bytes, root_digest, images): (Bytes, Digest, Vec<TestImage>) = index(seed);
    let mut manifests = BTreeMap::new();
    manifests.insert(
        root_digest.clone(),
        (root_bytes.clone(), OCI_INDEX.to_string()),
    );
    let mut blobs = BTreeMap::new();
    let mut blob_list = Vec::new();
    let mut children = Vec::new();
    for image in &images {
        manifests.insert(
            image.digest.clone(),
            (image.manifest.clone(), OCI_MANIFEST.to_string()),
        );
        children.push(Descriptor::new(
            image.digest.clone(),
            image.manifest.len() as u64,
            OCI_MANIFEST,
        ));
        for blob in image.blobs() {
            if blobs
                .insert(blob.digest.clone(), blob.bytes.clone())
                .is_none()
            {
                blob_list.push(Descriptor::new(
                    blob.digest.clone(),
                    blob.bytes.len() as u64,
                    blob.media_type,
                ));
            }
        }
    }
    let content = Content {
        root: Descriptor::new(root_digest, root_bytes.len() as u64, OCI_INDEX),
        manifests: children,
        blobs: blob_list,
        platforms: vec!["linux/amd64".into(), "linux/arm64".into()],
        source_repo: None,
    };
    MemoryImage {
        content,
        manifests,
        blobs,
    }
}

fn release_tags(version: &str) -> Vec<ComputedTag> {
    let parts: Vec<&str> = version.split('.').collect();
    let tag = |name: String, kind: TagKind| ComputedTag {
        name: tag_name(&name),
        kind,
        rule: "test".into(),
        version: Some(version.into()),
    };
    vec![
        tag(format!("v{version}"), TagKind::Release),
        tag(format!("v{}.{}", parts[0], parts[1]), TagKind::Rolling),
        tag(format!("v{}", parts[0]), TagKind::Rolling),
        ComputedTag {
            name: tag_name("main-abc1234"),
            kind: TagKind::Floating,
            rule: "test".into(),
            version: None,
        },
        tag("latest".into(), TagKind::Rolling),
    ]
}

fn tag_name(s: &str) -> TagName {
    registry_action::meta::tag::to_tag_name(s).expect("valid tag")
}

async fn plan_for(
    client: &Client,
    image: &MemoryImage,
    targets: &[Repository],
    tags: &[ComputedTag],
    options: &Options,
) -> Plan {
    authorize(client, image.content.source_repo.as_ref(), targets, |_| {
        true
    })
    .await
    .expect("authorize");
    let mut observed = Vec::new();
    for target in targets {
        let present = has_root(client, &image.content.root.digest, target)
            .await
            .expect("head root");
        observed.push((
            target.clone(),
            observe(client, &image.content, target, tags, present)
                .await
                .expect("observe"),
        ));
    }
    plan(&image.content, &observed, tags, options)
}

async fn publish(
    client: &Client,
    image: &MemoryImage,
    targets: &[Repository],
    tags: &[ComputedTag],
) -> Report {
    let plan = plan_for(client, image, targets, tags, &Options::default()).await;
    assert!(plan.refusals().is_empty(), "{:?}", plan.refusals());
    let blob = |d: &Descriptor| -> Arc<dyn BlobSource> { Arc::new(image.blobs[&d.digest].clone()) };
    let source = SourceContent {
        manifests: &image.manifests,
        blob: &blob,
    };
    execute(client, &plan, &source).await
}

/// A client and a repository that reach `registry` through the fault-injecting `proxy`.
fn through(registry: &Registry, proxy: &Proxy, name: &str) -> (Client, Repository) {
    let mut config: ClientConfig = registry.client_config();
    let credential = config
        .credentials
        .values()
        .next()
        .cloned()
        .expect("credential");
    config
        .credentials
        .insert(proxy.addr.to_string(), credential);
    let repo = Repository::parse(&format!("{}/{name}", proxy.addr)).expect("repo");
    (Client::new(config).expect("client"), repo)
}

fn repo(registry: &Registry, name: &str) -> Repository {
    Repository::parse(&format!("{}/{name}", registry.name())).expect("repository")
}

fn client(registry: &Registry) -> Client {
    Client::new(registry.client_config()).expect("client")
}

#[tokio::test]
async fn first_publish_is_at_the_request_floor_and_lands_byte_for_byte() {
    let Some(registry) = Registry::plain() else {
        return;
    };
    let image = memory_image("floor");
    let target = repo(&registry, "octo/app");
    let before = registry.access_log().len();
    let report = publish(
        &client(&registry),
        &image,
        std::slice::from_ref(&target),
        &release_tags("1.2.3"),
    )
    .await;
    assert!(report.failures.is_empty(), "{:?}", report.failures);
    let requests = registry.access_log().len() - before;
    // ping + HEAD root + 2 HEAD manifests + 5 HEAD blobs + tag list + 5 x (POST + PUT) + 2 manifest PUTs + 5 tag PUTs
    // + each of the 3 rolling tags read back (tag list + HEAD of the tag; no newer version to HEAD)
    assert_eq!(
        requests,
        1 + 1 + 2 + 5 + 1 + 10 + 2 + 5 + 3 * 2,
        "{:#?}",
        &registry.access_log()[before..]
    );
    let root = &image.manifests[&image.content.root.digest].0;
    for tag in ["v1.2.3", "v1.2", "v1", "latest", "main-abc1234"] {
        assert_eq!(
            registry.skopeo_raw(&format!("octo/app:{tag}")),
            root.to_vec(),
            "{tag}"
        );
    }
    assert_eq!(report.targets[0].uploaded_blobs, 5);
}

#[tokio::test]
async fn a_rerun_only_writes_tags_and_a_second_repository_mounts() {
    let Some(registry) = Registry::plain() else {
        return;
    };
    let image = memory_image("rerun");
    let app = repo(&registry, "octo/app");
    let mirror = repo(&registry, "octo/app-mirror");
    let c = client(&registry);
    let first = publish(
        &c,
        &image,
        &[app.clone(), mirror.clone()],
        &release_tags("2.0.0"),
    )
    .await;
    assert!(first.failures.is_empty(), "{:?}", first.failures);
    assert_eq!(
        (
            first.targets[0].uploaded_blobs,
            first.targets[1].mounted_blobs,
            first.targets[1].uploaded_bytes
        ),
        (5, 5, 0)
    );
    let before = registry.access_log().len();
    let again = publish(
        &client(&registry),
        &image,
        std::slice::from_ref(&app),
        &release_tags("2.0.0"),
    )
    .await;
    let log = &registry.access_log()[before..];
    // ping + HEAD root + tag list + one HEAD per tag there: every tag already points at the
    // image, so nothing is written and each is reported unchanged.
    assert_eq!(log.len(), 8, "{log:#?}");
    assert!(
        !log.iter().any(|(line, _)| line.contains("/blobs/")),
        "no blob request on a re-run: {log:#?}"
    );
    assert!(
        !log.iter().any(|(line, _)| line.starts_with("PUT")),
        "nothing written on a re-run: {log:#?}"
    );
    let outcomes: Vec<(&str, &TagOutcome)> = again.targets[0]
        .tags
        .iter()
        .map(|(n, _, o)| (n.as_str(), o))
        .collect();
    assert!(
        outcomes.iter().all(|(_, o)| **o == TagOutcome::Unchanged),
        "{outcomes:?}"
    );
    assert!(again.targets[0].image_present && !first.targets[0].image_present);
    // A moved floating tag is put again, and only it.
    let other = memory_image("rerun-other");
    let main_only = [release_tags("2.0.0").remove(3)];
    assert!(
        publish(&c, &other, std::slice::from_ref(&app), &main_only)
            .await
            .failures
            .is_empty()
    );
    let before = registry.access_log().len();
    let back = publish(
        &c,
        &image,
        std::slice::from_ref(&app),
        &release_tags("2.0.0"),
    )
    .await;
    let puts: Vec<String> = registry.access_log()[before..]
        .iter()
        .filter(|(line, _)| line.starts_with("PUT"))
        .map(|(line, _)| line.clone())
        .collect();
    assert_eq!(puts.len(), 1, "{puts:#?}");
    assert!(puts[0].contains("/manifests/main-abc1234"), "{puts:#?}");
    // Moved back from the other image, which it names.
    let moved_from = TagOutcome::Moved(other.content.root.digest.clone());
    assert!(
        back.targets[0]
            .tags
            .iter()
            .any(|(n, _, o)| n == "main-abc1234" && *o == moved_from),
        "{:?}",
        back.targets[0].tags
    );
    // The summary's "Manifests put" counts that tag PUT (a promotion showed 0).
    assert_eq!(back.targets[0].manifests_put, 1);
}

#[tokio::test]
async fn hotfix_after_a_newer_release_leaves_latest_and_major_alone() {
    let Some(registry) = Registry::plain() else {
        return;
    };
    let c = client(&registry);
    let target = repo(&registry, "octo/hotfix");
    let newer = memory_image("v0.2.0");
    let hotfix = memory_image("v0.1.1");
    assert!(
        publish(
            &c,
            &newer,
            std::slice::from_ref(&target),
            &release_tags("0.2.0")
        )
        .await
        .failures
        .is_empty()
    );
    let report = publish(
        &c,
        &hotfix,
        std::slice::from_ref(&target),
        &release_tags("0.1.1"),
    )
    .await;
    assert!(report.failures.is_empty(), "{:?}", report.failures);
    let newer_root = newer.manifests[&newer.content.root.digest].0.to_vec();
    let hotfix_root = hotfix.manifests[&hotfix.content.root.digest].0.to_vec();
    assert_eq!(registry.skopeo_raw("octo/hotfix:latest"), newer_root);
    assert_eq!(registry.skopeo_raw("octo/hotfix:v0"), newer_root);
    assert_eq!(registry.skopeo_raw("octo/hotfix:v0.1"), hotfix_root);
    assert_eq!(registry.skopeo_raw("octo/hotfix:v0.1.1"), hotfix_root);
    assert!(
        report.targets[0]
            .tags
            .iter()
            .any(|(n, _, o)| n == "latest" && matches!(o, TagOutcome::Held(_)))
    );
}

#[tokio::test]
async fn a_release_tag_on_another_digest_is_refused_before_anything_is_written() {
    let Some(registry) = Registry::plain() else {
        return;
    };
    let c = client(&registry);
    let target = repo(&registry, "octo/immutable");
    assert!(
        publish(
            &c,
            &memory_image("first"),
            std::slice::from_ref(&target),
            &release_tags("3.0.0")
        )
        .await
        .failures
        .is_empty()
    );
    let other = memory_image("second");
    let plan = plan_for(
        &c,
        &other,
        std::slice::from_ref(&target),
        &release_tags("3.0.0"),
        &Options::default(),
    )
    .await;
    assert_eq!(plan.refusals().len(), 1, "{:?}", plan.refusals());
    let overwrite = plan_for(
        &c,
        &other,
        std::slice::from_ref(&target),
        &release_tags("3.0.0"),
        &Options {
            overwrite_releases: true,
        },
    )
    .await;
    assert!(overwrite.refusals().is_empty());
}

#[tokio::test]
async fn a_failed_upload_moves_no_tag_and_a_rerun_converges() {
    let Some(registry) = Registry::plain() else {
        return;
    };
    let upstream = registry.name().parse().expect("registry address");
    // Every blob PUT fails for good: more 500s than the client retries.
    let rule = Rule {
        matching: "PUT /v2/octo/faulty/blobs/uploads/",
        times: 1000,
        fault: Fault::Respond {
            status: 500,
            headers: vec![],
            body: "boom".into(),
        },
    };
    let proxy = Proxy::start(upstream, vec![rule]);
    let (c, through_proxy) = through(&registry, &proxy, "octo/faulty");
    let image = memory_image("faulty");
    let report = publish(
        &c,
        &image,
        std::slice::from_ref(&through_proxy),
        &release_tags("4.0.0"),
    )
    .await;
    assert!(!report.failures.is_empty());
    assert!(
        report.targets[0]
            .tags
            .iter()
            .all(|(_, _, o)| *o == TagOutcome::Skipped),
        "{:?}",
        report.targets[0].tags
    );
    let tags = client(&registry)
        .list_tags(&repo(&registry, "octo/faulty"), None)
        .await
        .expect("list");
    assert!(
        tags.is_empty(),
        "no tag may point at a half-published image: {tags:?}"
    );
    drop(proxy);
    let report = publish(
        &client(&registry),
        &image,
        &[repo(&registry, "octo/faulty")],
        &release_tags("4.0.0"),
    )
    .await;
    assert!(report.failures.is_empty(), "{:?}", report.failures);
    assert_eq!(
        registry.skopeo_raw("octo/faulty:latest"),
        image.manifests[&image.content.root.digest].0.to_vec()
    );
}

#[tokio::test]
async fn publish_completes_through_connection_resets() {
    let Some(registry) = Registry::plain() else {
        return;
    };
    let upstream = registry.name().parse().expect("registry address");
    let reset = |matching: &'static str, times: usize| Rule {
        matching,
        times,
        fault: Fault::Reset,
    };
    // A share of every kind of request is cut off without an answer: HEADs, upload POSTs, blob
    // PUTs (after their body was sent), manifest PUTs and tag PUTs.
    let proxy = Proxy::start(
        upstream,
        vec![
            reset("HEAD /v2/octo/resets/blobs/", 2),
            reset("POST /v2/octo/resets/blobs/uploads/", 2),
            reset("PUT /v2/octo/resets/blobs/uploads/", 3),
            reset("PUT /v2/octo/resets/manifests/sha256:", 1),
            reset("PUT /v2/octo/resets/manifests/latest", 1),
        ],
    );
    let (c, through_proxy) = through(&registry, &proxy, "octo/resets");
    let image = memory_image("resets");
    let report = publish(
        &c,
        &image,
        std::slice::from_ref(&through_proxy),
        &release_tags("5.0.0"),
    )
    .await;
    assert!(report.failures.is_empty(), "{:?}", report.failures);
    let resets = proxy
        .seen()
        .iter()
        .filter(|(_, outcome)| outcome == "reset")
        .count();
    assert_eq!(
        resets,
        9,
        "every injected reset was hit: {:#?}",
        proxy.seen()
    );
    let root = image.manifests[&image.content.root.digest].0.to_vec();
    for tag in ["v5.0.0", "v5.0", "v5", "latest", "main-abc1234"] {
        assert_eq!(
            registry.skopeo_raw(&format!("octo/resets:{tag}")),
            root,
            "{tag}"
        );
    }
}
