//! A loopback emulator of GHCR as GitHub runs it, kept consistent with a real registry. One
//! port for plain HTTP (the registry named `127.0.0.1:PORT`, the REST API at
//! [`GithubEmulator::api_url`]) and one for TLS with a test CA, where the same faces are reached
//! under the name `ghcr.io` (see [`GithubEmulator::ghcr_env`]). Two faces on each:
//!
//! - `/v2/...` and `/token`: the registry, forwarded to a real `docker-registry`, behind GHCR's
//!   token flow (see `registry`): a 401 with a Bearer challenge (`service="ghcr.io"`), a token
//!   endpoint taking a GitHub token as the Basic password of any user, then `Bearer <token>` on
//!   every request. A manifest PUT creates a package version (id, digest, `created_at`) or tags an
//!   existing one; a tag moves off the version that had it, as on GHCR. A registry DELETE is
//!   refused (`UNSUPPORTED`), as on GHCR.
//! - everything else: the REST API (`GET /users/{owner}`, the package and its version list and
//!   delete for `/orgs/...` or `/users/...`, `GET /rate_limit`, `GET
//!   /repos/{owner}/{repo}/pulls/{n}`), with the response shapes, `Link` pagination and
//!   `x-ratelimit-*` headers of GitHub's docs. Deleting a version deletes its manifest in the real
//!   registry (distribution also drops the tags on it).
//!
//! Rate limits as GitHub enforces them: the primary budget per token kind (1,000 an hour for a
//! workflow's `ghs_` token, 5,000 for a personal one, 60 without a token), `/rate_limit` not
//! charged; the secondary limit on deletions (900 points a minute at 5 points a DELETE: more than
//! 180 in any 60 s is refused with 403 and `retry-after`), and secondary-limit 403s to inject.
//! Stopped on Drop.

mod api;
mod registry;
// The emulator against GitHub's documented behaviour.
mod tests;

use super::http::{self, Request, forward_raw, respond, response_head};
use api::api_face;
use registry::{Grant, registry_face, token_endpoint};
use std::collections::BTreeMap;
use std::io::Write;
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::thread::JoinHandle;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

/// A workflow's `GITHUB_TOKEN` with `packages: write`, shaped as GitHub's (`ghs_` + 36).
pub const TOKEN: &str = "ghs_HAZt9xslXTTIQrh6bpy0VAq3GZuO2R8UziJd";
/// A workflow token with `packages: read` only: lists, pulls, but may not push or delete.
pub const READ_ONLY_TOKEN: &str = "ghs_i0Y4mj4TIJZ9RnvIh4TOetAfG82EOMjRZA0G";
/// A personal access token (classic) with `write:packages` and `delete:packages`.
pub const PERSONAL_TOKEN: &str = "ghp_6vbBxKd5WVwd9ExLXa3zphJn9pH9xdreYrmV";

/// GitHub's limit on content-creating and deleting requests: 900 points a minute, 5 a DELETE.
pub const DELETIONS_PER_MINUTE: usize = 180;

/// One package version.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Version {
    pub id: u64,
    pub package: String,
    pub digest: String,
    pub tags: Vec<String>,
    /// Unix seconds.
    pub created_at: i64,
}

/// A primary rate-limit budget, as the `x-ratelimit-*` headers announce it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Budget {
    pub limit: u64,
    pub remaining: u64,
    /// Unix seconds.
    pub reset: u64,
}

impl Budget {
    fn new(limit: u64) -> Budget {
        Budget {
            limit,
            remaining: limit,
            reset: unix_now() as u64 + 3600,
        }
    }

    /// A new hour once the reset time is past.
    fn refresh(&mut self) {
        let now = unix_now() as u64;
        if now >= self.reset {
            self.remaining = self.limit;
            self.reset = now + 3600;
        }
    }

    fn used(&self) -> u64 {
        self.limit.saturating_sub(self.remaining)
    }
}

/// What a token may do, by its kind.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Login {
    /// A workflow's `GITHUB_TOKEN` that may write and delete packages.
    Workflow,
    /// A workflow token that may only read.
    ReadOnly,
    /// A personal access token.
    Personal,
}

impl Login {
    pub fn may_write(self) -> bool {
        self != Login::ReadOnly
    }
}

/// One request to the registry's token endpoint.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TokenRequest {
    /// The Basic username, if any.
    pub user: Option<String>,
    pub scopes: Vec<String>,
    /// 200 (a token) or 401 (a wrong password).
    pub status: u16,
}

/// The emulator's state, open to tests.
pub struct State {
    pub owner: String,
    /// `User` or `Organization`.
    pub owner_type: &'static str,
    /// The workflow token ([`TOKEN`]).
    pub token: String,
    /// A token that may list but not delete (403 on DELETE) or push ([`READ_ONLY_TOKEN`]).
    pub read_only_token: String,
    /// A personal token ([`PERSONAL_TOKEN`]), with a budget of its own.
    pub personal_token: String,
    pub versions: Vec<Version>,
    next_id: u64,
    /// The largest page served, whatever `per_page` asks (GitHub's is 100).
    pub page_cap: usize,
    /// API requests, as `METHOD /path?query`.
    pub requests: Vec<String>,
    /// Registry requests (`/v2/...`), as `METHOD /path?query`, token requests not included.
    pub registry_requests: Vec<String>,
    /// Token endpoint requests.
    pub token_requests: Vec<TokenRequest>,
    /// Registry tokens granted.
    grants: BTreeMap<String, Grant>,
    /// When each deletion the secondary limit let through arrived, in order.
    pub deletions: Vec<Instant>,
    /// Deletions refused for the secondary limit (not the injected ones).
    pub secondary_refusals: usize,
    /// Whether the secondary limit refuses deletions; when false it only counts them (to see how
    /// far a client would go over).
    pub enforce_secondary: bool,
    /// The next N deletions get a secondary-limit 403 with `retry-after: 1`.
    pub inject_secondary: usize,
    /// The next N deletions find the version already deleted (by another run): 404.
    pub deleted_elsewhere: usize,
    /// The budget of the workflow tokens: one repository's `GITHUB_TOKEN`, 1,000 an hour.
    pub rate: Budget,
    /// The personal token's budget: 5,000 an hour.
    pub personal_rate: Budget,
    /// Requests without a token: 60 an hour.
    pub anonymous_rate: Budget,
    /// Pull request number -> `open` / `closed`.
    pub pulls: BTreeMap<u64, &'static str>,
}

impl State {
    /// The version holding `digest` in `package`.
    pub fn version(&self, package: &str, digest: &str) -> Option<&Version> {
        self.versions
            .iter()
            .find(|v| v.package == package && v.digest == digest)
    }

    /// Sets when `digest` was created (Unix seconds).
    pub fn set_created(&mut self, package: &str, digest: &str, at: i64) {
        for v in &mut self.versions {
            if v.package == package && v.digest == digest {
                v.created_at = at;
            }
        }
    }

    /// Every version of `package` created `at` (Unix seconds).
    pub fn set_all_created(&mut self, package: &str, at: i64) {
        for v in self.versions.iter_mut().filter(|v| v.package == package) {
            v.created_at = at;
        }
    }

    /// What `token` may do, if it is one of the emulator's.
    pub fn login(&self, token: &str) -> Option<Login> {
        if token == self.token {
            Some(Login::Workflow)
        } else if token == self.read_only_token {
            Some(Login::ReadOnly)
        } else if token == self.personal_token {
            Some(Login::Personal)
        } else {
            None
        }
    }

    /// The most deletions the server let through within any 60 s.
    pub fn max_deletions_in_a_minute(&self) -> usize {
        let mut first = 0;
        let mut most = 0;
        for (last, at) in self.deletions.iter().enumerate() {
            while at.duration_since(self.deletions[first]) >= Duration::from_secs(60) {
                first += 1;
            }
            most = most.max(last + 1 - first);
        }
        most
    }
}

struct Shared {
    upstream: SocketAddr,
    addr: SocketAddr,
    state: Mutex<State>,
}

/// Which port a request came in on.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Face {
    Plain,
    Tls,
}

pub struct GithubEmulator {
    pub addr: SocketAddr,
    /// The TLS port, reached as `ghcr.io`.
    pub tls_addr: SocketAddr,
    shared: Arc<Shared>,
    stop: Arc<AtomicBool>,
    threads: Vec<JoinHandle<()>>,
    /// The test CA (`ca.pem`).
    dir: tempfile::TempDir,
}

impl Drop for GithubEmulator {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::SeqCst);
        let _ = TcpStream::connect(self.addr);
        let _ = TcpStream::connect(self.tls_addr);
        for thread in self.threads.drain(..) {
            let _ = thread.join();
        }
    }
}

pub fn unix_now() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_secs() as i64)
}

impl GithubEmulator {
    /// Starts the emulator for `owner` (`User` or `Organization`) in front of `upstream`.
    pub fn start(upstream: SocketAddr, owner: &str, owner_type: &'static str) -> GithubEmulator {
        let listener = TcpListener::bind("127.0.0.1:0").expect("bind emulator");
        let addr = listener.local_addr().expect("addr");
        let tls_listener = TcpListener::bind("127.0.0.1:0").expect("bind emulator (TLS)");
        let tls_addr = tls_listener.local_addr().expect("addr");
        let dir = tempfile::tempdir().expect("emulator dir");
        let tls = registry::tls_config(&dir.path().join("ca.pem"));
        let shared = Arc::new(Shared {
            upstream,
            addr,
            state: Mutex::new(State {
                owner: owner.to_string(),
                owner_type,
                token: TOKEN.into(),
                read_only_token: READ_ONLY_TOKEN.into(),
                personal_token: PERSONAL_TOKEN.into(),
                versions: Vec::new(),
                next_id: 1000,
                page_cap: 100,
                requests: Vec::new(),
                registry_requests: Vec::new(),
                token_requests: Vec::new(),
                grants: BTreeMap::new(),
                deletions: Vec::new(),
                secondary_refusals: 0,
                enforce_secondary: true,
                inject_secondary: 0,
                deleted_elsewhere: 0,
                rate: Budget::new(1000),
                personal_rate: Budget::new(5000),
                anonymous_rate: Budget::new(60),
                pulls: BTreeMap::new(),
            }),
        });
        let stop = Arc::new(AtomicBool::new(false));
        let serving = shared.clone();
        let plain = http::serve(listener, stop.clone(), move |request, stream| {
            handle(&serving, Face::Plain, request, stream)
        });
        let serving = shared.clone();
        let secure = http::serve_tls(tls_listener, stop.clone(), tls, move |request, stream| {
            handle(&serving, Face::Tls, request, stream)
        });
        GithubEmulator {
            addr,
            tls_addr,
            shared,
            stop,
            threads: vec![plain, secure],
            dir,
        }
    }

    /// The registry's name on the plain port (`127.0.0.1:PORT`).
    pub fn name(&self) -> String {
        self.addr.to_string()
    }

    /// The API's URL (`http://127.0.0.1:PORT`).
    pub fn api_url(&self) -> String {
        format!("http://{}", self.addr)
    }

    /// The test CA that signed the TLS face's certificate (for `ghcr.io`, `localhost`, 127.0.0.1).
    pub fn ca_file(&self) -> PathBuf {
        self.dir.path().join("ca.pem")
    }

    /// `REGISTRY_ACTION_RESOLVE`'s value sending `ghcr.io` to the TLS port.
    pub fn resolve(&self) -> String {
        format!("ghcr.io:443:{}", self.tls_addr)
    }

    /// What a run of the binary needs to meet this emulator as `ghcr.io` and the GitHub API:
    /// the resolve override, the test CA, the API's URL.
    pub fn ghcr_env(&self) -> Vec<(&'static str, String)> {
        vec![
            ("REGISTRY_ACTION_RESOLVE", self.resolve()),
            ("SSL_CERT_FILE", self.ca_file().display().to_string()),
            ("GITHUB_API_URL", self.api_url()),
        ]
    }

    /// The state, locked.
    pub fn state(&self) -> std::sync::MutexGuard<'_, State> {
        self.shared.state.lock().expect("emulator lock")
    }

    /// Pushes `count` small distinct images (an OCI manifest whose config and layer are `{}`)
    /// straight to the real registry, each a version of `package` (`owner/name`) with the tags
    /// `tags(i)` gives, created now; their digests, in push order. For tests that need many
    /// versions whose manifests can be read.
    pub fn seed(
        &self,
        package: &str,
        count: usize,
        tags: impl Fn(usize) -> Vec<String>,
    ) -> Vec<String> {
        const EMPTY: &str =
            "sha256:44136fa355b3678a1146ad16f7e8649e94fb4fc21fe77e8310c060f61caaff8a";
        const MEDIA_TYPE: &str = "application/vnd.oci.image.manifest.v1+json";
        let upstream = self.shared.upstream;
        let send = |method: &str, target: String, body: &[u8], content_type: &str| {
            let request = Request {
                method: method.into(),
                target,
                headers: vec![
                    ("Host".into(), upstream.to_string()),
                    ("Content-Type".into(), content_type.into()),
                ],
                body: body.to_vec(),
                framed: true,
            };
            let raw = forward_raw(upstream, &request).expect("seed the registry");
            response_head(&raw)
        };
        let (status, headers) = send(
            "POST",
            format!("/v2/{package}/blobs/uploads/"),
            b"",
            "application/octet-stream",
        );
        assert_eq!(status, 202, "start a blob upload");
        let location = headers
            .iter()
            .find(|(n, _)| n == "location")
            .map(|(_, v)| v.clone())
            .expect("upload location");
        let path = location
            .find("/v2/")
            .map_or(location.as_str(), |at| &location[at..]);
        let sep = if path.contains('?') { '&' } else { '?' };
        let (status, _) = send(
            "PUT",
            format!("{path}{sep}digest={EMPTY}"),
            b"{}",
            "application/octet-stream",
        );
        assert_eq!(status, 201, "upload the empty blob");
        let mut digests = Vec::with_capacity(count);
        for i in 0..count {
            let manifest = serde_json::json!({
                "schemaVersion": 2,
                "mediaType": MEDIA_TYPE,
                "config": {"mediaType": "application/vnd.oci.empty.v1+json", "digest": EMPTY, "size": 2},
                "layers": [{"mediaType": "application/vnd.oci.empty.v1+json", "digest": EMPTY, "size": 2}],
                "annotations": {"org.example.seed": i.to_string()},
            })
            .to_string();
            let digest = registry_action::registry::Digest::sha256(manifest.as_bytes()).to_string();
            let (status, _) = send(
                "PUT",
                format!("/v2/{package}/manifests/{digest}"),
                manifest.as_bytes(),
                MEDIA_TYPE,
            );
            assert_eq!(status, 201, "push seed manifest {i}");
            let tags = tags(i);
            let mut state = self.state();
            record_push(&mut state, package, &digest, &digest);
            for tag in tags {
                let (status, _) = send(
                    "PUT",
                    format!("/v2/{package}/manifests/{tag}"),
                    manifest.as_bytes(),
                    MEDIA_TYPE,
                );
                assert_eq!(status, 201, "tag seed manifest {i}");
                record_push(&mut state, package, &tag, &digest);
            }
            digests.push(digest);
        }
        digests
    }
}

fn handle(
    shared: &Shared,
    face: Face,
    request: Request,
    stream: &mut dyn Write,
) -> std::io::Result<()> {
    let path = request.path();
    if path == "/v2" || path.starts_with("/v2/") {
        let response = registry_face(&request, shared, face)?;
        stream.write_all(&response)?;
        return stream.flush();
    }
    let (status, mut headers, body) = if path == "/token" {
        token_endpoint(&request, shared)
    } else {
        api_face(&request, shared)
    };
    headers.push((
        "Content-Type".into(),
        "application/json; charset=utf-8".into(),
    ));
    let headers: Vec<(&str, String)> = headers
        .iter()
        .map(|(n, v)| (n.as_str(), v.clone()))
        .collect();
    respond(stream, status, &headers, body.as_bytes())
}

/// A manifest landed: a new version, or a tag on an existing one (moved off any other).
fn record_push(state: &mut State, package: &str, reference: &str, digest: &str) {
    let tag = (!reference.contains(':')).then(|| reference.to_string());
    if let Some(tag) = &tag {
        for v in state.versions.iter_mut().filter(|v| v.package == package) {
            v.tags.retain(|t| t != tag);
        }
    }
    if state.version(package, digest).is_none() {
        state.next_id += 1;
        let id = state.next_id;
        state.versions.push(Version {
            id,
            package: package.to_string(),
            digest: digest.to_string(),
            tags: Vec::new(),
            created_at: unix_now(),
        });
    }
    if let Some(tag) = tag
        && let Some(v) = state
            .versions
            .iter_mut()
            .find(|v| v.package == package && v.digest == digest)
    {
        v.tags.push(tag);
    }
}
