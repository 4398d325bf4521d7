//! Bearer token exchange (the distribution token spec): one request to the challenge's realm for
//! several repository scopes at once, with Basic credentials, an identity (refresh) token, or
//! anonymously; the token is kept until shortly before `expires_in` runs out.

use std::fmt;
use std::time::{Duration, Instant};

use reqwest::Url;
use serde::Deserialize;

use super::auth::{Credential, Login, Scopes};
use super::error::{Error, Result, display_url};
use super::transport::Transport;

/// The lifetime the spec gives a token that states none.
const DEFAULT_EXPIRY: Duration = Duration::from_secs(60);

/// A Bearer token and the scopes it was granted for. Its `Debug` never shows the token.
#[derive(Clone)]
pub(crate) struct Token {
    pub scopes: Scopes,
    value: String,
    expires: Instant,
}

impl fmt::Debug for Token {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Token")
            .field("scopes", &self.scopes)
            .field("value", &format_args!("<redacted>"))
            .finish()
    }
}

impl Token {
    /// Whether the token can still be sent.
    pub fn is_fresh(&self) -> bool {
        Instant::now() < self.expires
    }

    /// The secret itself, for the `Authorization` header only.
    pub fn secret(&self) -> &str {
        &self.value
    }
}

#[derive(Deserialize)]
struct TokenResponse {
    token: Option<String>,
    access_token: Option<String>,
    expires_in: Option<u64>,
}

/// Where to ask: a Bearer challenge's realm and service.
pub(crate) struct Realm<'a> {
    pub registry: &'a str,
    pub realm: &'a str,
    pub service: Option<&'a str>,
    /// Whether credentials may go to a plain-HTTP realm (loopback and insecure registries).
    pub plain_http_ok: bool,
}

/// Asks `realm` for one token covering every scope in `scopes`, with `login` if any. `count` is
/// called per request. A refusal (401, 403) is [`Error::Unauthorized`], naming the login's origin.
pub(crate) async fn fetch(
    transport: &Transport,
    realm: &Realm<'_>,
    scopes: &Scopes,
    login: Option<&Login>,
    count: &(dyn Fn() + Send + Sync),
) -> Result<Token> {
    let credential = login.map(|l| &l.credential);
    let auth_error = |message: String| Error::Auth {
        registry: realm.registry.to_owned(),
        message,
    };
    let url = Url::parse(realm.realm)
        .map_err(|e| auth_error(format!("token realm `{}` is not a URL: {e}", realm.realm)))?;
    if credential.is_some() && url.scheme() != "https" && !realm.plain_http_ok {
        return Err(auth_error(format!(
            "refusing to send credentials to the plain-HTTP token realm {}",
            display_url(&url)
        )));
    }
    // Token requests have slots of their own, apart from the registry's: one may be made while
    // a request holds a registry slot (a token renewed mid-upload), and a shared limit would let
    // uploads that hold every slot wait on themselves.
    let host = format!("token server {}", url.host_str().unwrap_or_default());
    let scope_values = scopes.to_query_values();
    let make = || request(transport, &url, realm.service, &scope_values, credential);
    let sent = transport.send(&host, &make, count).await?;
    let status = sent.response.status().as_u16();
    let body = transport.read_limited(sent.response, 1024 * 1024).await?;
    if status == 401 || status == 403 {
        return Err(Error::Unauthorized {
            status,
            method: if matches!(credential, Some(Credential::IdentityToken(_))) {
                "POST"
            } else {
                "GET"
            }
            .to_owned(),
            url: display_url(&url),
            registry: realm.registry.to_owned(),
            refused: login.map(|l| l.origin.clone()),
        });
    }
    if !(200..300).contains(&status) {
        return Err(auth_error(format!(
            "the token server failed (HTTP {status} from {}) for {}",
            display_url(&url),
            if scope_values.is_empty() {
                "no scope".to_owned()
            } else {
                scope_values.join(" ")
            }
        )));
    }
    token(realm.registry, scopes, &scope_values, &body)
}

/// The token request: a refresh-token grant (POST) for an identity token, else a GET with the
/// scopes, with Basic credentials when there are some.
fn request(
    transport: &Transport,
    url: &Url,
    service: Option<&str>,
    scope_values: &[String],
    credential: Option<&Credential>,
) -> reqwest::RequestBuilder {
    match credential {
        Some(Credential::IdentityToken(refresh)) => {
            let mut form = vec![
                ("grant_type", "refresh_token".to_owned()),
                ("refresh_token", refresh.clone()),
                ("client_id", "registry-action".to_owned()),
                ("scope", scope_values.join(" ")),
            ];
            if let Some(service) = service {
                form.push(("service", service.to_owned()));
            }
            transport.http().post(url.clone()).form(&form)
        }
        basic => {
            let mut query: Vec<(&str, &str)> = Vec::new();
            if let Some(service) = service {
                query.push(("service", service));
            }
            for scope in scope_values {
                query.push(("scope", scope));
            }
            let request = transport.http().get(url.clone()).query(&query);
            match basic {
                Some(Credential::Basic { username, password }) => {
                    request.basic_auth(username, Some(password))
                }
                _ => request,
            }
        }
    }
}

/// The token a successful answer holds, renewed a little before it expires.
fn token(registry: &str, scopes: &Scopes, scope_values: &[String], body: &[u8]) -> Result<Token> {
    let auth_error = |message: String| Error::Auth {
        registry: registry.to_owned(),
        message,
    };
    let parsed: TokenResponse = serde_json::from_slice(body)
        .map_err(|e| auth_error(format!("token response is not the expected JSON: {e}")))?;
    let value = parsed
        .token
        .filter(|t| !t.is_empty())
        .or(parsed.access_token.filter(|t| !t.is_empty()))
        .ok_or_else(|| {
            auth_error("token response holds neither `token` nor `access_token`".into())
        })?;
    let lifetime = parsed
        .expires_in
        .filter(|s| *s > 0)
        .map_or(DEFAULT_EXPIRY, Duration::from_secs);
    // Renew a little early: a token that expires on the way is a wasted request.
    let margin = (lifetime / 10).min(Duration::from_secs(30));
    tracing::debug!(registry, scopes = ?scope_values, lifetime_s = lifetime.as_secs(), "token issued");
    Ok(Token {
        scopes: scopes.clone(),
        value,
        expires: Instant::now() + lifetime - margin,
    })
}
