//! The registry client's settings: credentials, where Docker's config lives, insecure hosts,
//! extra CA certificates, concurrency and retry limits. `from_env` reads the usual variables.

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::time::Duration;

use super::auth::{Credential, CredentialOrigin};
use super::retry::RetryPolicy;

/// How a [`Client`](super::Client) reaches registries. `Default` is anonymous, no Docker config,
/// the system's CAs only.
#[derive(Debug, Clone)]
pub struct ClientConfig {
    /// Credentials by registry name (`ghcr.io`, `docker.io`, `127.0.0.1:5000`), tried before
    /// Docker's config.
    pub credentials: BTreeMap<String, Credential>,
    /// Where each of `credentials` came from, by the same key; named when a registry refuses
    /// one. A credential without an entry is [`CredentialOrigin::Configured`].
    pub credential_origins: BTreeMap<String, CredentialOrigin>,
    /// The directory holding Docker's `config.json`; `None` reads none.
    pub docker_config_dir: Option<PathBuf>,
    /// Hosts (`host[:port]`) treated like loopback ones: HTTPS first, plain HTTP if HTTPS fails.
    pub insecure_registries: Vec<String>,
    /// PEM files of CA certificates trusted besides the system's.
    pub ca_files: Vec<PathBuf>,
    /// Requests in flight to one host at most.
    pub max_concurrency_per_host: usize,
    /// Retry and backoff limits.
    pub retry: RetryPolicy,
    /// Time allowed to open a connection.
    pub connect_timeout: Duration,
    /// Time allowed between two reads of a response.
    pub read_timeout: Duration,
    /// The `User-Agent` header.
    pub user_agent: String,
}

impl Default for ClientConfig {
    fn default() -> ClientConfig {
        ClientConfig {
            credentials: BTreeMap::new(),
            credential_origins: BTreeMap::new(),
            docker_config_dir: None,
            insecure_registries: Vec::new(),
            ca_files: Vec::new(),
            max_concurrency_per_host: 8,
            retry: RetryPolicy::default(),
            connect_timeout: Duration::from_secs(30),
            read_timeout: Duration::from_secs(300),
            user_agent: concat!("registry-action/", env!("CARGO_PKG_VERSION")).to_owned(),
        }
    }
}

impl ClientConfig {
    /// The defaults plus the environment: Docker's config from `DOCKER_CONFIG` or `~/.docker`, and
    /// the CA files named by `SSL_CERT_FILE` / found in `SSL_CERT_DIR`.
    pub fn from_env() -> ClientConfig {
        let docker_config_dir = std::env::var_os("DOCKER_CONFIG")
            .filter(|v| !v.is_empty())
            .map(PathBuf::from)
            .or_else(|| std::env::var_os("HOME").map(|h| PathBuf::from(h).join(".docker")));
        ClientConfig {
            docker_config_dir,
            ca_files: super::transport::env_ca_files(),
            ..ClientConfig::default()
        }
    }
}
