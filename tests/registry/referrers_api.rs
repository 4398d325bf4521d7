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
//! - a manifest DELETE that distribution accepts drops it from the listings;
//! - everything else is forwarded untouched.
//!
//! Requests are counted by kind ([`Kind`]). One request per connection; stopped on Drop.

use super::wire::{Incoming, Server, answer, forward, read, status};
use reqwest::Url;
use sha2::{Digest as _, Sha256};
use std::collections::BTreeMap;
use std::io::{BufReader, Write};
use std::net::{SocketAddr, TcpStream};
use std::sync::{Arc, Mutex};

const INDEX: &str = "application/vnd.oci.image.index.v1+json";

/// What a request was, for counting.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub enum Kind {
    /// `GET /v2/<name>/referrers/<digest>`.
    Referrers,
    ManifestPut,
    ManifestDelete,
    /// A manifest GET or HEAD.
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
}

pub struct ReferrersApi {
    pub addr: SocketAddr,
    shared: Arc<Shared>,
    _server: Server,
}

impl ReferrersApi {
    /// In front of `upstream`, with the default [`Options`].
    pub fn start(upstream: SocketAddr) -> ReferrersApi {
        ReferrersApi::with(upstream, Options::default())
    }

    pub fn with(upstream: SocketAddr, options: Options) -> ReferrersApi {
        let shared = Arc::new(Shared {
            upstream,
            options,
            referrers: Mutex::new(Vec::new()),
            seen: Mutex::new(Vec::new()),
        });
        let handler = shared.clone();
        let server = Server::start("emulator", Arc::default(), move |stream| {
            let _ = handle(stream, &handler);
        });
        ReferrersApi {
            addr: server.addr,
            shared,
            _server: server,
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

fn kind(method: &str, path: &str) -> Kind {
    match (method, path) {
        ("GET", p) if p.contains("/referrers/") => Kind::Referrers,
        ("PUT", p) if p.contains("/manifests/") => Kind::ManifestPut,
        ("DELETE", p) if p.contains("/manifests/") => Kind::ManifestDelete,
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
        Kind::ManifestDelete => manifest_delete(shared, &request)?,
        _ => forward(
            shared.upstream,
            &request.bytes(&request.method, &request.target, &request.body),
        )?,
    };
    let mut client = client;
    client.write_all(&response)
}

/// Forwards the PUT; an accepted manifest with a `subject` is recorded and answered with
/// `OCI-Subject`.
fn manifest_put(shared: &Shared, request: &Incoming) -> std::io::Result<Vec<u8>> {
    let mut response = forward(
        shared.upstream,
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

/// Forwards the DELETE; a deleted manifest is no longer listed as a referrer.
fn manifest_delete(shared: &Shared, request: &Incoming) -> std::io::Result<Vec<u8>> {
    let response = forward(
        shared.upstream,
        &request.bytes("DELETE", &request.target, b""),
    )?;
    let deleted = request
        .path()
        .strip_prefix("/v2/")
        .and_then(|p| p.rsplit_once("/manifests/"));
    if let (Some((repo, digest)), 202) = (deleted, status(&response)) {
        let mut recorded = shared.referrers.lock().expect("lock");
        recorded.retain(|r| !(r.repo == repo && r.descriptor["digest"] == digest));
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
    let allowed = forward(shared.upstream, &request.bytes("GET", &probe, b""))?;
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
