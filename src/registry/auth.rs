//! Who the client is to a registry: credentials (given, or from Docker's `config.json` and its
//! credential helpers), the `WWW-Authenticate` challenges registries answer with, and the
//! repository scopes a Bearer token is asked for.

use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;

use super::error::Error;
use super::reference::DOCKER_HUB;

pub use super::credential::{Credential, CredentialOrigin};

/// A credential and where it came from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Login {
    pub credential: Credential,
    pub origin: CredentialOrigin,
}

/// The key Docker stores a registry's credential under: Docker Hub's legacy URL, else the host.
pub fn docker_config_key(registry: &str) -> &str {
    match registry {
        DOCKER_HUB | "index.docker.io" | "registry-1.docker.io" => "https://index.docker.io/v1/",
        other => other,
    }
}

/// Reads the credential for `registry` from `<dir>/config.json` (`auths` with `auth` or
/// `username`/`password`, `identitytoken`, `credHelpers`, `credsStore`). `Ok(None)` when the file
/// does not exist or names nothing for this registry (anonymous access). Blocking: it may run a
/// `docker-credential-<helper>` process.
pub fn from_docker_config(dir: &Path, registry: &str) -> Result<Option<Credential>, Error> {
    use docker_credential::{CredentialRetrievalError as E, DockerCredential};
    let path = dir.join("config.json");
    let bytes = match std::fs::read(&path) {
        Ok(bytes) => bytes,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
        Err(e) => {
            return Err(Error::Auth {
                registry: registry.to_owned(),
                message: format!("reading {}: {e}", path.display()),
            });
        }
    };
    let fail = |message: String| Error::Auth {
        registry: registry.to_owned(),
        message: format!("{}: {message}", path.display()),
    };
    // Docker Hub is stored under its legacy URL (helpers are asked for that too); entries under
    // `docker.io` and the like are found by the crate's host normalisation on a second look-up.
    let key = docker_config_key(registry);
    let mut found = docker_credential::get_credential_from_reader(&bytes[..], key);
    if key != registry && matches!(found, Err(E::NoCredentialConfigured)) {
        found = docker_credential::get_credential_from_reader(&bytes[..], registry);
    }
    match found {
        Ok(DockerCredential::UsernamePassword(username, password)) => {
            Ok(Some(Credential::Basic { username, password }))
        }
        Ok(DockerCredential::IdentityToken(token)) => Ok(Some(Credential::IdentityToken(token))),
        Err(E::NoCredentialConfigured) => Ok(None),
        // Helpers exit non-zero for "no credential stored here": Docker then goes anonymous too.
        // Their output is not shown: it may hold a secret.
        Err(E::HelperFailure { helper, .. }) => {
            tracing::warn!(
                registry,
                helper,
                "credential helper found no credential; continuing anonymously"
            );
            Ok(None)
        }
        Err(E::HelperCommunicationError) => Err(fail(
            "could not run the credential helper it names (is docker-credential-<name> on PATH?)"
                .into(),
        )),
        Err(E::MalformedHelperResponse) => {
            Err(fail("credential helper answered malformed JSON".into()))
        }
        Err(E::CredentialDecodingError) => {
            Err(fail("an `auth` value is not base64 `user:password`".into()))
        }
        Err(E::CredentialMismatchError) => {
            Err(fail("`auth` disagrees with `username`/`password`".into()))
        }
        Err(E::ConfigReadError | E::ConfigNotFound) => {
            Err(fail("not a valid Docker config.json".into()))
        }
    }
}

/// A `WWW-Authenticate` challenge.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Challenge {
    Basic,
    Bearer {
        realm: String,
        service: Option<String>,
        /// The scope the failed request needed (sent with 401 responses).
        scope: Option<String>,
        /// `insufficient_scope`, `invalid_token`, ...
        error: Option<String>,
    },
}

/// Parses every challenge of a `WWW-Authenticate` value (schemes other than Basic and Bearer are
/// Bearer if offered (it carries scopes), else Basic.
pub(crate) fn pick_challenge(response: &reqwest::Response) -> Option<Challenge> {
    let challenges: Vec<Challenge> = response
        .headers()
        .get_all(reqwest::header::WWW_AUTHENTICATE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(parse_challenges)
        .collect();
    challenges
        .iter()
        .find(|c| matches!(c, Challenge::Bearer { .. }))
        .or_else(|| challenges.first())
        .cloned()
}

/// skipped; a Bearer challenge without a realm is unusable and skipped).
pub fn parse_challenges(header: &str) -> Vec<Challenge> {
    let mut out = Vec::new();
    let mut p = Parser { s: header, i: 0 };
    loop {
        p.skip(|c| c == ',' || c.is_whitespace());
        let Some(scheme) = p.token() else { break };
        let mut params = BTreeMap::new();
        loop {
            p.skip(|c| c == ',' || c.is_whitespace());
            let save = p.i;
            let Some(key) = p.token() else { break };
            p.skip(char::is_whitespace);
            if !p.eat('=') {
                p.i = save; // a token without `=` starts the next challenge
                break;
            }
            p.skip(char::is_whitespace);
            let value = if p.peek() == Some('"') {
                p.quoted()
            } else {
                p.token().unwrap_or_default()
            };
            params.insert(key.to_ascii_lowercase(), value);
        }
        match scheme.to_ascii_lowercase().as_str() {
            "basic" => out.push(Challenge::Basic),
            "bearer" => {
                if let Some(realm) = params.remove("realm") {
                    out.push(Challenge::Bearer {
                        realm,
                        service: params.remove("service"),
                        scope: params.remove("scope"),
                        error: params.remove("error"),
                    });
                }
            }
            _ => {}
        }
    }
    out
}

struct Parser<'a> {
    s: &'a str,
    i: usize,
}

impl Parser<'_> {
    fn peek(&self) -> Option<char> {
        self.s[self.i..].chars().next()
    }
    fn eat(&mut self, c: char) -> bool {
        let hit = self.peek() == Some(c);
        if hit {
            self.i += c.len_utf8();
        }
        hit
    }
    fn skip(&mut self, f: impl Fn(char) -> bool) {
        while let Some(c) = self.peek().filter(|c| f(*c)) {
            self.i += c.len_utf8();
        }
    }
    fn token(&mut self) -> Option<String> {
        let start = self.i;
        self.skip(|c| !(c.is_whitespace() || c == ',' || c == '=' || c == '"'));
        (self.i > start).then(|| self.s[start..self.i].to_owned())
    }
    /// A quoted string with `\` escapes; an unterminated one runs to the end.
    fn quoted(&mut self) -> String {
        self.eat('"');
        let mut out = String::new();
        while let Some(c) = self.peek() {
            self.i += c.len_utf8();
            match c {
                '"' => break,
                '\\' => {
                    if let Some(n) = self.peek() {
                        self.i += n.len_utf8();
                        out.push(n);
                    }
                }
                c => out.push(c),
            }
        }
        out
    }
}

/// A repository action a token can grant.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Action {
    Pull,
    Push,
    Delete,
}

impl Action {
    fn name(self) -> &'static str {
        match self {
            Action::Pull => "pull",
            Action::Push => "push",
            Action::Delete => "delete",
        }
    }
}

/// The repository scopes one token is asked for: `repository:<name>:<actions>` each.
///
/// A publish to `o/app` that mounts from `o/base` asks one token for
/// `repository:o/app:pull,push` and `repository:o/base:pull`.
#[derive(Debug, Clone, Default, PartialEq, Eq, Hash)]
pub struct Scopes(BTreeMap<String, BTreeSet<Action>>);

impl Scopes {
    /// No scope (a token for `/v2/` only).
    pub fn new() -> Scopes {
        Scopes::default()
    }

    /// One repository with the given actions.
    pub fn repo(repository: &str, actions: &[Action]) -> Scopes {
        Scopes::new().with(repository, actions)
    }

    /// Adds actions on a repository.
    pub fn with(mut self, repository: &str, actions: &[Action]) -> Scopes {
        self.add(repository, actions);
        self
    }

    /// Adds actions on a repository in place.
    pub fn add(&mut self, repository: &str, actions: &[Action]) {
        self.0
            .entry(repository.to_owned())
            .or_default()
            .extend(actions.iter().copied());
    }

    /// Adds every scope of `other`.
    pub fn merge(&mut self, other: &Scopes) {
        for (repo, actions) in &other.0 {
            self.0.entry(repo.clone()).or_default().extend(actions);
        }
    }

    /// Whether every action of `other` is granted by this set.
    pub fn covers(&self, other: &Scopes) -> bool {
        other.0.iter().all(|(repo, actions)| {
            self.0
                .get(repo)
                .is_some_and(|have| actions.iter().all(|a| have.contains(a)))
        })
    }

    /// Whether there is no scope.
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    /// Adds the scopes of a challenge's `scope` parameter (`repository:x:pull,push`, space-separated
    /// list); other resource types are ignored.
    pub fn add_challenge_scope(&mut self, scope: &str) {
        for item in scope.split_whitespace() {
            let mut parts = item.rsplitn(2, ':');
            let (Some(actions), Some(rest)) = (parts.next(), parts.next()) else {
                continue;
            };
            let Some(repo) = rest.strip_prefix("repository:") else {
                continue;
            };
            let actions: Vec<Action> = actions
                .split(',')
                .filter_map(|a| match a {
                    "pull" => Some(Action::Pull),
                    "push" => Some(Action::Push),
                    "delete" => Some(Action::Delete),
                    _ => None,
                })
                .collect();
            self.add(repo, &actions);
        }
    }

    /// The `scope` query values, one per repository, sorted.
    pub fn to_query_values(&self) -> Vec<String> {
        self.0
            .iter()
            .map(|(repo, actions)| {
                let actions: Vec<&str> = actions.iter().map(|a| a.name()).collect();
                format!("repository:{repo}:{}", actions.join(","))
            })
            .collect()
    }
}

#[cfg(test)]
#[path = "auth_tests.rs"]
mod tests;
