//! What the runner reads back from a step, parsed as the runner parses it
//! (actions/runner `FileCommandManager` and `ActionCommand`): `$GITHUB_OUTPUT` and `$GITHUB_ENV`
//! as `NAME=VALUE` or `NAME<<DELIMITER` heredocs (a heredoc without its delimiter fails the
//! step), and workflow commands (`::name key=value,...::message`) on stdout with their escapes.

/// Parses a file command (`$GITHUB_OUTPUT`, `$GITHUB_ENV`). `Err` is what fails the step.
pub fn parse_file_command(text: &str) -> Result<Vec<(String, String)>, String> {
    let mut out = Vec::new();
    let mut lines = text.lines();
    while let Some(line) = lines.next() {
        if line.is_empty() {
            continue;
        }
        let equals = line.find('=');
        let heredoc = line.find("<<");
        match (equals, heredoc) {
            (Some(e), h) if h.is_none_or(|h| e < h) => {
                let (name, value) = (&line[..e], &line[e + 1..]);
                if name.is_empty() {
                    return Err(format!("invalid format {line:?}: empty name"));
                }
                out.push((name.to_owned(), value.to_owned()));
            }
            (_, Some(h)) => {
                let (name, delimiter) = (&line[..h], &line[h + 2..]);
                if name.is_empty() || delimiter.is_empty() {
                    return Err(format!("invalid format {line:?}"));
                }
                let mut value = Vec::new();
                loop {
                    match lines.next() {
                        Some(l) if l == delimiter => break,
                        Some(l) => value.push(l),
                        None => {
                            return Err(format!(
                                "invalid value for {name:?}: matching delimiter not found {delimiter:?}"
                            ));
                        }
                    }
                }
                out.push((name.to_owned(), value.join("\n")));
            }
            _ => return Err(format!("invalid format {line:?}")),
        }
    }
    Ok(out)
}

/// A workflow command read from the log.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct WorkflowCommand {
    pub name: String,
    pub properties: Vec<(String, String)>,
    pub message: String,
    /// Its line in stdout (0-based).
    pub line: usize,
}

/// The workflow commands on stdout, unescaped (`%25 %0D %0A`, and `%3A %2C` in properties).
pub fn workflow_commands(stdout: &str) -> Vec<WorkflowCommand> {
    stdout
        .lines()
        .enumerate()
        .filter_map(|(line, text)| {
            let rest = text.trim_start().strip_prefix("::")?;
            let end = rest.find("::")?;
            let (head, message) = (&rest[..end], &rest[end + 2..]);
            let (name, props) = head.split_once(' ').unwrap_or((head, ""));
            if name.is_empty() {
                return None;
            }
            let properties = props
                .split(',')
                .filter(|p| !p.is_empty())
                .filter_map(|p| p.split_once('='))
                .map(|(k, v)| (k.to_owned(), unescape_property(v)))
                .collect();
            Some(WorkflowCommand {
                name: name.to_owned(),
                properties,
                message: unescape_data(message),
                line,
            })
        })
        .collect()
}

fn unescape_data(s: &str) -> String {
    s.replace("%0D", "\r")
        .replace("%0A", "\n")
        .replace("%25", "%")
}

fn unescape_property(s: &str) -> String {
    s.replace("%0D", "\r")
        .replace("%0A", "\n")
        .replace("%3A", ":")
        .replace("%2C", ",")
        .replace("%25", "%")
}

#[test]
fn file_commands_parse_as_the_runner_parses_them() {
    let text = "a=1\nb<<EOF\nx\ny=z\nEOF\n\nc=<<not a heredoc\n";
    assert_eq!(
        parse_file_command(text).unwrap(),
        [
            ("a".to_owned(), "1".to_owned()),
            ("b".to_owned(), "x\ny=z".to_owned()),
            ("c".to_owned(), "<<not a heredoc".to_owned()),
        ]
    );
    assert!(parse_file_command("b<<EOF\nx\n").is_err());
    assert!(parse_file_command("no separator\n").is_err());
}

#[test]
fn workflow_commands_are_unescaped() {
    let log = "plain\n::error title=a%3Ab%2Cc::one%0Atwo%25\n::add-mask::s3cret\n";
    let commands = workflow_commands(log);
    assert_eq!(commands.len(), 2);
    assert_eq!(commands[0].name, "error");
    assert_eq!(commands[0].properties, [("title".into(), "a:b,c".into())]);
    assert_eq!(commands[0].message, "one\ntwo%");
    assert_eq!(
        (commands[1].name.as_str(), commands[1].line),
        ("add-mask", 2)
    );
}
