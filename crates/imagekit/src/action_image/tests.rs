//! Tests of the image assembler: determinism, sensitivity to its inputs, the documents' fields,
//! and skopeo (an independent OCI implementation) reading the layout.

use std::path::Path;
use std::process::Command;

use super::*;

const EPOCH: u64 = 1_700_000_000;

/// A fake "binary": deterministic bytes that compress like code, not like zeros.
fn fake_binary(seed: u8, len: usize) -> Vec<u8> {
    let mut state = u32::from(seed).wrapping_mul(2_654_435_761) | 1;
    (0..len)
        .map(|i| {
            state ^= state << 13;
            state ^= state >> 17;
            state ^= state << 5;
            if i % 7 == 0 {
                b'A' + (state % 26) as u8
            } else {
                (state >> 24) as u8
            }
        })
        .collect()
}

fn inputs() -> Inputs {
    let mut binaries = BTreeMap::new();
    binaries.insert(
        Platform::parse("linux/amd64").unwrap(),
        fake_binary(1, 50_000),
    );
    binaries.insert(
        Platform::parse("linux/arm64").unwrap(),
        fake_binary(2, 40_000),
    );
    let mut labels = BTreeMap::new();
    labels.insert(
        "org.opencontainers.image.title".into(),
        "registry-action".into(),
    );
    Inputs {
        binaries,
        ca_bundle: b"-----BEGIN CERTIFICATE-----\nMIIB\n-----END CERTIFICATE-----\n".to_vec(),
        source_date_epoch: EPOCH,
        labels,
    }
}

fn json(bytes: &[u8]) -> serde_json::Value {
    serde_json::from_slice(bytes).unwrap()
}

/// Every file under `dir`, as (relative path, bytes), sorted.
fn tree(dir: &Path) -> Vec<(String, Vec<u8>)> {
    let mut out = Vec::new();
    let mut stack = vec![dir.to_owned()];
    while let Some(d) = stack.pop() {
        for entry in std::fs::read_dir(&d).unwrap() {
            let path = entry.unwrap().path();
            if path.is_dir() {
                stack.push(path);
            } else {
                let rel = path
                    .strip_prefix(dir)
                    .unwrap()
                    .to_string_lossy()
                    .into_owned();
                out.push((rel, std::fs::read(&path).unwrap()));
            }
        }
    }
    out.sort();
    out
}

#[test]
fn platforms_parse_and_normalise_arm64() {
    let p = Platform::parse("linux/arm64").unwrap();
    assert_eq!(p.to_string(), "linux/arm64/v8");
    assert_eq!(Platform::parse("linux/arm64/v8").unwrap(), p);
    assert_eq!(Platform::parse("linux/amd64").unwrap().variant, None);
    assert_eq!(
        Platform::parse("linux/arm/v7").unwrap().to_string(),
        "linux/arm/v7"
    );
    for bad in [
        "linux",
        "linux/",
        "/amd64",
        "linux/amd64/v1/x",
        "linux/am d64",
    ] {
        assert!(Platform::parse(bad).is_err(), "{bad} should not parse");
    }
}

#[test]
fn same_inputs_give_a_byte_identical_layout_and_digest() {
    let a = assemble(&inputs()).unwrap();
    let b = assemble(&inputs()).unwrap();
    assert_eq!(a, b);
    let (da, db) = (tempfile::tempdir().unwrap(), tempfile::tempdir().unwrap());
    write_layout(&a, da.path()).unwrap();
    write_layout(&b, db.path()).unwrap();
    let (ta, tb) = (tree(da.path()), tree(db.path()));
    assert_eq!(ta, tb);
    // oci-layout, index.json, and 3 blobs per platform + the image index.
    assert_eq!(ta.len(), 2 + 3 * 2 + 1);
    let index_json = json(&std::fs::read(da.path().join("index.json")).unwrap());
    assert_eq!(
        index_json["manifests"][0]["digest"],
        a.index_digest.to_string()
    );
    assert_eq!(
        index_json["manifests"][0]["mediaType"],
        "application/vnd.oci.image.index.v1+json"
    );
}

#[test]
fn one_changed_byte_changes_the_digest_of_that_platform_only() {
    let base = assemble(&inputs()).unwrap();
    let mut changed = inputs();
    let amd64 = Platform::parse("linux/amd64").unwrap();
    if let Some(bin) = changed.binaries.get_mut(&amd64) {
        bin[12_345] ^= 1;
    }
    let other = assemble(&changed).unwrap();
    assert_ne!(base.index_digest, other.index_digest);
    assert_ne!(
        base.platforms[0].manifest_digest,
        other.platforms[0].manifest_digest
    );
    assert_eq!(
        base.platforms[1].manifest_digest,
        other.platforms[1].manifest_digest
    );

    let mut later = inputs();
    later.source_date_epoch += 1;
    assert_ne!(base.index_digest, assemble(&later).unwrap().index_digest);
    let mut certs = inputs();
    certs.ca_bundle.push(b'\n');
    assert_ne!(base.index_digest, assemble(&certs).unwrap().index_digest);
}

#[test]
fn documents_carry_platform_entrypoint_and_no_user() {
    let layout = assemble(&inputs()).unwrap();
    let index = json(&layout.blobs[&layout.index_digest]);
    let platforms: Vec<String> = index["manifests"]
        .as_array()
        .unwrap()
        .iter()
        .map(|m| {
            let p = &m["platform"];
            format!("{}/{}/{}", p["os"], p["architecture"], p["variant"])
        })
        .collect();
    assert_eq!(
        platforms,
        [r#""linux"/"amd64"/null"#, r#""linux"/"arm64"/"v8""#]
    );
    for platform in &layout.platforms {
        let manifest = json(&layout.blobs[&platform.manifest_digest]);
        assert_eq!(manifest["schemaVersion"], 2);
        let config_digest = Digest::parse(manifest["config"]["digest"].as_str().unwrap()).unwrap();
        let config = json(&layout.blobs[&config_digest]);
        assert_eq!(
            config["architecture"],
            platform.platform.architecture.as_str()
        );
        assert_eq!(config["created"], "2023-11-14T22:13:20Z");
        assert_eq!(
            config["config"]["Entrypoint"],
            serde_json::json!(["/registry-action"])
        );
        assert!(
            config["config"].get("User").is_none(),
            "a User would break $GITHUB_OUTPUT"
        );
        assert_eq!(
            config["config"]["Labels"]["org.opencontainers.image.title"],
            "registry-action"
        );
        // The diff_id is the digest of the uncompressed layer.
        let layer_digest =
            Digest::parse(manifest["layers"][0]["digest"].as_str().unwrap()).unwrap();
        let gz = &layout.blobs[&layer_digest];
        assert_eq!(
            &gz[..10],
            &[0x1f, 0x8b, 8, 0, 0, 0, 0, 0, 2, 0xff],
            "fixed gzip header"
        );
        let mut tar = Vec::new();
        std::io::Read::read_to_end(&mut flate2::read::GzDecoder::new(&gz[..]), &mut tar).unwrap();
        assert_eq!(
            config["rootfs"]["diff_ids"][0],
            Digest::sha256(&tar).to_string()
        );
        assert_eq!(tar.len() as u64, platform.layer_tar_bytes);
    }
}

/// skopeo, or `None` (skipped) when it is missing and `CI` is unset; scripts/test.sh installs it.
fn skopeo() -> Option<&'static str> {
    if Command::new("skopeo").arg("--version").output().is_ok() {
        return Some("skopeo");
    }
    let ci = std::env::var("CI").is_ok_and(|v| !v.is_empty() && v != "false" && v != "0");
    assert!(
        !ci,
        "skopeo is not installed, and CI is set: install the skopeo package"
    );
    eprintln!("SKIPPED: skopeo is not installed (apt-get install skopeo)");
    None
}

fn run(cmd: &mut Command) -> Vec<u8> {
    let out = cmd.output().unwrap();
    assert!(
        out.status.success(),
        "{cmd:?} failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    out.stdout
}

#[test]
fn skopeo_reads_and_copies_the_layout() {
    let Some(skopeo) = skopeo() else { return };
    let layout = assemble(&inputs()).unwrap();
    let dir = tempfile::tempdir().unwrap();
    let oci = dir.path().join("oci");
    write_layout(&layout, &oci).unwrap();
    let source = format!("oci:{}", oci.display());

    let raw = run(Command::new(skopeo).args(["inspect", "--raw", &source]));
    assert_eq!(raw, layout.blobs[&layout.index_digest]);

    // Every platform, byte for byte: the copy keeps the index digest.
    let all = dir.path().join("all");
    run(Command::new(skopeo)
        .args(["copy", "--quiet", "--all", "--preserve-digests"])
        .arg(&source)
        .arg(format!("dir:{}", all.display())));
    assert_eq!(std::fs::read(all.join("manifest.json")).unwrap(), raw);

    // One platform, then its layer as GNU tar lists it: owners, modes, mtime, order.
    let arm = dir.path().join("arm");
    run(Command::new(skopeo)
        .args([
            "copy",
            "--quiet",
            "--override-os",
            "linux",
            "--override-arch",
            "arm64",
        ])
        .arg(&source)
        .arg(format!("dir:{}", arm.display())));
    let manifest = json(&std::fs::read(arm.join("manifest.json")).unwrap());
    assert_eq!(
        manifest["mediaType"],
        "application/vnd.oci.image.manifest.v1+json"
    );
    assert_eq!(
        Digest::sha256(&std::fs::read(arm.join("manifest.json")).unwrap()),
        layout.platforms[1].manifest_digest
    );
    let layer = manifest["layers"][0]["digest"].as_str().unwrap();
    let layer_file = arm.join(layer.trim_start_matches("sha256:"));
    let listing = run(Command::new("tar")
        .args(["--numeric-owner", "--utc", "-tvzf"])
        .arg(&layer_file));
    let listing = String::from_utf8(listing).unwrap();
    let rows: Vec<Vec<&str>> = listing
        .lines()
        .map(|l| l.split_whitespace().collect())
        .collect();
    let summary: Vec<String> = rows
        .iter()
        .map(|r| format!("{} {} {} {}", r[0], r[1], r[3], r[5]))
        .collect();
    assert_eq!(
        summary,
        [
            "drwxr-xr-x 0/0 2023-11-14 etc/",
            "drwxr-xr-x 0/0 2023-11-14 etc/ssl/",
            "drwxr-xr-x 0/0 2023-11-14 etc/ssl/certs/",
            "-rw-r--r-- 0/0 2023-11-14 etc/ssl/certs/ca-certificates.crt",
            "-rwxr-xr-x 0/0 2023-11-14 registry-action",
            "drwxrwxrwt 0/0 2023-11-14 tmp/",
        ]
    );
}
