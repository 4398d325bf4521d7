//! Errors of the tag engine: every one names the input, the line and what was expected.

use crate::lines::InputLine;

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum MetaError {
    /// A line of a list input (`tags`, `images`, `flavor`, `labels`, `annotations`) is invalid.
    #[error("input `{input}`, line {line}: {message}", line = line.number)]
    Line {
        input: &'static str,
        line: InputLine,
        message: String,
    },
    /// A `DOCKER_METADATA_*` switch has an invalid value.
    #[error("environment variable `{name}`: {message}")]
    Switch { name: &'static str, message: String },
}

impl MetaError {
    pub(crate) fn line(input: &'static str, line: &InputLine, message: impl Into<String>) -> Self {
        MetaError::Line {
            input,
            line: line.clone(),
            message: message.into(),
        }
    }

    /// The offending text, for the error's details.
    pub fn source_text(&self) -> Option<&str> {
        match self {
            MetaError::Line { line, .. } => Some(&line.text),
            MetaError::Switch { .. } => None,
        }
    }
}
