//! The referrer comparison: by subject, by digest, fail closed, and after the image checks.

use super::*;

fn digest(n: u8) -> Digest {
    Digest::sha256(&[n])
}

fn repo(name: &str) -> Repository {
    Repository {
        registry: "127.0.0.1:5000".into(),
        repository: name.into(),
    }
}

fn referrer(subject: u8, d: u8, artifact_type: Option<&str>) -> Referrer {
    Referrer {
        subject: digest(subject),
        digest: digest(d),
        artifact_type: artifact_type.map(str::to_owned),
        tag: None,
    }
}

fn state(children: &[(u8, bool)], referrers: Vec<Referrer>) -> TagState {
    TagState {
        digest: Some(digest(1)),
        children: children.iter().map(|(c, p)| (digest(*c), *p)).collect(),
        referrers,
    }
}

const SIG: &str = "application/vnd.dev.sigstore.bundle.v0.3+json";
const SBOM: &str = "application/spdx+json";

#[test]
fn a_registry_lacking_a_referrer_of_the_index_or_a_child_names_each_missing_one() {
    // The index is signed (50); its child 10 has an SBOM (60).
    let primary = state(
        &[(10, true)],
        vec![referrer(1, 50, Some(SIG)), referrer(10, 60, Some(SBOM))],
    );
    let bare = state(&[(10, true)], Vec::new());
    let found = compare(&primary, &[(repo("b"), bare)]);
    assert_eq!(
        found[0].status,
        Status::ReferrersMissing {
            missing: vec![referrer(1, 50, Some(SIG)), referrer(10, 60, Some(SBOM))],
        }
    );
    assert_eq!(found[0].status.name(), "referrers-missing");
    assert!(found[0].status.is_drift());
    let report = assess(
        tags::VerifyTag {
            name: "v1".into(),
            kind: crate::meta::TagKind::Release,
            version: Some("1".into()),
        },
        (&repo("a"), &primary),
        &[(repo("b"), state(&[(10, true)], vec![referrer(1, 50, None)]))],
    );
    assert!(report.drift());
    assert_eq!(
        report.findings[1].status,
        Status::ReferrersMissing {
            missing: vec![referrer(10, 60, Some(SBOM))],
        },
        "the index's signature is there (its entry's artifactType does not matter)"
    );
}

#[test]
fn referrers_compare_by_subject_and_extra_ones_are_fine() {
    let primary = state(&[(10, true)], vec![referrer(10, 60, Some(SBOM))]);
    // The same SBOM listed for the index instead of the child is not the child's.
    let elsewhere = state(&[(10, true)], vec![referrer(1, 60, Some(SBOM))]);
    assert_eq!(
        compare(&primary, &[(repo("b"), elsewhere)])[0].status,
        Status::ReferrersMissing {
            missing: vec![referrer(10, 60, Some(SBOM))],
        }
    );
    // A registry with more referrers than the primary is in sync.
    let more = state(
        &[(10, true)],
        vec![referrer(10, 60, Some(SBOM)), referrer(1, 70, Some(SIG))],
    );
    assert_eq!(
        compare(&primary, &[(repo("b"), more)])[0].status,
        Status::InSync
    );
}

#[test]
fn a_missing_child_is_incomplete_before_referrers_count() {
    let primary = state(&[(10, true)], vec![referrer(10, 60, Some(SBOM))]);
    let gone = state(&[(10, false)], Vec::new());
    assert_eq!(
        compare(&primary, &[(repo("b"), gone)])[0].status,
        Status::Incomplete {
            missing: vec![digest(10)],
        }
    );
}
