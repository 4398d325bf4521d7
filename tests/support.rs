//! Shared helpers: run the built binary in a clean environment and read back what it wrote.

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};

pub fn fixture(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("fixtures")
        .join(name)
}

/// The result of one run: exit status, console, and the files the runner would read.
pub struct Run {
    pub output: Output,
    pub outputs_file: String,
    pub summary_file: String,
    pub env_file: String,
}

impl Run {
    pub fn stdout(&self) -> String {
        String::from_utf8_lossy(&self.output.stdout).into_owned()
    }
    pub fn stderr(&self) -> String {
        String::from_utf8_lossy(&self.output.stderr).into_owned()
    }
    /// The log and then the errors, as a terminal shows a local run (errors go to stderr
    /// outside a workflow).
    pub fn console(&self) -> String {
        self.stdout() + &self.stderr()
    }
    pub fn success(&self) -> bool {
        self.output.status.success()
    }
    /// The outputs, parsed from the `name<<DELIM` heredoc format by an independent parser.
    pub fn outputs(&self) -> Vec<(String, String)> {
        parse_heredocs(&self.outputs_file)
    }
    pub fn get(&self, name: &str) -> String {
        self.outputs()
            .into_iter()
            .find(|(n, _)| n == name)
            .map(|(_, v)| v)
            .unwrap_or_else(|| panic!("no output `{name}`"))
    }
}

/// Runs the binary with only `vars` (plus PATH) in its environment and the runner's files in a temp dir.
pub fn run(args: &[&str], vars: &[(&str, &str)]) -> Run {
    start(args, vars).finish()
}

/// A run of the binary still going (see [`start`]).
pub struct Started {
    pub child: Child,
    dir: tempfile::TempDir,
}

impl Started {
    /// Waits for the run to end and reads what it wrote.
    pub fn finish(self) -> Run {
        let output = self
            .child
            .wait_with_output()
            .expect("wait for registry-action");
        let read =
            |name: &str| std::fs::read_to_string(self.dir.path().join(name)).unwrap_or_default();
        Run {
            outputs_file: read("output"),
            summary_file: read("summary"),
            env_file: read("env"),
            output,
        }
    }
}

/// Starts the binary as [`run`] does, without waiting: for a test that signals it.
pub fn start(args: &[&str], vars: &[(&str, &str)]) -> Started {
    let dir = tempfile::tempdir().expect("temp dir");
    let mut command = Command::new(env!("CARGO_BIN_EXE_registry-action"));
    command
        .args(args)
        .env_clear()
        .env("PATH", std::env::var("PATH").unwrap_or_default())
        .env("GITHUB_OUTPUT", dir.path().join("output"))
        .env("GITHUB_STEP_SUMMARY", dir.path().join("summary"))
        .env("GITHUB_ENV", dir.path().join("env"))
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    for (k, v) in vars {
        command.env(k, v);
    }
    let child = command.spawn().expect("start registry-action");
    Started { child, dir }
}

/// Runs a bundled fixture scenario.
pub fn run_fixture(name: &str, extra: &[(&str, &str)]) -> Run {
    let env = fixture(name).join("env");
    run(&["--env-file", env.to_str().expect("utf-8 path")], extra)
}

/// Parses GitHub's file-command format: `name<<DELIM`, value lines, `DELIM`; or `name=value`.
pub fn parse_heredocs(text: &str) -> Vec<(String, String)> {
    let mut out = Vec::new();
    let mut lines = text.split('\n');
    while let Some(line) = lines.next() {
        if line.is_empty() {
            continue;
        }
        if let Some((name, delim)) = line.split_once("<<") {
            let mut value = Vec::new();
            loop {
                let next = lines
                    .next()
                    .unwrap_or_else(|| panic!("unterminated heredoc {delim}"));
                if next == delim {
                    break;
                }
                value.push(next);
            }
            out.push((name.to_string(), value.join("\n")));
        } else {
            let (name, value) = line
                .split_once('=')
                .unwrap_or_else(|| panic!("bad output line {line:?}"));
            out.push((name.to_string(), value.to_string()));
        }
    }
    out
}
