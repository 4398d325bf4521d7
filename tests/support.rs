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

/// How GitHub's runner runs a workflow's `run:` step on Linux: the step's `shell:`, else the job's
/// `defaults.run.shell`, else the workflow's, else its default (`sh` in a container job, `bash`
/// otherwise). Returns the command line the script file is appended to.
pub fn step_shell(workflow: &yaml_rust2::Yaml, job: &str, step: &yaml_rust2::Yaml) -> Vec<String> {
    let job_yaml = &workflow["jobs"][job];
    let named = step["shell"]
        .as_str()
        .or_else(|| job_yaml["defaults"]["run"]["shell"].as_str())
        .or_else(|| workflow["defaults"]["run"]["shell"].as_str());
    let shell = match named {
        Some(shell) => shell,
        None if !job_yaml["container"].is_badvalue() => "sh",
        None => "bash-default",
    };
    let line: &[&str] = match shell {
        "bash" => &["bash", "--noprofile", "--norc", "-eo", "pipefail"],
        "bash-default" => &["bash", "-e"],
        "sh" => &["sh", "-e"],
        other => panic!("job {job}: no Linux command line known for shell {other:?}"),
    };
    line.iter().map(|s| s.to_string()).collect()
}

/// True when a shell script has a pipe (`a | b`, not `||`) outside quotes and comments, a
/// command substitution (`"$(a | b)"`) counting as unquoted: an approximation of the shell's
/// grammar that is enough for workflow steps.
pub fn has_pipe(script: &str) -> bool {
    let mut chars = script.chars().peekable();
    let (mut single, mut double, mut word_start) = (false, false, true);
    // The `double` state outside each open `$(`.
    let mut substitutions: Vec<bool> = Vec::new();
    while let Some(c) = chars.next() {
        match c {
            '\\' if !single => {
                chars.next();
            }
            '\'' if !double => single = !single,
            '"' if !single => double = !double,
            '$' if !single && chars.peek() == Some(&'(') => {
                chars.next();
                substitutions.push(double);
                double = false;
            }
            ')' if !single && !double && !substitutions.is_empty() => {
                double = substitutions.pop().unwrap_or(false);
            }
            '#' if !single && !double && word_start => {
                for c in chars.by_ref() {
                    if c == '\n' {
                        break;
                    }
                }
            }
            '|' if !single && !double => {
                if chars.peek() == Some(&'|') {
                    chars.next();
                } else {
                    return true;
                }
            }
            _ => {}
        }
        word_start = c.is_whitespace() || matches!(c, ';' | '&' | '(' | '|');
    }
    false
}

/// Runs a workflow step's `run:` script as the runner would (`shell` from [`step_shell`]) in
/// `dir`, with only `vars` and PATH (`path_first` before the machine's) in its environment.
pub fn run_step_script(
    shell: &[String],
    script: &str,
    dir: &Path,
    path_first: Option<&Path>,
    vars: &[(&str, &str)],
) -> Output {
    let file = dir.join(".step-script");
    std::fs::write(&file, script).expect("write the step's script");
    let mut path = std::env::var("PATH").unwrap_or_default();
    if let Some(first) = path_first {
        path = format!("{}:{path}", first.display());
    }
    let mut command = Command::new(&shell[0]);
    command
        .args(&shell[1..])
        .arg(&file)
        .current_dir(dir)
        .env_clear()
        .env("PATH", path);
    for (k, v) in vars {
        command.env(k, v);
    }
    command.output().expect("run the step's shell")
}
