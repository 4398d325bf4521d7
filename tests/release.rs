//! Release contracts (issue 6): `action.yml` names its image by digest, never by tag; the release
//! workflow builds reproducibly, publishes with registry-action itself, attests, pins the digest
//! and moves `vX`, with the permissions it needs and every third-party action pinned by SHA; the
//! toolchain pin agrees everywhere.

use std::path::Path;

use yaml_rust2::{Yaml, YamlLoader};

use crate::support::{has_pipe, run_step_script, step_shell};

const RELEASE: &str = ".github/workflows/release.yml";

fn read(rel: &str) -> String {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join(rel);
    std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("cannot read {}: {e}", path.display()))
}

fn load_yaml(rel: &str) -> Yaml {
    let mut docs = YamlLoader::load_from_str(&read(rel))
        .unwrap_or_else(|e| panic!("{rel} is not valid YAML: {e}"));
    assert_eq!(docs.len(), 1, "{rel} should hold one YAML document");
    docs.remove(0)
}

/// What `runs.image` of a docker action may be.
#[derive(Debug, PartialEq, Eq)]
enum ImageForm {
    /// `docker://<registry>/<path>@sha256:<64 hex>`: a prebuilt image by digest (release commits).
    Digest,
    /// `Dockerfile`: the development form. Only the release workflow's commit can hold a real
    /// digest (it is known once the image is published), so the commits between releases build
    /// from source; users pin release commits (README, "Release and pinning").
    Development,
}

/// Classifies `runs.image`; anything else (a tag, a digest without a registry, a short digest, a
/// tag and a digest, another Dockerfile) is an error.
fn image_form(image: &str) -> Result<ImageForm, String> {
    if image == "Dockerfile" {
        return Ok(ImageForm::Development);
    }
    let reference = image
        .strip_prefix("docker://")
        .ok_or_else(|| format!("{image:?} is neither `Dockerfile` nor `docker://...`"))?;
    let (name, digest) = reference
        .split_once("@sha256:")
        .ok_or_else(|| format!("{image:?} is not pinned by a sha256 digest"))?;
    if digest.len() != 64
        || !digest
            .bytes()
            .all(|b| b.is_ascii_hexdigit() && !b.is_ascii_uppercase())
    {
        return Err(format!(
            "{image:?}: the digest is not 64 lower-case hex digits"
        ));
    }
    let (registry, path) = name
        .split_once('/')
        .ok_or_else(|| format!("{image:?}: expected <registry>/<path>"))?;
    if !(registry.contains('.') || registry.contains(':') || registry == "localhost") {
        return Err(format!("{image:?}: {registry:?} is not a registry host"));
    }
    let last = path.rsplit('/').next().unwrap_or_default();
    if path.is_empty() || last.contains(':') || name.contains(char::is_uppercase) {
        return Err(format!(
            "{image:?}: expected a lower-case repository path without a tag"
        ));
    }
    Ok(ImageForm::Digest)
}

#[test]
fn image_forms_accept_a_digest_or_the_development_form_only() {
    let digest = "0123456789abcdef".repeat(4);
    for ok in [
        format!("docker://ghcr.io/octo/registry-action@sha256:{digest}"),
        format!("docker://docker.io/octo/registry-action@sha256:{digest}"),
        format!("docker://127.0.0.1:5000/a/b@sha256:{digest}"),
    ] {
        assert_eq!(image_form(&ok), Ok(ImageForm::Digest), "{ok}");
    }
    assert_eq!(image_form("Dockerfile"), Ok(ImageForm::Development));
    for bad in [
        "docker://ghcr.io/octo/registry-action:v1".to_owned(),
        "docker://ghcr.io/octo/registry-action:latest".to_owned(),
        "docker://ghcr.io/octo/registry-action".to_owned(),
        format!("docker://ghcr.io/octo/registry-action:v1@sha256:{digest}"),
        format!("docker://registry-action@sha256:{digest}"),
        format!(
            "docker://ghcr.io/octo/registry-action@sha256:{}",
            &digest[..63]
        ),
        format!(
            "docker://ghcr.io/octo/registry-action@sha256:{}",
            digest.to_uppercase()
        ),
        format!("docker://ghcr.io/Octo/registry-action@sha256:{digest}"),
        format!("docker://ghcr.io/octo/registry-action@sha512:{digest}{digest}"),
        format!("ghcr.io/octo/registry-action@sha256:{digest}"),
        "Dockerfile.release".to_owned(),
        "./Dockerfile".to_owned(),
    ] {
        assert!(image_form(&bad).is_err(), "{bad} should be refused");
    }
}

#[test]
fn action_yml_names_its_image_by_digest_or_is_the_development_form() {
    let action = load_yaml("action.yml");
    assert_eq!(action["runs"]["using"].as_str(), Some("docker"));
    let image = action["runs"]["image"]
        .as_str()
        .expect("runs.image should be a string");
    if let Err(why) = image_form(image) {
        panic!("action.yml runs.image: {why}");
    }
}

/// Every step of the release job.
fn release_steps() -> Vec<Yaml> {
    let workflow = load_yaml(RELEASE);
    workflow["jobs"]["release"]["steps"]
        .as_vec()
        .cloned()
        .expect("release.yml has no jobs.release.steps")
}

fn step_named<'a>(steps: &'a [Yaml], name: &str) -> &'a Yaml {
    steps
        .iter()
        .find(|s| s["name"].as_str().is_some_and(|n| n.starts_with(name)))
        .unwrap_or_else(|| panic!("release.yml has no step named {name:?}"))
}

#[test]
fn release_runs_on_version_tags_with_the_permissions_it_needs() {
    let workflow = load_yaml(RELEASE);
    let tags: Vec<&str> = workflow["on"]["push"]["tags"]
        .as_vec()
        .expect("on.push.tags")
        .iter()
        .filter_map(Yaml::as_str)
        .collect();
    assert_eq!(tags, ["v*.*.*"]);
    assert!(workflow["on"]["push"]["branches"].is_badvalue());
    assert_eq!(workflow["permissions"]["contents"].as_str(), Some("read"));
    let job = &workflow["jobs"]["release"];
    for (permission, level) in [
        ("contents", "write"),
        ("packages", "write"),
        ("id-token", "write"),
        ("attestations", "write"),
    ] {
        assert_eq!(
            job["permissions"][permission].as_str(),
            Some(level),
            "the release job needs {permission}: {level}"
        );
    }
}

#[test]
fn release_builds_in_the_pinned_toolchain_image_pinned_by_digest() {
    // The build environment is part of the digest users pin: the pinned toolchain on Debian
    // bookworm, and one build of that image (the tag is rebuilt whenever Debian updates).
    let workflow = load_yaml(RELEASE);
    let container = workflow["jobs"]["release"]["container"]
        .as_str()
        .expect("jobs.release.container should be an image reference");
    let (tag, digest) = container
        .split_once("@sha256:")
        .unwrap_or_else(|| panic!("{container} is not pinned by a sha256 digest"));
    assert_eq!(tag, format!("rust:{}-bookworm", pinned_toolchain()));
    assert!(
        digest.len() == 64
            && digest
                .bytes()
                .all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b)),
        "{container}: the digest is not 64 lower-case hex digits"
    );
}

#[test]
fn release_jobs_reading_docker_hub_secrets_run_in_an_environment() {
    // zizmor's secrets-outside-env: environment secrets reach only jobs that name the
    // environment, and the environment's protection rules (reviewers, allowed refs) apply.
    let workflow = load_yaml(RELEASE);
    let jobs = workflow["jobs"].as_hash().expect("release.yml jobs");
    let mut checked = 0;
    for (name, job) in jobs {
        let mut text = String::new();
        yaml_rust2::YamlEmitter::new(&mut text)
            .dump(job)
            .expect("emit the job as YAML");
        if !text.contains("secrets.DOCKERHUB_") {
            continue;
        }
        checked += 1;
        let environment = job["environment"]
            .as_str()
            .or_else(|| job["environment"]["name"].as_str())
            .unwrap_or_default();
        assert!(
            !environment.trim().is_empty(),
            "release.yml job {name:?} reads Docker Hub secrets without an `environment:`"
        );
    }
    assert!(checked > 0, "no release job reads the Docker Hub secrets");
}

#[test]
fn release_pins_every_third_party_action_by_commit_sha() {
    for step in release_steps() {
        let Some(uses) = step["uses"].as_str() else {
            continue;
        };
        let (_, rev) = uses
            .split_once('@')
            .unwrap_or_else(|| panic!("{uses} has no version"));
        assert!(
            rev.len() == 40 && rev.bytes().all(|b| b.is_ascii_hexdigit()),
            "{uses} is not pinned by a full commit SHA"
        );
    }
}

#[test]
fn release_builds_publishes_attests_pins_and_moves_the_major_tag() {
    let steps = release_steps();
    let build = step_named(&steps, "Build the image")["run"]
        .as_str()
        .unwrap_or_default();
    assert!(build.contains("bash scripts/build-image.sh"), "{build}");

    let publish = step_named(&steps, "Publish with registry-action");
    let run = publish["run"].as_str().unwrap_or_default();
    assert!(
        run.contains("target/x86_64-unknown-linux-musl/release/registry-action publish"),
        "publish runs the freshly built binary: {run}"
    );
    assert!(run.contains("--source oci:target/image"), "{run}");
    let images = publish["env"]["IMAGES"].as_str().unwrap_or_default();
    assert!(
        images.contains("steps.names.outputs.ghcr")
            && images.contains("steps.names.outputs.dockerhub")
    );
    let tags = publish["env"]["TAGS"].as_str().unwrap_or_default();
    for pattern in ["{{version}}", "{{major}}.{{minor}}", "{{major}}"] {
        assert!(
            tags.contains(&format!("type=semver,pattern={pattern},prefix=v")),
            "{tags}"
        );
    }

    let check = step_named(&steps, "Check the registries hold the digest");
    assert_eq!(
        check["env"]["BUILT"].as_str(),
        Some("${{ steps.build.outputs.digest }}")
    );
    assert_eq!(
        check["env"]["PUBLISHED"].as_str(),
        Some("${{ steps.publish.outputs.digest }}")
    );

    let attests: Vec<&Yaml> = steps
        .iter()
        .filter(|s| {
            s["uses"]
                .as_str()
                .is_some_and(|u| u.starts_with("actions/attest-build-provenance@"))
        })
        .collect();
    assert_eq!(attests.len(), 2, "one attestation per registry");
    for attest in attests {
        assert_eq!(
            attest["with"]["subject-digest"].as_str(),
            Some("${{ steps.publish.outputs.digest }}")
        );
        assert_eq!(attest["with"]["push-to-registry"], Yaml::Boolean(true));
    }

    let pin = step_named(&steps, "Pin the digest in action.yml");
    let run = pin["run"].as_str().unwrap_or_default();
    assert!(
        run.contains(r#"line="  image: docker://$IMAGE@$DIGEST""#),
        "{run}"
    );
    assert!(run.contains("refs/tags/release/$GITHUB_REF_NAME"), "{run}");
    assert!(
        run.contains(r#"--force "$remote" "$sha:refs/tags/$MAJOR""#),
        "{run}"
    );
}

#[test]
fn release_steps_with_a_pipe_fail_when_any_command_of_the_pipe_fails() {
    // A container job's default shell is `sh -e`: `build | tee log` there passes when the build
    // fails. Only `bash` (`bash --noprofile --norc -eo pipefail`) makes the pipe's failure the
    // step's.
    let workflow = load_yaml(RELEASE);
    let mut piped = 0;
    for step in release_steps() {
        let Some(run) = step["run"].as_str() else {
            continue;
        };
        if !has_pipe(run) {
            continue;
        }
        piped += 1;
        let shell = step_shell(&workflow, "release", &step);
        assert!(
            shell.join(" ").contains("-eo pipefail"),
            "release.yml step {:?} pipes under `{}`, without pipefail",
            step["name"].as_str().unwrap_or("?"),
            shell.join(" ")
        );
    }
    assert!(piped > 0, "no release step has a pipe: has_pipe is broken");
}

/// What one run of the "Pin the digest ... and move the vX tag" step did, against a fake `git`
/// whose `ls-remote` answers `answer` (or exits with `ls_remote_exit`).
struct PinRun {
    success: bool,
    /// Every `git` command line, one per line.
    git: String,
    summary: String,
    log: String,
}

impl PinRun {
    fn moved_major(&self) -> bool {
        self.git.lines().any(|l| l.contains("--force"))
    }
}

fn run_pin_step(ref_name: &str, answer: &str, ls_remote_exit: i32) -> PinRun {
    let workflow = load_yaml(RELEASE);
    let steps = release_steps();
    let step = step_named(&steps, "Pin the digest in action.yml");
    let script = step["run"].as_str().expect("the pin step's run");
    let shell = step_shell(&workflow, "release", step);

    let dir = tempfile::tempdir().expect("temp dir");
    let bin = dir.path().join("bin");
    std::fs::create_dir(&bin).expect("bin dir");
    let fake_git = bin.join("git");
    std::fs::write(
        &fake_git,
        r#"#!/bin/sh
printf '%s\n' "$*" >> "$GIT_LOG"
case "$1" in
  rev-parse) echo 1111111111111111111111111111111111111111 ;;
  ls-remote) [ "$LS_REMOTE_EXIT" = 0 ] || exit "$LS_REMOTE_EXIT"; printf '%s' "$LS_REMOTE_ANSWER" ;;
esac
"#,
    )
    .expect("write the fake git");
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(&fake_git, std::fs::Permissions::from_mode(0o755))
            .expect("chmod the fake git");
    }
    std::fs::write(
        dir.path().join("action.yml"),
        "runs:\n  using: docker\n  image: Dockerfile\n",
    )
    .expect("write action.yml");
    let git_log = dir.path().join("git.log");
    let summary = dir.path().join("summary");
    let major = ref_name.split('.').next().unwrap_or_default();
    let exit = ls_remote_exit.to_string();
    let output = run_step_script(
        &shell,
        script,
        dir.path(),
        Some(&bin),
        &[
            ("IMAGE", "ghcr.io/octo/registry-action"),
            ("DIGEST", &format!("sha256:{}", "ab".repeat(32))),
            ("MAJOR", major),
            ("GH_TOKEN", "not-a-token"),
            ("GITHUB_REF_NAME", ref_name),
            ("GITHUB_REPOSITORY", "octo/registry-action"),
            ("GITHUB_STEP_SUMMARY", summary.to_str().expect("utf-8 path")),
            ("GIT_LOG", git_log.to_str().expect("utf-8 path")),
            ("LS_REMOTE_ANSWER", answer),
            ("LS_REMOTE_EXIT", &exit),
        ],
    );
    let read = |p: &Path| std::fs::read_to_string(p).unwrap_or_default();
    PinRun {
        success: output.status.success(),
        git: read(&git_log),
        summary: read(&summary),
        log: String::from_utf8_lossy(&output.stdout).into_owned()
            + &String::from_utf8_lossy(&output.stderr),
    }
}

/// `git ls-remote --tags` lines for these release tags.
fn ls_remote_answer(tags: &[&str]) -> String {
    tags.iter()
        .map(|t| format!("{}\trefs/tags/release/{t}\n", "2".repeat(40)))
        .collect()
}

#[test]
fn release_never_moves_the_major_tag_on_an_empty_or_failed_lookup() {
    for (what, answer, exit) in [
        ("an empty answer", String::new(), 0),
        ("a failed lookup", String::new(), 128),
        (
            "a failed lookup that printed a list",
            ls_remote_answer(&["v1.2.1"]),
            2,
        ),
        (
            "an answer without the release just pushed",
            ls_remote_answer(&["v1.0.0", "v1.1.0"]),
            0,
        ),
    ] {
        let run = run_pin_step("v1.2.1", &answer, exit);
        assert!(
            !run.success,
            "{what}: the step should fail\n{}\ngit:\n{}",
            run.log, run.git
        );
        assert!(
            !run.moved_major(),
            "{what}: v1 was force-pushed\ngit:\n{}",
            run.git
        );
        assert!(
            run.git.contains("refs/tags/release/v1.2.1"),
            "{what}: the release tag is pushed before the lookup\ngit:\n{}",
            run.git
        );
    }
}

#[test]
fn release_moves_the_major_tag_only_to_the_highest_release() {
    let highest = run_pin_step(
        "v1.2.1",
        &ls_remote_answer(&["v1.0.0", "v1.2.0", "v1.2.1", "v1.3.0-rc.1"]),
        0,
    );
    assert!(highest.success, "{}", highest.log);
    assert!(
        highest
            .git
            .lines()
            .any(|l| l.starts_with("push --quiet --force ")
                && l.ends_with(" 1111111111111111111111111111111111111111:refs/tags/v1")),
        "v1 should move to the release commit\ngit:\n{}",
        highest.git
    );
    assert!(
        highest.summary.contains("`v1` moved: yes"),
        "{}",
        highest.summary
    );

    // A hotfix of an older minor: v1 stays on v1.3.0.
    let hotfix = run_pin_step("v1.2.1", &ls_remote_answer(&["v1.2.1", "v1.3.0"]), 0);
    assert!(hotfix.success, "{}", hotfix.log);
    assert!(!hotfix.moved_major(), "git:\n{}", hotfix.git);
    assert!(
        hotfix.summary.contains("`v1` moved: no"),
        "{}",
        hotfix.summary
    );

    // A pre-release never moves vX and needs no lookup.
    let pre = run_pin_step("v1.4.0-rc.1", "", 0);
    assert!(pre.success, "{}", pre.log);
    assert!(!pre.moved_major(), "git:\n{}", pre.git);
}

#[test]
fn release_secrets_reach_only_the_credentials_file() {
    let text = read(RELEASE);
    for line in text.lines().filter(|l| l.contains("secrets.")) {
        let trimmed = line.trim_start();
        assert!(
            [
                "GHCR_TOKEN:",
                "DOCKERHUB_USERNAME:",
                "DOCKERHUB_TOKEN:",
                "GH_TOKEN:"
            ]
            .iter()
            .any(|k| trimmed.starts_with(k)),
            "a secret outside a step's env: {line}"
        );
    }
    for forbidden in [
        "set -x",
        "echo \"$DOCKERHUB_TOKEN",
        "echo \"$GHCR_TOKEN",
        "echo \"$GH_TOKEN",
    ] {
        assert!(
            !text.contains(forbidden),
            "release.yml contains {forbidden:?}"
        );
    }
}

fn pinned_toolchain() -> String {
    let toml = read("rust-toolchain.toml");
    toml.lines()
        .find_map(|l| l.trim().strip_prefix("channel = \""))
        .and_then(|rest| rest.strip_suffix('"'))
        .expect("rust-toolchain.toml has no channel")
        .to_owned()
}

#[test]
fn the_toolchain_pin_is_a_full_version_and_the_dockerfile_agrees() {
    let channel = pinned_toolchain();
    let parts: Vec<&str> = channel.split('.').collect();
    assert!(
        parts.len() == 3
            && parts
                .iter()
                .all(|p| !p.is_empty() && p.bytes().all(|b| b.is_ascii_digit())),
        "rust-toolchain.toml should pin a full version (x.y.z), found {channel:?}"
    );
    let dockerfile = read("Dockerfile");
    assert!(
        dockerfile
            .lines()
            .any(|l| l.trim() == format!("ARG RUST_VERSION={channel}")),
        "the Dockerfile's RUST_VERSION should be {channel}"
    );
}

#[test]
fn the_image_ships_the_committed_ca_bundle() {
    let bundle = read("packaging/ca-certificates.crt");
    let count = bundle.matches("-----BEGIN CERTIFICATE-----").count();
    assert!(
        count > 100,
        "packaging/ca-certificates.crt holds only {count} certificates"
    );
    let source = read("packaging/ca-certificates.crt.source");
    assert!(
        source.contains(&format!("{count} certificates")),
        "{source}"
    );
    assert!(read("scripts/build-image.sh").contains("--ca-bundle packaging/ca-certificates.crt"));
    assert!(
        read("Dockerfile")
            .contains("COPY packaging/ca-certificates.crt /etc/ssl/certs/ca-certificates.crt")
    );
}
