//! The HTTP layer under the registry client: one `reqwest` client with the system's CA
//! certificates plus the configured ones, a per-host concurrency limit, and retries with backoff
//! on connection errors, 408, 429 and 5xx for every request.

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};
use std::time::{Duration, SystemTime};

use reqwest::{Certificate, RequestBuilder, Response};
use tokio::sync::{OwnedSemaphorePermit, Semaphore};

use super::config::ClientConfig;
use super::error::{Error, Result, display_url};
use super::retry::{self, RetryPolicy};

/// System CA bundles, read explicitly when `SSL_CERT_FILE`/`SSL_CERT_DIR` are set (the native
/// loader then reads only those, and our contract is "the system's CAs plus those").
const SYSTEM_BUNDLES: &[&str] = &[
    "/etc/ssl/certs/ca-certificates.crt",
    "/etc/pki/tls/certs/ca-bundle.crt",
    "/etc/ssl/ca-bundle.pem",
    "/etc/pki/ca-trust/extracted/pem/tls-ca-bundle.pem",
    "/etc/ssl/cert.pem",
];

/// A response together with the host's concurrency permit; hold it while reading the body.
pub(crate) struct Sent {
    pub response: Response,
    pub permit: OwnedSemaphorePermit,
}

pub(crate) struct Transport {
    http: reqwest::Client,
    policy: RetryPolicy,
    per_host: usize,
    limits: Mutex<HashMap<String, Arc<Semaphore>>>,
}

impl Transport {
    pub fn new(config: &ClientConfig) -> Result<Transport> {
        let mut extra = Vec::new();
        for file in &config.ca_files {
            extra.extend(read_pem_file(file)?);
        }
        let builder = || {
            let mut b = reqwest::Client::builder()
                .user_agent(config.user_agent.clone())
                .connect_timeout(config.connect_timeout)
                .read_timeout(config.read_timeout)
                .pool_max_idle_per_host(config.max_concurrency_per_host.max(1));
            for cert in &extra {
                b = b.add_root_certificate(cert.clone());
            }
            b
        };
        let env_overrides = std::env::var_os("SSL_CERT_FILE").is_some_and(|v| !v.is_empty())
            || std::env::var_os("SSL_CERT_DIR").is_some_and(|v| !v.is_empty());
        let system = if env_overrides {
            system_bundle()
        } else {
            Vec::new()
        };
        let http = if system.is_empty() {
            builder().build()
        } else {
            let mut b = builder();
            for cert in system {
                b = b.add_root_certificate(cert);
            }
            b.build().or_else(|e| {
                tracing::warn!(error = %e, "the system CA bundle did not load; using SSL_CERT_FILE/SSL_CERT_DIR only");
                builder().build()
            })
        };
        let http = http.map_err(|e| Error::Config(format!("building the HTTP client: {e}")))?;
        Ok(Transport {
            http,
            policy: config.retry.clone(),
            per_host: config.max_concurrency_per_host.max(1),
            limits: Mutex::new(HashMap::new()),
        })
    }

    pub fn http(&self) -> &reqwest::Client {
        &self.http
    }

    pub fn policy(&self) -> &RetryPolicy {
        &self.policy
    }

    /// Waits for a free slot on `host`.
    pub async fn permit(&self, host: &str) -> OwnedSemaphorePermit {
        let semaphore = {
            let mut limits = self.limits.lock().unwrap_or_else(|p| p.into_inner());
            limits
                .entry(host.to_owned())
                .or_insert_with(|| Arc::new(Semaphore::new(self.per_host)))
                .clone()
        };
        semaphore
            .acquire_owned()
            .await
            .expect("per-host semaphores are never closed")
    }

    /// Sends once, within the host's concurrency limit.
    pub async fn send_once(&self, host: &str, request: RequestBuilder) -> Result<Sent> {
        let permit = self.permit(host).await;
        let request = request
            .build()
            .map_err(|e| Error::Config(format!("building a request: {e}")))?;
        let method = request.method().to_string();
        let url = display_url(request.url());
        tracing::debug!(%method, %url, "request");
        match self.http.execute(request).await {
            Ok(response) => {
                tracing::debug!(%method, %url, status = response.status().as_u16(), "response");
                Ok(Sent { response, permit })
            }
            Err(source) => Err(Error::Transport {
                method,
                url,
                source,
            }),
        }
    }

    /// Sends with retries: `make` builds the request anew for each attempt. Connection errors and
    /// retryable statuses are retried with backoff (or the registry's `Retry-After`); the first
    /// other response is returned, as is the last one when attempts run out. `count` is called
    /// once per request put on the wire.
    pub async fn send(
        &self,
        host: &str,
        make: &(dyn Fn() -> RequestBuilder + Send + Sync),
        count: &(dyn Fn() + Send + Sync),
    ) -> Result<Sent> {
        let mut attempt = 1;
        loop {
            count();
            let last = attempt >= self.policy.max_attempts;
            match self.send_once(host, make()).await {
                Ok(sent)
                    if !last && retry::is_retryable_status(sent.response.status().as_u16()) =>
                {
                    let delay = retry_delay(sent.response).await;
                    let wait = self.policy.wait(attempt, delay);
                    tracing::warn!(
                        host,
                        attempt,
                        wait_ms = wait.as_millis() as u64,
                        "registry asked to retry"
                    );
                    tokio::time::sleep(wait).await;
                }
                Ok(sent) => return Ok(sent),
                Err(Error::Transport {
                    method,
                    url,
                    source,
                }) if !last && is_retryable_transport(&source) => {
                    let wait = self.policy.backoff(attempt);
                    tracing::warn!(%method, %url, attempt, wait_ms = wait.as_millis() as u64, error = %source, "request failed, retrying");
                    tokio::time::sleep(wait).await;
                }
                Err(e) => return Err(e),
            }
            attempt += 1;
        }
    }
}

/// Whether a transport error is worth another try: connection refused or reset, timeouts, a body
/// cut short. Building errors and redirect loops are not.
pub(crate) fn is_retryable_transport(err: &reqwest::Error) -> bool {
    !(err.is_builder() || err.is_redirect() || err.is_decode())
}

/// The delay a retryable response asks for: `Retry-After`, else a delay in a 429 body.
async fn retry_delay(response: Response) -> Option<Duration> {
    let header = response
        .headers()
        .get(reqwest::header::RETRY_AFTER)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| retry::parse_retry_after_header(v, SystemTime::now()));
    if header.is_some() {
        return header;
    }
    let body = read_limited(response, 64 * 1024).await.ok()?;
    retry::parse_retry_after_body(&body)
}

/// Reads a response body, refusing one longer than `limit` bytes.
pub(crate) async fn read_limited(mut response: Response, limit: usize) -> Result<Vec<u8>> {
    let url = display_url(response.url());
    if response.content_length().is_some_and(|n| n > limit as u64) {
        return Err(Error::Protocol {
            url,
            message: format!("body larger than {limit} bytes"),
        });
    }
    let mut body = Vec::new();
    loop {
        match response.chunk().await {
            Ok(Some(chunk)) => {
                if body.len() + chunk.len() > limit {
                    return Err(Error::Protocol {
                        url,
                        message: format!("body larger than {limit} bytes"),
                    });
                }
                body.extend_from_slice(&chunk);
            }
            Ok(None) => return Ok(body),
            Err(source) => {
                return Err(Error::Transport {
                    method: "reading".into(),
                    url,
                    source,
                });
            }
        }
    }
}

/// Reads every certificate of a PEM file; an unreadable file or one without a certificate is an
/// error (the user named it).
fn read_pem_file(path: &Path) -> Result<Vec<Certificate>> {
    let bytes = std::fs::read(path)
        .map_err(|e| Error::Config(format!("reading CA file {}: {e}", path.display())))?;
    let certs = Certificate::from_pem_bundle(&bytes)
        .map_err(|e| Error::Config(format!("parsing CA file {}: {e}", path.display())))?;
    if certs.is_empty() {
        return Err(Error::Config(format!(
            "CA file {} holds no PEM certificate",
            path.display()
        )));
    }
    Ok(certs)
}

/// The first system bundle found, or nothing.
fn system_bundle() -> Vec<Certificate> {
    SYSTEM_BUNDLES
        .iter()
        .map(PathBuf::from)
        .find(|p| p.is_file())
        .and_then(|p| read_pem_file(&p).ok())
        .unwrap_or_default()
}

/// The PEM files named by `SSL_CERT_FILE` and found in the `SSL_CERT_DIR` directories.
pub(crate) fn env_ca_files() -> Vec<PathBuf> {
    let mut files = Vec::new();
    if let Some(file) = std::env::var_os("SSL_CERT_FILE").filter(|v| !v.is_empty()) {
        files.push(PathBuf::from(file));
    }
    if let Some(dirs) = std::env::var_os("SSL_CERT_DIR") {
        for dir in std::env::split_paths(&dirs) {
            let Ok(entries) = std::fs::read_dir(&dir) else {
                continue;
            };
            let mut found: Vec<PathBuf> = entries
                .filter_map(|e| e.ok().map(|e| e.path()))
                .filter(|p| p.is_file() && is_pem_with_cert(p))
                .collect();
            found.sort();
            files.extend(found);
        }
    }
    files
}

fn is_pem_with_cert(path: &Path) -> bool {
    std::fs::read(path)
        .ok()
        .and_then(|b| Certificate::from_pem_bundle(&b).ok())
        .is_some_and(|c| !c.is_empty())
}
