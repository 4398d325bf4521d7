//! Unit tests of `transport.rs`, against servers on 127.0.0.1 that this file starts.

use super::*;
use std::io::{Read, Write};
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};

/// A TLS server on 127.0.0.1 (rustls, the client's own stack, on a thread) that answers
/// `200` to a request once its handshake completes, and counts the connections it accepted.
struct TlsServer {
    addr: std::net::SocketAddr,
    accepted: Arc<AtomicUsize>,
    stop: Arc<AtomicBool>,
}

impl Drop for TlsServer {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::SeqCst);
        let _ = std::net::TcpStream::connect(self.addr);
    }
}

/// A CA (its PEM) and a server certificate it signed for `names`, expired when `expired`.
fn certificates(names: &[&str], expired: bool) -> (String, rcgen::Certificate, rcgen::KeyPair) {
    let ca_key = rcgen::KeyPair::generate().expect("ca key");
    let mut ca = rcgen::CertificateParams::new(Vec::<String>::new()).expect("ca params");
    ca.is_ca = rcgen::IsCa::Ca(rcgen::BasicConstraints::Unconstrained);
    ca.distinguished_name.push(
        rcgen::DnType::CommonName,
        "registry-action transport test CA",
    );
    let ca = ca.self_signed(&ca_key).expect("ca");
    let mut params = rcgen::CertificateParams::new(Vec::<String>::new()).expect("params");
    for name in names {
        params.subject_alt_names.push(match name.parse() {
            Ok(ip) => rcgen::SanType::IpAddress(ip),
            Err(_) => rcgen::SanType::DnsName((*name).try_into().expect("dns name")),
        });
    }
    if expired {
        params.not_before = rcgen::date_time_ymd(2020, 1, 1);
        params.not_after = rcgen::date_time_ymd(2021, 1, 1);
    }
    let key = rcgen::KeyPair::generate().expect("key");
    let cert = params.signed_by(&key, &ca, &ca_key).expect("cert");
    (ca.pem(), cert, key)
}

fn tls_server(cert: &rcgen::Certificate, key: &rcgen::KeyPair) -> TlsServer {
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let key = rustls::pki_types::PrivateKeyDer::Pkcs8(key.serialize_der().into());
    let config = rustls::ServerConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .expect("versions")
        .with_no_client_auth()
        .with_single_cert(vec![cert.der().clone()], key)
        .expect("server config");
    let config = Arc::new(config);
    let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
    let addr = listener.local_addr().expect("addr");
    let (accepted, stop) = (
        Arc::new(AtomicUsize::new(0)),
        Arc::new(AtomicBool::new(false)),
    );
    let (count, stopped) = (accepted.clone(), stop.clone());
    std::thread::spawn(move || {
        for stream in listener.incoming() {
            if stopped.load(Ordering::SeqCst) {
                return;
            }
            let Ok(tcp) = stream else { continue };
            count.fetch_add(1, Ordering::SeqCst);
            let Ok(conn) = rustls::ServerConnection::new(config.clone()) else {
                continue;
            };
            let mut tls = rustls::StreamOwned::new(conn, tcp);
            let mut request = [0u8; 4096];
            if tls.read(&mut request).is_ok_and(|n| n > 0) {
                let _ = tls.write_all(b"HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n");
                let _ = tls.flush();
            }
        }
    });
    TlsServer {
        addr,
        accepted,
        stop,
    }
}

/// Sends a GET to `server` through `Transport::send` (retries included), trusting `ca` when
/// given.
async fn get(server: &TlsServer, ca: Option<&str>) -> (Result<u16>, std::time::Duration) {
    let dir = tempfile::tempdir().expect("tmp");
    let mut config = ClientConfig {
        retry: RetryPolicy {
            max_attempts: 5,
            initial_backoff: Duration::from_millis(200),
            max_backoff: Duration::from_millis(200),
            max_retry_after: Duration::from_secs(1),
        },
        ..ClientConfig::default()
    };
    if let Some(pem) = ca {
        let file = dir.path().join("ca.pem");
        std::fs::write(&file, pem).expect("ca file");
        config.ca_files.push(file);
    }
    let transport = Transport::new(&config).expect("transport");
    let url = format!("https://{}/v2/", server.addr);
    let host = server.addr.to_string();
    let started = std::time::Instant::now();
    let sent = transport
        .send(&host, &|| transport.http().get(&url), &|| {})
        .await
        .map(|sent| sent.response.status().as_u16());
    (sent, started.elapsed())
}

/// Issue 14: a certificate the client cannot trust (an unknown issuer, another name, an
/// expired one) fails at the first attempt, saying why in plain words with what to do,
/// where it used to be retried 5 times behind warnings that hid the cause. The server is
/// reached by IP on 127.0.0.1 through `Transport::send`, the retrying path every registry
/// request takes (the insecure-registry fallback for loopback names lives above it, in
/// the client's ping).
#[tokio::test]
async fn issue_14_an_untrusted_certificate_is_not_retried_and_says_why() {
    // The control: the CA trusted and the right name, the request gets its answer.
    let (ca, cert, key) = certificates(&["127.0.0.1"], false);
    let server = tls_server(&cert, &key);
    let (answer, _) = get(&server, Some(&ca)).await;
    assert_eq!(answer.expect("a trusted certificate works"), 200);

    let cases: [(&[&str], bool, bool, &[&str]); 3] = [
        (
            &["127.0.0.1"],
            false,
            false,
            &[
                "TLS: the certificate is signed by an unknown issuer",
                "hint: trust the CA",
                "`SSL_CERT_FILE`",
                "`SSL_CERT_DIR`",
                "`insecure-registries` does not turn certificate checks off",
            ],
        ),
        (
            &["registry.test"],
            false,
            true,
            &[
                "TLS: the certificate is not valid for this host (it names registry.test, not 127.0.0.1)",
                "hint: use the registry name its certificate was issued for",
            ],
        ),
        (
            &["127.0.0.1"],
            true,
            true,
            &["TLS: the certificate has expired", "needs renewing"],
        ),
    ];
    for (names, expired, trusted, expected) in cases {
        let (ca, cert, key) = certificates(names, expired);
        let server = tls_server(&cert, &key);
        let (answer, took) = get(&server, trusted.then_some(ca.as_str())).await;
        let err = answer.expect_err("an untrusted certificate fails");
        assert!(matches!(err, Error::Transport { .. }), "{err:?}");
        let Error::Transport { source, .. } = &err else {
            unreachable!()
        };
        assert!(!is_retryable_transport(source), "{err}");
        assert!(
            !super::super::error::is_transient_transport(source),
            "{err}"
        );
        let shown = err.to_string();
        for needle in expected {
            assert!(shown.contains(needle), "{needle:?} in:\n{shown}");
        }
        assert_eq!(
            server.accepted.load(Ordering::SeqCst),
            1,
            "one attempt, no retry: {shown}"
        );
        assert!(took < Duration::from_millis(200), "no backoff: {took:?}");
    }
}
