//! The `credentials` input: registry logins, one per line, and `github-token` for ghcr.io.
//!
//! ```text
//! registry=docker.io,username=octo,password-env=DOCKERHUB_TOKEN     # secret read from the step's env
//! registry=quay.io,username=octo+ci,password=${{ secrets.QUAY_TOKEN }}
//! ```
//! `password-env=` keeps the secret out of the input text altogether (commas and quotes in it are
//! then harmless). One line per registry; fields are comma-separated; `password=` and
//! `password-env=` exclude each other. Errors name the line, never its secret. Each login keeps
//! its line, so a registry that refuses it can say which line to fix.

use crate::lines::{InputLine, split_attr, split_fields};
use crate::registry::{Credential, CredentialOrigin, Repository};
use crate::secret::Secret;
use std::collections::BTreeMap;

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("input `credentials`, line {line}: {message}")]
pub struct CredentialsError {
    pub line: usize,
    pub message: String,
}

/// The keys of a line.
const FIELDS: [&str; 4] = ["registry", "username", "password", "password-env"];

/// The keys of a line, for messages.
const KEYS: &str = "registry=, username=, password= or password-env=";

/// The `credentials` input, parsed: one login per registry and where each came from (its
/// secrets are masked from [`secrets_in`], before anything is parsed).
#[derive(Debug, Default)]
pub struct Logins {
    /// Registry name (`docker.io`, `127.0.0.1:5000`) -> credential.
    pub credentials: BTreeMap<String, Credential>,
    /// Registry name -> the line it was given on.
    pub origins: BTreeMap<String, CredentialOrigin>,
}

/// Every secret the `credentials` lines hold, found leniently (a line that does not parse still
/// gives its `password=` value, whole and cut at each comma, and the value of its
/// `password-env=` variable): the log masks these before it shows anything, errors included.
pub fn secrets_in(lines: &[InputLine], var: impl Fn(&str) -> Option<String>) -> Vec<Secret> {
    let mut secrets = Vec::new();
    for line in lines {
        for (at, _) in line.text.match_indices("password=") {
            let rest = &line.text[at + "password=".len()..];
            let cut = rest.split(',').next().unwrap_or(rest);
            secrets.extend([rest.trim(), cut.trim()].map(str::to_owned));
        }
        for (at, _) in line.text.match_indices("password-env=") {
            let rest = &line.text[at + "password-env=".len()..];
            let name = rest.split(',').next().unwrap_or(rest).trim();
            secrets.extend(var(name));
        }
    }
    secrets.retain(|s| !s.is_empty());
    secrets.sort();
    secrets.dedup();
    secrets.into_iter().map(Secret::new).collect()
}

/// Every line of the `credentials` input; a registry given on two lines is an error naming both.
fn parse_logins(
    lines: &[InputLine],
    var: impl Fn(&str) -> Option<String>,
) -> Result<Logins, CredentialsError> {
    let mut logins = Logins::default();
    for line in lines {
        let (registry, credential) = parse_line(line, &var)?;
        if let Some(CredentialOrigin::InputLine(first)) = logins.origins.get(&registry) {
            return Err(CredentialsError {
                line: line.number,
                message: format!(
                    "`{registry}` already has a login on line {first}; give one line per registry"
                ),
            });
        }
        logins
            .origins
            .insert(registry.clone(), CredentialOrigin::InputLine(line.number));
        logins.credentials.insert(registry, credential);
    }
    Ok(logins)
}

/// One line: `registry=<host>,username=<user>,password-env=<VAR>` (or `password=<secret>`) ->
/// the registry's name and its credential. Messages never quote a value that may be a secret.
fn parse_line(
    line: &InputLine,
    var: &impl Fn(&str) -> Option<String>,
) -> Result<(String, Credential), CredentialsError> {
    let err = |message: String| CredentialsError {
        line: line.number,
        message,
    };
    let fields = split_fields(&line.text).map_err(|e| err(e.to_string()))?;
    let mut values: BTreeMap<&'static str, String> = BTreeMap::new();
    let mut previous_key: Option<&'static str> = None;
    for (index, field) in fields.iter().enumerate() {
        let (key, value) = split_attr(field);
        let known = key
            .as_deref()
            .and_then(|k| FIELDS.into_iter().find(|known| *known == k));
        let Some(key) = known else {
            // After `password=`, this field is most likely the rest of a password cut at a comma:
            // not shown, since it may be part of the secret.
            if previous_key == Some("password") {
                return Err(err(format!(
                    "field {} after `password=` is not one of {KEYS}: a password containing a comma \
                     is cut there; put it in an environment variable and use `password-env=<VAR>`",
                    index + 1
                )));
            }
            return Err(err(match key {
                Some(key) => format!("unknown key `{key}`; expected {KEYS}"),
                None => format!("expected `key=value` fields, separated by commas: {KEYS}"),
            }));
        };
        if key != "password" && looks_space_separated(value) {
            return Err(err(format!(
                "`{key}=` runs into another `key=`: fields are separated by commas, not spaces, \
                 e.g. `registry=docker.io,username=octo,password-env=DOCKERHUB_TOKEN`"
            )));
        }
        if values.insert(key, value.to_owned()).is_some() {
            return Err(err(format!("`{key}=` is given twice")));
        }
        previous_key = Some(key);
    }
    let given = |key: &str| values.get(key).filter(|v| !v.is_empty());
    let registry = given("registry")
        .ok_or_else(|| err("`registry=` is missing, e.g. registry=docker.io".into()))?;
    let username = given("username")
        .ok_or_else(|| err("`username=` is missing".into()))?
        .clone();
    let password = match (values.get("password"), given("password-env")) {
        (Some(_), Some(_)) => {
            return Err(err(
                "both `password=` and `password-env=` are given; keep one (`password-env=` keeps \
                 the secret out of the input)"
                    .into(),
            ));
        }
        (_, Some(name)) => var(name).filter(|v| !v.is_empty()).ok_or_else(|| {
            err(format!(
                "`password-env={name}` names an environment variable that is not set; add it to the step's `env:`"
            ))
        })?,
        (Some(password), None) if !password.is_empty() => password.clone(),
        _ => return Err(err("`password=` or `password-env=` is missing".into())),
    };
    let name = Repository::parse(&format!("{registry}/x"))
        .map_err(|_| {
            err(format!(
                "`{registry}` is not a registry host, e.g. docker.io or ghcr.io"
            ))
        })?
        .registry;
    Ok((name, Credential::Basic { username, password }))
}

/// Whether a value holds a space followed by another known `key=`: fields written
/// `registry=x username=y` instead of `registry=x,username=y`.
fn looks_space_separated(value: &str) -> bool {
    value.split_whitespace().skip(1).any(|word| {
        let word = word.to_ascii_lowercase();
        FIELDS.iter().any(|key| {
            word.strip_prefix(key)
                .is_some_and(|rest| rest.starts_with('='))
        })
    })
}

/// The registry client's settings from the inputs: `credentials`, `github-token` (for ghcr.io,
/// as `GITHUB_ACTOR`) and `insecure-registries`, over Docker's config and CA files from the
/// environment, with the stall timeouts `REGISTRY_ACTION_STALL_TIMEOUT` may shorten and the names
/// `REGISTRY_ACTION_RESOLVE` sends elsewhere (test knobs).
pub fn client_config(
    inputs: &crate::inputs::Inputs,
    var: impl Fn(&str) -> Option<String>,
) -> Result<crate::registry::ClientConfig, CredentialsError> {
    let Logins {
        mut credentials,
        mut origins,
    } = parse_logins(&inputs.credentials, &var)?;
    let actor = var("GITHUB_ACTOR");
    add_github_token(
        &mut credentials,
        inputs.github_token.as_ref(),
        actor.as_deref(),
    );
    if credentials.contains_key("ghcr.io") {
        origins
            .entry("ghcr.io".into())
            .or_insert(CredentialOrigin::GithubToken);
    }
    let stall = var(crate::registry::config::STALL_TIMEOUT_VAR);
    let resolve = var(crate::registry::config::RESOLVE_VAR);
    let mut config = crate::registry::ClientConfig::from_vars(&var)
        .with_stall_timeout(stall.as_deref())
        .with_resolve(resolve.as_deref());
    config.credentials = credentials;
    config.credential_origins = origins;
    config.insecure_registries = inputs.insecure_registries.clone();
    Ok(config)
}

/// GHCR accepts the workflow token as the password of any user: `github-token` logs in to ghcr.io
/// unless `credentials` names it.
fn add_github_token(
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
#[path = "credentials_tests.rs"]
mod tests;
