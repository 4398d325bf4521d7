//! Tests of reading the inputs.

use super::*;

fn vars(pairs: &[(&str, &str)]) -> BTreeMap<String, String> {
    pairs
        .iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect()
}

#[test]
fn referrer_types_are_media_types_on_commas_or_lines() {
    let all = Inputs::from_vars(&vars(&[])).unwrap();
    assert!(all.referrer_types.is_empty(), "empty: every type");
    let raw = "application/spdx+json, application/vnd.in-toto+json\ntext/plain";
    let some = Inputs::from_vars(&vars(&[("INPUT_REFERRER-TYPES", raw)])).unwrap();
    assert_eq!(
        some.referrer_types,
        [
            "application/spdx+json",
            "application/vnd.in-toto+json",
            "text/plain"
        ]
    );
    let bad = Inputs::from_vars(&vars(&[("INPUT_REFERRER-TYPES", "sbom")])).unwrap_err();
    assert_eq!(bad.input, "referrer-types");
    assert!(bad.message.contains("`sbom`"), "{}", bad.message);
}

#[test]
fn input_names_map_to_runner_variables() {
    assert_eq!(input_env_var("sep-tags"), "INPUT_SEP-TAGS");
    assert_eq!(input_env_var("dry-run"), "INPUT_DRY-RUN");
    assert_eq!(input_env_var("images"), "INPUT_IMAGES");
    assert_eq!(input_env_var("my input"), "INPUT_MY_INPUT");
    assert_eq!(input_env_var("github-token"), "INPUT_GITHUB-TOKEN");
}

#[test]
fn defaults_apply_when_unset_or_empty() {
    let inputs = Inputs::from_vars(&vars(&[("INPUT_SEP-TAGS", "")])).unwrap();
    assert_eq!(inputs.command, Command::Publish);
    assert_eq!(inputs.sep_tags, "\n");
    assert!(!inputs.dry_run);
    assert_eq!(inputs.github_token, None);
    assert!(!inputs.sync);
    assert!(inputs.fail_on_drift);
    assert!(inputs.verify_tags.is_empty());
    assert_eq!(inputs.timeout, Duration::from_secs(3600));
    assert_eq!(inputs.cleanup_time_budget, Duration::from_secs(3600));
    assert_eq!(inputs.manifest_cache, None);
}

#[test]
fn verify_tags_split_on_commas_and_lines() {
    let inputs = Inputs::from_vars(&vars(&[(
        "INPUT_VERIFY-TAGS",
        "v1.2.3, latest\nedge\n# note",
    )]))
    .unwrap();
    assert_eq!(inputs.verify_tags, ["v1.2.3", "latest", "edge"]);
}

#[test]
fn values_are_read_with_hyphens_kept() {
    let inputs = Inputs::from_vars(&vars(&[
        ("INPUT_SEP-TAGS", ","),
        ("INPUT_DRY-RUN", "true"),
        ("INPUT_TAGS", "type=ref,event=pr\n# c\ntype=sha"),
        ("INPUT_GITHUB-TOKEN", "ghs_secret"),
    ]))
    .unwrap();
    assert_eq!(inputs.sep_tags, ",");
    assert!(inputs.dry_run);
    assert_eq!(inputs.tags.tags.len(), 2);
    assert_eq!(format!("{:?}", inputs.github_token), "Some(<redacted>)");
}

#[test]
fn bad_values_name_the_input() {
    let e = Inputs::from_vars(&vars(&[("INPUT_DRY-RUN", "yes")])).unwrap_err();
    assert_eq!(
        e.to_string(),
        "input `dry-run`: `yes` is not a boolean; expected true or false"
    );
    let e = Inputs::from_vars(&vars(&[("INPUT_VERIFY-TAGS", "v1, bad tag")])).unwrap_err();
    assert_eq!(e.input, "verify-tags");
    assert!(e.to_string().contains("`bad tag` is not a valid tag"));
    let e = Inputs::from_vars(&vars(&[("INPUT_CLOSED-PULL-REQUESTS", "3, x")])).unwrap_err();
    assert!(e.to_string().contains("`x` is not a pull request number"));
    let ok = Inputs::from_vars(&vars(&[("INPUT_CLOSED-PULL-REQUESTS", "3, #4\n5")])).unwrap();
    assert_eq!(ok.closed_pull_requests, [3, 4, 5]);
    for bad in ["30", "soon", "0s", "-5m"] {
        let e = Inputs::from_vars(&vars(&[("INPUT_TIMEOUT", bad)])).unwrap_err();
        assert_eq!(e.input, "timeout", "{bad}");
        assert!(e.to_string().contains("e.g. `30m`"), "{e}");
    }
    let e = Inputs::from_vars(&vars(&[("INPUT_CLEANUP-TIME-BUDGET", "90")])).unwrap_err();
    assert_eq!(e.input, "cleanup-time-budget");
    let ok = Inputs::from_vars(&vars(&[
        ("INPUT_CLEANUP-TIME-BUDGET", "20m"),
        ("INPUT_MANIFEST-CACHE", " .cache/manifests.json "),
    ]))
    .unwrap();
    assert_eq!(ok.cleanup_time_budget, Duration::from_secs(1200));
    assert_eq!(
        ok.manifest_cache.as_deref(),
        Some(std::path::Path::new(".cache/manifests.json"))
    );
    let ok = Inputs::from_vars(&vars(&[("INPUT_TIMEOUT", "1h30m")])).unwrap();
    assert_eq!(ok.timeout, Duration::from_secs(5400));
    let e = Inputs::from_vars(&vars(&[("INPUT_COMMAND", "deploy")])).unwrap_err();
    assert!(e.to_string().contains("unknown command `deploy`"));
}
