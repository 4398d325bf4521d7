//! Real registries for tests: the Debian `docker-registry` (distribution 2.8) on a free 127.0.0.1
//! port with a generated config in a tempdir: plain HTTP, TLS with a test CA and htpasswd, or
//! behind a token server. Killed on Drop, also when a test panics.

use std::net::{SocketAddr, TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use rcgen::{BasicConstraints, CertificateParams, DnType, IsCa, KeyPair, SanType};
use registry_action::registry::{ClientConfig, Credential, RetryPolicy};

use super::token_server::TokenServer;

pub const USER: &str = "tester";
pub const PASSWORD: &str = "s3cret-pass";
const BINARY: &str = "/usr/bin/docker-registry";

/// The registry binary, or `None` (test skipped) when it is missing and `CI` is unset. Under CI a
/// missing binary fails the test: the project's test script installs it.
pub fn binary() -> Option<PathBuf> {
    let path =
        std::env::var_os("REGISTRY_BINARY").map_or_else(|| PathBuf::from(BINARY), PathBuf::from);
    if path.is_file() {
        return Some(path);
    }
    let ci = std::env::var("CI").is_ok_and(|v| !v.is_empty() && v != "false" && v != "0");
    assert!(
        !ci,
        "{} is not installed, and CI is set: install the docker-registry package",
        path.display()
    );
    eprintln!(
        "SKIPPED: {} is not installed (apt-get install docker-registry skopeo)",
        path.display()
    );
    None
}

/// How the registry authenticates.
pub enum Auth {
    None,
    /// htpasswd Basic auth (needs TLS to be meaningful; distribution allows it either way).
    Htpasswd,
    /// Bearer tokens from a [`TokenServer`] started with the registry.
    Token,
}

/// A running registry; stopped on Drop.
pub struct Registry {
    child: Child,
    pub addr: SocketAddr,
    pub dir: tempfile::TempDir,
    pub tls: bool,
    pub token_server: Option<TokenServer>,
}

impl Drop for Registry {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl Registry {
    /// Plain HTTP, no auth.
    pub fn plain() -> Option<Registry> {
        Registry::start(false, Auth::None)
    }

    /// TLS (test CA in `ca.pem`) with htpasswd Basic auth for [`USER`]/[`PASSWORD`].
    pub fn tls_basic() -> Option<Registry> {
        Registry::start(true, Auth::Htpasswd)
    }

    /// Plain HTTP behind a token server that requires [`USER`]/[`PASSWORD`].
    pub fn token() -> Option<Registry> {
        Registry::start(false, Auth::Token)
    }

    pub fn start(tls: bool, auth: Auth) -> Option<Registry> {
        let binary = binary()?;
        let dir = tempfile::tempdir().expect("tempdir");
        let port = free_port();
        let addr: SocketAddr = ([127, 0, 0, 1], port).into();
        let d = dir.path();
        let mut config = format!(
            "version: 0.1\nlog:\n  level: info\n  accesslog:\n    disabled: false\n\
             storage:\n  filesystem:\n    rootdirectory: {}\n  delete:\n    enabled: true\n\
             http:\n  addr: {addr}\n  secret: harness-secret\n",
            d.join("data").display()
        );
        if tls {
            write_tls_files(d);
            config.push_str(&format!(
                "  tls:\n    certificate: {}\n    key: {}\n",
                d.join("server.pem").display(),
                d.join("server.key").display()
            ));
        }
        let token_server = match auth {
            Auth::None => None,
            Auth::Htpasswd => {
                let hash = bcrypt::hash(PASSWORD, 4).expect("bcrypt");
                std::fs::write(d.join("htpasswd"), format!("{USER}:{hash}\n")).expect("htpasswd");
                config.push_str(&format!(
                    "auth:\n  htpasswd:\n    realm: harness\n    path: {}\n",
                    d.join("htpasswd").display()
                ));
                None
            }
            Auth::Token => {
                let server = TokenServer::start(Some((USER, PASSWORD)));
                std::fs::write(d.join("token-ca.pem"), server.cert_pem()).expect("token ca");
                config.push_str(&format!(
                    "auth:\n  token:\n    realm: {}\n    service: {}\n    issuer: {}\n    rootcertbundle: {}\n",
                    server.realm(),
                    super::token_server::SERVICE,
                    super::token_server::ISSUER,
                    d.join("token-ca.pem").display()
                ));
                Some(server)
            }
        };
        std::fs::write(d.join("config.yml"), config).expect("config");
        let log = std::fs::File::create(d.join("registry.log")).expect("log");
        let child = Command::new(binary)
            .arg("serve")
            .arg(d.join("config.yml"))
            .stdin(Stdio::null())
            .stdout(log.try_clone().expect("log"))
            .stderr(log)
            .spawn()
            .expect("start docker-registry");
        let mut registry = Registry {
            child,
            addr,
            dir,
            tls,
            token_server,
        };
        registry.wait_ready();
        Some(registry)
    }

    fn wait_ready(&mut self) {
        let deadline = Instant::now() + Duration::from_secs(20);
        while Instant::now() < deadline {
            if let Ok(Some(status)) = self.child.try_wait() {
                panic!("docker-registry exited ({status}):\n{}", self.log());
            }
            if TcpStream::connect_timeout(&self.addr, Duration::from_millis(200)).is_ok() {
                return;
            }
            std::thread::sleep(Duration::from_millis(50));
        }
        panic!(
            "docker-registry did not listen on {} in time:\n{}",
            self.addr,
            self.log()
        );
    }

    /// `127.0.0.1:PORT`, the registry's name in references.
    pub fn name(&self) -> String {
        self.addr.to_string()
    }

    /// The registry's log, access log included.
    pub fn log(&self) -> String {
        std::fs::read_to_string(self.dir.path().join("registry.log")).unwrap_or_default()
    }

    /// Access-log request lines (`"GET /v2/ HTTP/1.1"`) with their status: `("GET /v2/", 200)`.
    pub fn access_log(&self) -> Vec<(String, u16)> {
        // The registry writes a line after answering: let the last one land.
        std::thread::sleep(Duration::from_millis(50));
        self.log()
            .lines()
            .filter_map(|line| {
                let start = line.find("\"")? + 1;
                let end = start + line[start..].find("\"")?;
                let request = &line[start..end];
                let (method, rest) = request.split_once(' ')?;
                if !matches!(method, "GET" | "HEAD" | "PUT" | "POST" | "PATCH" | "DELETE") {
                    return None;
                }
                let path = rest.rsplit_once(' ').map_or(rest, |(p, _)| p);
                let status = line[end + 1..].split_whitespace().next()?.parse().ok()?;
                Some((format!("{method} {path}"), status))
            })
            .collect()
    }

    pub fn ca_file(&self) -> PathBuf {
        self.dir.path().join("ca.pem")
    }

    /// A client config for this registry: fast retries, the test CA, credentials when needed.
    pub fn client_config(&self) -> ClientConfig {
        let mut config = ClientConfig {
            retry: fast_retries(),
            ..ClientConfig::default()
        };
        if self.tls {
            config.ca_files.push(self.ca_file());
        }
        config.credentials.insert(
            self.name(),
            Credential::Basic {
                username: USER.into(),
                password: PASSWORD.into(),
            },
        );
        config
    }

    /// `skopeo inspect --raw` of `reference` (a tag or `@digest` suffix on `repo`), the independent
    /// view of what landed.
    pub fn skopeo_raw(&self, repo_and_ref: &str) -> Vec<u8> {
        let output = Command::new("skopeo")
            .args(["inspect", "--raw", "--tls-verify=false", "--creds"])
            .arg(format!("{USER}:{PASSWORD}"))
            .arg(format!("docker://{}/{repo_and_ref}", self.name()))
            .output()
            .expect("run skopeo (apt-get install skopeo)");
        assert!(
            output.status.success(),
            "skopeo inspect failed: {}",
            String::from_utf8_lossy(&output.stderr)
        );
        output.stdout
    }
}

impl Registry {
    /// The tags of `repo`, as `skopeo list-tags` lists them.
    pub fn skopeo_tags(&self, repo: &str) -> Vec<String> {
        let output = Command::new("skopeo")
            .args(["list-tags", "--tls-verify=false", "--creds"])
            .arg(format!("{USER}:{PASSWORD}"))
            .arg(format!("docker://{}/{repo}", self.name()))
            .output()
            .expect("run skopeo list-tags");
        assert!(
            output.status.success(),
            "skopeo list-tags failed: {}",
            String::from_utf8_lossy(&output.stderr)
        );
        let json: serde_json::Value = serde_json::from_slice(&output.stdout).expect("tags JSON");
        json["Tags"]
            .as_array()
            .into_iter()
            .flatten()
            .filter_map(|t| t.as_str().map(str::to_owned))
            .collect()
    }
}

pub fn fast_retries() -> RetryPolicy {
    RetryPolicy {
        max_attempts: 5,
        initial_backoff: Duration::from_millis(10),
        max_backoff: Duration::from_millis(100),
        max_retry_after: Duration::from_secs(2),
    }
}

pub fn free_port() -> u16 {
    let listener = TcpListener::bind("127.0.0.1:0").expect("bind a free port");
    listener.local_addr().expect("local addr").port()
}

/// A test CA and a server certificate for 127.0.0.1 / localhost / ::1 signed by it.
fn write_tls_files(dir: &Path) {
    let ca_key = KeyPair::generate().expect("ca key");
    let mut ca_params = CertificateParams::new(Vec::<String>::new()).expect("ca params");
    ca_params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
    ca_params
        .distinguished_name
        .push(DnType::CommonName, "registry-action test CA");
    let ca = ca_params.self_signed(&ca_key).expect("ca cert");
    let mut params = CertificateParams::new(vec!["localhost".to_owned()]).expect("params");
    params
        .subject_alt_names
        .push(SanType::IpAddress([127, 0, 0, 1].into()));
    params
        .subject_alt_names
        .push(SanType::IpAddress(std::net::Ipv6Addr::LOCALHOST.into()));
    let key = KeyPair::generate().expect("server key");
    let cert = params.signed_by(&key, &ca, &ca_key).expect("server cert");
    std::fs::write(dir.join("ca.pem"), ca.pem()).expect("ca.pem");
    std::fs::write(dir.join("server.pem"), cert.pem()).expect("server.pem");
    std::fs::write(dir.join("server.key"), key.serialize_pem()).expect("server.key");
}
