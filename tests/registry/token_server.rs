//! A tiny token server (distribution's token spec) on 127.0.0.1 for the token-auth registry: checks
//! Basic credentials, issues ES256 JWTs (certificate in `x5c`) granting exactly the scopes asked
//! for, and records every request's scopes so tests can count tokens. Stopped on Drop.

use super::wire::Server;
use std::io::{BufRead, BufReader, Write};
use std::net::{SocketAddr, TcpStream};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};

use base64::Engine as _;
use base64::engine::general_purpose::{STANDARD, URL_SAFE_NO_PAD};
use rcgen::{CertificateParams, DnType, KeyPair};
use ring::rand::SystemRandom;
use ring::signature::{ECDSA_P256_SHA256_FIXED_SIGNING, EcdsaKeyPair};

pub const SERVICE: &str = "harness-registry";
pub const ISSUER: &str = "harness-token-issuer";

/// One request the token server answered.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TokenRequest {
    pub user: Option<String>,
    pub scopes: Vec<String>,
}

struct Shared {
    key: EcdsaKeyPair,
    cert_der: Vec<u8>,
    credentials: Option<(String, String)>,
    requests: Mutex<Vec<TokenRequest>>,
    serial: AtomicU64,
}

pub struct TokenServer {
    addr: SocketAddr,
    cert_pem: String,
    shared: Arc<Shared>,
    _server: Server,
}

impl TokenServer {
    /// Starts on a free port; with `credentials`, requests without them are refused (401).
    pub fn start(credentials: Option<(&str, &str)>) -> TokenServer {
        let key_pair = KeyPair::generate().expect("signing key");
        let mut params = CertificateParams::new(Vec::<String>::new()).expect("params");
        params
            .distinguished_name
            .push(DnType::CommonName, "harness token signer");
        let cert = params.self_signed(&key_pair).expect("signing cert");
        let key = EcdsaKeyPair::from_pkcs8(
            &ECDSA_P256_SHA256_FIXED_SIGNING,
            &key_pair.serialize_der(),
            &SystemRandom::new(),
        )
        .expect("ring key");
        let shared = Arc::new(Shared {
            key,
            cert_der: cert.der().to_vec(),
            credentials: credentials.map(|(u, p)| (u.to_owned(), p.to_owned())),
            requests: Mutex::new(Vec::new()),
            serial: AtomicU64::new(0),
        });
        let handler = shared.clone();
        let server = Server::start("token server", Arc::default(), move |stream| {
            let _ = serve(stream, &handler);
        });
        TokenServer {
            addr: server.addr,
            cert_pem: cert.pem(),
            shared,
            _server: server,
        }
    }

    pub fn realm(&self) -> String {
        format!("http://{}/token", self.addr)
    }

    pub fn cert_pem(&self) -> &str {
        &self.cert_pem
    }

    /// Every request so far, in order.
    pub fn requests(&self) -> Vec<TokenRequest> {
        self.shared.requests.lock().expect("lock").clone()
    }
}

fn serve(stream: TcpStream, shared: &Shared) -> std::io::Result<()> {
    let mut reader = BufReader::new(stream.try_clone()?);
    let mut request_line = String::new();
    reader.read_line(&mut request_line)?;
    let mut authorization = None;
    loop {
        let mut line = String::new();
        if reader.read_line(&mut line)? == 0 || line == "\r\n" {
            break;
        }
        if let Some((name, value)) = line.split_once(':')
            && name.eq_ignore_ascii_case("authorization")
        {
            authorization = Some(value.trim().to_owned());
        }
    }
    let target = request_line.split_whitespace().nth(1).unwrap_or_default();
    let query = target.split_once('?').map_or("", |(_, q)| q);
    let scopes: Vec<String> = query
        .split('&')
        .filter_map(|kv| kv.split_once('='))
        .filter(|(k, _)| *k == "scope")
        .map(|(_, v)| percent_decode(v))
        .collect();
    let user = authorization
        .as_deref()
        .and_then(|a| a.strip_prefix("Basic "))
        .and_then(|b| STANDARD.decode(b).ok())
        .and_then(|b| String::from_utf8(b).ok());
    let (user, password) = match user.as_deref().and_then(|u| u.split_once(':')) {
        Some((u, p)) => (Some(u.to_owned()), Some(p.to_owned())),
        None => (None, None),
    };
    shared.requests.lock().expect("lock").push(TokenRequest {
        user: user.clone(),
        scopes: scopes.clone(),
    });
    let mut out = stream;
    if let Some((u, p)) = &shared.credentials
        && (user.as_deref() != Some(u) || password.as_deref() != Some(p))
    {
        return out.write_all(
            b"HTTP/1.1 401 Unauthorized\r\nContent-Length: 0\r\nConnection: close\r\n\r\n",
        );
    }
    let token = sign(shared, user.as_deref().unwrap_or(""), &scopes);
    let body = serde_json::json!({ "token": token, "expires_in": 300 }).to_string();
    write!(
        out,
        "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
        body.len()
    )
}

fn sign(shared: &Shared, subject: &str, scopes: &[String]) -> String {
    let access: Vec<serde_json::Value> = scopes
        .iter()
        .filter_map(|s| {
            let (rest, actions) = s.rsplit_once(':')?;
            let (kind, name) = rest.split_once(':')?;
            Some(serde_json::json!({ "type": kind, "name": name, "actions": actions.split(',').collect::<Vec<_>>() }))
        })
        .collect();
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .expect("clock")
        .as_secs();
    let header = serde_json::json!({ "typ": "JWT", "alg": "ES256", "x5c": [STANDARD.encode(&shared.cert_der)] });
    let claims = serde_json::json!({
        "iss": ISSUER, "sub": subject, "aud": SERVICE,
        "exp": now + 300, "nbf": now - 10, "iat": now,
        "jti": shared.serial.fetch_add(1, Ordering::SeqCst).to_string(),
        "access": access,
    });
    let signing_input = format!(
        "{}.{}",
        URL_SAFE_NO_PAD.encode(header.to_string()),
        URL_SAFE_NO_PAD.encode(claims.to_string())
    );
    let signature = shared
        .key
        .sign(&SystemRandom::new(), signing_input.as_bytes())
        .expect("sign");
    format!(
        "{signing_input}.{}",
        URL_SAFE_NO_PAD.encode(signature.as_ref())
    )
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
