//! A loopback emulator of GHCR as the GitHub REST API shows it, kept consistent with a real
//! registry. One port, two faces:
//!
//! - `/v2/...`: the registry, forwarded to a real `docker-registry`. A manifest PUT creates a
//!   package version (id, digest, `created_at`) or tags an existing one; a tag moves off the
//!   version that had it, as on GHCR. A registry DELETE is refused (`UNSUPPORTED`), as on GHCR.
//! - everything else: the REST API (`GET /users/{owner}`, the package version list and delete
//!   for `/orgs/...` or `/users/...`, `GET /repos/{owner}/{repo}/pulls/{n}`), with the response
//!   shapes, `Link` pagination and `x-ratelimit-*` headers of GitHub's docs. Deleting a version
//!   deletes its manifest in the real registry (distribution also drops the tags on it).
//!
//! Rate limits: a primary budget (settable), secondary-limit 403s to inject, and a record of any
//! moment with more than 180 deletions in a minute. Stopped on Drop.

mod api;

use super::http::{self, Request, forward_raw, respond, response_head};
use api::api_face;
use std::collections::BTreeMap;
use std::io::Write;
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::thread::JoinHandle;
use std::time::{Instant, SystemTime, UNIX_EPOCH};

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

/// The emulator's state, open to tests.
pub struct State {
    pub owner: String,
    /// `User` or `Organization`.
    pub owner_type: &'static str,
    pub token: String,
    /// A token that may list but not delete (403 on DELETE).
    pub read_only_token: String,
    pub versions: Vec<Version>,
    next_id: u64,
    /// The largest page served, whatever `per_page` asks (GitHub's is 100).
    pub page_cap: usize,
    /// API requests, as `METHOD /path?query`.
    pub requests: Vec<String>,
    deletes: Vec<Instant>,
    /// Moments with more than 180 deletions within a minute.
    pub pace_violations: usize,
    /// The next N deletions get a secondary-limit 403 with `retry-after: 1`.
    pub inject_secondary: usize,
    /// The next N deletions find the version already deleted (by another run): 404.
    pub deleted_elsewhere: usize,
    pub rate_limit: u64,
    pub rate_remaining: u64,
    /// Unix seconds.
    pub rate_reset: u64,
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
}

struct Shared {
    upstream: SocketAddr,
    addr: SocketAddr,
    state: Mutex<State>,
}

pub struct GithubEmulator {
    pub addr: SocketAddr,
    shared: Arc<Shared>,
    stop: Arc<AtomicBool>,
    thread: Option<JoinHandle<()>>,
}

impl Drop for GithubEmulator {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::SeqCst);
        let _ = TcpStream::connect(self.addr);
        if let Some(thread) = self.thread.take() {
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
        let shared = Arc::new(Shared {
            upstream,
            addr,
            state: Mutex::new(State {
                owner: owner.to_string(),
                owner_type,
                token: "ghs_emulator_token".into(),
                read_only_token: "ghs_read_only_token".into(),
                versions: Vec::new(),
                next_id: 1000,
                page_cap: 100,
                requests: Vec::new(),
                deletes: Vec::new(),
                pace_violations: 0,
                inject_secondary: 0,
                deleted_elsewhere: 0,
                rate_limit: 5000,
                rate_remaining: 5000,
                rate_reset: unix_now() as u64 + 3600,
                pulls: BTreeMap::new(),
            }),
        });
        let stop = Arc::new(AtomicBool::new(false));
        let serving = shared.clone();
        let thread = http::serve(listener, stop.clone(), move |request, stream| {
            handle(&serving, request, stream)
        });
        GithubEmulator {
            addr,
            shared,
            stop,
            thread: Some(thread),
        }
    }

    /// The registry's name (`127.0.0.1:PORT`) and the API's URL (`http://127.0.0.1:PORT`).
    pub fn name(&self) -> String {
        self.addr.to_string()
    }

    pub fn api_url(&self) -> String {
        format!("http://{}", self.addr)
    }

    /// The state, locked.
    pub fn state(&self) -> std::sync::MutexGuard<'_, State> {
        self.shared.state.lock().expect("emulator lock")
    }
}

fn handle(shared: &Shared, request: Request, stream: &mut TcpStream) -> std::io::Result<()> {
    if request.target.starts_with("/v2/") {
        let response = registry_face(&request, shared)?;
        stream.write_all(&response)?;
        return stream.flush();
    }
    let (status, mut headers, body) = api_face(&request, shared);
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

fn registry_face(request: &Request, shared: &Shared) -> std::io::Result<Vec<u8>> {
    let path = request.target.split('?').next().unwrap_or_default();
    let manifest = path
        .strip_prefix("/v2/")
        .and_then(|p| p.rsplit_once("/manifests/"));
    if request.method == "DELETE" && manifest.is_some() {
        let body =
            r#"{"errors":[{"code":"UNSUPPORTED","message":"The operation is unsupported."}]}"#;
        return Ok(format!(
            "HTTP/1.1 405 Method Not Allowed\r\nContent-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
            body.len()
        )
        .into_bytes());
    }
    let response = forward_raw(shared.upstream, request)?;
    if let (Some((package, reference)), "PUT") = (manifest, request.method.as_str()) {
        let (status, headers) = response_head(&response);
        if status == 201
            && let Some((_, digest)) = headers.iter().find(|(n, _)| n == "docker-content-digest")
        {
            record_push(
                &mut shared.state.lock().expect("lock"),
                package,
                reference,
                digest,
            );
        }
    }
    Ok(response)
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
