//! A registry credential and where it came from (named when a registry refuses it).

use std::fmt;
use std::path::PathBuf;

/// A credential for one registry. Its `Debug` never shows a secret.
#[derive(Clone, PartialEq, Eq)]
pub enum Credential {
    /// Username and password (or a personal access token as the password, as GHCR takes it).
    Basic { username: String, password: String },
    /// An OAuth2 refresh token (`identitytoken` in `config.json`), exchanged at the token realm.
    IdentityToken(String),
}

impl fmt::Debug for Credential {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Credential::Basic { username, .. } => f
                .debug_struct("Basic")
                .field("username", username)
                .field("password", &format_args!("<redacted>"))
                .finish(),
            Credential::IdentityToken(_) => f.write_str("IdentityToken(<redacted>)"),
        }
    }
}

/// Where a registry's credential came from: named when the registry refuses it, so the user
/// knows which line or file to fix.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum CredentialOrigin {
    /// A line of the `credentials` input (1-based).
    InputLine(usize),
    /// The `github-token` input (ghcr.io).
    GithubToken,
    /// Docker's `config.json` in this directory, or a credential helper it names.
    DockerConfig(PathBuf),
    /// Given to the client directly, with no origin recorded.
    Configured,
}

impl fmt::Display for CredentialOrigin {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            CredentialOrigin::InputLine(line) => write!(f, "the `credentials` input, line {line}"),
            CredentialOrigin::GithubToken => f.write_str("the `github-token` input"),
            CredentialOrigin::DockerConfig(dir) => {
                write!(f, "Docker's {}", dir.join("config.json").display())
            }
            CredentialOrigin::Configured => f.write_str("the client's configuration"),
        }
    }
}
