//! Docker Hub on loopback, consistent with a real registry. Two faces on two ports:
//!
//! - the **registry**: a proxy in front of a real `docker-registry` that records every manifest
//!   pushed under a tag (see `proxy`);
//! - the **API**, served from what was pushed: `POST /v2/auth/token` (one user, a
//!   Read-Write-Delete PAT and a read-only one), `GET /v2/namespaces/{ns}/repositories/{repo}/tags`
//!   (newest push first, `page`/`page_size` with a server-side maximum, absolute `next` links),
//!   and `DELETE /v2/repositories/{ns}/{repo}/tags/{tag}/`, which also removes the tag from the
//!   real registry's storage (distribution 2.8 has no tag delete), so the manifest stays pullable
//!   by digest only.
//!
//! Controls: the clock (pushes happen at [`NOW`] plus a microsecond each, unless backdated),
//! injected 429s, the page-size limit, a token lifetime counted in requests, and a count of API
//! requests by route. Stopped on Drop.

mod proxy;

use super::http::{self, Request, respond};
use crate::registry::harness::Registry;
use std::collections::BTreeMap;
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::thread::JoinHandle;

/// The emulated account.
pub const USER: &str = "octo";
/// A personal access token with the "Read, Write, Delete" scope.
pub const PAT: &str = "dckr_pat_read_write_delete";
/// A personal access token with the "Read-only" scope.
pub const READ_ONLY_PAT: &str = "dckr_pat_read_only";
/// The emulator's "now" (2024-01-31T00:00:00Z): pushes are recorded at this time.
pub const NOW: i64 = 1_706_659_200;

/// An API route, for counting and throttling.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Route {
    Login,
    List,
    Delete,
    Other,
}

/// How an injected 429 says when to come back.
#[derive(Debug, Clone, Copy)]
pub enum RateLimit {
    /// `Retry-After: <seconds>`.
    RetryAfter(u64),
    /// Hub's `X-Retry-After: <unix time>`, this many seconds from the real clock.
    XRetryAfter(u64),
}

/// A platform manifest (or the image itself) of a tag, as Hub's `images` lists it.
#[derive(Debug, Clone)]
struct Image {
    digest: String,
    architecture: String,
    os: String,
    variant: Option<String>,
    size: u64,
}

/// What a tag push recorded.
#[derive(Debug, Clone)]
struct TagRecord {
    digest: String,
    media_type: String,
    pushed: jiff::Timestamp,
    images: Vec<Image>,
}

struct Token {
    may_delete: bool,
    uses_left: Option<usize>,
}

#[derive(Default)]
struct State {
    /// (repository path, tag) -> push.
    tags: BTreeMap<(String, String), TagRecord>,
    /// Repositories ever pushed to (they exist, tags or not).
    repos: std::collections::BTreeSet<String>,
    pushes: i64,
    max_page_size: usize,
    token_lifetime: Option<usize>,
    tokens: BTreeMap<String, Token>,
    throttles: Vec<(Route, usize, RateLimit)>,
    requests: BTreeMap<Route, usize>,
    throttled: usize,
}

impl State {
    /// The next push time: [`NOW`] plus one microsecond per push (later pushes list first).
    fn tick(&mut self) -> jiff::Timestamp {
        self.pushes += 1;
        jiff::Timestamp::from_microsecond(NOW * 1_000_000 + self.pushes).expect("time")
    }
}

struct Shared {
    upstream: SocketAddr,
    /// The registry's filesystem storage root.
    storage: PathBuf,
    state: Mutex<State>,
    stop: Arc<AtomicBool>,
}

/// A running emulator; stopped on Drop.
pub struct HubEmulator {
    pub registry_addr: SocketAddr,
    pub api_addr: SocketAddr,
    shared: Arc<Shared>,
    threads: Vec<JoinHandle<()>>,
}

impl Drop for HubEmulator {
    fn drop(&mut self) {
        self.shared.stop.store(true, Ordering::SeqCst);
        let _ = TcpStream::connect(self.registry_addr);
        let _ = TcpStream::connect(self.api_addr);
        for thread in self.threads.drain(..) {
            let _ = thread.join();
        }
    }
}

impl HubEmulator {
    /// Starts both faces in front of `registry` (plain HTTP, filesystem storage).
    pub fn start(registry: &Registry) -> HubEmulator {
        let stop = Arc::new(AtomicBool::new(false));
        let shared = Arc::new(Shared {
            upstream: registry.addr,
            storage: registry.dir.path().join("data"),
            state: Mutex::new(State {
                max_page_size: 100,
                ..State::default()
            }),
            stop: stop.clone(),
        });
        let registry_listener = TcpListener::bind("127.0.0.1:0").expect("bind registry face");
        let api_listener = TcpListener::bind("127.0.0.1:0").expect("bind API face");
        let registry_addr = registry_listener.local_addr().expect("addr");
        let api_addr = api_listener.local_addr().expect("addr");
        let s = shared.clone();
        let proxy = http::serve(registry_listener, stop.clone(), move |req, stream| {
            proxy::forward(&s, req, stream)
        });
        let s = shared.clone();
        let api = http::serve(api_listener, stop, move |req, stream| {
            serve_api(&s, req, stream)
        });
        HubEmulator {
            registry_addr,
            api_addr,
            shared,
            threads: vec![proxy, api],
        }
    }

    /// `127.0.0.1:PORT`: the registry images are pushed to and named by.
    pub fn registry_name(&self) -> String {
        self.registry_addr.to_string()
    }

    pub fn api_url(&self) -> String {
        format!("http://{}", self.api_addr)
    }

    /// The `registry-apis` line sending this registry's cleanup to this API.
    pub fn registry_apis(&self) -> String {
        format!("{}=dockerhub@{}", self.registry_name(), self.api_url())
    }

    /// The `credentials` line logging in as [`USER`] with the token in `DOCKERHUB_TOKEN`.
    pub fn credentials(&self) -> String {
        format!(
            "registry={},username={USER},password-env=DOCKERHUB_TOKEN",
            self.registry_name()
        )
    }

    fn state(&self) -> std::sync::MutexGuard<'_, State> {
        self.shared.state.lock().expect("state")
    }

    /// The most tags one page holds, whatever `page_size` asks.
    pub fn set_max_page_size(&self, n: usize) {
        self.state().max_page_size = n.max(1);
    }

    /// Tokens issued from now on answer this many requests, then 401 (Hub's expire in 10 min).
    pub fn set_token_lifetime(&self, requests: usize) {
        self.state().token_lifetime = Some(requests);
    }

    /// Moves `tag`'s push time `days` before [`NOW`].
    pub fn backdate(&self, repo: &str, tag: &str, days: i64) {
        let mut state = self.state();
        let record = state
            .tags
            .get_mut(&(repo.to_string(), tag.to_string()))
            .unwrap_or_else(|| panic!("no tag {repo}:{tag} was pushed"));
        record.pushed = jiff::Timestamp::from_second(NOW - days * 86_400).expect("time");
    }

    /// Answers the next `times` requests to `route` with 429.
    pub fn throttle(&self, route: Route, times: usize, limit: RateLimit) {
        self.state().throttles.push((route, times, limit));
    }

    /// API requests to `route` so far, 429s included.
    pub fn requests(&self, route: Route) -> usize {
        self.state().requests.get(&route).copied().unwrap_or(0)
    }

    /// 429s answered so far.
    pub fn throttled(&self) -> usize {
        self.state().throttled
    }

    /// The tags the API knows for `repo`, sorted.
    pub fn tags(&self, repo: &str) -> Vec<String> {
        self.state()
            .tags
            .keys()
            .filter(|(r, _)| r == repo)
            .map(|(_, t)| t.clone())
            .collect()
    }
}

fn json(stream: &mut TcpStream, status: u16, value: serde_json::Value) -> std::io::Result<()> {
    let body = value.to_string();
    respond(
        stream,
        status,
        &[("Content-Type", "application/json".into())],
        body.as_bytes(),
    )
}

fn message(stream: &mut TcpStream, status: u16, text: &str) -> std::io::Result<()> {
    json(
        stream,
        status,
        serde_json::json!({ "errinfo": {}, "message": text }),
    )
}

fn route_of(req: &Request) -> Route {
    let path = req.path();
    match req.method.as_str() {
        "POST" if path == "/v2/auth/token" => Route::Login,
        "GET" if path.starts_with("/v2/namespaces/") && path.ends_with("/tags") => Route::List,
        "DELETE" if path.starts_with("/v2/repositories/") => Route::Delete,
        _ => Route::Other,
    }
}

fn serve_api(shared: &Shared, req: Request, stream: &mut TcpStream) -> std::io::Result<()> {
    let route = route_of(&req);
    let throttle = {
        let mut state = shared.state.lock().expect("state");
        *state.requests.entry(route).or_default() += 1;
        let hit = state
            .throttles
            .iter_mut()
            .find(|(r, times, _)| *r == route && *times > 0)
            .map(|(_, times, limit)| {
                *times -= 1;
                *limit
            });
        if hit.is_some() {
            state.throttled += 1;
        }
        hit
    };
    if let Some(limit) = throttle {
        let header = match limit {
            RateLimit::RetryAfter(s) => ("Retry-After", s.to_string()),
            RateLimit::XRetryAfter(s) => {
                let now = std::time::SystemTime::now()
                    .duration_since(std::time::UNIX_EPOCH)
                    .expect("clock")
                    .as_secs();
                ("X-Retry-After", (now + s).to_string())
            }
        };
        let body = br#"{"detail":"Rate limit exceeded","error":false}"#;
        return respond(stream, 429, &[header], body);
    }
    match route {
        Route::Login => login(shared, &req, stream),
        Route::List => list(shared, &req, stream),
        Route::Delete => delete(shared, &req, stream),
        Route::Other => message(stream, 404, "not found"),
    }
}

fn login(shared: &Shared, req: &Request, stream: &mut TcpStream) -> std::io::Result<()> {
    let body: serde_json::Value = serde_json::from_slice(&req.body).unwrap_or_default();
    let may_delete = match (body["identifier"].as_str(), body["secret"].as_str()) {
        (Some(USER), Some(PAT)) => true,
        (Some(USER), Some(READ_ONLY_PAT)) => false,
        _ => return message(stream, 401, "Incorrect authentication credentials"),
    };
    let mut state = shared.state.lock().expect("state");
    let token = format!("emulated-jwt-{}", state.tokens.len() + 1);
    let uses_left = state.token_lifetime;
    state.tokens.insert(
        token.clone(),
        Token {
            may_delete,
            uses_left,
        },
    );
    drop(state);
    json(stream, 200, serde_json::json!({ "access_token": token }))
}

/// The bearer token's delete right, or `None` (401) when it is missing, unknown or used up.
fn authorize(shared: &Shared, req: &Request) -> Option<bool> {
    let token = req.header("authorization")?.strip_prefix("Bearer ")?;
    let mut state = shared.state.lock().expect("state");
    let entry = state.tokens.get_mut(token)?;
    match &mut entry.uses_left {
        Some(0) => return None,
        Some(n) => *n -= 1,
        None => {}
    }
    Some(entry.may_delete)
}

/// `2024-01-02T03:04:05.123456Z`, as Hub writes times.
fn hub_time(t: jiff::Timestamp) -> String {
    format!(
        "{}.{:06}Z",
        t.strftime("%Y-%m-%dT%H:%M:%S"),
        t.subsec_microsecond()
    )
}

fn list(shared: &Shared, req: &Request, stream: &mut TcpStream) -> std::io::Result<()> {
    if authorize(shared, req).is_none() {
        return message(stream, 401, "authentication required");
    }
    let path = req.path();
    let Some((ns, repo)) = path
        .strip_prefix("/v2/namespaces/")
        .and_then(|p| p.strip_suffix("/tags"))
        .and_then(|p| p.split_once("/repositories/"))
    else {
        return message(stream, 404, "not found");
    };
    let full = format!("{ns}/{repo}");
    let state = shared.state.lock().expect("state");
    let mut tags: Vec<(&String, &TagRecord)> = state
        .tags
        .iter()
        .filter(|((r, _), _)| *r == full)
        .map(|((_, t), record)| (t, record))
        .collect();
    if !state.repos.contains(&full) {
        return message(stream, 404, "object not found");
    }
    tags.sort_by(|a, b| b.1.pushed.cmp(&a.1.pushed).then(a.0.cmp(b.0)));
    let size: usize = req
        .query("page_size")
        .and_then(|s| s.parse().ok())
        .unwrap_or(10)
        .clamp(1, state.max_page_size);
    let page: usize = req
        .query("page")
        .and_then(|s| s.parse().ok())
        .unwrap_or(1)
        .max(1);
    let link = |p: usize| {
        format!(
            "http://{}{path}?page={p}&page_size={size}",
            req.header("host").unwrap_or("127.0.0.1")
        )
    };
    let results: Vec<serde_json::Value> = tags
        .iter()
        .skip((page - 1) * size)
        .take(size)
        .map(|(name, r)| {
            let pushed = hub_time(r.pushed);
            let images: Vec<serde_json::Value> = r
                .images
                .iter()
                .map(|i| {
                    serde_json::json!({
                        "architecture": i.architecture, "features": "", "variant": i.variant,
                        "digest": i.digest, "os": i.os, "os_features": "", "os_version": null,
                        "size": i.size, "status": "active", "last_pulled": null,
                        "last_pushed": pushed,
                    })
                })
                .collect();
            serde_json::json!({
                "creator": 1, "id": 1, "images": images, "last_updated": pushed,
                "last_updater": 1, "last_updater_username": USER, "name": name,
                "repository": 1, "full_size": 0, "v2": true, "tag_status": "active",
                "tag_last_pulled": null, "tag_last_pushed": pushed,
                "media_type": r.media_type, "content_type": "image", "digest": r.digest,
            })
        })
        .collect();
    let more = page * size < tags.len();
    let body = serde_json::json!({
        "count": tags.len(),
        "next": more.then(|| link(page + 1)),
        "previous": (page > 1).then(|| link(page - 1)),
        "results": results,
    });
    drop(state);
    json(stream, 200, body)
}

fn delete(shared: &Shared, req: &Request, stream: &mut TcpStream) -> std::io::Result<()> {
    let may_delete = match authorize(shared, req) {
        None => return message(stream, 401, "authentication required"),
        Some(may) => may,
    };
    let path = req.path();
    let parts: Vec<&str> = path
        .trim_start_matches("/v2/repositories/")
        .trim_end_matches('/')
        .split('/')
        .collect();
    let [ns, repo, "tags", tag] = parts[..] else {
        return message(stream, 404, "not found");
    };
    if !may_delete {
        return message(
            stream,
            403,
            "access to the resource is forbidden with personal access token",
        );
    }
    let full = format!("{ns}/{repo}");
    let valid = |s: &str| {
        !s.is_empty()
            && !s.starts_with('.')
            && s.bytes()
                .all(|b| b.is_ascii_alphanumeric() || b"._-".contains(&b))
    };
    if !(valid(ns) && valid(repo) && valid(tag)) {
        return message(stream, 404, "not found");
    }
    let removed = shared
        .state
        .lock()
        .expect("state")
        .tags
        .remove(&(full.clone(), tag.to_string()));
    if removed.is_none() {
        return message(stream, 404, &format!("tag '{tag}' not found"));
    }
    let dir = shared
        .storage
        .join("docker/registry/v2/repositories")
        .join(&full)
        .join("_manifests/tags")
        .join(tag);
    match std::fs::remove_dir_all(&dir) {
        Ok(()) => respond(stream, 204, &[], b""),
        Err(e) => message(stream, 500, &format!("registry storage: {e}")),
    }
}
