//! The registry client's settings: credentials, where Docker's config lives, insecure hosts,
//! extra CA certificates, concurrency, retry and stall limits, the stop switch, names resolved
//! by hand. `from_env` reads the usual variables.

use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::time::Duration;

use super::auth::{Credential, CredentialOrigin};
use super::retry::RetryPolicy;
use super::stop::Stop;

/// The environment variable that shortens both stall timeouts (seconds, e.g. `3`): for tests
/// that need a stalled registry to fail in seconds. Not an input: the defaults suit real
/// registries.
pub const STALL_TIMEOUT_VAR: &str = "REGISTRY_ACTION_STALL_TIMEOUT";

/// The environment variable that sends a host name to an address of the test's choosing, as
/// `curl --connect-to` does: `ghcr.io:443:127.0.0.1:8443` (several separated by commas), so that a
/// test reaches a loopback emulator under the name `ghcr.io` and the code keyed on that name runs
/// as it would on GitHub. A test and debug knob, not an input.
pub const RESOLVE_VAR: &str = "REGISTRY_ACTION_RESOLVE";

/// One name sent to another address: requests to `host` on `port` go to `to`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Resolve {
    pub host: String,
    pub port: u16,
    pub to: SocketAddr,
}

/// Parses [`RESOLVE_VAR`]'s value: `<host>:<port>:<address>:<port>` entries separated by commas
/// (an IPv6 address in brackets). The client can only move a name's default HTTPS port (443)
/// to another port; any other port keeps its number (`host:5000:127.0.0.1:5000`).
pub fn parse_resolve(value: &str) -> Result<Vec<Resolve>, String> {
    let mut rules: Vec<Resolve> = Vec::new();
    for entry in value.split(',').map(str::trim).filter(|e| !e.is_empty()) {
        let bad = |why: &str| {
            format!("{RESOLVE_VAR}: `{entry}` {why}; expected e.g. `ghcr.io:443:127.0.0.1:8443`")
        };
        let mut parts = entry.splitn(3, ':');
        let (Some(host), Some(port), Some(to)) = (parts.next(), parts.next(), parts.next()) else {
            return Err(bad("is not `<host>:<port>:<address>:<port>`"));
        };
        let port: u16 = port
            .parse()
            .map_err(|_| bad("has no valid port after the host"))?;
        let to: SocketAddr = to
            .parse()
            .map_err(|_| bad("has no valid `<address>:<port>` after the host's port"))?;
        if host.is_empty() || host.contains(['/', '[', ']']) {
            return Err(bad("does not start with a host name"));
        }
        if port != 443 && port != to.port() {
            return Err(bad(
                "moves a port other than 443 to another port, which the client cannot do",
            ));
        }
        let host = host.to_ascii_lowercase();
        if rules.iter().any(|r| r.host == host) {
            return Err(bad("names a host given before"));
        }
        rules.push(Resolve { host, port, to });
    }
    Ok(rules)
}

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
    /// [`RESOLVE_VAR`]'s value, if set: parsed when the client is built (a bad value fails it).
    pub resolve: Option<String>,
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
            resolve: None,
        }
    }
}

impl ClientConfig {
    /// The defaults plus the environment: Docker's config from `DOCKER_CONFIG` or `~/.docker`, and
    /// the CA files named by `SSL_CERT_FILE` / found in `SSL_CERT_DIR`.
    pub fn from_env() -> ClientConfig {
        let var = |name: &str| std::env::var(name).ok().filter(|v| !v.is_empty());
        let docker_config_dir = docker_config_dir(var, |dir| dir.is_dir());
        ClientConfig {
            docker_config_dir,
            ca_files: super::transport::env_ca_files(),
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

impl ClientConfig {
    /// Names resolved by hand, from [`RESOLVE_VAR`]'s value (a test and debug knob).
    pub fn with_resolve(mut self, value: Option<&str>) -> ClientConfig {
        self.resolve = value.map(str::to_owned).filter(|v| !v.trim().is_empty());
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
    fn resolve_rules_move_a_name_and_its_default_port() {
        let rules = parse_resolve("ghcr.io:443:127.0.0.1:8443, Reg.test:5000:[::1]:5000").unwrap();
        assert_eq!(
            rules,
            [
                Resolve {
                    host: "ghcr.io".into(),
                    port: 443,
                    to: "127.0.0.1:8443".parse().unwrap()
                },
                Resolve {
                    host: "reg.test".into(),
                    port: 5000,
                    to: "[::1]:5000".parse().unwrap()
                },
            ]
        );
        assert_eq!(parse_resolve("").unwrap(), []);
        for (bad, why) in [
            ("ghcr.io:443:127.0.0.1", "no valid `<address>:<port>`"),
            ("ghcr.io:https:127.0.0.1:8443", "no valid port"),
            ("ghcr.io", "is not `<host>:<port>"),
            ("reg.test:5000:127.0.0.1:6000", "other than 443"),
            (
                "ghcr.io:443:127.0.0.1:1,ghcr.io:443:127.0.0.1:2",
                "given before",
            ),
        ] {
            let e = parse_resolve(bad).unwrap_err();
            assert!(e.contains(why) && e.contains(RESOLVE_VAR), "{bad}: {e}");
        }
    }

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
