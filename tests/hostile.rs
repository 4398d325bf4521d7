//! Untrusted event fields (branch names, PR titles, repository descriptions) can never inject a
//! workflow command, an extra output or a broken summary (issue #3).

use crate::support::run;

const HOSTILE: &[&str] = &[
    "x\n::set-output name=pwned::1",
    "x%0A::error::pwned",
    "x\r\n::add-mask::y",
    "x\nEOF\npwned<<EOF",
    "ghadelimiter_x\n::stop-commands::z",
    "a|b</details><script>alert(1)</script>",
];

/// Lines on stdout that the runner would treat as workflow commands must all be ours.
fn assert_only_our_commands(stdout: &str) {
    for line in stdout.lines() {
        if let Some(rest) = line.strip_prefix("::") {
            let command = rest.split([':', ' ']).next().unwrap_or_default();
            assert!(
                ["group", "endgroup", "warning", "error", "add-mask"].contains(&command),
                "injected command line: {line:?}"
            );
            assert!(
                !line.contains("pwned::") && !rest.starts_with("set-output"),
                "injected: {line:?}"
            );
        }
    }
}

#[test]
fn hostile_description_and_ref_cannot_inject() {
    for hostile in HOSTILE {
        let dir = tempfile::tempdir().unwrap();
        let event = dir.path().join("event.json");
        let payload = serde_json::json!({ "repository": { "name": "app", "description": hostile, "default_branch": hostile }, "pull_request": { "title": hostile, "base": { "ref": hostile } } });
        std::fs::write(&event, payload.to_string()).unwrap();
        let git_ref = format!("refs/heads/{hostile}");
        let r = run(
            &[
                "--event",
                event.to_str().unwrap(),
                "--ref",
                &git_ref,
                "--tags",
                "type=ref,event=branch\ntype=raw,value={{branch}}-{{base_ref}}",
                "--labels",
                "custom={{branch}}",
            ],
            &[("GITHUB_ACTIONS", "true"), ("GITHUB_EVENT_NAME", "push")],
        );
        assert!(r.success(), "{hostile:?}: {}", r.stdout());
        assert_only_our_commands(&r.stdout());
        let outputs = r.outputs();
        let names: Vec<&str> = outputs.iter().map(|(n, _)| n.as_str()).collect();
        assert_eq!(
            names,
            [
                "version",
                "tags",
                "tag-names",
                "labels",
                "annotations",
                "json"
            ],
            "{hostile:?}"
        );
        let labels = r.get("labels");
        // Kept intact, but on one line: a line break would start a label of its own.
        let one_line = hostile.replace("\r\n", " ").replace(['\r', '\n'], " ");
        assert!(
            labels.contains(&format!("org.opencontainers.image.description={one_line}")),
            "value kept on one line: {labels:?}"
        );
        for label in labels.lines() {
            assert!(
                label.starts_with("org.opencontainers.image.") || label.starts_with("custom="),
                "{hostile:?} added a label: {label:?}"
            );
        }
        for tag in r.get("tag-names").lines() {
            assert!(
                tag.chars()
                    .all(|c| c.is_ascii_alphanumeric() || "._-".contains(c)),
                "{tag:?}"
            );
        }
        assert!(
            !r.summary_file.contains("<script>"),
            "summary must escape HTML: {}",
            r.summary_file
        );
    }
}

#[test]
fn very_long_branch_is_shortened_and_logged_safely() {
    let branch = format!(
        "refs/heads/{}",
        "feature/a-very-long-branch-name-".repeat(20)
    );
    let r = run(
        &["--ref", &branch, "--tags", "type=ref,event=branch"],
        &[("GITHUB_ACTIONS", "true")],
    );
    assert!(r.success());
    let tag = r.get("tag-names");
    assert_eq!(tag.len(), 128);
    assert!(
        r.stdout().lines().all(|l| l.len() < 2000),
        "log lines stay bounded"
    );
}
