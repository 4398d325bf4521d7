//! Authorization for registry requests: which credential a registry gets (configured, else
//! Docker's config), the `Authorization` value for a set of scopes (Basic, or a cached Bearer
//! token fetched once per scope set), and learning from a 401's challenge.

use std::sync::atomic::Ordering;

use super::auth::pick_challenge;
use reqwest::header::HeaderValue;

use super::auth::{self, Challenge, Credential, CredentialOrigin, Login, Scopes};
use super::client::{Client, RegistryState};
use super::error::{Error, Result};
use super::reference::api_host;
use super::token::{self, Realm, Token};
use super::transport::Sent;

impl Client {
    /// The credential for a registry and where it came from: configured, else Docker's config,
    /// else none.
    pub(crate) async fn login(&self, state: &RegistryState) -> Result<Option<Login>> {
        state
            .login
            .get_or_try_init(|| async {
                let config = self.config();
                let configured = config
                    .credentials
                    .iter()
                    .find(|(name, _)| name.as_str() == state.name || api_host(name) == state.host);
                if let Some((name, credential)) = configured {
                    let origin = config
                        .credential_origins
                        .get(name)
                        .cloned()
                        .unwrap_or(CredentialOrigin::Configured);
                    return Ok(Some(Login {
                        credential: credential.clone(),
                        origin,
                    }));
                }
                let Some(dir) = config.docker_config_dir.clone() else {
                    return Ok(None);
                };
                let name = state.name.clone();
                let from = dir.clone();
                let found =
                    tokio::task::spawn_blocking(move || auth::from_docker_config(&from, &name))
                        .await
                        .map_err(|e| Error::Auth {
                            registry: state.name.clone(),
                            message: format!("reading Docker's config failed: {e}"),
                        })??;
                Ok(found.map(|credential| Login {
                    credential,
                    origin: CredentialOrigin::DockerConfig(dir),
                }))
            })
            .await
            .cloned()
    }

    /// The credential for a registry, without its origin.
    pub(crate) async fn credential(&self, state: &RegistryState) -> Result<Option<Credential>> {
        Ok(self.login(state).await?.map(|login| login.credential))
    }

    /// The `Authorization` value for a request needing `scopes`; `force` fetches a new token.
    pub(crate) async fn auth_header(
        &self,
        state: &RegistryState,
        scopes: &Scopes,
        force: bool,
    ) -> Result<Option<HeaderValue>> {
        let challenge = state
            .challenge
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .clone();
        let value = match challenge {
            None => return Ok(None),
            Some(Challenge::Basic) => match self.credential(state).await? {
                Some(Credential::Basic { username, password }) => {
                    use base64::Engine as _;
                    let raw = format!("{username}:{password}");
                    format!(
                        "Basic {}",
                        base64::engine::general_purpose::STANDARD.encode(raw)
                    )
                }
                _ => return Ok(None),
            },
            Some(Challenge::Bearer { realm, service, .. }) => {
                let cached = || {
                    let tokens = state.tokens.lock().unwrap_or_else(|p| p.into_inner());
                    tokens
                        .iter()
                        .rev()
                        .find(|t| t.is_fresh() && t.scopes.covers(scopes))
                        .map(|t| t.secret().to_owned())
                };
                if let Some(secret) = cached().filter(|_| !force) {
                    bearer(&secret)
                } else {
                    let _one_at_a_time = state.token_fetch.lock().await;
                    match cached().filter(|_| !force) {
                        Some(secret) => bearer(&secret),
                        None => {
                            let login = self.login(state).await?;
                            let realm = Realm {
                                registry: &state.name,
                                realm: &realm,
                                service: service.as_deref(),
                                plain_http_ok: self.may_use_plain_http(state),
                            };
                            let count = || {
                                state.token_requests.fetch_add(1, Ordering::Relaxed);
                            };
                            let token = token::fetch(
                                self.transport(),
                                &realm,
                                scopes,
                                login.as_ref(),
                                &count,
                            )
                            .await?;
                            let secret = token.secret().to_owned();
                            let mut tokens = state.tokens.lock().unwrap_or_else(|p| p.into_inner());
                            tokens.retain(Token::is_fresh);
                            tokens.push(token);
                            bearer(&secret)
                        }
                    }
                }
            }
        };
        let mut header = HeaderValue::from_str(&value).map_err(|_| Error::Auth {
            registry: state.name.clone(),
            message: "the credential or token holds characters a header cannot carry".into(),
        })?;
        header.set_sensitive(true);
        Ok(Some(header))
    }

    /// After a 401: records the challenge, adds the scope it names; whether a retry can help.
    pub(crate) async fn learn_challenge(
        &self,
        state: &RegistryState,
        sent: &Sent,
        scopes: &mut Scopes,
    ) -> Result<bool> {
        let Some(challenge) = pick_challenge(&sent.response) else {
            return Ok(false);
        };
        if let Challenge::Bearer {
            scope: Some(scope),
            error,
            ..
        } = &challenge
        {
            tracing::debug!(registry = %state.name, error = ?error, "re-authenticating for the scope the registry named");
            scopes.add_challenge_scope(scope);
        }
        let can_retry = match &challenge {
            Challenge::Bearer { .. } => true,
            Challenge::Basic => matches!(
                self.credential(state).await?,
                Some(Credential::Basic { .. })
            ),
        };
        let previous = state
            .challenge
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .replace(challenge.clone());
        // Basic credentials already sent and refused: sending them again cannot help.
        Ok(can_retry && !(challenge == Challenge::Basic && previous == Some(Challenge::Basic)))
    }
}

fn bearer(secret: &str) -> String {
    format!("Bearer {secret}")
}
