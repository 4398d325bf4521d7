//! Unit tests of the sample image generator: determinism and which seed changes which blob.

use std::io::Read;

use super::*;

fn write(spec: &SampleSpec) -> (tempfile::TempDir, SampleImage) {
    let dir = tempfile::tempdir().unwrap();
    let image = write_layout(dir.path(), spec).unwrap();
    (dir, image)
}

#[test]
fn same_spec_same_bytes() {
    let spec = SampleSpec {
        attestation: true,
        empty_layer: true,
        ..SampleSpec::default()
    };
    let (a_dir, a) = write(&spec);
    let (b_dir, b) = write(&spec);
    assert_eq!(a.root, b.root);
    assert_eq!(a.blobs, b.blobs);
    assert_eq!(
        std::fs::read(a_dir.path().join("index.json")).unwrap(),
        std::fs::read(b_dir.path().join("index.json")).unwrap()
    );
    let archive_a = a_dir.path().join("../a.tar");
    let archive_b = b_dir.path().join("../b.tar");
    write_archive(a_dir.path(), &archive_a).unwrap();
    write_archive(b_dir.path(), &archive_b).unwrap();
    assert_eq!(
        std::fs::read(&archive_a).unwrap(),
        std::fs::read(&archive_b).unwrap()
    );
    let _ = std::fs::remove_file(archive_a);
    let _ = std::fs::remove_file(archive_b);
}

#[test]
fn every_blob_file_matches_its_digest() {
    let (dir, image) = write(&SampleSpec {
        attestation: true,
        nested_index: true,
        empty_layer: true,
        ..SampleSpec::default()
    });
    for d in image
        .blobs
        .iter()
        .chain(&image.manifests)
        .chain([&image.root])
    {
        let bytes = std::fs::read(dir.path().join("blobs/sha256").join(d.digest.hex())).unwrap();
        assert_eq!(bytes.len() as u64, d.size);
        assert_eq!(Digest::sha256(&bytes), d.digest);
    }
    let leftovers: Vec<_> = std::fs::read_dir(dir.path().join("blobs/sha256"))
        .unwrap()
        .filter_map(|e| e.ok())
        .filter(|e| e.file_name().to_string_lossy().ends_with(".partial"))
        .collect();
    assert!(leftovers.is_empty());
}

#[test]
fn the_top_seed_changes_only_top_layers_and_configs() {
    let old = SampleSpec::default();
    let new = SampleSpec {
        top_layer_seed: 2,
        ..old.clone()
    };
    let (_a, a) = write(&old);
    let (_b, b) = write(&new);
    let changed: Vec<&Descriptor> = b.blobs.iter().filter(|d| !a.blobs.contains(d)).collect();
    // Per platform: the top layer and the config that lists its diff_id.
    assert_eq!(changed.len(), 4, "{changed:#?}");
    assert_eq!(a.blobs.len(), b.blobs.len());
    assert_ne!(a.root.digest, b.root.digest);
}

#[test]
fn layers_are_gzipped_tars_and_the_base_is_shared() {
    let (dir, image) = write(&SampleSpec::default());
    // 2 configs + 1 shared base + 2 x 2 own layers.
    assert_eq!(image.blobs.len(), 7);
    let layer = image
        .blobs
        .iter()
        .find(|d| d.media_type.ends_with("tar+gzip"))
        .unwrap();
    let file =
        std::fs::File::open(dir.path().join("blobs/sha256").join(layer.digest.hex())).unwrap();
    let mut archive = tar::Archive::new(flate2::read::GzDecoder::new(file));
    let sizes: Vec<u64> = archive
        .entries()
        .unwrap()
        .map(|e| e.unwrap().size())
        .collect();
    assert_eq!(sizes, vec![96 * 1024]);
}

#[test]
fn noise_is_seeded() {
    let mut a = vec![0; 13];
    let mut b = vec![0; 13];
    Noise::new(7).take(13).read_exact(&mut a).unwrap();
    Noise::new(7).take(13).read_exact(&mut b).unwrap();
    assert_eq!(a, b);
    Noise::new(8).take(13).read_exact(&mut b).unwrap();
    assert_ne!(a, b);
}
