//! The emulator's registry face, behind GHCR's token flow: a request without a token GHCR granted
//! gets 401 with `WWW-Authenticate: Bearer realm="<scheme>://<host>/token",service="ghcr.io",
//! scope="repository:<name>:<actions>"`; `GET /token` takes a GitHub token as the Basic password
//! of any user (none: an anonymous token, which private packages refuse) and grants the scopes
//! asked for; a wrong token gets 401. Granted, a request is forwarded to the real registry as it
//! came, without its `Authorization` (and with `X-Forwarded-Proto: https` on the TLS face, so the
//! registry's upload locations name `https`). Also the TLS server configuration, with a test CA.

use super::{Face, Login, Shared, State, TokenRequest, record_push};
use crate::emulator::http::{Request, forward_raw, response_head};
use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;
use std::sync::Arc;

/// A registry token: who asked (none: anonymous) and what it grants, by repository.
#[derive(Debug, Clone)]
pub(super) struct Grant {
    login: Option<Login>,
    access: BTreeMap<String, BTreeSet<String>>,
}

/// The TLS configuration of the `ghcr.io` face: a fresh CA (written to `ca_file`) and a server
/// certificate for `ghcr.io`, `localhost` and 127.0.0.1 signed by it.
pub(super) fn tls_config(ca_file: &Path) -> Arc<rustls::ServerConfig> {
    use rcgen::{BasicConstraints, CertificateParams, DnType, IsCa, KeyPair, SanType};
    let ca_key = KeyPair::generate().expect("ca key");
    let mut ca_params = CertificateParams::new(Vec::<String>::new()).expect("ca params");
    ca_params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
    ca_params
        .distinguished_name
        .push(DnType::CommonName, "registry-action GitHub emulator CA");
    let ca = ca_params.self_signed(&ca_key).expect("ca cert");
    let mut params =
        CertificateParams::new(vec!["ghcr.io".to_owned(), "localhost".to_owned()]).expect("params");
    params
        .subject_alt_names
        .push(SanType::IpAddress([127, 0, 0, 1].into()));
    let key = KeyPair::generate().expect("server key");
    let cert = params.signed_by(&key, &ca, &ca_key).expect("server cert");
    std::fs::write(ca_file, ca.pem()).expect("write ca.pem");
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let config = rustls::ServerConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .expect("TLS versions")
        .with_no_client_auth()
        .with_single_cert(
            vec![cert.der().clone()],
            rustls::pki_types::PrivateKeyDer::Pkcs8(key.serialize_der().into()),
        )
        .expect("TLS certificate");
    Arc::new(config)
}

fn percent_decode(s: &str) -> String {
    let bytes = s.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        let escaped = (bytes[i] == b'%' && i + 3 <= bytes.len())
            .then(|| std::str::from_utf8(&bytes[i + 1..i + 3]).ok())
            .flatten()
            .and_then(|hex| u8::from_str_radix(hex, 16).ok());
        match (escaped, bytes[i]) {
            (Some(b), _) => {
                out.push(b);
                i += 3;
            }
            (None, b'+') => {
                out.push(b' ');
                i += 1;
            }
            (None, b) => {
                out.push(b);
                i += 1;
            }
        }
    }
    String::from_utf8_lossy(&out).into_owned()
}

fn errors(code: &str, message: &str) -> String {
    serde_json::json!({"errors": [{"code": code, "message": message}]}).to_string()
}

/// `GET /token?scope=...&service=ghcr.io`: a token for the scopes asked, or 401.
pub(super) fn token_endpoint(
    request: &Request,
    shared: &Shared,
) -> (u16, Vec<(String, String)>, String) {
    let mut state = shared.state.lock().expect("lock");
    let scopes: Vec<String> = request
        .target
        .split_once('?')
        .map_or("", |(_, q)| q)
        .split('&')
        .filter_map(|kv| kv.split_once('='))
        .filter(|(k, _)| *k == "scope")
        .flat_map(|(_, v)| {
            percent_decode(v)
                .split_whitespace()
                .map(str::to_owned)
                .collect::<Vec<_>>()
        })
        .collect();
    let basic = request
        .header("authorization")
        .and_then(|a| a.strip_prefix("Basic "))
        .and_then(|b| STANDARD.decode(b.trim()).ok())
        .and_then(|b| String::from_utf8(b).ok());
    let (user, password) = match basic.as_deref().and_then(|b| b.split_once(':')) {
        Some((u, p)) => (Some(u.to_owned()), Some(p.to_owned())),
        None => (None, None),
    };
    let login = password.as_deref().map(|p| state.login(p));
    if let Some(None) = login {
        state.token_requests.push(TokenRequest {
            user,
            scopes,
            status: 401,
        });
        return (
            401,
            Vec::new(),
            errors("UNAUTHORIZED", "authentication required"),
        );
    }
    let mut access: BTreeMap<String, BTreeSet<String>> = BTreeMap::new();
    for scope in &scopes {
        let Some((rest, actions)) = scope.rsplit_once(':') else {
            continue;
        };
        let Some(name) = rest.strip_prefix("repository:") else {
            continue;
        };
        access
            .entry(name.to_owned())
            .or_default()
            .extend(actions.split(',').map(str::to_owned));
    }
    let serial = state.grants.len() + 1;
    let token = format!(
        "djE6{}",
        STANDARD.encode(format!("{}:{serial}", state.owner))
    );
    state.grants.insert(
        token.clone(),
        Grant {
            login: login.flatten(),
            access,
        },
    );
    state.token_requests.push(TokenRequest {
        user,
        scopes,
        status: 200,
    });
    (
        200,
        Vec::new(),
        serde_json::json!({"token": token}).to_string(),
    )
}

/// The repository a `/v2/<name>/...` path names, and what the method needs of it.
fn needs(method: &str, path: &str) -> Option<(String, &'static str)> {
    let rest = path.strip_prefix("/v2/")?;
    let at = ["/manifests/", "/blobs/", "/tags/", "/referrers/"]
        .iter()
        .filter_map(|marker| rest.find(marker))
        .min()?;
    let action = match method {
        "GET" | "HEAD" => "pull",
        "DELETE" => "delete",
        _ => "push",
    };
    Some((rest[..at].to_owned(), action))
}

fn raw_response(status: u16, reason: &str, headers: &[(&str, String)], body: &str) -> Vec<u8> {
    let mut head = format!(
        "HTTP/1.1 {status} {reason}\r\nContent-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\n",
        body.len()
    );
    for (name, value) in headers {
        head.push_str(&format!("{name}: {value}\r\n"));
    }
    head.push_str("\r\n");
    let mut out = head.into_bytes();
    out.extend_from_slice(body.as_bytes());
    out
}

/// A 401 with GHCR's challenge for the scope the request needed.
fn challenge(request: &Request, face: Face, scope: &str, error: Option<&str>) -> Vec<u8> {
    let scheme = match face {
        Face::Plain => "http",
        Face::Tls => "https",
    };
    let host = request.header("host").unwrap_or("ghcr.io");
    let host = host.strip_suffix(":443").unwrap_or(host);
    let mut value =
        format!("Bearer realm=\"{scheme}://{host}/token\",service=\"ghcr.io\",scope=\"{scope}\"");
    if let Some(error) = error {
        value.push_str(&format!(",error=\"{error}\""));
    }
    raw_response(
        401,
        "Unauthorized",
        &[("WWW-Authenticate", value)],
        &errors("UNAUTHORIZED", "authentication required"),
    )
}

/// Whether the grant allows the request, else the refusal to answer with.
fn authorize(request: &Request, state: &State, face: Face) -> Result<Option<Login>, Vec<u8>> {
    let path = request.path();
    let needed = needs(&request.method, path);
    // GHCR's challenge for `/v2/` names a placeholder repository.
    let scope = needed.as_ref().map_or_else(
        || "repository:user/image:pull".to_owned(),
        |(name, action)| match *action {
            "pull" => format!("repository:{name}:pull"),
            other => format!("repository:{name}:pull,{other}"),
        },
    );
    let grant = request
        .header("authorization")
        .and_then(|a| a.strip_prefix("Bearer "))
        .and_then(|t| state.grants.get(t.trim()));
    let Some(grant) = grant else {
        return Err(challenge(request, face, &scope, None));
    };
    let Some((name, action)) = needed else {
        return Ok(grant.login);
    };
    if !grant
        .access
        .get(&name)
        .is_some_and(|actions| actions.contains(action))
    {
        return Err(challenge(request, face, &scope, Some("insufficient_scope")));
    }
    let allowed = match grant.login {
        None => false,
        Some(login) => action == "pull" || login.may_write(),
    };
    if !allowed {
        return Err(raw_response(
            403,
            "Forbidden",
            &[],
            &errors("DENIED", "requested access to the resource is denied"),
        ));
    }
    Ok(grant.login)
}

pub(super) fn registry_face(
    request: &Request,
    shared: &Shared,
    face: Face,
) -> std::io::Result<Vec<u8>> {
    let path = request.path().to_owned();
    let manifest = path
        .strip_prefix("/v2/")
        .and_then(|p| p.rsplit_once("/manifests/"));
    let mount_from = {
        let mut state = shared.state.lock().expect("lock");
        state
            .registry_requests
            .push(format!("{} {}", request.method, request.target));
        if let Err(refusal) = authorize(request, &state, face) {
            return Ok(refusal);
        }
        // A mount from a repository the token may not pull starts a plain upload, as the
        // distribution spec says.
        request.query("from").map(|from| {
            let from = percent_decode(from);
            let token = request
                .header("authorization")
                .and_then(|a| a.strip_prefix("Bearer "))
                .unwrap_or_default()
                .trim();
            state
                .grants
                .get(token)
                .and_then(|g| g.access.get(&from))
                .is_some_and(|a| a.contains("pull"))
        })
    };
    if request.method == "DELETE" && manifest.is_some() {
        return Ok(raw_response(
            405,
            "Method Not Allowed",
            &[],
            &errors("UNSUPPORTED", "The operation is unsupported."),
        ));
    }
    let target = match mount_from {
        Some(false) => path.clone(),
        _ => request.target.clone(),
    };
    let mut headers: Vec<(String, String)> = request
        .headers
        .iter()
        .filter(|(n, _)| !n.eq_ignore_ascii_case("authorization"))
        .cloned()
        .collect();
    if face == Face::Tls {
        headers.push(("X-Forwarded-Proto".into(), "https".into()));
    }
    let upstream_request = Request {
        method: request.method.clone(),
        target,
        headers,
        body: request.body.clone(),
        framed: request.framed,
    };
    let response = forward_raw(shared.upstream, &upstream_request)?;
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
