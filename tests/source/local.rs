//! OCI layout directories and archives as sources: both give the same graph, skopeo reads the same
//! root bytes, `:ref` selects by annotation, every media-type shape is read, corruption is refused.

use crate::sample::{self, SampleSpec};
use futures_util::StreamExt;
use registry_action::oci::media::{DOCKER_MANIFEST, DOCKER_MANIFEST_LIST, OCI_INDEX, OCI_MANIFEST};
use registry_action::oci::{GraphError, Kind};
use registry_action::registry::Digest;
use registry_action::source::{self as src, Source, SourceSpec};

use super::{Sample, client, graph, open, skopeo_raw};

#[tokio::test]
async fn layout_and_archive_give_the_same_graph_as_skopeo_sees() {
    let sample = Sample::new(&SampleSpec {
        attestation: true,
        empty_layer: true,
        ..SampleSpec::default()
    });
    let from_layout = graph(&sample.layout()).await;
    let from_archive = graph(&sample.archive()).await;
    assert_eq!(from_layout, from_archive);
    assert_eq!(from_layout.root.manifest.digest, sample.image.root.digest);
    assert_eq!(
        skopeo_raw(&sample.layout()),
        from_layout.root.manifest.bytes.to_vec()
    );
    assert_eq!(
        skopeo_raw(&sample.archive()),
        from_layout.root.manifest.bytes.to_vec()
    );
}

#[tokio::test]
async fn blob_streams_are_the_blob_files_and_reopen() {
    let sample = Sample::new(&SampleSpec {
        empty_layer: true,
        ..SampleSpec::default()
    });
    for spec in [sample.layout(), sample.archive()] {
        let source = open(&spec, &client()).await;
        let g = source.graph().await.expect("graph");
        assert_eq!(g.blobs.len(), sample.image.blobs.len());
        for blob in &g.blobs {
            let stream = source.blob(&blob.digest, blob.size, 1).await.expect("blob");
            for _ in 0..2 {
                let mut verifier = blob.digest.verifier();
                let mut body = stream.open().await.expect("open");
                while let Some(chunk) = body.next().await {
                    verifier.update(&chunk.expect("chunk"));
                }
                assert_eq!(verifier.len(), blob.size, "{spec} {}", blob.digest);
                verifier.finish().expect("blob bytes match their digest");
            }
            let wrong = source.blob(&blob.digest, blob.size + 1, 1).await.err();
            assert!(
                matches!(wrong, Some(src::Error::SizeMismatch { .. })),
                "{wrong:?}"
            );
        }
        let absent = source.blob(&Digest::sha256(b"absent"), 6, 1).await.err();
        assert!(
            matches!(absent, Some(src::Error::Missing { .. })),
            "{absent:?}"
        );
    }
}

#[tokio::test]
async fn ref_selects_by_annotation_and_several_images_need_one() {
    let dir = tempfile::tempdir().unwrap();
    let layout = dir.path().join("layout");
    let a = sample::write_layout(
        &layout,
        &SampleSpec {
            ref_name: Some("app:v1".into()),
            ..SampleSpec::default()
        },
    )
    .unwrap();
    let b = sample::write_layout(
        &layout,
        &SampleSpec {
            ref_name: Some("other".into()),
            seed: 9,
            ..SampleSpec::default()
        },
    )
    .unwrap();
    assert_ne!(a.root.digest, b.root.digest);
    let base = format!("oci:{}", layout.display());
    assert_eq!(
        graph(&format!("{base}:app:v1")).await.root.manifest.digest,
        a.root.digest
    );
    assert_eq!(
        graph(&format!("{base}:other")).await.root.manifest.digest,
        b.root.digest
    );
    assert_eq!(
        skopeo_raw(&format!("{base}:other")),
        std::fs::read(layout.join("blobs/sha256").join(b.root.digest.hex())).unwrap()
    );

    let spec = |s: &str| SourceSpec::parse(s).unwrap();
    let err = Source::open(&spec(&base), &client())
        .await
        .unwrap_err()
        .to_string();
    assert!(
        err.contains("2 manifests") && err.contains("app:v1, other"),
        "{err}"
    );
    let err = Source::open(&spec(&format!("{base}:nope")), &client())
        .await
        .unwrap_err()
        .to_string();
    assert!(
        err.contains("no manifest named `nope`") && err.contains("app:v1"),
        "{err}"
    );

    // The archive form selects the same way.
    let tar = dir.path().join("x.tar");
    sample::write_archive(&layout, &tar).unwrap();
    let archive = format!("oci-archive:{}:other", tar.display());
    assert_eq!(graph(&archive).await.root.manifest.digest, b.root.digest);
}

#[tokio::test]
async fn not_a_layout_names_the_fix() {
    let dir = tempfile::tempdir().unwrap();
    let spec = SourceSpec::parse(&format!("oci:{}", dir.path().display())).unwrap();
    let err = Source::open(&spec, &client())
        .await
        .unwrap_err()
        .to_string();
    assert!(
        err.contains("no index.json") && err.contains("hint:"),
        "{err}"
    );
    let missing = SourceSpec::parse("oci:/nonexistent/layout").unwrap();
    let err = Source::open(&missing, &client())
        .await
        .unwrap_err()
        .to_string();
    assert!(err.contains("/nonexistent/layout"), "{err}");
    let file = dir.path().join("file");
    std::fs::write(&file, b"x").unwrap();
    let err = Source::open(
        &SourceSpec::parse(&format!("oci:{}", file.display())).unwrap(),
        &client(),
    )
    .await
    .unwrap_err()
    .to_string();
    assert!(err.contains("oci-archive:"), "{err}");
}

/// Regression: a text file, a gzipped tar and a directory given as `oci-archive:` gave the tar
/// reader's message (with binary bytes) or a bare OS error.
#[tokio::test]
async fn what_is_not_an_archive_is_named_with_the_fix() {
    use std::io::Write;
    let sample = Sample::new(&SampleSpec::default());
    let dir = tempfile::tempdir().unwrap();
    let text = dir.path().join("notatar.tar");
    std::fs::write(&text, "not a tar\n").unwrap();
    let tar = dir.path().join("image.tar");
    sample::write_archive(&sample.image.dir, &tar).unwrap();
    let gzipped = dir.path().join("image.tar.gz");
    let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
    gz.write_all(&std::fs::read(&tar).unwrap()).unwrap();
    std::fs::write(&gzipped, gz.finish().unwrap()).unwrap();
    let open_err = |path: &std::path::Path| {
        let spec = SourceSpec::parse(&format!("oci-archive:{}", path.display())).unwrap();
        async move {
            Source::open(&spec, &client())
                .await
                .unwrap_err()
                .to_string()
        }
    };
    let cases = [
        (text.as_path(), "is not an OCI archive", "oci:<dir>"),
        (gzipped.as_path(), "is gzip-compressed", "gunzip"),
        (sample.image.dir.as_path(), "is a directory", "write `oci:"),
    ];
    for (path, says, fix) in cases {
        let err = open_err(path).await;
        assert!(
            err.starts_with(&format!("oci-archive:{}: {says}", path.display())),
            "{err}"
        );
        assert!(err.contains("\nhint: ") && err.contains(fix), "{err}");
        assert!(
            err.chars().all(|c| c == '\n' || !c.is_control()) && !err.contains('\u{fffd}'),
            "no binary bytes: {err:?}"
        );
    }
    // The uncompressed one is fine.
    assert_eq!(
        graph(&format!("oci-archive:{}", tar.display()))
            .await
            .root
            .manifest
            .digest,
        sample.image.root.digest
    );
}

/// Flips one byte of a blob file, keeping its length.
fn corrupt(layout: &std::path::Path, digest: &Digest) {
    let path = layout.join("blobs/sha256").join(digest.hex());
    let mut bytes = std::fs::read(&path).unwrap();
    let at = bytes.iter().position(|b| b.is_ascii_digit()).unwrap();
    bytes[at] = if bytes[at] == b'1' { b'2' } else { b'1' };
    std::fs::write(&path, bytes).unwrap();
}

#[tokio::test]
async fn corrupted_manifests_are_refused_with_a_digest_error() {
    let sample = Sample::new(&SampleSpec::default());
    let layout = sample.dir.path().join("layout");
    let child = &sample.image.manifests[0].digest;
    corrupt(&layout, child);
    let source = open(&sample.layout(), &client()).await;
    match source.graph().await {
        Err(GraphError::Read(e)) => match e {
            src::Error::DigestMismatch { expected, .. } => assert_eq!(&expected, child),
            other => panic!("expected a digest mismatch, got {other}"),
        },
        other => panic!("expected a digest mismatch, got {other:?}"),
    }
    corrupt(&layout, &sample.image.root.digest);
    let err = Source::open(&SourceSpec::parse(&sample.layout()).unwrap(), &client())
        .await
        .unwrap_err();
    assert!(matches!(err, src::Error::DigestMismatch { .. }), "{err}");
    assert!(err.to_string().contains("corrupted"), "{err}");
}

#[tokio::test]
async fn docker_media_types() {
    let sample = Sample::new(&SampleSpec {
        docker_media_types: true,
        ..SampleSpec::default()
    });
    let g = graph(&sample.layout()).await;
    assert_eq!(g.root.manifest.media_type, DOCKER_MANIFEST_LIST);
    assert!(
        g.manifests[..2]
            .iter()
            .all(|n| n.manifest.media_type == DOCKER_MANIFEST)
    );
    assert_eq!(g.platforms, vec!["linux/amd64", "linux/arm64"]);
    assert_eq!(graph(&sample.archive()).await, g);
}

#[tokio::test]
async fn nested_index_with_attestations() {
    let sample = Sample::new(&SampleSpec {
        nested_index: true,
        attestation: true,
        ..SampleSpec::default()
    });
    let g = graph(&sample.layout()).await;
    let types: Vec<&str> = g
        .manifests
        .iter()
        .map(|n| n.manifest.media_type.as_str())
        .collect();
    assert_eq!(
        types,
        vec![
            OCI_MANIFEST,
            OCI_MANIFEST,
            OCI_MANIFEST,
            OCI_MANIFEST,
            OCI_INDEX,
            OCI_INDEX
        ]
    );
    // Attestation manifests are copied (above) but are not platforms.
    assert_eq!(g.platforms, vec!["linux/amd64", "linux/arm64"]);
    let inner = &g.manifests[4].parsed;
    let attestation = &inner.manifests[2];
    assert_eq!(
        attestation.annotations["vnd.docker.reference.type"],
        "attestation-manifest"
    );
    assert_eq!(
        attestation.annotations["vnd.docker.reference.digest"],
        inner.manifests[0].digest.to_string()
    );
    // Attestation blobs (config + in-toto statement) are part of the copy.
    assert!(
        g.blobs
            .iter()
            .any(|b| b.media_type == "application/vnd.in-toto+json")
    );
    assert_eq!(g.blobs.len(), sample.image.blobs.len());
}

#[tokio::test]
async fn single_manifest_with_subject_and_an_empty_layer() {
    let base = Sample::new(&SampleSpec::default());
    let subject = base.image.root.clone();
    let sample = Sample::new(&SampleSpec {
        single_manifest: true,
        empty_layer: true,
        subject: Some((&subject).into()),
        ..SampleSpec::default()
    });
    let g = graph(&sample.layout()).await;
    assert_eq!(g.manifests.len(), 1);
    assert_eq!(g.root.parsed.kind, Kind::Image);
    assert!(
        g.platforms.is_empty(),
        "a lone manifest has no index platforms"
    );
    let subjects = g.subjects();
    assert_eq!(subjects.len(), 1);
    assert_eq!(subjects[0].digest, subject.digest);
    // The subject is recorded, not followed: it is not in this layout at all.
    assert!(g.blobs.iter().all(|b| b.digest != subject.digest));
    let empty = Digest::sha256(b"");
    assert!(g.blobs.iter().any(|b| b.digest == empty && b.size == 0));
    assert_eq!(graph(&sample.archive()).await, g);
    assert_eq!(skopeo_raw(&sample.layout()), g.root.manifest.bytes.to_vec());
}

/// Runs skopeo with `args`, failing the test on error.
pub fn skopeo(args: &[&str]) {
    let output = std::process::Command::new("skopeo")
        .args(args)
        .output()
        .expect("run skopeo (apt-get install skopeo)");
    assert!(
        output.status.success(),
        "skopeo {args:?}: {}",
        String::from_utf8_lossy(&output.stderr)
    );
}

#[tokio::test]
async fn archives_written_by_skopeo_and_gnu_tar_read_as_the_same_graph() {
    let sample = Sample::new(&SampleSpec {
        attestation: true,
        empty_layer: true,
        ..SampleSpec::default()
    });
    let tar = sample.dir.path().join("skopeo.tar");
    let archive = format!("oci-archive:{}:app", tar.display());
    skopeo(&[
        "copy",
        "--all",
        "--preserve-digests",
        &sample.layout(),
        &archive,
    ]);
    let expected = graph(&sample.layout()).await;
    assert_eq!(graph(&archive).await, expected);
    // GNU tar's `./`-prefixed names and directory entries too.
    let gnu = sample.dir.path().join("gnu.tar");
    let status = std::process::Command::new("tar")
        .arg("-C")
        .arg(sample.dir.path().join("layout"))
        .arg("-cf")
        .arg(&gnu)
        .arg(".")
        .status()
        .expect("run tar");
    assert!(status.success());
    let gnu = format!("oci-archive:{}", gnu.display());
    assert_eq!(graph(&gnu).await, expected);
}
