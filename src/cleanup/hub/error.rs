//! What goes wrong talking to Docker Hub's API, each with the fix a user needs. Secrets never
//! reach these messages; Hub's own text is shortened and stripped of control characters.

use super::super::backend::BackendError;

/// The API step that failed (names the request in messages, picks the hint).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Step {
    /// `POST /v2/auth/token`.
    Login,
    /// Listing the tags of `namespace/repository`.
    List(String),
    /// Deleting one tag: (`namespace/repository`, tag).
    Delete(String, String),
}

impl std::fmt::Display for Step {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Step::Login => f.write_str("the login (POST /v2/auth/token)"),
            Step::List(repo) => write!(f, "listing the tags of {repo}"),
            Step::Delete(repo, tag) => write!(f, "deleting tag `{tag}` of {repo}"),
        }
    }
}

/// Why a Docker Hub request failed.
#[derive(Debug, thiserror::Error)]
pub enum HubError {
    #[error(
        "no Docker Hub login for `{registry}` (hint: add `registry={registry},username=<user>,password-env=DOCKERHUB_TOKEN` to the `credentials` input; the token needs the \"Read, Write, Delete\" scope)"
    )]
    NoCredential { registry: String },
    #[error(
        "the login for `{registry}` in Docker's config.json is an identity token, which Docker Hub's API does not take (hint: give a username and a personal access token in the `credentials` input)"
    )]
    IdentityToken { registry: String },
    #[error(
        "`{path}` is not a Docker Hub repository (hint: Hub repositories are `namespace/name`, e.g. docker.io/user/app)"
    )]
    NotNamespaced { path: String },
    #[error("the Docker Hub API URL `{url}` is not usable: {message}")]
    BadUrl { url: String, message: String },
    /// Hub answered with an error status.
    #[error("Docker Hub answered {status} to {step}: {message}")]
    Api {
        step: Step,
        status: u16,
        message: String,
        /// The registry as the user named it (for hints that quote the `credentials` input).
        registry: String,
    },
    #[error("cannot reach Docker Hub's API for {step}: {message}")]
    Transport { step: Step, message: String },
    #[error("Docker Hub's answer to {step} is not what its API documents: {message}")]
    Protocol { step: Step, message: String },
}

impl HubError {
    /// An error status from Hub; `body` is its (untrusted) response body.
    pub fn api(step: Step, status: u16, body: &[u8], registry: &str) -> HubError {
        HubError::Api {
            step,
            status,
            message: message_of(body),
            registry: registry.to_string(),
        }
    }

    /// The fix for an error status, when there is a known one.
    pub fn hint(&self) -> Option<String> {
        let HubError::Api {
            step,
            status,
            registry,
            ..
        } = self
        else {
            return None;
        };
        Some(match (step, status) {
            (Step::Login, 401 | 403) => format!(
                "check the `credentials` input: `registry={registry},username=<user>,password-env=DOCKERHUB_TOKEN`, with that user's personal access token (or password) in the variable"
            ),
            (Step::Delete(..), 403) => {
                "deleting tags needs a personal access token with the \"Read, Write, Delete\" access scope, of a user allowed to delete in this repository".to_string()
            }
            (Step::List(repo), 403) => format!(
                "the login cannot read {repo}: check the token's access scope and the repository's permissions"
            ),
            (Step::List(repo), 404) => {
                format!("Docker Hub has no repository {repo}: check the `images` input")
            }
            (_, 401) => "the login was refused; check the `credentials` input".to_string(),
            (_, 429) => "Docker Hub's API rate limit was hit; re-run later".to_string(),
            (_, 500..) => "Docker Hub had a problem; a re-run retries".to_string(),
            _ => return None,
        })
    }

    /// Whether every later request would fail the same way (the login lacks a right), so the
    /// rest of the run is skipped instead of sent.
    pub fn stops_the_run(&self) -> bool {
        matches!(
            self,
            HubError::Api {
                status: 401 | 403,
                ..
            }
        )
    }
}

impl From<HubError> for BackendError {
    fn from(e: HubError) -> BackendError {
        let hint = e.hint();
        match e {
            HubError::Api {
                step,
                status,
                message,
                ..
            } => BackendError::Api {
                api: "Docker Hub",
                what: step.to_string(),
                status,
                message,
                hint,
            },
            other => BackendError::Other(other.to_string()),
        }
    }
}

/// Hub's error text from a body (`message`, else `detail`), at most 200 characters without
/// control characters; the raw body's start when it is not JSON.
pub fn message_of(body: &[u8]) -> String {
    let json: Option<serde_json::Value> = serde_json::from_slice(body).ok();
    let text = json
        .as_ref()
        .and_then(|v| {
            ["message", "detail"]
                .iter()
                .find_map(|k| v.get(k)?.as_str().filter(|s| !s.is_empty()))
        })
        .map(str::to_string)
        .unwrap_or_else(|| String::from_utf8_lossy(body).into_owned());
    let clean: String = text
        .chars()
        .map(|c| if c.is_control() { ' ' } else { c })
        .take(200)
        .collect();
    let clean = clean.trim();
    if clean.is_empty() {
        "(no message)".to_string()
    } else {
        clean.to_string()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn backend(e: HubError) -> String {
        BackendError::from(e).to_string()
    }

    #[test]
    fn a_read_only_token_is_told_which_scope_deletes() {
        let body = br#"{"errinfo":{},"message":"access to the resource is forbidden with personal access token"}"#;
        let e = HubError::api(
            Step::Delete("user/app".into(), "main-1".into()),
            403,
            body,
            "docker.io",
        );
        assert!(e.stops_the_run());
        let text = backend(e);
        assert!(
            text.contains("Docker Hub answered 403 to deleting tag `main-1` of user/app: access to the resource is forbidden with personal access token"),
            "{text}"
        );
        assert!(
            text.contains("\"Read, Write, Delete\" access scope"),
            "{text}"
        );
    }

    #[test]
    fn a_refused_login_names_the_credentials_input() {
        let e = HubError::api(
            Step::Login,
            401,
            br#"{"detail":"Incorrect authentication credentials"}"#,
            "docker.io",
        );
        let text = backend(e);
        assert!(
            text.contains("Incorrect authentication credentials"),
            "{text}"
        );
        assert!(
            text.contains("`registry=docker.io,username=<user>,password-env=DOCKERHUB_TOKEN`"),
            "{text}"
        );
    }

    #[test]
    fn a_missing_login_says_how_to_give_one() {
        let text = backend(HubError::NoCredential {
            registry: "docker.io".into(),
        });
        assert!(
            text.starts_with("no Docker Hub login for `docker.io`"),
            "{text}"
        );
        assert!(text.contains("`credentials` input"), "{text}");
        assert!(text.contains("Read, Write, Delete"), "{text}");
    }

    #[test]
    fn hub_text_is_short_and_cannot_break_lines() {
        let long = format!(r#"{{"message":"evil\n::error::x{}"}}"#, "a".repeat(500));
        let m = message_of(long.as_bytes());
        assert!(!m.contains('\n'));
        assert_eq!(m.chars().count(), 200);
        assert_eq!(
            message_of(b"<html>bad gateway</html>"),
            "<html>bad gateway</html>"
        );
        assert_eq!(message_of(b""), "(no message)");
        assert!(!HubError::api(Step::Login, 500, b"", "docker.io").stops_the_run());
    }
}
