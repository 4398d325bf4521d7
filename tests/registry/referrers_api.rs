//! A loopback emulation of a registry with the OCI 1.1 referrers API (distribution-spec v1.1,
//! "Listing Referrers"), as a proxy on 127.0.0.1 in front of a real distribution, which has none:
//!
//! - a manifest PUT whose body has a `subject` is forwarded; when distribution accepts it, the
//!   manifest is recorded as a referrer of that subject in that repository (as API registries
//!   index them) and the answer gets `OCI-Subject: <subject digest>`;
//! - `GET /v2/<name>/referrers/<digest>` is answered here: 200 with an image index of the
//!   subject's referrers (descriptors with `artifactType`: the manifest's, else its config's
//!   media type, and its `annotations`), empty for an unknown subject, 400 for a malformed
//!   digest; `?artifactType=` filters and says so in `OCI-Filters-Applied` (unless the emulation
//!   is told not to filter, as the spec allows); pages of `page_size` entries linked by
//!   `Link: <...>; rel="next"`. Distribution decides who may read: the request's credentials are
//!   first tried on the repository's tag list, and a 401/403 from it is the answer;
//! - everything else is forwarded untouched.
//!
//! Requests are counted by kind ([`Kind`]). One request per connection; stopped on Drop.

use reqwest::Url;
use sha2::{Digest as _, Sha256};
use std::collections::BTreeMap;
use std::io::{BufRead, BufReader, Read, Write};
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::thread::JoinHandle;

const INDEX: &str = "application/vnd.oci.image.index.v1+json";

/// What a request was, for counting.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub enum Kind {
    /// `GET /v2/<name>/referrers/<digest>`.
    Referrers,
    ManifestPut,
    ManifestRead,
    Tags,
    Blob,
    Other,
}

/// How the emulated registry answers referrers listings.
#[derive(Clone, Debug)]
pub struct Options {
    /// Entries per page.
    pub page_size: usize,
    /// Whether `?artifactType=` is applied (the spec says SHOULD).
    pub filters: bool,
}

impl Default for Options {
    fn default() -> Options {
        Options {
            page_size: 2,
            filters: true,
        }
    }
}

/// A referrer as recorded from its PUT.
#[derive(Clone, Debug)]
struct Recorded {
    repo: String,
    subject: String,
    descriptor: serde_json::Value,
}

struct Shared {
    upstream: SocketAddr,
    options: Options,
    referrers: Mutex<Vec<Recorded>>,
    seen: Mutex<Vec<(Kind, String)>>,
    stop: AtomicBool,
}

pub struct ReferrersApi {
    pub addr: SocketAddr,
    shared: Arc<Shared>,
    thread: Option<JoinHandle<()>>,
}

impl Drop for ReferrersApi {
    fn drop(&mut self) {
        self.shared.stop.store(true, Ordering::SeqCst);
        let _ = TcpStream::connect(self.addr);
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
    }
}

impl ReferrersApi {
    /// In front of `upstream`, with the default [`Options`].
    pub fn start(upstream: SocketAddr) -> ReferrersApi {
        ReferrersApi::with(upstream, Options::default())
    }

    pub fn with(upstream: SocketAddr, options: Options) -> ReferrersApi {
        let listener = TcpListener::bind("127.0.0.1:0").expect("bind emulator");
        let addr = listener.local_addr().expect("addr");
        let shared = Arc::new(Shared {
            upstream,
            options,
            referrers: Mutex::new(Vec::new()),
            seen: Mutex::new(Vec::new()),
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
                        let _ = handle(stream, &shared);
                    });
                }
            }
        });
        ReferrersApi {
            addr,
            shared,
            thread: Some(thread),
        }
    }

    /// The registry name clients use: `127.0.0.1:<port>`.
    pub fn name(&self) -> String {
        self.addr.to_string()
    }

    /// Requests of `kind` so far.
    pub fn count(&self, kind: Kind) -> usize {
        let seen = self.shared.seen.lock().expect("lock");
        seen.iter().filter(|(k, _)| *k == kind).count()
    }

    /// Every request as `(kind, "METHOD /path?query")`.
    pub fn seen(&self) -> Vec<(Kind, String)> {
        self.shared.seen.lock().expect("lock").clone()
    }

    /// The digests recorded as referrers of `subject` in `repo`, sorted.
    pub fn referrers_of(&self, repo: &str, subject: &str) -> Vec<String> {
        let mut digests: Vec<String> = listing(&self.shared, repo, subject, None)
            .into_iter()
            .filter_map(|d| d["digest"].as_str().map(str::to_owned))
            .collect();
        digests.sort();
        digests
    }
}

/// The recorded referrers of `subject` in `repo` (of `artifact_type` only, when given), by digest.
fn listing(
    shared: &Shared,
    repo: &str,
    subject: &str,
    artifact_type: Option<&str>,
) -> Vec<serde_json::Value> {
    let recorded = shared.referrers.lock().expect("lock");
    let mut found: Vec<serde_json::Value> = recorded
        .iter()
        .filter(|r| r.repo == repo && r.subject == subject)
        .filter(|r| artifact_type.is_none_or(|t| r.descriptor["artifactType"] == t))
        .map(|r| r.descriptor.clone())
        .collect();
    found.sort_by(|a, b| a["digest"].as_str().cmp(&b["digest"].as_str()));
    found
}

/// A request as read from the client.
struct Incoming {
    method: String,
    target: String,
    /// Header lines as sent (without `Connection`), each ending in CRLF.
    headers: Vec<String>,
    body: Vec<u8>,
}

impl Incoming {
    fn path(&self) -> &str {
        self.target.split('?').next().unwrap_or_default()
    }

    fn header(&self, name: &str) -> Option<&str> {
        self.headers.iter().find_map(|line| {
            let (n, v) = line.split_once(':')?;
            n.trim().eq_ignore_ascii_case(name).then(|| v.trim())
        })
    }

    /// The request as sent upstream, one per connection.
    fn bytes(&self, method: &str, target: &str, body: &[u8]) -> Vec<u8> {
        let mut head = format!("{method} {target} HTTP/1.1\r\n");
        for line in &self.headers {
            head.push_str(line);
        }
        head.push_str("Connection: close\r\n\r\n");
        let mut bytes = head.into_bytes();
        bytes.extend_from_slice(body);
        bytes
    }
}

fn read(reader: &mut impl BufRead) -> std::io::Result<Option<Incoming>> {
    let mut request_line = String::new();
    reader.read_line(&mut request_line)?;
    let mut parts = request_line.split_whitespace();
    let (Some(method), Some(target)) = (parts.next(), parts.next()) else {
        return Ok(None);
    };
    let (method, target) = (method.to_owned(), target.to_owned());
    let mut headers = Vec::new();
    let mut content_length = 0usize;
    let mut chunked = false;
    loop {
        let mut line = String::new();
        if reader.read_line(&mut line)? == 0 || line == "\r\n" {
            break;
        }
        let lower = line.to_ascii_lowercase();
        if let Some(v) = lower.strip_prefix("content-length:") {
            content_length = v.trim().parse().unwrap_or(0);
        }
        chunked |= lower.starts_with("transfer-encoding:") && lower.contains("chunked");
        if !lower.starts_with("connection:") {
            headers.push(line);
        }
    }
    let body = if chunked {
        super::proxy::read_chunked_raw(reader)?
    } else {
        let mut body = vec![0; content_length];
        reader.read_exact(&mut body)?;
        body
    };
    Ok(Some(Incoming {
        method,
        target,
        headers,
        body,
    }))
}

fn kind(method: &str, path: &str) -> Kind {
    match (method, path) {
        ("GET", p) if p.contains("/referrers/") => Kind::Referrers,
        ("PUT", p) if p.contains("/manifests/") => Kind::ManifestPut,
        (_, p) if p.contains("/manifests/") => Kind::ManifestRead,
        (_, p) if p.ends_with("/tags/list") => Kind::Tags,
        (_, p) if p.contains("/blobs/") => Kind::Blob,
        _ => Kind::Other,
    }
}

fn handle(client: TcpStream, shared: &Shared) -> std::io::Result<()> {
    let mut reader = BufReader::new(client.try_clone()?);
    let Some(request) = read(&mut reader)? else {
        return Ok(());
    };
    let kind = kind(&request.method, request.path());
    let full = format!("{} {}", request.method, request.target);
    shared.seen.lock().expect("lock").push((kind, full));
    let response = match kind {
        Kind::Referrers => referrers(shared, &request)?,
        Kind::ManifestPut => manifest_put(shared, &request)?,
        _ => forward(
            shared,
            &request.bytes(&request.method, &request.target, &request.body),
        )?,
    };
    let mut client = client;
    client.write_all(&response)
}

fn forward(shared: &Shared, request: &[u8]) -> std::io::Result<Vec<u8>> {
    let mut upstream = TcpStream::connect(shared.upstream)?;
    upstream.write_all(request)?;
    let mut response = Vec::new();
    upstream.read_to_end(&mut response)?;
    Ok(response)
}

fn status(response: &[u8]) -> u16 {
    let line = response.split(|b| *b == b'\n').next().unwrap_or_default();
    String::from_utf8_lossy(line)
        .split_whitespace()
        .nth(1)
        .and_then(|s| s.parse().ok())
        .unwrap_or(0)
}

/// Forwards the PUT; an accepted manifest with a `subject` is recorded and answered with
/// `OCI-Subject`.
fn manifest_put(shared: &Shared, request: &Incoming) -> std::io::Result<Vec<u8>> {
    let mut response = forward(
        shared,
        &request.bytes("PUT", &request.target, &request.body),
    )?;
    let Some((repo, _)) = request
        .path()
        .strip_prefix("/v2/")
        .and_then(|p| p.rsplit_once("/manifests/"))
    else {
        return Ok(response);
    };
    let manifest: Option<serde_json::Value> = serde_json::from_slice(&request.body).ok();
    let subject = manifest
        .as_ref()
        .and_then(|m| m["subject"]["digest"].as_str())
        .map(str::to_owned);
    let (Some(manifest), Some(subject), 201) = (manifest, subject, status(&response)) else {
        return Ok(response);
    };
    let digest = format!("sha256:{:x}", Sha256::digest(&request.body));
    let media_type = manifest["mediaType"]
        .as_str()
        .or(request.header("content-type"))
        .unwrap_or_default();
    let mut descriptor = serde_json::json!({
        "mediaType": media_type,
        "digest": digest,
        "size": request.body.len(),
    });
    let artifact_type = manifest
        .get("artifactType")
        .or_else(|| manifest.get("config").and_then(|c| c.get("mediaType")));
    if let Some(artifact_type) = artifact_type {
        descriptor["artifactType"] = artifact_type.clone();
    }
    if let Some(annotations) = manifest.get("annotations") {
        descriptor["annotations"] = annotations.clone();
    }
    {
        let mut recorded = shared.referrers.lock().expect("lock");
        let known = recorded
            .iter()
            .any(|r| r.repo == repo && r.descriptor["digest"] == digest.as_str());
        if !known {
            recorded.push(Recorded {
                repo: repo.to_owned(),
                subject: subject.clone(),
                descriptor,
            });
        }
    }
    if let Some(line_end) = response.windows(2).position(|w| w == b"\r\n") {
        let header = format!("\r\nOCI-Subject: {subject}");
        response.splice(line_end..line_end, header.into_bytes());
    }
    Ok(response)
}

/// `sha256:<64 hex>` or `sha512:<128 hex>`, lower case.
fn valid_digest(digest: &str) -> bool {
    let hex_of = |s: &str, n: usize| {
        s.len() == n && s.bytes().all(|b| matches!(b, b'0'..=b'9' | b'a'..=b'f'))
    };
    match digest.split_once(':') {
        Some(("sha256", hex)) => hex_of(hex, 64),
        Some(("sha512", hex)) => hex_of(hex, 128),
        _ => false,
    }
}

fn answer(status: &str, headers: &[(&str, String)], body: &[u8]) -> Vec<u8> {
    let mut head = format!(
        "HTTP/1.1 {status}\r\nContent-Length: {}\r\nConnection: close\r\n",
        body.len()
    );
    for (name, value) in headers {
        head.push_str(&format!("{name}: {value}\r\n"));
    }
    head.push_str("\r\n");
    let mut bytes = head.into_bytes();
    bytes.extend_from_slice(body);
    bytes
}

/// Answers `GET /v2/<name>/referrers/<digest>[?artifactType=..][&page=..]`.
fn referrers(shared: &Shared, request: &Incoming) -> std::io::Result<Vec<u8>> {
    let Some((repo, digest)) = request
        .path()
        .strip_prefix("/v2/")
        .and_then(|p| p.rsplit_once("/referrers/"))
    else {
        return Ok(answer("404 Not Found", &[], b""));
    };
    // Distribution decides whether these credentials may read the repository.
    let probe = format!("/v2/{repo}/tags/list");
    let allowed = forward(shared, &request.bytes("GET", &probe, b""))?;
    if matches!(status(&allowed), 401 | 403) {
        return Ok(allowed);
    }
    if !valid_digest(digest) {
        let body = br#"{"errors":[{"code":"DIGEST_INVALID","message":"invalid digest"}]}"#;
        let json = ("Content-Type", "application/json".to_owned());
        return Ok(answer("400 Bad Request", &[json], body));
    }
    let url = Url::parse(&format!("http://emulator{}", request.target)).expect("request URL");
    let query: BTreeMap<String, String> = url.query_pairs().into_owned().collect();
    let page: usize = query.get("page").and_then(|p| p.parse().ok()).unwrap_or(0);
    let asked = query.get("artifactType").map(String::as_str);
    let filter = asked.filter(|_| shared.options.filters);
    let all = listing(shared, repo, digest, filter);
    let size = shared.options.page_size.max(1);
    let entries: Vec<_> = all.iter().skip(page * size).take(size).cloned().collect();
    let body = serde_json::json!({"schemaVersion": 2, "mediaType": INDEX, "manifests": entries});
    let mut headers = vec![("Content-Type", INDEX.to_owned())];
    if filter.is_some() {
        headers.push(("OCI-Filters-Applied", "artifactType".to_owned()));
    }
    if all.len() > (page + 1) * size {
        let mut next = url.clone();
        next.query_pairs_mut()
            .clear()
            .extend_pairs(asked.map(|t| ("artifactType", t)))
            .append_pair("page", &(page + 1).to_string());
        let link = format!(
            "<{}?{}>; rel=\"next\"",
            next.path(),
            next.query().unwrap_or("")
        );
        headers.push(("Link", link));
    }
    let body = serde_json::to_vec(&body).expect("json");
    Ok(answer("200 OK", &headers, &body))
}
