//! A job as the runner runs it: the workspace, home, workflow and file-command folders on the
//! host, the job's `GITHUB_*` context, its secrets and variables, and steps of this action run in
//! its image with the runner's contract (DESIGN.md, "The runner's contract").

use std::collections::BTreeMap;
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::process::Output;

use super::expr::evaluate;
use super::files::{WorkflowCommand, parse_file_command, workflow_commands};
use super::podman::{self, Image};

/// The hosted runner's user (`runner`): it owns the workspace and the file-command files.
const RUNNER_UID: u32 = 1001;

/// One `uses: <org>/registry-action@<sha>` step: its `with:` and `env:`, unevaluated (as written
/// in a workflow, `${{ }}` included).
#[derive(Debug, Clone, Default)]
pub struct Step {
    pub with: Vec<(String, String)>,
    pub env: Vec<(String, String)>,
}

impl Step {
    pub fn with(mut self, name: &str, value: &str) -> Step {
        self.with.retain(|(n, _)| n != name);
        self.with.push((name.to_owned(), value.to_owned()));
        self
    }
}

pub struct Job {
    image: &'static Image,
    root: tempfile::TempDir,
    /// The `GITHUB_*` values of the event (as the fixture's `env` gives them).
    github: BTreeMap<String, String>,
    /// Job-level `env:` (unevaluated).
    pub env: Vec<(String, String)>,
    pub secrets: BTreeMap<String, String>,
    pub vars: BTreeMap<String, String>,
    /// The job's `GITHUB_TOKEN` (`${{ github.token }}`), shaped as GitHub's (`ghs_` + 36).
    pub token: String,
    /// `-v` mounts besides the runner's four (a test's changes to the container).
    pub volumes: Vec<String>,
    steps: std::cell::Cell<usize>,
}

/// What the runner has after a step.
pub struct StepResult {
    pub output: Output,
    /// `$GITHUB_OUTPUT` as the runner parses it; `Err` fails the step on GitHub.
    pub outputs: Result<Vec<(String, String)>, String>,
    pub summary: String,
    pub env_file: Result<Vec<(String, String)>, String>,
    pub commands: Vec<WorkflowCommand>,
    /// The variables the container got, by name.
    pub env: BTreeMap<String, String>,
    pub elapsed: std::time::Duration,
}

impl Job {
    /// A job for the event of `fixtures/<name>` (its `env` and `event.json`); `None` when the
    /// image cannot run here (see [`podman::image`]). The fixture's `INPUT_*` lines are the
    /// workflow's `with:`, returned as the step.
    pub fn from_fixture(name: &str) -> Option<(Job, Step)> {
        let image = podman::image()?;
        let dir = crate::support::fixture(name);
        let text = std::fs::read_to_string(dir.join("env")).expect("fixture env");
        let text: String = text
            .lines()
            .filter(|l| !l.starts_with('#'))
            .map(|l| format!("{l}\n"))
            .collect();
        let inputs = super::action::inputs();
        let mut github = BTreeMap::new();
        let mut step = Step::default();
        for (name, value) in parse_file_command(&text).expect("fixture env format") {
            if let Some(input) = inputs
                .iter()
                .find(|i| registry_action::inputs::input_env_var(&i.name) == name)
            {
                step.with.push((input.name.clone(), value));
            } else if name.starts_with("GITHUB_") {
                github.insert(name, value);
            } else {
                step.env.push((name, value));
            }
        }
        let root = tempfile::tempdir().expect("temp dir");
        for sub in ["workspace", "home", "workflow", "file_commands"] {
            std::fs::create_dir(root.path().join(sub)).expect("runner folder");
            runner_owned(&root.path().join(sub), 0o755);
        }
        std::fs::copy(
            dir.join("event.json"),
            root.path().join("workflow/event.json"),
        )
        .expect("event.json");
        let job = Job {
            image,
            root,
            github,
            env: Vec::new(),
            secrets: BTreeMap::new(),
            vars: BTreeMap::new(),
            token: job_token(name),
            volumes: Vec::new(),
            steps: std::cell::Cell::new(0),
        };
        Some((job, step))
    }

    /// Sets a `GITHUB_*` value of the job's context (as a GHES runner gives another
    /// `GITHUB_API_URL`).
    pub fn set_github(&mut self, name: &str, value: &str) {
        self.github.insert(name.to_owned(), value.to_owned());
    }

    /// The repository's name without its owner (`app` of `octo-org/app`).
    fn repo_name(&self) -> &str {
        let repository = &self.github["GITHUB_REPOSITORY"];
        repository.rsplit('/').next().unwrap_or(repository)
    }

    /// `github.workspace` on the runner's host: `/home/runner/work/<repo>/<repo>`.
    pub fn host_workspace(&self) -> String {
        let name = self.repo_name();
        format!("/home/runner/work/{name}/{name}")
    }

    /// The workspace folder (mounted at `/github/workspace`).
    pub fn workspace(&self) -> PathBuf {
        self.root.path().join("workspace")
    }

    /// Where a host path under `github.workspace` is in this job's folders.
    pub fn host_path(&self, host: &str) -> PathBuf {
        let rest = host
            .strip_prefix(&self.host_workspace())
            .unwrap_or_else(|| panic!("{host} is not in the workspace"));
        self.workspace().join(rest.trim_start_matches('/'))
    }

    /// The expression contexts: `github.*`, `secrets.*`, `vars.*`.
    pub fn context(&self) -> BTreeMap<String, String> {
        let g = |name: &str| self.github.get(name).cloned().unwrap_or_default();
        let mut context: BTreeMap<String, String> = [
            ("github.event_name", g("GITHUB_EVENT_NAME")),
            ("github.ref", g("GITHUB_REF")),
            ("github.ref_name", g("GITHUB_REF_NAME")),
            ("github.ref_type", g("GITHUB_REF_TYPE")),
            ("github.sha", g("GITHUB_SHA")),
            ("github.repository", g("GITHUB_REPOSITORY")),
            ("github.repository_owner", g("GITHUB_REPOSITORY_OWNER")),
            ("github.actor", "octocat".to_owned()),
            ("github.workspace", self.host_workspace()),
            ("github.token", self.token.clone()),
            ("secrets.GITHUB_TOKEN", self.token.clone()),
        ]
        .into_iter()
        .map(|(k, v)| (k.to_owned(), v))
        .collect();
        for (name, value) in &self.secrets {
            context.insert(format!("secrets.{name}"), value.clone());
        }
        for (name, value) in &self.vars {
            context.insert(format!("vars.{name}"), value.clone());
        }
        context
    }

    /// Runs `step` in the image as the runner does.
    pub fn run(&self, step: &Step) -> StepResult {
        let context = self.context();
        let n = self.steps.get() + 1;
        self.steps.set(n);
        let commands = self.root.path().join("file_commands");
        let file = |kind: &str| {
            let name = format!("{kind}_{n:08x}-0000-4000-8000-{:012x}", n);
            let path = commands.join(&name);
            std::fs::write(&path, "").expect("file command");
            runner_owned(&path, 0o644);
            (path, format!("/github/file_commands/{name}"))
        };
        let (output_file, output_var) = file("set_output");
        let (summary_file, summary_var) = file("step_summary");
        let (env_file, env_var) = file("set_env");
        let (_, path_var) = file("add_path");
        let (_, state_var) = file("save_state");

        // Inputs: every one action.yml declares, the step's value or else the default as YAML
        // gives it; expressions evaluated. Then the job's and the step's `env:`.
        let mut env: Vec<(String, String)> = Vec::new();
        let mut set = |name: String, value: String| {
            env.retain(|(n, _)| *n != name);
            env.push((name, value));
        };
        for input in super::action::inputs() {
            let given = step.with.iter().find(|(n, _)| *n == input.name);
            let value = given.map_or(input.default.as_deref().unwrap_or(""), |(_, v)| v);
            set(
                registry_action::inputs::input_env_var(&input.name),
                evaluate(value, &context),
            );
        }
        for (name, value) in self.env.iter().chain(&step.env) {
            set(name.clone(), evaluate(value, &context));
        }
        for (name, value) in &self.github {
            set(name.clone(), value.clone());
        }
        for (name, value) in [
            ("HOME", "/github/home".to_owned()),
            (
                "GITHUB_EVENT_PATH",
                "/github/workflow/event.json".to_owned(),
            ),
            ("GITHUB_WORKSPACE", "/github/workspace".to_owned()),
            ("GITHUB_OUTPUT", output_var),
            ("GITHUB_STEP_SUMMARY", summary_var),
            ("GITHUB_ENV", env_var),
            ("GITHUB_PATH", path_var),
            ("GITHUB_STATE", state_var),
            ("GITHUB_ACTIONS", "true".to_owned()),
            ("CI", "true".to_owned()),
            ("GITHUB_ACTOR", "octocat".to_owned()),
            ("GITHUB_TRIGGERING_ACTOR", "octocat".to_owned()),
            ("GITHUB_JOB", "image".to_owned()),
            ("GITHUB_WORKFLOW", "image".to_owned()),
            ("GITHUB_ACTION", format!("__run_{n}")),
            ("GITHUB_ACTION_REPOSITORY", String::new()),
            ("GITHUB_ACTION_REF", String::new()),
            ("GITHUB_RUN_ATTEMPT", "1".to_owned()),
            ("GITHUB_RETENTION_DAYS", "90".to_owned()),
            (
                "GITHUB_GRAPHQL_URL",
                "https://api.github.com/graphql".to_owned(),
            ),
            ("RUNNER_OS", "Linux".to_owned()),
            ("RUNNER_ARCH", "X64".to_owned()),
            ("RUNNER_NAME", "GitHub Actions 1000000001".to_owned()),
            ("RUNNER_ENVIRONMENT", "github-hosted".to_owned()),
            ("RUNNER_TOOL_CACHE", "/opt/hostedtoolcache".to_owned()),
            ("RUNNER_TEMP", "/home/runner/work/_temp".to_owned()),
            (
                "RUNNER_WORKSPACE",
                format!("/home/runner/work/{}", self.repo_name()),
            ),
        ] {
            set(name.to_owned(), value);
        }
        let mounts = [
            (self.root.path().join("workspace"), "/github/workspace"),
            (self.root.path().join("home"), "/github/home"),
            (self.root.path().join("workflow"), "/github/workflow"),
            (commands.clone(), "/github/file_commands"),
        ];
        let started = std::time::Instant::now();
        let output = self.image.run(&podman::Run {
            env: &env,
            mounts: &mounts,
            volumes: &self.volumes,
        });
        let elapsed = started.elapsed();
        let read = |p: &Path| std::fs::read_to_string(p).expect("file command readable");
        let stdout = String::from_utf8_lossy(&output.stdout).into_owned();
        StepResult {
            outputs: parse_file_command(&read(&output_file)),
            summary: read(&summary_file),
            env_file: parse_file_command(&read(&env_file)),
            commands: workflow_commands(&stdout),
            env: env.into_iter().collect(),
            output,
            elapsed,
        }
    }
}

/// A token shaped like a job's `GITHUB_TOKEN`: `ghs_` and 36 alphanumerics.
fn job_token(seed: &str) -> String {
    use sha2::Digest;
    let hash = sha2::Sha256::digest(seed.as_bytes());
    let alphabet = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789";
    let body: String = hash
        .iter()
        .chain(hash.iter())
        .take(36)
        .map(|b| alphabet[usize::from(*b) % alphabet.len()] as char)
        .collect();
    format!("ghs_{body}")
}

/// Gives `path` to the runner's user with `mode`, as the hosted runner leaves its files.
fn runner_owned(path: &Path, mode: u32) {
    std::os::unix::fs::chown(path, Some(RUNNER_UID), Some(RUNNER_UID)).expect("chown to 1001");
    std::fs::set_permissions(path, std::fs::Permissions::from_mode(mode)).expect("chmod");
}

impl StepResult {
    pub fn success(&self) -> bool {
        self.output.status.success()
    }
    pub fn stdout(&self) -> String {
        String::from_utf8_lossy(&self.output.stdout).into_owned()
    }
    pub fn stderr(&self) -> String {
        String::from_utf8_lossy(&self.output.stderr).into_owned()
    }
    /// Everything a reader of the step could see: log, outputs file, summary. `::add-mask::`
    /// lines are left out: the runner takes them and shows nothing of them.
    pub fn everything(&self) -> String {
        let shown: Vec<&str> = self.stdout_lines_shown();
        format!(
            "{}\n{}\n{:?}\n{}",
            shown.join("\n"),
            self.stderr(),
            self.outputs,
            self.summary
        )
    }
    fn stdout_lines_shown(&self) -> Vec<&str> {
        std::str::from_utf8(&self.output.stdout)
            .unwrap_or_default()
            .lines()
            .filter(|l| !l.trim_start().starts_with("::add-mask::"))
            .collect()
    }
    /// The log, for assertion messages.
    pub fn log(&self) -> String {
        format!(
            "exit {:?}\n--- stdout\n{}--- stderr\n{}",
            self.output.status.code(),
            self.stdout(),
            self.stderr()
        )
    }
    pub fn outputs(&self) -> &[(String, String)] {
        self.outputs
            .as_ref()
            .unwrap_or_else(|e| panic!("the runner refuses $GITHUB_OUTPUT: {e}\n{}", self.log()))
    }
    pub fn get(&self, name: &str) -> &str {
        self.outputs()
            .iter()
            .find(|(n, _)| n == name)
            .map(|(_, v)| v.as_str())
            .unwrap_or_else(|| panic!("no output `{name}`\n{}", self.log()))
    }
    /// Asserts the step succeeded as the runner sees it: exit 0, and file commands the runner
    /// accepts (a malformed `$GITHUB_OUTPUT` or `$GITHUB_ENV` fails the step on GitHub).
    pub fn assert_success(&self) -> &Self {
        assert!(self.success(), "the step failed:\n{}", self.log());
        self.outputs();
        if let Err(e) = &self.env_file {
            panic!("the runner refuses $GITHUB_ENV: {e}\n{}", self.log());
        }
        self
    }
    /// Asserts each of `secrets` is masked (`::add-mask::`) before the log shows anything else.
    pub fn assert_masked_first(&self, secrets: &[&str]) {
        let stdout = self.stdout();
        let first_other = stdout
            .lines()
            .position(|l| !l.trim_start().starts_with("::add-mask::"))
            .unwrap_or(usize::MAX);
        for secret in secrets {
            let mask = self
                .commands
                .iter()
                .find(|c| c.name == "add-mask" && c.message == *secret);
            assert!(
                mask.is_some_and(|m| m.line < first_other),
                "a secret is not masked before line {first_other} of the log:\n{}",
                self.log().replace(secret, "<the secret>")
            );
        }
    }
    /// Asserts none of `secrets` appears anywhere a reader could see it.
    pub fn assert_no_leak(&self, secrets: &[&str]) {
        let everything = self.everything();
        for secret in secrets {
            assert!(
                !everything.contains(secret),
                "a secret reached the log, outputs or summary"
            );
        }
    }
}
