//! The command line: the same binary is the container's entrypoint (no arguments: everything comes
//! from `INPUT_*` / `GITHUB_*`) and a local CLI whose flags mirror the inputs, for reproducing a
//! workflow's tags on a laptop. Flags become the variables the runner would set.

use crate::inputs::input_env_var;
use clap::Parser;
use std::path::PathBuf;

#[derive(Debug, Parser)]
#[command(
    name = "registry-action",
    version,
    about = "Compute image tags like docker/metadata-action (and safer), then publish, verify and clean up images across registries.",
    long_about = "Compute image tags like docker/metadata-action (and safer), then publish, verify and clean up images across registries.\n\n\
In a workflow, every setting comes from the action's inputs (INPUT_* variables) and the GitHub context (GITHUB_* variables, the event payload). \
Locally, the flags below set the same values; --env-file loads a saved environment (KEY=VALUE lines, KEY<<EOF heredocs).\n\n\
Example: registry-action --env-file fixtures/release-v0.2.0/env --images ghcr.io/octo/app"
)]
pub struct Cli {
    /// What to do: publish (default: computes tags and, with a source, publishes), verify, cleanup. Sets INPUT_COMMAND.
    pub command: Option<String>,

    /// Image names, one per line (repeat the flag for more). Sets INPUT_IMAGES.
    #[arg(long, value_name = "LINES")]
    pub images: Vec<String>,
    /// Tag rules in docker/metadata-action syntax, e.g. `type=semver,pattern={{version}}` (repeatable). Sets INPUT_TAGS.
    #[arg(long, value_name = "LINES")]
    pub tags: Vec<String>,
    /// Flavor lines: `latest=auto|true|false`, `prefix=..`, `suffix=..`, `onlatest=true` (repeatable). Sets INPUT_FLAVOR.
    #[arg(long, value_name = "LINES")]
    pub flavor: Vec<String>,
    /// Extra labels, `key=value` (repeatable). Sets INPUT_LABELS.
    #[arg(long, value_name = "LINES")]
    pub labels: Vec<String>,
    /// Extra annotations, `key=value` (repeatable). Sets INPUT_ANNOTATIONS.
    #[arg(long, value_name = "LINES")]
    pub annotations: Vec<String>,
    /// Separator of the `tags` and `tag-names` outputs (default newline). Sets INPUT_SEP-TAGS.
    #[arg(long, value_name = "SEP")]
    pub sep_tags: Option<String>,
    /// Separator of the `labels` output (default newline). Sets INPUT_SEP-LABELS.
    #[arg(long, value_name = "SEP")]
    pub sep_labels: Option<String>,
    /// Separator of the `annotations` output (default newline). Sets INPUT_SEP-ANNOTATIONS.
    #[arg(long, value_name = "SEP")]
    pub sep_annotations: Option<String>,
    /// Plan only: read everything, write nothing to any registry or API. Sets INPUT_DRY-RUN=true.
    #[arg(long)]
    pub dry_run: bool,

    /// The image to publish: `oci:<dir>[:<ref>]`, `oci-archive:<file>[:<ref>]` or `[docker://]<registry>/<repo>:<tag>`. Sets INPUT_SOURCE.
    #[arg(long, value_name = "IMAGE")]
    pub source: Option<String>,
    /// Let a release tag (`v1.2.3`) move to a different image. Sets INPUT_OVERWRITE-RELEASES=true.
    #[arg(long)]
    pub overwrite_releases: bool,
    /// publish: the longest the run may take against registries (`30m`, `2h`; default 60m); then it stops, reports what was written, and fails. Sets INPUT_TIMEOUT.
    #[arg(long, value_name = "DURATION")]
    pub timeout: Option<String>,
    /// Registries (`host[:port]`) to reach over plain HTTP when HTTPS fails (repeatable). Sets INPUT_INSECURE-REGISTRIES.
    /// Registry logins come from INPUT_CREDENTIALS or Docker's config.json, never from flags.
    #[arg(long, value_name = "HOST")]
    pub insecure_registries: Vec<String>,

    /// verify: tags to check, comma- or line-separated (`*`: every tag of the first image). Sets INPUT_VERIFY-TAGS.
    #[arg(long, value_name = "TAGS")]
    pub verify_tags: Vec<String>,
    /// verify: repair drift by publishing from the first image to the others. Sets INPUT_SYNC=true.
    #[arg(long)]
    pub sync: bool,
    /// verify: exit 0 even when the registries disagree. Sets INPUT_FAIL-ON-DRIFT=false.
    #[arg(long)]
    pub no_fail_on_drift: bool,

    /// cleanup: the retention policy, one rule per flag or line (`keep tag=latest`). Sets INPUT_RETENTION.
    #[arg(long, value_name = "RULE")]
    pub retention: Vec<String>,
    /// cleanup: pull request numbers known to be closed. Sets INPUT_CLOSED-PULL-REQUESTS.
    #[arg(long, value_name = "N")]
    pub closed_pull_requests: Vec<String>,
    /// cleanup: `registry=github|dockerhub|oci[@url]`, which API cleans a registry (repeatable). Sets INPUT_REGISTRY-APIS.
    #[arg(long, value_name = "REGISTRY=API")]
    pub registry_apis: Vec<String>,

    /// Load variables from a saved environment file (applied over the process environment; repeatable).
    #[arg(long, value_name = "FILE")]
    pub env_file: Vec<PathBuf>,
    /// The event payload JSON. Sets GITHUB_EVENT_PATH.
    #[arg(long, value_name = "PATH")]
    pub event: Option<PathBuf>,
    /// The event name (push, pull_request, release, schedule, ...). Sets GITHUB_EVENT_NAME.
    #[arg(long, value_name = "NAME")]
    pub event_name: Option<String>,
    /// The Git ref (refs/heads/main, refs/tags/v1.2.3, refs/pull/7/merge). Sets GITHUB_REF.
    #[arg(long = "ref", value_name = "REF")]
    pub git_ref: Option<String>,
    /// The commit SHA. Sets GITHUB_SHA.
    #[arg(long, value_name = "SHA")]
    pub sha: Option<String>,
    /// The repository, owner/name. Sets GITHUB_REPOSITORY.
    #[arg(long, value_name = "OWNER/NAME")]
    pub repository: Option<String>,
    /// Append outputs to this file (the runner's GITHUB_OUTPUT). Without it, outputs are printed.
    #[arg(long, value_name = "FILE")]
    pub output: Option<PathBuf>,
    /// Append the Markdown report to this file (the runner's GITHUB_STEP_SUMMARY).
    #[arg(long, value_name = "FILE")]
    pub summary: Option<PathBuf>,
}

impl Cli {
    /// The variables the flags set, in the runner's names.
    pub fn overrides(&self) -> Vec<(String, String)> {
        let mut vars = Vec::new();
        let mut set = |name: String, value: Option<String>| {
            if let Some(v) = value {
                vars.push((name, v));
            }
        };
        let lines = |values: &[String]| (!values.is_empty()).then(|| values.join("\n"));
        let path = |p: &Option<PathBuf>| p.as_ref().map(|p| p.display().to_string());
        set(input_env_var("command"), self.command.clone());
        set(input_env_var("images"), lines(&self.images));
        set(input_env_var("tags"), lines(&self.tags));
        set(input_env_var("flavor"), lines(&self.flavor));
        set(input_env_var("labels"), lines(&self.labels));
        set(input_env_var("annotations"), lines(&self.annotations));
        set(input_env_var("sep-tags"), self.sep_tags.clone());
        set(input_env_var("sep-labels"), self.sep_labels.clone());
        set(
            input_env_var("sep-annotations"),
            self.sep_annotations.clone(),
        );
        set(
            input_env_var("dry-run"),
            self.dry_run.then(|| "true".to_string()),
        );
        set(input_env_var("source"), self.source.clone());
        set(
            input_env_var("overwrite-releases"),
            self.overwrite_releases.then(|| "true".to_string()),
        );
        set(
            input_env_var("insecure-registries"),
            lines(&self.insecure_registries),
        );
        set(input_env_var("verify-tags"), lines(&self.verify_tags));
        set(input_env_var("sync"), self.sync.then(|| "true".to_string()));
        set(
            input_env_var("fail-on-drift"),
            self.no_fail_on_drift.then(|| "false".to_string()),
        );
        set(input_env_var("retention"), lines(&self.retention));
        set(
            input_env_var("closed-pull-requests"),
            lines(&self.closed_pull_requests),
        );
        set(input_env_var("registry-apis"), lines(&self.registry_apis));
        set(input_env_var("timeout"), self.timeout.clone());
        set("GITHUB_EVENT_PATH".into(), path(&self.event));
        set("GITHUB_EVENT_NAME".into(), self.event_name.clone());
        set("GITHUB_REF".into(), self.git_ref.clone());
        set("GITHUB_SHA".into(), self.sha.clone());
        set("GITHUB_REPOSITORY".into(), self.repository.clone());
        set("GITHUB_OUTPUT".into(), path(&self.output));
        set("GITHUB_STEP_SUMMARY".into(), path(&self.summary));
        vars
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use clap::CommandFactory;

    #[test]
    fn cli_definition_is_valid() {
        Cli::command().debug_assert();
    }

    #[test]
    fn flags_become_runner_variables() {
        let cli = Cli::parse_from([
            "registry-action",
            "publish",
            "--tags",
            "type=sha",
            "--tags",
            "type=ref,event=pr",
            "--sep-tags",
            ",",
            "--dry-run",
            "--ref",
            "refs/heads/main",
        ]);
        let vars = cli.overrides();
        assert!(vars.contains(&("INPUT_COMMAND".into(), "publish".into())));
        assert!(vars.contains(&("INPUT_TAGS".into(), "type=sha\ntype=ref,event=pr".into())));
        assert!(vars.contains(&("INPUT_SEP-TAGS".into(), ",".into())));
        assert!(vars.contains(&("INPUT_DRY-RUN".into(), "true".into())));
        assert!(vars.contains(&("GITHUB_REF".into(), "refs/heads/main".into())));
        assert_eq!(Cli::parse_from(["registry-action"]).overrides(), vec![]);
    }
}
