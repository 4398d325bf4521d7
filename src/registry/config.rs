//! The registry client's settings: credentials, where Docker's config lives, insecure hosts,
//! extra CA certificates, concurrency, retry and stall limits, the stop switch. `from_env` reads
//! the usual variables.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::time::Duration;

use super::auth::{Credential, CredentialOrigin};
use super::retry::RetryPolicy;
use super::stop::Stop;

/// The environment variable that shortens both stall timeouts (seconds, e.g. `3`): for tests
/// that need a stalled registry to fail in seconds. Not an input: the defaults suit real
/// registries.
pub const STALL_TIMEOUT_VAR: &str = "REGISTRY_ACTION_STALL_TIMEOUT";

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
    /// How long a small request (ping, token, HEAD, manifest, tag list) may wait for its answer,
    /// or for the next bytes of its body, before it counts as stalled: a temporary failure,
    /// retried like a reset connection.
    pub request_stall_timeout: Duration,
    /// The same for a blob transfer: the longest time without a byte of the body moving (sent
    /// or received), or, once a blob's body is sent, without the registry's answer.
    pub transfer_stall_timeout: Duration,
    /// When triggered, every request fails at once with [`Error::Stopped`](super::Error::Stopped).
    pub stop: Stop,
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
            request_stall_timeout: Duration::from_secs(20),
            transfer_stall_timeout: Duration::from_secs(60),
            stop: Stop::new(),
            user_agent: concat!("registry-action/", env!("CARGO_PKG_VERSION")).to_owned(),
        }
    }
}

impl ClientConfig {
    /// The defaults plus the run's environment (`var` reads it: the process's, then any
    /// `--env-file`): Docker's config from `DOCKER_CONFIG` or `~/.docker`, and the CA files named
    /// by `SSL_CERT_FILE` / found in `SSL_CERT_DIR`.
    pub fn from_vars(var: impl Fn(&str) -> Option<String>) -> ClientConfig {
        let var = |name: &str| var(name).filter(|v| !v.is_empty());
        let ca_files = super::transport::env_ca_files(var("SSL_CERT_FILE"), var("SSL_CERT_DIR"));
        let docker_config_dir = docker_config_dir(var, |dir| dir.is_dir());
        ClientConfig {
            docker_config_dir,
            ca_files,
            ..ClientConfig::default()
        }
    }

    /// Both stall timeouts set to `seconds` when it is a positive number of seconds; unchanged
    /// otherwise (a test knob, see [`STALL_TIMEOUT_VAR`]).
    pub fn with_stall_timeout(mut self, seconds: Option<&str>) -> ClientConfig {
        let parsed = seconds.and_then(|s| s.trim().parse::<f64>().ok());
        if let Some(secs) = parsed.filter(|s| s.is_finite() && *s > 0.0) {
            let limit = Duration::from_secs_f64(secs);
            self.request_stall_timeout = limit;
            self.transfer_stall_timeout = limit;
        }
        self
    }
}

/// Where Docker's `config.json` is: `DOCKER_CONFIG`, else `$HOME/.docker`.
///
/// In a container action, a job-level `DOCKER_CONFIG` (set for docker/login-action) reaches the
/// container as the runner's host path, which does not exist inside. When it lies in the job's
/// workspace (`$RUNNER_WORKSPACE/<workspace dir>/...`), the same folder is mounted at
/// `$GITHUB_WORKSPACE`, so it is read there.
fn docker_config_dir(
    var: impl Fn(&str) -> Option<String>,
    is_dir: impl Fn(&Path) -> bool,
) -> Option<PathBuf> {
    let Some(given) = var("DOCKER_CONFIG").map(PathBuf::from) else {
        return var("HOME").map(|home| PathBuf::from(home).join(".docker"));
    };
    if is_dir(&given) {
        return Some(given);
    }
    let in_container = (|| {
        let runner_workspace = PathBuf::from(var("RUNNER_WORKSPACE")?);
        let workspace = PathBuf::from(var("GITHUB_WORKSPACE")?);
        let mut rest = given.strip_prefix(&runner_workspace).ok()?.components();
        rest.next()?;
        Some(workspace.join(rest.as_path()))
    })();
    Some(in_container.filter(|dir| is_dir(dir)).unwrap_or(given))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn vars<'a>(pairs: &'a [(&'a str, &'a str)]) -> impl Fn(&str) -> Option<String> + 'a {
        |name| {
            pairs
                .iter()
                .find(|(n, _)| *n == name)
                .map(|(_, v)| v.to_string())
        }
    }

    const RUNNER: &[(&str, &str)] = &[
        ("HOME", "/github/home"),
        ("RUNNER_WORKSPACE", "/home/runner/work/app"),
        ("GITHUB_WORKSPACE", "/github/workspace"),
        ("DOCKER_CONFIG", "/home/runner/work/app/app/.docker"),
    ];

    #[test]
    fn a_host_docker_config_in_the_workspace_is_read_through_the_mount() {
        let found = docker_config_dir(vars(RUNNER), |d| {
            d == Path::new("/github/workspace/.docker")
        });
        assert_eq!(found, Some(PathBuf::from("/github/workspace/.docker")));
    }

    #[test]
    fn a_docker_config_that_exists_is_read_where_it_is() {
        let found = docker_config_dir(vars(RUNNER), |_| true);
        assert_eq!(
            found,
            Some(PathBuf::from("/home/runner/work/app/app/.docker"))
        );
    }

    #[test]
    fn a_docker_config_outside_the_workspace_stays_as_given() {
        let mut outside = RUNNER.to_vec();
        outside[3] = ("DOCKER_CONFIG", "/home/runner/.docker");
        let found = docker_config_dir(vars(&outside), |_| false);
        assert_eq!(found, Some(PathBuf::from("/home/runner/.docker")));
        assert_eq!(
            docker_config_dir(vars(&RUNNER[..3]), |_| false),
            Some(PathBuf::from("/github/home/.docker"))
        );
    }
}
