//! `--env-file`: a saved environment (`KEY=VALUE` lines, `KEY<<DELIM` ... `DELIM` for multi-line
//! values, `#` comments), so a workflow's tags can be reproduced on a laptop or from a fixture.
//! A relative `GITHUB_EVENT_PATH` is resolved against the file's folder.

use std::path::Path;

#[derive(Debug, thiserror::Error)]
pub enum EnvFileError {
    #[error("cannot read env file `{path}`: {source}")]
    Unreadable {
        path: String,
        source: std::io::Error,
    },
    #[error("env file `{path}`, line {line}: {message}")]
    Invalid {
        path: String,
        line: usize,
        message: String,
    },
}

/// Parses `text`; `path` is used for messages and to resolve `GITHUB_EVENT_PATH`.
pub fn parse(text: &str, path: &Path) -> Result<Vec<(String, String)>, EnvFileError> {
    let invalid = |line: usize, message: String| EnvFileError::Invalid {
        path: path.display().to_string(),
        line,
        message,
    };
    let mut vars = Vec::new();
    let mut lines = text.lines().enumerate();
    while let Some((i, line)) = lines.next() {
        let trimmed = line.trim_start();
        if trimmed.is_empty() || trimmed.starts_with('#') {
            continue;
        }
        let heredoc = trimmed.split_once("<<").filter(|(k, _)| !k.contains('='));
        let (key, value) = if let Some((key, delim)) = heredoc {
            let mut value: Vec<&str> = Vec::new();
            loop {
                match lines.next() {
                    Some((_, l)) if l == delim => break,
                    Some((_, l)) => value.push(l),
                    None => {
                        return Err(invalid(i + 1, format!("heredoc `{delim}` is never closed")));
                    }
                }
            }
            (key.trim(), value.join("\n"))
        } else {
            match trimmed.split_once('=') {
                Some((key, value)) => (key.trim(), value.to_string()),
                None => {
                    return Err(invalid(
                        i + 1,
                        "expected KEY=VALUE or KEY<<DELIMITER".into(),
                    ));
                }
            }
        };
        if key.is_empty() {
            return Err(invalid(i + 1, "empty variable name".into()));
        }
        let value =
            if key == "GITHUB_EVENT_PATH" && !value.is_empty() && Path::new(&value).is_relative() {
                path.parent()
                    .unwrap_or(Path::new("."))
                    .join(&value)
                    .display()
                    .to_string()
            } else {
                value
            };
        vars.push((key.to_string(), value));
    }
    Ok(vars)
}

pub fn load(path: &Path) -> Result<Vec<(String, String)>, EnvFileError> {
    let text = std::fs::read_to_string(path).map_err(|source| EnvFileError::Unreadable {
        path: path.display().to_string(),
        source,
    })?;
    parse(&text, path)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn plain_heredoc_comments_and_relative_event_path() {
        let text = "# saved\nGITHUB_REF=refs/tags/v1.0.0\nINPUT_TAGS<<EOF\ntype=semver,pattern={{version}}\ntype=sha\nEOF\n\nGITHUB_EVENT_PATH=event.json\nEMPTY=\nEQ=a=b\n";
        let vars = parse(text, Path::new("fixtures/release/env")).unwrap();
        assert_eq!(
            vars,
            [
                ("GITHUB_REF".to_string(), "refs/tags/v1.0.0".to_string()),
                (
                    "INPUT_TAGS".into(),
                    "type=semver,pattern={{version}}\ntype=sha".into()
                ),
                (
                    "GITHUB_EVENT_PATH".into(),
                    "fixtures/release/event.json".into()
                ),
                ("EMPTY".into(), "".into()),
                ("EQ".into(), "a=b".into()),
            ]
        );
    }

    #[test]
    fn errors_name_the_file_and_line() {
        let e = parse("A=1\nnonsense\n", Path::new("x.env"))
            .unwrap_err()
            .to_string();
        assert_eq!(
            e,
            "env file `x.env`, line 2: expected KEY=VALUE or KEY<<DELIMITER"
        );
        assert!(
            parse("A<<EOF\nx\n", Path::new("x.env"))
                .unwrap_err()
                .to_string()
                .contains("never closed")
        );
        assert!(
            load(Path::new("/nonexistent.env"))
                .unwrap_err()
                .to_string()
                .contains("cannot read")
        );
    }
}
