//! Packaging contracts: `action.yml`'s interface, the container image's final stage, the CI
//! workflows and the CI entry point, checked from the files themselves.

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};

use yaml_rust2::{Yaml, YamlLoader};

use crate::support::{fixture, has_pipe, run, run_step_script, step_shell};

/// The inputs this release documents, exactly (DESIGN.md, "The action's interface").
/// The inputs the binary reads (`registry_action::inputs::INPUTS`): action.yml must declare exactly these.
fn inputs() -> Vec<&'static str> {
    registry_action::inputs::INPUTS
        .iter()
        .map(|(name, _)| *name)
        .collect()
}

/// The outputs shared with docker/metadata-action, then the publishing ones.
const OUTPUTS: &[&str] = &[
    "version",
    "tags",
    "tag-names",
    "labels",
    "annotations",
    "json",
    "digest",
    "refs",
    "in-sync",
    "report",
];

/// Words that make an `ENV`/`ARG` name look like it carries a secret.
const SECRET_WORDS: &[&str] = &["TOKEN", "PASSWORD", "PASSWD", "SECRET", "KEY", "CREDENTIAL"];

fn repo_path(rel: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join(rel)
}

fn read(rel: &str) -> String {
    let path = repo_path(rel);
    std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("cannot read {}: {e}", path.display()))
}

fn load_yaml(rel: &str) -> Yaml {
    let mut docs = YamlLoader::load_from_str(&read(rel))
        .unwrap_or_else(|e| panic!("{rel} is not valid YAML: {e}"));
    assert_eq!(docs.len(), 1, "{rel} should hold exactly one YAML document");
    docs.remove(0)
}

fn str_of<'a>(y: &'a Yaml, what: &str) -> &'a str {
    y.as_str()
        .unwrap_or_else(|| panic!("{what} should be a string, found {y:?}"))
}

/// The keys of a YAML mapping, as strings, in file order.
fn keys(y: &Yaml, what: &str) -> Vec<String> {
    y.as_hash()
        .unwrap_or_else(|| panic!("{what} should be a mapping, found {y:?}"))
        .keys()
        .map(|k| str_of(k, what).to_owned())
        .collect()
}

// ---------------------------------------------------------------------------------------------
// action.yml

#[test]
fn action_runs_as_a_docker_action() {
    let action = load_yaml("action.yml");
    assert_eq!(str_of(&action["runs"]["using"], "runs.using"), "docker");
    let image = str_of(&action["runs"]["image"], "runs.image");
    assert!(
        image == "Dockerfile" || (image.starts_with("docker://") && image.contains("@sha256:")),
        "runs.image should be the Dockerfile or a prebuilt image pinned by digest, found {image:?}"
    );
    for key in ["name", "description"] {
        assert!(
            !str_of(&action[key], key).trim().is_empty(),
            "action.yml {key} is empty"
        );
    }
    assert!(
        action["branding"]["icon"].as_str().is_some(),
        "branding.icon missing"
    );
    assert!(
        action["branding"]["color"].as_str().is_some(),
        "branding.color missing"
    );
}

#[test]
fn action_inputs_are_exactly_the_documented_list() {
    let action = load_yaml("action.yml");
    let declared: BTreeSet<String> = keys(&action["inputs"], "inputs").into_iter().collect();
    let expected: BTreeSet<String> = inputs().iter().map(|s| s.to_string()).collect();
    assert_eq!(
        declared, expected,
        "action.yml inputs differ from the contract"
    );
}

/// Inputs without a default in action.yml: the runner passes them empty, which the binary reads
/// as a newline (docker/metadata-action declares no default for these either).
const NO_DEFAULT: &[&str] = &["sep-tags", "sep-labels", "sep-annotations"];

#[test]
fn every_action_input_has_a_description_and_a_default() {
    let action = load_yaml("action.yml");
    for name in keys(&action["inputs"], "inputs") {
        let input = &action["inputs"][name.as_str()];
        let description = input["description"].as_str().unwrap_or_default();
        assert!(
            !description.trim().is_empty(),
            "input {name} has no description"
        );
        if NO_DEFAULT.contains(&name.as_str()) {
            assert!(
                input["default"].is_badvalue(),
                "input {name} should have no default: a YAML default reaches the binary as written"
            );
            continue;
        }
        assert!(
            input["default"].as_str().is_some(),
            "input {name} has no string default (found {:?})",
            input["default"]
        );
    }
}

#[test]
fn action_input_defaults_match_the_contract() {
    let action = load_yaml("action.yml");
    let default = |name: &str| str_of(&action["inputs"][name]["default"], name).to_owned();
    assert_eq!(default("command"), "publish");
    assert_eq!(default("dry-run"), "false");
    assert_eq!(default("github-token"), "${{ github.token }}");
    for empty in ["images", "tags", "flavor", "labels", "annotations"] {
        assert_eq!(default(empty), "", "{empty} default");
    }
    let command = str_of(&action["inputs"]["command"]["description"], "command");
    for word in ["publish", "verify", "cleanup"] {
        assert!(
            command.contains(word),
            "command's description should mention {word}"
        );
    }
}

/// The runner passes every declared input, with action.yml's default as YAML gives it: the binary
/// must read those exactly as it reads the inputs unset (a default it would misread, such as
/// `'\n'` for a separator, fails here).
#[test]
fn action_yml_defaults_as_the_runner_passes_them_change_nothing() {
    use registry_action::inputs::{Inputs, input_env_var};
    let action = load_yaml("action.yml");
    let unset = Inputs::from_vars(&Default::default()).expect("inputs unset");
    let mut passed = std::collections::BTreeMap::new();
    for name in keys(&action["inputs"], "inputs") {
        let default = action["inputs"][name.as_str()]["default"]
            .as_str()
            .unwrap_or("");
        // `${{ github.token }}` is evaluated by the runner: a token, not this text.
        if !default.contains("${{") {
            passed.insert(input_env_var(&name), default.to_owned());
        }
    }
    let as_run = Inputs::from_vars(&passed).expect("inputs with action.yml's defaults");
    assert_eq!(as_run, unset);
}

#[test]
fn every_action_output_has_a_description() {
    let action = load_yaml("action.yml");
    let declared = keys(&action["outputs"], "outputs");
    for name in &declared {
        let description = action["outputs"][name.as_str()]["description"]
            .as_str()
            .unwrap_or_default();
        assert!(
            !description.trim().is_empty(),
            "output {name} has no description"
        );
    }
    for name in OUTPUTS {
        assert!(
            declared.iter().any(|d| d == name),
            "output {name} is not declared"
        );
    }
}

// ---------------------------------------------------------------------------------------------
// Dockerfile

/// One Dockerfile instruction: the keyword upper-cased, and its arguments.
#[derive(Debug)]
struct Instruction {
    keyword: String,
    args: String,
}

/// Splits a Dockerfile into instructions: comment lines dropped, `\` continuations joined.
fn instructions(text: &str) -> Vec<Instruction> {
    let mut out = Vec::new();
    let mut current = String::new();
    for line in text.lines() {
        let trimmed = line.trim();
        if trimmed.starts_with('#') || trimmed.is_empty() {
            continue;
        }
        if let Some(head) = trimmed.strip_suffix('\\') {
            current.push_str(head);
            current.push(' ');
            continue;
        }
        current.push_str(trimmed);
        let logical = std::mem::take(&mut current);
        let logical = logical.trim();
        let (keyword, args) = logical
            .split_once(char::is_whitespace)
            .unwrap_or((logical, ""));
        out.push(Instruction {
            keyword: keyword.to_ascii_uppercase(),
            args: args.trim().to_owned(),
        });
    }
    out
}

fn final_stage(all: &[Instruction]) -> &[Instruction] {
    let last_from = all
        .iter()
        .rposition(|i| i.keyword == "FROM")
        .expect("the Dockerfile has no FROM");
    &all[last_from..]
}

/// The base image of a `FROM` line: `FROM [--platform=..] image [AS name]`.
fn from_image(args: &str) -> &str {
    args.split_whitespace()
        .find(|w| !w.starts_with("--"))
        .unwrap_or("")
}

#[test]
fn dockerfile_final_stage_is_scratch_or_distroless_static() {
    let all = instructions(&read("Dockerfile"));
    assert!(
        all.iter().filter(|i| i.keyword == "FROM").count() >= 2,
        "the Dockerfile should be multi-stage"
    );
    let stage = final_stage(&all);
    let image = from_image(&stage[0].args);
    assert!(
        image == "scratch" || image.starts_with("gcr.io/distroless/static"),
        "the final stage should be FROM scratch or distroless static, found {image:?}"
    );
}

#[test]
fn dockerfile_final_stage_has_no_shell_and_runs_as_the_runner_requires() {
    let all = instructions(&read("Dockerfile"));
    let stage = final_stage(&all);
    let runs: Vec<_> = stage.iter().filter(|i| i.keyword == "RUN").collect();
    assert!(runs.is_empty(), "the final stage runs commands: {runs:?}");

    // GitHub's contract for container actions: the image's default user (root) runs them, or
    // the step cannot append to $GITHUB_OUTPUT. A USER in the final stage breaks every run.
    let users: Vec<_> = stage.iter().filter(|i| i.keyword == "USER").collect();
    assert!(
        users.is_empty(),
        "a USER in the final stage makes $GITHUB_OUTPUT unwritable in a container action: {users:?}"
    );

    let entrypoint = stage
        .iter()
        .rfind(|i| i.keyword == "ENTRYPOINT")
        .expect("the final stage has no ENTRYPOINT");
    assert_eq!(entrypoint.args, r#"["/registry-action"]"#);

    let copies: Vec<&str> = stage
        .iter()
        .filter(|i| i.keyword == "COPY")
        .map(|i| i.args.as_str())
        .collect();
    assert!(
        copies
            .iter()
            .any(|c| c.ends_with("/etc/ssl/certs/ca-certificates.crt")),
        "the final stage should ship CA certificates: {copies:?}"
    );
}

#[test]
fn dockerfile_declares_no_secret_looking_env_or_arg() {
    for instruction in instructions(&read("Dockerfile")) {
        if instruction.keyword != "ENV" && instruction.keyword != "ARG" {
            continue;
        }
        // `ENV A=1 B=2`, `ENV A 1`, `ARG A`, `ARG A=default`: every name before an `=` or the first.
        let names: Vec<&str> = if instruction.args.contains('=') {
            instruction
                .args
                .split_whitespace()
                .filter_map(|w| w.split_once('=').map(|(n, _)| n))
                .collect()
        } else {
            instruction.args.split_whitespace().take(1).collect()
        };
        for name in names {
            let upper = name.to_ascii_uppercase();
            assert!(
                !SECRET_WORDS.iter().any(|w| upper.contains(w)),
                "{} {name} looks like a secret",
                instruction.keyword
            );
        }
    }
}

#[test]
fn dockerfile_parser_reads_continuations_and_stages() {
    let text = "# syntax=docker/dockerfile:1\nARG V=1\nFROM --platform=$BUILDPLATFORM rust:${V} AS build\nRUN a \\\n  # note\n  && b\n\nFROM scratch\nUSER 65532:65532\n";
    let all = instructions(text);
    let keywords: Vec<&str> = all.iter().map(|i| i.keyword.as_str()).collect();
    assert_eq!(keywords, ["ARG", "FROM", "RUN", "FROM", "USER"]);
    assert_eq!(from_image(&all[1].args), "rust:${V}");
    assert_eq!(all[2].args, "a  && b");
    assert_eq!(final_stage(&all).len(), 2);
}

#[test]
fn dockerignore_excludes_git_and_build_output() {
    let ignore = read(".dockerignore");
    let entries: Vec<&str> = ignore
        .lines()
        .map(str::trim)
        .filter(|l| !l.starts_with('#'))
        .collect();
    for needed in [".git", "target"] {
        assert!(
            entries.contains(&needed),
            ".dockerignore should exclude {needed}"
        );
    }
}

// ---------------------------------------------------------------------------------------------
// CI

const WORKFLOWS: &[&str] = &[
    ".github/workflows/ci.yml",
    ".github/workflows/self-test.yml",
];

/// Every step of every job in a workflow.
fn steps(workflow: &Yaml, rel: &str) -> Vec<Yaml> {
    keys(&workflow["jobs"], &format!("{rel} jobs"))
        .iter()
        .flat_map(|job| {
            workflow["jobs"][job.as_str()]["steps"]
                .as_vec()
                .cloned()
                .unwrap_or_default()
        })
        .collect()
}

#[test]
fn workflows_read_only_and_pin_third_party_actions() {
    for rel in WORKFLOWS {
        let workflow = load_yaml(rel);
        let permissions = keys(&workflow["permissions"], &format!("{rel} permissions"));
        assert_eq!(
            permissions,
            ["contents"],
            "{rel} should grant only contents"
        );
        assert_eq!(
            str_of(&workflow["permissions"]["contents"], "permissions.contents"),
            "read"
        );
        for job in keys(&workflow["jobs"], rel) {
            assert!(
                workflow["jobs"][job.as_str()]["permissions"].is_badvalue(),
                "{rel} job {job} widens permissions"
            );
        }
        let triggers = keys(&workflow["on"], &format!("{rel} on"));
        for event in ["push", "pull_request"] {
            assert!(
                triggers.iter().any(|t| t == event),
                "{rel} does not run on {event}"
            );
        }
        for step in steps(&workflow, rel) {
            let Some(uses) = step["uses"].as_str() else {
                continue;
            };
            if uses.starts_with("./") {
                continue;
            }
            let (_, rev) = uses
                .split_once('@')
                .unwrap_or_else(|| panic!("{rel}: {uses} has no version"));
            let pinned = rev.len() == 40 && rev.bytes().all(|b| b.is_ascii_hexdigit());
            assert!(pinned, "{rel}: {uses} is not pinned by a full commit SHA");
        }
    }
}

/// Every workflow, the release one included.
const ALL_WORKFLOWS: &[&str] = &[
    ".github/workflows/ci.yml",
    ".github/workflows/self-test.yml",
    ".github/workflows/release.yml",
];

/// `(job, step)` for every step of every job in a workflow.
fn job_steps(workflow: &Yaml, rel: &str) -> Vec<(String, Yaml)> {
    keys(&workflow["jobs"], &format!("{rel} jobs"))
        .into_iter()
        .flat_map(|job| {
            let steps = workflow["jobs"][job.as_str()]["steps"]
                .as_vec()
                .cloned()
                .unwrap_or_default();
            steps.into_iter().map(move |s| (job.clone(), s))
        })
        .collect()
}

#[test]
fn pipes_are_found_outside_quotes_and_comments_only() {
    assert!(has_pipe("a | b"));
    assert!(has_pipe("x=\"$(a|b)\""));
    assert!(has_pipe("a \\\n  | b"));
    assert!(!has_pipe("a || b"));
    assert!(!has_pipe("sed 's|a|b|' f"));
    assert!(!has_pipe("echo \"a|b\""));
    assert!(!has_pipe("echo a # not | a pipe\necho b"));
    assert!(!has_pipe("echo \\|"));
    assert!(!has_pipe("x=\"$(a) | b\""));
    assert!(has_pipe("x=\"$(a \"$(b)\" | c)\""));
}

#[test]
fn shells_follow_the_runners_rules() {
    let workflow = YamlLoader::load_from_str(
        "defaults: {run: {shell: sh}}\n\
         jobs:\n  \
           plain: {runs-on: x, steps: [{run: a}]}\n  \
           boxed: {runs-on: x, container: rust, defaults: {run: {shell: bash}}, steps: [{run: a}, {run: a, shell: sh}]}\n",
    )
    .expect("yaml")
    .remove(0);
    let step = |job: &str, i: usize| workflow["jobs"][job]["steps"][i].clone();
    assert_eq!(
        step_shell(&workflow, "plain", &step("plain", 0)),
        ["sh", "-e"]
    );
    assert_eq!(
        step_shell(&workflow, "boxed", &step("boxed", 0)),
        ["bash", "--noprofile", "--norc", "-eo", "pipefail"]
    );
    assert_eq!(
        step_shell(&workflow, "boxed", &step("boxed", 1)),
        ["sh", "-e"]
    );
    let bare = YamlLoader::load_from_str(
        "jobs:\n  host: {steps: [{run: a}]}\n  boxed: {container: rust, steps: [{run: a}]}\n",
    )
    .expect("yaml")
    .remove(0);
    let bare_step = |job: &str| bare["jobs"][job]["steps"][0].clone();
    assert_eq!(
        step_shell(&bare, "host", &bare_step("host")),
        ["bash", "-e"]
    );
    assert_eq!(
        step_shell(&bare, "boxed", &bare_step("boxed")),
        ["sh", "-e"]
    );
}

#[test]
fn workflow_steps_with_a_pipe_run_under_bash_with_pipefail() {
    // Without pipefail (`sh -e` in a container job, `bash -e` on the runner itself) a pipe's
    // status is its last command's: `build | tee log` passes when the build fails.
    for rel in ALL_WORKFLOWS {
        let workflow = load_yaml(rel);
        for (job, step) in job_steps(&workflow, rel) {
            let Some(run) = step["run"].as_str() else {
                continue;
            };
            if !has_pipe(run) {
                continue;
            }
            let shell = step_shell(&workflow, &job, &step).join(" ");
            assert!(
                shell.contains("-eo pipefail"),
                "{rel} job {job}: a step with a pipe runs under `{shell}`, without pipefail:\n{run}"
            );
        }
    }
}

#[test]
fn workflow_run_blocks_take_expressions_through_env_only() {
    // `${{ }}` in a script is pasted into the script's text before the shell reads it (template
    // injection); through `env:` it is a variable's value.
    for rel in ALL_WORKFLOWS {
        let workflow = load_yaml(rel);
        for (job, step) in job_steps(&workflow, rel) {
            let run = step["run"].as_str().unwrap_or_default();
            assert!(
                !run.contains("${{"),
                "{rel} job {job}: an expression inside run:\n{run}"
            );
        }
    }
}

const SELF_TEST: &str = ".github/workflows/self-test.yml";

/// Runs self-test.yml's output check as the runner would, with these outputs and event variables.
fn run_self_test_check(outputs: &SelfTestOutputs, event: &[(&str, &str)]) -> (bool, String) {
    let workflow = load_yaml(SELF_TEST);
    let steps = workflow["jobs"]["tags"]["steps"]
        .as_vec()
        .expect("self-test.yml jobs.tags.steps");
    let step = steps
        .iter()
        .find(|s| {
            s["name"]
                .as_str()
                .is_some_and(|n| n.starts_with("Check the outputs"))
        })
        .expect("self-test.yml has no step named \"Check the outputs...\"");
    for (var, output) in [
        ("VERSION", "version"),
        ("TAGS", "tags"),
        ("TAG_NAMES", "tag-names"),
        ("JSON", "json"),
    ] {
        assert_eq!(
            step["env"][var].as_str(),
            Some(format!("${{{{ steps.meta.outputs.{output} }}}}").as_str()),
            "the check reads the {output} output as {var}"
        );
    }
    let shell = step_shell(&workflow, "tags", step);
    let dir = tempfile::tempdir().expect("temp dir");
    let mut vars = vec![
        ("VERSION", outputs.version.as_str()),
        ("TAGS", outputs.tags.as_str()),
        ("TAG_NAMES", outputs.tag_names.as_str()),
        ("JSON", outputs.json.as_str()),
    ];
    vars.extend_from_slice(event);
    let output = run_step_script(
        &shell,
        str_of(&step["run"], "the check's run"),
        dir.path(),
        None,
        &vars,
    );
    let log = String::from_utf8_lossy(&output.stdout).into_owned()
        + &String::from_utf8_lossy(&output.stderr);
    (output.status.success(), log)
}

struct SelfTestOutputs {
    version: String,
    tags: String,
    tag_names: String,
    json: String,
}

impl SelfTestOutputs {
    /// The outputs for these tags of `image`, one per line, as the action writes them.
    fn lines(image: &str, names: &[&str]) -> Self {
        let tags: Vec<String> = names.iter().map(|n| format!("{image}:{n}")).collect();
        let quoted = |list: &[String]| {
            list.iter()
                .map(|t| format!("\"{t}\""))
                .collect::<Vec<_>>()
                .join(",")
        };
        let names: Vec<String> = names.iter().map(|n| n.to_string()).collect();
        SelfTestOutputs {
            version: names.first().cloned().unwrap_or_default(),
            tags: tags.join("\n"),
            tag_names: names.join("\n"),
            json: format!(
                "{{\"tags\":[{}],\"tag-names\":[{}],\"labels\":{{}},\"annotations\":[]}}",
                quoted(&tags),
                quoted(&names)
            ),
        }
    }
}

const PUSH_FEATURE: &[(&str, &str)] = &[
    ("GITHUB_EVENT_NAME", "push"),
    ("GITHUB_REF", "refs/heads/feature/login"),
    ("GITHUB_REF_NAME", "feature/login"),
    ("GITHUB_SHA", "abc1234def5678900000000000000000000000000"),
    ("GITHUB_REPOSITORY", "Octo/Registry-Action"),
];

#[test]
fn self_test_checks_the_tags_outputs_line_by_line() {
    let image = "ghcr.io/octo/registry-action";
    let good = SelfTestOutputs::lines(image, &["feature-login", "feature-login-abc1234"]);
    let (ok, log) = run_self_test_check(&good, PUSH_FEATURE);
    assert!(ok, "the expected lines should pass:\n{log}");

    // Every output one line with a literal `\n`: what a check for a non-empty `tags` let through.
    let one_line = SelfTestOutputs {
        tags: good.tags.replace('\n', "\\n"),
        tag_names: good.tag_names.replace('\n', "\\n"),
        json: good.json.clone(),
        version: good.version.clone(),
    };
    let (ok, log) = run_self_test_check(&one_line, PUSH_FEATURE);
    assert!(!ok, "one line with a literal \\n should fail:\n{log}");
    assert!(log.contains("backslash"), "{log}");

    for (what, outputs) in [
        (
            "the sha tag missing",
            SelfTestOutputs::lines(image, &["feature-login"]),
        ),
        (
            "an extra tag",
            SelfTestOutputs::lines(image, &["feature-login", "feature-login-abc1234", "latest"]),
        ),
        (
            "the repository not lower-cased",
            SelfTestOutputs::lines(
                "ghcr.io/Octo/Registry-Action",
                &["feature-login", "feature-login-abc1234"],
            ),
        ),
        (
            "the branch not sanitized",
            SelfTestOutputs::lines(image, &["feature/login", "feature/login-abc1234"]),
        ),
        ("no tags", SelfTestOutputs::lines(image, &[])),
    ] {
        let (ok, log) = run_self_test_check(&outputs, PUSH_FEATURE);
        assert!(!ok, "{what}: the check should fail:\n{log}");
    }

    let mut json_disagrees =
        SelfTestOutputs::lines(image, &["feature-login", "feature-login-abc1234"]);
    json_disagrees.json = SelfTestOutputs::lines(image, &["feature-login"]).json;
    let (ok, log) = run_self_test_check(&json_disagrees, PUSH_FEATURE);
    assert!(!ok, "a json output with other tags should fail:\n{log}");

    // A pull request gives exactly pr-<number>.
    let pull_request: &[(&str, &str)] = &[
        ("GITHUB_EVENT_NAME", "pull_request"),
        ("GITHUB_REF", "refs/pull/7/merge"),
        ("GITHUB_REF_NAME", "7/merge"),
        ("GITHUB_SHA", "abc1234def5678900000000000000000000000000"),
        ("GITHUB_REPOSITORY", "Octo/Registry-Action"),
    ];
    let (ok, log) = run_self_test_check(&SelfTestOutputs::lines(image, &["pr-7"]), pull_request);
    assert!(ok, "pr-7 should pass:\n{log}");
    let (ok, log) = run_self_test_check(&SelfTestOutputs::lines(image, &["pr-8"]), pull_request);
    assert!(!ok, "pr-8 on pull request 7 should fail:\n{log}");

    // Other events: the shape of each line.
    let tag_push: &[(&str, &str)] = &[
        ("GITHUB_EVENT_NAME", "push"),
        ("GITHUB_REF", "refs/tags/v1.2.3"),
        ("GITHUB_REF_NAME", "v1.2.3"),
        ("GITHUB_SHA", "abc1234def5678900000000000000000000000000"),
        ("GITHUB_REPOSITORY", "Octo/Registry-Action"),
    ];
    let release = SelfTestOutputs::lines(image, &["v1.2.3", "v1.2", "v1", "latest"]);
    let (ok, log) = run_self_test_check(&release, tag_push);
    assert!(ok, "a release's tags should pass:\n{log}");
    let (ok, log) = run_self_test_check(
        &SelfTestOutputs::lines(image, &["v1.2.3", "-bad"]),
        tag_push,
    );
    assert!(!ok, "an invalid tag should fail:\n{log}");
}

/// self-test.yml's `with:` for the action, with its `${{ }}` expressions evaluated for this event.
fn self_test_inputs(repository: &str, event_name: &str, git_ref: &str) -> Vec<(String, String)> {
    let workflow = load_yaml(SELF_TEST);
    let steps = workflow["jobs"]["tags"]["steps"]
        .as_vec()
        .expect("self-test.yml jobs.tags.steps");
    let meta = steps
        .iter()
        .find(|s| s["id"].as_str() == Some("meta"))
        .expect("self-test.yml has no step with id meta");
    let values = [
        ("${{ github.repository }}".to_owned(), repository.to_owned()),
        (
            "${{ github.event_name == 'push' && startsWith(github.ref, 'refs/heads/') }}"
                .to_owned(),
            (event_name == "push" && git_ref.starts_with("refs/heads/")).to_string(),
        ),
        (
            "${{ github.event_name == 'workflow_dispatch' }}".to_owned(),
            (event_name == "workflow_dispatch").to_string(),
        ),
    ];
    meta["with"]
        .as_hash()
        .expect("the meta step's with")
        .iter()
        .map(|(k, v)| {
            let mut value = match v {
                Yaml::Boolean(b) => b.to_string(),
                other => str_of(other, "a with value").to_owned(),
            };
            for (expr, evaluated) in &values {
                value = value.replace(expr, evaluated);
            }
            assert!(
                !value.contains("${{"),
                "self-test.yml with: an expression this test does not know: {value}"
            );
            (str_of(k, "a with key").to_owned(), value)
        })
        .collect()
}

#[test]
fn self_test_check_accepts_what_the_action_writes() {
    // The check's expectations against the binary itself, with self-test.yml's inputs.
    for (fixture_name, event_name, git_ref, ref_name) in [
        (
            "push-develop",
            "push",
            "refs/heads/feature/login",
            "feature/login",
        ),
        (
            "pull-request-456",
            "pull_request",
            "refs/pull/456/merge",
            "456/merge",
        ),
    ] {
        let event_path = fixture(fixture_name).join("event.json");
        let repository = "Octo-Org/App";
        let sha = "d3e7e10b2c3d4e5f60718293a4b5c6d7e8f90123";
        let event: Vec<(&str, &str)> = vec![
            ("GITHUB_EVENT_NAME", event_name),
            (
                "GITHUB_EVENT_PATH",
                event_path.to_str().expect("utf-8 path"),
            ),
            ("GITHUB_REF", git_ref),
            ("GITHUB_REF_NAME", ref_name),
            ("GITHUB_REF_TYPE", "branch"),
            ("GITHUB_SHA", sha),
            ("GITHUB_REPOSITORY", repository),
            ("GITHUB_REPOSITORY_OWNER", "Octo-Org"),
            ("SOURCE_DATE_EPOCH", "1763856000"),
        ];
        let inputs: Vec<(String, String)> = self_test_inputs(repository, event_name, git_ref)
            .into_iter()
            .map(|(k, v)| (registry_action::inputs::input_env_var(&k), v))
            .collect();
        let mut vars: Vec<(&str, &str)> = event.clone();
        vars.extend(inputs.iter().map(|(k, v)| (k.as_str(), v.as_str())));
        let action = run(&[], &vars);
        assert!(action.success(), "{fixture_name}: {}", action.console());
        let outputs = SelfTestOutputs {
            version: action.get("version"),
            tags: action.get("tags"),
            tag_names: action.get("tag-names"),
            json: action.get("json"),
        };
        let (ok, log) = run_self_test_check(&outputs, &event);
        assert!(
            ok,
            "{fixture_name}: the check refused the action's outputs:\n{log}"
        );
    }
}

#[test]
fn workflow_lint_script_pins_zizmor_runs_offline_and_checks_every_run_block() {
    let script = read("scripts/lint-workflows.sh");
    assert!(script.starts_with("#!/usr/bin/env bash"), "shebang");
    assert!(script.contains("set -euo pipefail"), "strict mode");
    assert!(script.contains("source scripts/lib.sh"), "sources lib.sh");
    assert!(
        script.contains("ra_apt_ensure shellcheck:shellcheck"),
        "installs shellcheck"
    );
    let version = script
        .lines()
        .find_map(|l| l.strip_prefix("ZIZMOR_VERSION="))
        .expect("ZIZMOR_VERSION=<version>");
    assert!(
        version.split('.').count() == 3 && version.split('.').all(|p| p.parse::<u32>().is_ok()),
        "zizmor is pinned to a full version, found {version:?}"
    );
    assert!(
        script.contains("\"zizmor==$ZIZMOR_VERSION\""),
        "pip pins zizmor"
    );
    for flag in ["--offline", "--min-severity medium"] {
        assert!(script.contains(flag), "zizmor runs with {flag}");
    }
    assert!(script.contains("action.yml"), "zizmor audits action.yml");
    assert!(
        script.contains(".github/workflows/*.yml"),
        "every workflow is linted"
    );
    assert!(
        script.contains("shellcheck --shell="),
        "run: blocks go through shellcheck"
    );
}

#[test]
fn ci_workflow_runs_lints_tests_and_a_multi_platform_image_build() {
    let rel = ".github/workflows/ci.yml";
    let workflow = load_yaml(rel);
    let jobs = keys(&workflow["jobs"], rel);
    for job in ["fmt", "clippy", "tests", "docker"] {
        assert!(jobs.iter().any(|j| j == job), "{rel} has no {job} job");
    }
    let job_runs = |job: &str| -> String {
        workflow["jobs"][job]["steps"]
            .as_vec()
            .into_iter()
            .flatten()
            .filter_map(|s| s["run"].as_str())
            .collect::<Vec<_>>()
            .join("\n")
    };
    assert!(job_runs("fmt").contains("cargo fmt"));
    assert!(job_runs("clippy").contains("cargo clippy"));
    assert!(job_runs("tests").contains("bash scripts/test.sh"));

    let build = workflow["jobs"]["docker"]["steps"]
        .as_vec()
        .into_iter()
        .flatten()
        .find(|s| {
            s["uses"]
                .as_str()
                .is_some_and(|u| u.starts_with("docker/build-push-action@"))
        })
        .expect("the docker job does not use docker/build-push-action");
    let push = &build["with"]["push"];
    assert!(
        *push == Yaml::Boolean(false) || push.as_str() == Some("false"),
        "the image build must not push, found {push:?}"
    );
    let platforms = str_of(&build["with"]["platforms"], "platforms");
    for platform in ["linux/amd64", "linux/arm64"] {
        assert!(
            platforms.split(',').any(|p| p.trim() == platform),
            "the image build lacks {platform}"
        );
    }
}

#[test]
fn ci_entry_point_runs_the_test_script() {
    let run = read(".ci/run");
    assert!(run.starts_with("#!/usr/bin/env bash"), ".ci/run shebang");
    assert!(
        run.lines()
            .any(|l| !l.trim_start().starts_with('#') && l.contains("scripts/test.sh")),
        ".ci/run does not call scripts/test.sh"
    );
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let mode = std::fs::metadata(repo_path(".ci/run"))
            .expect(".ci/run")
            .permissions()
            .mode();
        assert!(mode & 0o111 != 0, ".ci/run is not executable");
    }
}
