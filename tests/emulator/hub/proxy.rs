//! The emulator's registry face: forwards every request to the real registry and records each
//! manifest stored under a tag (`PUT /v2/<repo>/manifests/<tag>` answered 201), as Hub records a
//! push: digest, media type, push time and, for an index, its manifests and their platforms.

use super::{Image, Shared, TagRecord};
use crate::emulator::http::{Request, forward_raw};
use registry_action::registry::Digest;
use std::io::Write;
use std::net::TcpStream;

/// Forwards `request` upstream and its answer back; records a tag push.
pub fn forward(shared: &Shared, request: Request, client: &mut TcpStream) -> std::io::Result<()> {
    let response = forward_raw(shared.upstream, &request)?;
    if request.method == "PUT" {
        record_push(shared, &request, &response);
    }
    client.write_all(&response)?;
    client.flush()
}

/// Records `PUT /v2/<repo>/manifests/<tag>` when the registry stored it (201).
fn record_push(shared: &Shared, request: &Request, response: &[u8]) {
    let Some((repo, reference)) = request
        .path()
        .strip_prefix("/v2/")
        .and_then(|p| p.rsplit_once("/manifests/"))
    else {
        return;
    };
    let head_end = response
        .windows(4)
        .position(|w| w == b"\r\n\r\n")
        .unwrap_or(response.len());
    let head = String::from_utf8_lossy(&response[..head_end]);
    let created = head
        .lines()
        .next()
        .and_then(|l| l.split_whitespace().nth(1))
        == Some("201");
    if !created || reference.contains(':') {
        return;
    }
    let digest = head
        .lines()
        .find_map(|l| {
            let (name, value) = l.split_once(':')?;
            name.eq_ignore_ascii_case("docker-content-digest")
                .then(|| Digest::parse(value.trim()).ok())
                .flatten()
        })
        .unwrap_or_else(|| Digest::sha256(&request.body));
    let json: serde_json::Value = serde_json::from_slice(&request.body).unwrap_or_default();
    let media_type = request
        .header("content-type")
        .map(str::to_string)
        .or_else(|| json["mediaType"].as_str().map(str::to_string))
        .unwrap_or_default();
    let images = match json["manifests"].as_array() {
        Some(manifests) => manifests
            .iter()
            .map(|m| Image {
                digest: m["digest"].as_str().unwrap_or_default().to_string(),
                architecture: m["platform"]["architecture"]
                    .as_str()
                    .unwrap_or("unknown")
                    .to_string(),
                os: m["platform"]["os"]
                    .as_str()
                    .unwrap_or("unknown")
                    .to_string(),
                variant: m["platform"]["variant"].as_str().map(str::to_string),
                size: m["size"].as_u64().unwrap_or(0),
            })
            .collect(),
        // A single image lists itself (its platform is in its config, not read here).
        None => vec![Image {
            digest: digest.to_string(),
            architecture: String::new(),
            os: String::new(),
            variant: None,
            size: request.body.len() as u64,
        }],
    };
    let mut state = shared.state.lock().expect("state");
    let pushed = state.tick();
    state.repos.insert(repo.to_string());
    state.tags.insert(
        (repo.to_string(), reference.to_string()),
        TagRecord {
            digest: digest.to_string(),
            media_type,
            pushed,
            images,
        },
    );
}
