//! The `credentials` input: registry logins, one per line, and `github-token` for ghcr.io.
//!
//! ```text
//! registry=docker.io,username=octo,password-env=DOCKERHUB_TOKEN     # secret read from the step's env
//! registry=quay.io,username=octo+ci,password=${{ secrets.QUAY_TOKEN }}
//! ```
//! `password-env=` keeps the secret out of the input text altogether (commas and quotes in it are
//! then harmless). Errors name the line, never its secret.

use crate::inputs::Secret;
use crate::meta::lines::{InputLine, split_attr, split_fields};
use crate::registry::{Credential, Repository};
use std::collections::BTreeMap;

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("input `credentials`, line {line}: {message}")]
pub struct CredentialsError {
    pub line: usize,
    pub message: String,
}

/// Registry name -> credential, plus the secrets to mask in the log.
pub fn parse_credentials(
    lines: &[InputLine],
    var: impl Fn(&str) -> Option<String>,
) -> Result<(BTreeMap<String, Credential>, Vec<Secret>), CredentialsError> {
    let mut credentials = BTreeMap::new();
    let mut secrets = Vec::new();
    for line in lines {
        let err = |message: String| CredentialsError {
            line: line.number,
            message,
        };
        let fields = split_fields(&line.text).map_err(|e| err(e.to_string()))?;
        let (mut registry, mut username, mut password) = (None, None, None);
        for field in &fields {
            match split_attr(field) {
                (Some(key), value) if key == "registry" => registry = Some(value.to_string()),
                (Some(key), value) if key == "username" => username = Some(value.to_string()),
                (Some(key), value) if key == "password" => password = Some(value.to_string()),
                (Some(key), value) if key == "password-env" => {
                    let secret = var(value).filter(|v| !v.is_empty()).ok_or_else(|| {
                        err(format!("`password-env={value}` names an environment variable that is not set; add it to the step's `env:`"))
                    })?;
                    password = Some(secret);
                }
                (Some(key), _) => {
                    return Err(err(format!(
                        "unknown key `{key}`; expected registry=, username=, password= or password-env="
                    )));
                }
                (None, _) => return Err(err(
                    "expected `key=value` fields: registry=, username=, password= or password-env="
                        .into(),
                )),
            }
        }
        let registry = registry
            .filter(|r| !r.is_empty())
            .ok_or_else(|| err("`registry=` is missing, e.g. registry=docker.io".into()))?;
        let username = username
            .filter(|u| !u.is_empty())
            .ok_or_else(|| err("`username=` is missing".into()))?;
        let password = password
            .filter(|p| !p.is_empty())
            .ok_or_else(|| err("`password=` or `password-env=` is missing".into()))?;
        let name = Repository::parse(&format!("{registry}/x"))
            .map_err(|_| {
                err(format!(
                    "`{registry}` is not a registry host, e.g. docker.io or ghcr.io"
                ))
            })?
            .registry;
        secrets.push(Secret::new(password.clone()));
        credentials.insert(name, Credential::Basic { username, password });
    }
    Ok((credentials, secrets))
}

/// The registry client's settings from the inputs: `credentials`, `github-token` (for ghcr.io,
/// as `GITHUB_ACTOR`) and `insecure-registries`, over Docker's config and CA files from the
/// environment. Also returns the secrets the log must mask.
pub fn client_config(
    inputs: &crate::inputs::Inputs,
    var: impl Fn(&str) -> Option<String>,
) -> Result<(crate::registry::ClientConfig, Vec<Secret>), CredentialsError> {
    let (mut credentials, secrets) = parse_credentials(&inputs.credentials, &var)?;
    add_github_token(
        &mut credentials,
        inputs.github_token.as_ref(),
        var("GITHUB_ACTOR").as_deref(),
    );
    let mut config = crate::registry::ClientConfig::from_env();
    config.credentials = credentials;
    config.insecure_registries = inputs.insecure_registries.clone();
    Ok((config, secrets))
}

/// GHCR accepts the workflow token as the password of any user: `github-token` logs in to ghcr.io
/// unless `credentials` names it.
pub fn add_github_token(
    credentials: &mut BTreeMap<String, Credential>,
    token: Option<&Secret>,
    actor: Option<&str>,
) {
    if let Some(token) = token {
        credentials
            .entry("ghcr.io".to_string())
            .or_insert_with(|| Credential::Basic {
                username: actor
                    .filter(|a| !a.is_empty())
                    .unwrap_or("x-access-token")
                    .to_string(),
                password: token.expose().to_string(),
            });
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::meta::lines::input_lines;

    fn parse(text: &str) -> Result<BTreeMap<String, Credential>, String> {
        parse_credentials(&input_lines(text), |name| {
            (name == "HUB_TOKEN").then(|| "dckr_pat,with\"odd".to_string())
        })
        .map(|(c, _)| c)
        .map_err(|e| e.to_string())
    }

    #[test]
    fn lines_with_inline_and_env_passwords() {
        let creds = parse("registry=index.docker.io,username=octo,password-env=HUB_TOKEN\nregistry=quay.io,username=octo+ci,password=s3cret").unwrap();
        assert_eq!(
            creds["docker.io"],
            Credential::Basic {
                username: "octo".into(),
                password: "dckr_pat,with\"odd".into()
            }
        );
        assert_eq!(
            creds["quay.io"],
            Credential::Basic {
                username: "octo+ci".into(),
                password: "s3cret".into()
            }
        );
    }

    #[test]
    fn errors_name_the_line_but_never_the_secret() {
        let e = parse("registry=quay.io,username=u,password=topsecret,colour=red").unwrap_err();
        assert_eq!(
            e,
            "input `credentials`, line 1: unknown key `colour`; expected registry=, username=, password= or password-env="
        );
        assert!(!e.contains("topsecret"));
        assert!(
            parse("registry=quay.io,password=x")
                .unwrap_err()
                .contains("`username=` is missing")
        );
        assert!(
            parse("username=u,password=x")
                .unwrap_err()
                .contains("`registry=` is missing")
        );
        assert!(
            parse("registry=quay.io,username=u")
                .unwrap_err()
                .contains("`password=` or `password-env=` is missing")
        );
        assert!(
            parse("registry=quay.io,username=u,password-env=NOPE")
                .unwrap_err()
                .contains("not set")
        );
    }

    #[test]
    fn github_token_logs_in_to_ghcr_unless_given() {
        let mut creds = BTreeMap::new();
        let token = Secret::new("ghs_abc".into());
        add_github_token(&mut creds, Some(&token), Some("mona"));
        assert_eq!(
            creds["ghcr.io"],
            Credential::Basic {
                username: "mona".into(),
                password: "ghs_abc".into()
            }
        );
        let mut given = parse("registry=ghcr.io,username=bot,password=pat").unwrap();
        add_github_token(&mut given, Some(&token), Some("mona"));
        assert_eq!(
            given["ghcr.io"],
            Credential::Basic {
                username: "bot".into(),
                password: "pat".into()
            }
        );
    }
}
