//! The registry client's core: per-registry state (HTTPS or plain HTTP, decided once by the ping;
//! the auth challenge; credentials; cached tokens; request counters) and the one path every request
//! takes: authorization header, retries, one re-authentication on 401. Operations live in
//! `manifests.rs`, `blobs.rs` and `tags.rs`.

use std::collections::HashMap;
use std::net::IpAddr;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};

use reqwest::header::AUTHORIZATION;
use reqwest::{RequestBuilder, Url};
use tokio::sync::OnceCell;

use super::auth::pick_challenge;
use super::auth::{Challenge, Login, Scopes};
use super::config::ClientConfig;
use super::error::{Error, Result, display_url, forbidden_hint};
use super::reference::api_host;
use super::token::Token;
use super::transport::{Sent, Transport};

/// A registry client for any number of registries. Cheap to clone; share it across tasks.
#[derive(Clone)]
pub struct Client {
    inner: Arc<Inner>,
}

struct Inner {
    config: ClientConfig,
    transport: Transport,
    registries: Mutex<HashMap<String, Arc<RegistryState>>>,
}

/// What the client knows about one registry during a run.
pub(crate) struct RegistryState {
    pub name: String,
    pub host: String,
    pub(crate) base: OnceCell<Url>,
    pub(crate) challenge: Mutex<Option<Challenge>>,
    pub(crate) login: OnceCell<Option<Login>>,
    pub(crate) tokens: Mutex<Vec<Token>>,
    pub(crate) token_fetch: tokio::sync::Mutex<()>,
    pub(crate) requests: AtomicU64,
    pub(crate) token_requests: AtomicU64,
    /// The registry refused a monolithic blob upload that a chunked one then completed: later
    /// blobs go in chunks at once.
    pub(crate) chunked_uploads: AtomicBool,
    /// Whether the registry has the OCI 1.1 referrers API: learnt from the first listing.
    pub(crate) referrers_api: Mutex<super::referrers::ReferrersApi>,
    /// Held by the first listing while the API is unknown, so concurrent first listings send one
    /// probe between them.
    pub(crate) referrers_probe: tokio::sync::Mutex<()>,
}

impl RegistryState {
    pub fn count(&self) {
        self.requests.fetch_add(1, Ordering::Relaxed);
    }
}

/// Builds a request from the registry's base URL (`https://host/` or `http://host/`).
pub(crate) type MakeRequest<'a> =
    &'a (dyn Fn(&reqwest::Client, &Url) -> RequestBuilder + Send + Sync);

impl Client {
    /// A client with `config`; fails only on unusable configuration (e.g. an unreadable CA file).
    pub fn new(config: ClientConfig) -> Result<Client> {
        let transport = Transport::new(&config)?;
        Ok(Client {
            inner: Arc::new(Inner {
                config,
                transport,
                registries: Mutex::new(HashMap::new()),
            }),
        })
    }

    /// Requests sent to `registry` so far (retries included, token requests not).
    pub fn requests(&self, registry: &str) -> u64 {
        self.state(registry).requests.load(Ordering::Relaxed)
    }

    /// Token requests made for `registry` so far.
    pub fn token_requests(&self, registry: &str) -> u64 {
        self.state(registry).token_requests.load(Ordering::Relaxed)
    }

    /// Checks the registry answers the v2 API, deciding HTTPS or plain HTTP and learning how it
    /// wants to be authenticated. Other operations do this on first use.
    pub async fn ping(&self, registry: &str) -> Result<()> {
        let state = self.state(registry);
        self.base(&state).await.map(|_| ())
    }

    /// Obtains one token covering all `scopes` (e.g. push to the target and pull from a mount
    /// source) so that later requests need no further token. A no-op for Basic or no auth.
    pub async fn authorize(&self, registry: &str, scopes: &Scopes) -> Result<()> {
        let state = self.state(registry);
        self.base(&state).await?;
        self.auth_header(&state, scopes, false).await.map(|_| ())
    }

    /// The stop switch every request of this client gives way to.
    pub fn stop(&self) -> &super::Stop {
        self.inner.transport.stop()
    }

    pub(crate) fn config(&self) -> &ClientConfig {
        &self.inner.config
    }

    pub(crate) fn transport(&self) -> &Transport {
        &self.inner.transport
    }

    pub(crate) fn state(&self, registry: &str) -> Arc<RegistryState> {
        let mut map = self
            .inner
            .registries
            .lock()
            .unwrap_or_else(|p| p.into_inner());
        map.entry(registry.to_owned())
            .or_insert_with(|| {
                Arc::new(RegistryState {
                    name: registry.to_owned(),
                    host: api_host(registry).to_owned(),
                    base: OnceCell::new(),
                    challenge: Mutex::new(None),
                    login: OnceCell::new(),
                    tokens: Mutex::new(Vec::new()),
                    token_fetch: tokio::sync::Mutex::new(()),
                    requests: AtomicU64::new(0),
                    token_requests: AtomicU64::new(0),
                    chunked_uploads: AtomicBool::new(false),
                    referrers_api: Mutex::new(super::referrers::ReferrersApi::Unknown),
                    referrers_probe: tokio::sync::Mutex::new(()),
                })
            })
            .clone()
    }

    /// Whether Docker's insecure-registry rule applies: loopback hosts and configured ones.
    pub(crate) fn may_use_plain_http(&self, state: &RegistryState) -> bool {
        let host = strip_port(&state.host);
        let loopback = host == "localhost"
            || host
                .trim_start_matches('[')
                .trim_end_matches(']')
                .parse::<IpAddr>()
                .is_ok_and(|ip| ip.is_loopback());
        loopback
            || self
                .inner
                .config
                .insecure_registries
                .iter()
                .any(|h| h == &state.name || h == &state.host || h == host)
    }

    /// The base URL, decided by the first ping: HTTPS, or plain HTTP for an insecure-eligible
    /// registry whose HTTPS attempt got no HTTP answer.
    pub(crate) async fn base(&self, state: &RegistryState) -> Result<Url> {
        state
            .base
            .get_or_try_init(|| self.decide_base(state))
            .await
            .cloned()
    }

    async fn decide_base(&self, state: &RegistryState) -> Result<Url> {
        let https = base_url("https", &state.host)?;
        let count = || state.count();
        let ping = |base: &Url| {
            let url = base.join("v2/").unwrap_or_else(|_| base.clone());
            move || self.transport().http().get(url.clone())
        };
        let sent = if self.may_use_plain_http(state) {
            count();
            match self
                .transport()
                .send_once(&state.host, ping(&https)())
                .await
            {
                Ok(sent) => (sent, https),
                // No answer over HTTPS, or none in time (a plain-HTTP server reads a TLS hello
                // as a request it waits to complete).
                Err(https_error @ (Error::Transport { .. } | Error::Stalled { .. })) => {
                    let http = base_url("http", &state.host)?;
                    tracing::info!(registry = %state.name, error = %https_error, "HTTPS failed; trying plain HTTP (insecure registry rule)");
                    let sent = self
                        .transport()
                        .send(&state.host, &ping(&http), &count)
                        .await?;
                    // A TLS server answers plain HTTP with 400: then the HTTPS error is the one
                    // that explains (e.g. an unknown CA).
                    if !matches!(sent.response.status().as_u16(), 200..=299 | 401) {
                        return Err(https_error);
                    }
                    (sent, http)
                }
                Err(e) => return Err(e),
            }
        } else {
            (
                self.transport()
                    .send(&state.host, &ping(&https), &count)
                    .await?,
                https,
            )
        };
        let (sent, base) = sent;
        match sent.response.status().as_u16() {
            200..=299 => {}
            401 => {
                let challenge = pick_challenge(&sent.response);
                *state.challenge.lock().unwrap_or_else(|p| p.into_inner()) = challenge;
            }
            _ => return Err(self.status_error(state, "GET", sent).await),
        }
        tracing::debug!(registry = %state.name, base = %base, "registry reachable");
        Ok(base)
    }

    /// Sends a request to a registry with auth for `scopes` and retries; on a 401 learns the
    /// challenge (and any scope it names), re-authenticates once and sends again.
    pub(crate) async fn call(
        &self,
        registry: &str,
        scopes: &Scopes,
        make: MakeRequest<'_>,
    ) -> Result<Sent> {
        let state = self.state(registry);
        let base = self.base(&state).await?;
        let mut scopes = scopes.clone();
        let mut force = false;
        loop {
            let auth = self.auth_header(&state, &scopes, force).await?;
            let build = || {
                let request = make(self.transport().http(), &base);
                match &auth {
                    Some(value) => request.header(AUTHORIZATION, value.clone()),
                    None => request,
                }
            };
            let sent = self
                .transport()
                .send(&state.host, &build, &|| state.count())
                .await?;
            if sent.response.status().as_u16() != 401 || force {
                return Ok(sent);
            }
            match self.learn_challenge(&state, &sent, &mut scopes).await? {
                true => force = true,
                false => return Ok(sent),
            }
        }
    }

    /// Turns an unexpected response into [`Error::Status`], with the registry's error code and
    /// message and, for a 403, a hint; a 401 into [`Error::Unauthorized`], naming where the
    /// refused credential came from, if one was sent.
    pub(crate) async fn status_error(
        &self,
        state: &RegistryState,
        method: &str,
        sent: Sent,
    ) -> Error {
        let status = sent.response.status().as_u16();
        let url = display_url(sent.response.url());
        if status == 401 {
            // The login was looked up before the request was sent; an unreadable one sent none.
            let refused = self.login(state).await.ok().flatten().map(|l| l.origin);
            return Error::Unauthorized {
                status,
                method: method.to_owned(),
                url,
                registry: state.name.clone(),
                refused,
            };
        }
        let body = self
            .transport()
            .read_limited(sent.response, 64 * 1024)
            .await
            .unwrap_or_default();
        let (code, message) = parse_error_body(&body);
        Error::Status {
            status,
            method: method.to_owned(),
            url,
            code,
            message,
            hint: if status == 403 {
                forbidden_hint(&state.name)
            } else {
                None
            },
        }
    }
}

/// The distribution error body's first `{code, message}`.
fn parse_error_body(body: &[u8]) -> (Option<String>, Option<String>) {
    let json: Option<serde_json::Value> = serde_json::from_slice(body).ok();
    let first = json
        .as_ref()
        .and_then(|j| j.get("errors"))
        .and_then(|e| e.as_array())
        .and_then(|a| a.first());
    let field = |name: &str| {
        first
            .and_then(|e| e.get(name))
            .and_then(|v| v.as_str())
            .map(str::to_owned)
    };
    (field("code"), field("message"))
}

fn base_url(scheme: &str, host: &str) -> Result<Url> {
    Url::parse(&format!("{scheme}://{host}/"))
        .map_err(|e| Error::Config(format!("registry host `{host}` does not form a URL: {e}")))
}

/// `host:port` -> `host`, `[::1]:5000` -> `[::1]`.
fn strip_port(host: &str) -> &str {
    if host.starts_with('[') {
        return host.find(']').map_or(host, |i| &host[..=i]);
    }
    host.rsplit_once(':').map_or(host, |(h, _)| h)
}
