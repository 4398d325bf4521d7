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

use std::collections::BTreeMap;
use std::io::{BufRead, BufReader, Read, Write};
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::thread::JoinHandle;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

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
    stop: AtomicBool,
}

pub struct GithubEmulator {
    pub addr: SocketAddr,
    shared: Arc<Shared>,
    thread: Option<JoinHandle<()>>,
}

impl Drop for GithubEmulator {
    fn drop(&mut self) {
        self.shared.stop.store(true, Ordering::SeqCst);
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
                rate_limit: 5000,
                rate_remaining: 5000,
                rate_reset: unix_now() as u64 + 3600,
                pulls: BTreeMap::new(),
            }),
            stop: AtomicBool::new(false),
        });
        let thread_shared = shared.clone();
        let thread = std::thread::spawn(move || {
            for stream in listener.incoming() {
                if thread_shared.stop.load(Ordering::SeqCst) {
                    break;
                }
                if let Ok(stream) = stream {
                    let shared = thread_shared.clone();
                    std::thread::spawn(move || {
                        let _ = serve(stream, &shared);
                    });
                }
            }
        });
        GithubEmulator {
            addr,
            shared,
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

/// One HTTP request.
struct Request {
    method: String,
    target: String,
    /// Header lines as received (without `Connection`).
    head_lines: Vec<String>,
    headers: BTreeMap<String, String>,
    body: Vec<u8>,
}

fn read_request(reader: &mut impl BufRead) -> std::io::Result<Option<Request>> {
    let mut request_line = String::new();
    reader.read_line(&mut request_line)?;
    let mut parts = request_line.split_whitespace();
    let (Some(method), Some(target)) = (parts.next(), parts.next()) else {
        return Ok(None);
    };
    let (method, target) = (method.to_string(), target.to_string());
    let mut head_lines = Vec::new();
    let mut headers = BTreeMap::new();
    loop {
        let mut line = String::new();
        if reader.read_line(&mut line)? == 0 || line == "\r\n" {
            break;
        }
        if let Some((name, value)) = line.split_once(':') {
            let name = name.trim().to_ascii_lowercase();
            headers.insert(name.clone(), value.trim().to_string());
            if name != "connection" {
                head_lines.push(line);
            }
        }
    }
    let mut body = Vec::new();
    if let Some(length) = headers.get("content-length") {
        body = vec![0; length.parse().unwrap_or(0)];
        reader.read_exact(&mut body)?;
    } else if headers
        .get("transfer-encoding")
        .is_some_and(|t| t.contains("chunked"))
    {
        loop {
            let mut size = String::new();
            reader.read_line(&mut size)?;
            let size = usize::from_str_radix(size.trim(), 16).unwrap_or(0);
            let mut chunk = vec![0; size + 2];
            reader.read_exact(&mut chunk)?;
            if size == 0 {
                break;
            }
            body.extend_from_slice(&chunk[..size]);
        }
        head_lines.retain(|l| !l.to_ascii_lowercase().starts_with("transfer-encoding"));
        head_lines.push(format!("Content-Length: {}\r\n", body.len()));
    }
    Ok(Some(Request {
        method,
        target,
        head_lines,
        headers,
        body,
    }))
}

fn serve(stream: TcpStream, shared: &Shared) -> std::io::Result<()> {
    let mut reader = BufReader::new(stream.try_clone()?);
    let Some(request) = read_request(&mut reader)? else {
        return Ok(());
    };
    let mut stream = stream;
    if request.target.starts_with("/v2/") {
        let response = registry_face(&request, shared)?;
        return stream.write_all(&response);
    }
    let (status, headers, body) = api_face(&request, shared);
    let mut out = format!(
        "HTTP/1.1 {status} X\r\nContent-Type: application/json; charset=utf-8\r\nContent-Length: {}\r\nConnection: close\r\n",
        body.len()
    );
    for (name, value) in headers {
        out.push_str(&format!("{name}: {value}\r\n"));
    }
    out.push_str("\r\n");
    stream.write_all(out.as_bytes())?;
    stream.write_all(body.as_bytes())
}

/// Sends `request` to the real registry; the raw response.
fn forward(
    shared: &Shared,
    method: &str,
    target: &str,
    head: &[String],
    body: &[u8],
) -> std::io::Result<Vec<u8>> {
    let mut upstream = TcpStream::connect(shared.upstream)?;
    let mut out = format!("{method} {target} HTTP/1.1\r\n");
    for line in head {
        out.push_str(line);
    }
    if !head
        .iter()
        .any(|l| l.to_ascii_lowercase().starts_with("host:"))
    {
        out.push_str(&format!("Host: {}\r\n", shared.addr));
    }
    out.push_str("Connection: close\r\n\r\n");
    upstream.write_all(out.as_bytes())?;
    upstream.write_all(body)?;
    let mut response = Vec::new();
    upstream.read_to_end(&mut response)?;
    Ok(response)
}

/// The status and headers of a raw response.
fn response_head(raw: &[u8]) -> (u16, BTreeMap<String, String>) {
    let end = raw
        .windows(4)
        .position(|w| w == b"\r\n\r\n")
        .unwrap_or(raw.len());
    let head = String::from_utf8_lossy(&raw[..end]);
    let mut lines = head.lines();
    let status = lines
        .next()
        .and_then(|l| l.split_whitespace().nth(1))
        .and_then(|s| s.parse().ok())
        .unwrap_or(0);
    let headers = lines
        .filter_map(|l| l.split_once(':'))
        .map(|(n, v)| (n.trim().to_ascii_lowercase(), v.trim().to_string()))
        .collect();
    (status, headers)
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
    let response = forward(
        shared,
        &request.method,
        &request.target,
        &request.head_lines,
        &request.body,
    )?;
    if let (Some((package, reference)), "PUT") = (manifest, request.method.as_str()) {
        let (status, headers) = response_head(&response);
        if status == 201
            && let Some(digest) = headers.get("docker-content-digest")
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

type ApiResponse = (u16, Vec<(String, String)>, String);

fn message(status: u16, text: &str) -> ApiResponse {
    (
        status,
        Vec::new(),
        serde_json::json!({
            "message": text,
            "documentation_url": "https://docs.github.com/rest",
            "status": status.to_string(),
        })
        .to_string(),
    )
}

fn percent_decode(s: &str) -> String {
    let bytes = s.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == b'%'
            && i + 2 < bytes.len()
            && let Ok(b) = u8::from_str_radix(&s[i + 1..i + 3], 16)
        {
            out.push(b);
            i += 3;
        } else {
            out.push(bytes[i]);
            i += 1;
        }
    }
    String::from_utf8_lossy(&out).into_owned()
}

fn query(target: &str) -> BTreeMap<String, String> {
    target
        .split_once('?')
        .map(|(_, q)| q)
        .unwrap_or_default()
        .split('&')
        .filter_map(|p| p.split_once('='))
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect()
}

fn api_face(request: &Request, shared: &Shared) -> ApiResponse {
    let mut state = shared.state.lock().expect("lock");
    state
        .requests
        .push(format!("{} {}", request.method, request.target));
    let token = request
        .headers
        .get("authorization")
        .and_then(|a| a.split_whitespace().nth(1))
        .unwrap_or_default()
        .to_string();
    let read_only = token == state.read_only_token;
    if token != state.token && !read_only {
        return message(401, "Bad credentials");
    }
    // The primary budget.
    let now = unix_now() as u64;
    if now >= state.rate_reset {
        state.rate_remaining = state.rate_limit;
        state.rate_reset = now + 3600;
    }
    let rate_headers = |s: &State| {
        vec![
            ("x-ratelimit-limit".to_string(), s.rate_limit.to_string()),
            (
                "x-ratelimit-remaining".to_string(),
                s.rate_remaining.to_string(),
            ),
            ("x-ratelimit-reset".to_string(), s.rate_reset.to_string()),
            (
                "x-ratelimit-used".to_string(),
                (s.rate_limit - s.rate_remaining).to_string(),
            ),
            ("x-ratelimit-resource".to_string(), "core".to_string()),
        ]
    };
    if state.rate_remaining == 0 {
        let (status, _, body) = message(403, "API rate limit exceeded for user ID 1.");
        return (status, rate_headers(&state), body);
    }
    state.rate_remaining -= 1;
    let (status, mut headers, body) = route(request, &mut state, shared, read_only);
    headers.extend(rate_headers(&state));
    (status, headers, body)
}

fn route(request: &Request, state: &mut State, shared: &Shared, read_only: bool) -> ApiResponse {
    let path = request
        .target
        .split('?')
        .next()
        .unwrap_or_default()
        .to_string();
    let segments: Vec<String> = path
        .trim_start_matches('/')
        .split('/')
        .map(percent_decode)
        .collect();
    let segments: Vec<&str> = segments.iter().map(String::as_str).collect();
    match (request.method.as_str(), segments.as_slice()) {
        ("GET", ["users", login]) if *login == state.owner => (200, Vec::new(), profile(state)),
        ("GET", ["users", _]) => message(404, "Not Found"),
        ("GET", ["repos", owner, _, "pulls", n]) if *owner == state.owner => {
            match n
                .parse::<u64>()
                .ok()
                .and_then(|n| Some((n, *state.pulls.get(&n)?)))
            {
                Some((n, pr_state)) => (200, Vec::new(), pull_request(state, n, pr_state)),
                None => message(404, "Not Found"),
            }
        }
        (
            method,
            [
                kind,
                owner,
                "packages",
                "container",
                package,
                "versions",
                rest @ ..,
            ],
        ) if *owner == state.owner => {
            let expected = if state.owner_type == "Organization" {
                "orgs"
            } else {
                "users"
            };
            if *kind != expected {
                return message(404, "Not Found");
            }
            let full = format!("{owner}/{package}");
            match (method, rest) {
                ("GET", []) => list_versions(request, state, shared, kind, &full),
                ("DELETE", [id]) => delete_version(state, shared, &full, id, read_only),
                _ => message(404, "Not Found"),
            }
        }
        _ => message(404, "Not Found"),
    }
}

fn iso(at: i64) -> String {
    jiff::Timestamp::from_second(at)
        .map(|t| t.strftime("%Y-%m-%dT%H:%M:%SZ").to_string())
        .unwrap_or_default()
}

fn list_versions(
    request: &Request,
    state: &State,
    shared: &Shared,
    kind: &str,
    package: &str,
) -> ApiResponse {
    let q = query(&request.target);
    let per_page = q
        .get("per_page")
        .and_then(|p| p.parse::<usize>().ok())
        .unwrap_or(30)
        .clamp(1, 100)
        .min(state.page_cap);
    let page = q
        .get("page")
        .and_then(|p| p.parse::<usize>().ok())
        .unwrap_or(1)
        .max(1);
    let mut all: Vec<&Version> = state
        .versions
        .iter()
        .filter(|v| v.package == package)
        .collect();
    if all.is_empty() {
        return message(404, "Package not found.");
    }
    all.sort_by_key(|v| std::cmp::Reverse(v.id));
    let last = all.len().div_ceil(per_page).max(1);
    let (owner, name) = package.split_once('/').unwrap_or(("", package));
    let encoded = name.replace('/', "%2F");
    let base = format!(
        "http://{}/{kind}/{owner}/packages/container/{encoded}/versions",
        shared.addr
    );
    let items: Vec<serde_json::Value> = all
        .iter()
        .skip((page - 1) * per_page)
        .take(per_page)
        .map(|v| {
            serde_json::json!({
                "id": v.id,
                "name": v.digest,
                "url": format!("https://api.github.com/{kind}/{owner}/packages/container/{encoded}/versions/{}", v.id),
                "package_html_url": format!("https://github.com/{kind}/{owner}/packages/container/package/{encoded}"),
                "created_at": iso(v.created_at),
                "updated_at": iso(v.created_at),
                "html_url": format!("https://github.com/{kind}/{owner}/packages/container/{encoded}/{}", v.id),
                "metadata": {"package_type": "container", "container": {"tags": v.tags}},
            })
        })
        .collect();
    let link = |p: usize, rel: &str| {
        format!("<{base}?per_page={per_page}&state=active&page={p}>; rel=\"{rel}\"")
    };
    let mut links = Vec::new();
    if page < last {
        links.push(link(page + 1, "next"));
        links.push(link(last, "last"));
    }
    if page > 1 {
        links.push(link(1, "first"));
        links.push(link(page - 1, "prev"));
    }
    let headers = if links.is_empty() {
        Vec::new()
    } else {
        vec![("Link".to_string(), links.join(", "))]
    };
    (200, headers, serde_json::Value::Array(items).to_string())
}

fn delete_version(
    state: &mut State,
    shared: &Shared,
    package: &str,
    id: &str,
    read_only: bool,
) -> ApiResponse {
    if read_only {
        return message(403, "Resource not accessible by integration");
    }
    if state.inject_secondary > 0 {
        state.inject_secondary -= 1;
        let (status, _, body) = message(
            403,
            "You have exceeded a secondary rate limit. Please wait a few minutes before you try again.",
        );
        return (status, vec![("retry-after".into(), "1".into())], body);
    }
    let now = Instant::now();
    state
        .deletes
        .retain(|t| now.duration_since(*t) < Duration::from_secs(60));
    state.deletes.push(now);
    if state.deletes.len() > 180 {
        state.pace_violations += 1;
    }
    let Some(index) = state
        .versions
        .iter()
        .position(|v| v.package == package && v.id.to_string() == id)
    else {
        return message(404, "Not Found");
    };
    let digest = state.versions[index].digest.clone();
    let target = format!("/v2/{package}/manifests/{digest}");
    let head = vec![format!("Host: {}\r\n", shared.upstream)];
    match forward(shared, "DELETE", &target, &head, &[]) {
        Ok(raw) if matches!(response_head(&raw).0, 202 | 404) => {
            state.versions.remove(index);
            (204, Vec::new(), String::new())
        }
        Ok(raw) => message(
            500,
            &format!("registry refused the delete: {}", response_head(&raw).0),
        ),
        Err(e) => message(500, &format!("registry unreachable: {e}")),
    }
}

/// `GET /users/{owner}`, as GitHub's docs show it.
fn profile(state: &State) -> String {
    let login = &state.owner;
    let u = format!("https://api.github.com/users/{login}");
    serde_json::json!({
        "login": login, "id": 1, "node_id": "MDQ6VXNlcjE=",
        "avatar_url": "https://github.com/images/error/octocat_happy.gif", "gravatar_id": "",
        "url": u, "html_url": format!("https://github.com/{login}"),
        "followers_url": format!("{u}/followers"), "following_url": format!("{u}/following{{/other_user}}"),
        "gists_url": format!("{u}/gists{{/gist_id}}"), "starred_url": format!("{u}/starred{{/owner}}{{/repo}}"),
        "subscriptions_url": format!("{u}/subscriptions"), "organizations_url": format!("{u}/orgs"),
        "repos_url": format!("{u}/repos"), "events_url": format!("{u}/events{{/privacy}}"),
        "received_events_url": format!("{u}/received_events"), "type": state.owner_type,
        "site_admin": false, "name": "monalisa octocat", "company": "GitHub", "blog": "https://github.com/blog",
        "location": "San Francisco", "email": null, "hireable": false, "bio": null, "twitter_username": null,
        "public_repos": 2, "public_gists": 1, "followers": 20, "following": 0,
        "created_at": "2008-01-14T04:33:35Z", "updated_at": "2008-01-14T04:33:35Z",
    })
    .to_string()
}

/// `GET /repos/{owner}/{repo}/pulls/{n}`, the fields GitHub's docs show (trimmed).
fn pull_request(state: &State, number: u64, pr_state: &str) -> String {
    let repo = format!("https://api.github.com/repos/{}/app", state.owner);
    let closed_at = (pr_state == "closed").then_some("2011-01-26T19:01:12Z");
    let branch = |name: &str| {
        serde_json::json!({
            "label": format!("{}:{name}", state.owner), "ref": name,
            "sha": "6dcb09b5b57875f334f61aebed695e2e4193db5e",
        })
    };
    serde_json::json!({
        "url": format!("{repo}/pulls/{number}"), "id": 1000 + number, "node_id": "MDExOlB1bGxSZXF1ZXN0MQ==",
        "html_url": format!("https://github.com/{}/app/pull/{number}", state.owner),
        "number": number, "state": pr_state, "locked": false, "title": "Amazing new feature",
        "body": "Please pull these awesome changes in!", "created_at": "2011-01-26T19:01:12Z",
        "updated_at": "2011-01-26T19:01:12Z", "closed_at": closed_at, "merged_at": null,
        "head": branch("new-topic"), "base": branch("main"), "draft": false,
    })
    .to_string()
}
