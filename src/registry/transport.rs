//! The HTTP layer under the registry client: one `reqwest` client with the system's CA
//! certificates plus the configured ones (and any names resolved by hand), a per-host
//! concurrency limit, retries with backoff on
//! connection errors, stalls, 408, 429 and 5xx for every request, and the stop switch every wait
//! gives way to.

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};
use std::time::{Duration, SystemTime};

use reqwest::{Certificate, RequestBuilder, Response};
use tokio::sync::{OwnedSemaphorePermit, Semaphore};

use super::config::ClientConfig;
use super::error::{Error, Result, display_url};
use super::retry::{self, RetryPolicy};
use super::stall::{self, Progress};
use super::stop::Stop;

/// System CA bundles, the first found is the system's CA store (the contract is "the system's CAs
/// plus those `SSL_CERT_FILE`/`SSL_CERT_DIR` name").
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
    request_stall: Duration,
    transfer_stall: Duration,
    stop: Stop,
}

impl Transport {
    pub fn new(config: &ClientConfig) -> Result<Transport> {
        let mut extra = Vec::new();
        for file in &config.ca_files {
            extra.extend(read_pem_file(file)?);
        }
        let resolve = match config.resolve.as_deref() {
            Some(value) => super::config::parse_resolve(value).map_err(Error::Config)?,
            None => Vec::new(),
        };
        let builder = |roots: &[Certificate]| {
            let mut b = reqwest::Client::builder()
                .user_agent(config.user_agent.clone())
                // No `read_timeout`: it would time a whole upload (see `stall.rs`).
                .connect_timeout(config.connect_timeout)
                .pool_max_idle_per_host(config.max_concurrency_per_host.max(1));
            for cert in extra.iter().chain(roots) {
                b = b.add_root_certificate(cert.clone());
            }
            // reqwest connects to this address's port when the URL names none (443 for a
            // registry over HTTPS), else to the URL's port: what `parse_resolve` allows.
            for rule in &resolve {
                b = b.resolve(&rule.host, rule.to);
            }
            b
        };
        let http = builder(&system_roots()).build().or_else(|e| {
            tracing::warn!(error = %e, "the system CA store did not load; using SSL_CERT_FILE/SSL_CERT_DIR only");
            builder(&[]).build()
        });
        let http = http.map_err(|e| Error::Config(format!("building the HTTP client: {e}")))?;
        Ok(Transport {
            http,
            policy: config.retry.clone(),
            per_host: config.max_concurrency_per_host.max(1),
            limits: Mutex::new(HashMap::new()),
            request_stall: config.request_stall_timeout,
            transfer_stall: config.transfer_stall_timeout,
            stop: config.stop.clone(),
        })
    }

    /// How long a blob transfer may keep still.
    pub fn transfer_stall(&self) -> Duration {
        self.transfer_stall
    }

    pub fn stop(&self) -> &Stop {
        &self.stop
    }

    /// Sleeps for `wait`, or fails at once with [`Error::Stopped`] when the run is stopped.
    pub async fn pause(&self, wait: Duration) -> Result<()> {
        tokio::select! {
            () = tokio::time::sleep(wait) => Ok(()),
            reason = self.stop.stopped() => Err(Error::Stopped(reason)),
        }
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
        self.send_holding(permit, request, None).await
    }

    /// Sends once in a slot of the host's limit taken beforehand (see [`Transport::permit`]).
    /// Without `upload`, a small request: [`Error::Stalled`] when no answer comes within the
    /// request stall limit. With it, a request whose body touches `upload` as it is taken: stalled
    /// when neither a body chunk nor the answer came for the transfer stall limit. Either way
    /// [`Error::Stopped`] as soon as the run is stopped.
    pub async fn send_holding(
        &self,
        permit: OwnedSemaphorePermit,
        request: RequestBuilder,
        upload: Option<&Progress>,
    ) -> Result<Sent> {
        let request = request
            .build()
            .map_err(|e| Error::Config(format!("building a request: {e}")))?;
        let method = request.method().to_string();
        let url = display_url(request.url());
        if let Some(reason) = self.stop.reason() {
            return Err(Error::Stopped(reason));
        }
        tracing::debug!(%method, %url, "request");
        let (progress, limit) = match upload {
            Some(progress) => (progress.clone(), self.transfer_stall),
            None => (Progress::new(), self.request_stall),
        };
        let answer = tokio::select! {
            answer = self.http.execute(request) => answer,
            () = stall::stalled(&progress, limit) => {
                return Err(Error::Stalled { method, url, waited: limit });
            }
            reason = self.stop.stopped() => return Err(Error::Stopped(reason)),
        };
        match answer {
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

    /// Sends with retries: `make` builds the request anew for each attempt. Connection errors,
    /// stalls and retryable statuses are retried with backoff (or the registry's `Retry-After`); the first
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
                    let delay = self.retry_delay(sent.response).await;
                    let wait = self.policy.wait(attempt, delay);
                    tracing::warn!(
                        host,
                        attempt,
                        wait_ms = wait.as_millis() as u64,
                        "registry asked to retry"
                    );
                    self.pause(wait).await?;
                }
                Ok(sent) => return Ok(sent),
                Err(Error::Transport {
                    method,
                    url,
                    source,
                }) if !last && is_retryable_transport(&source) => {
                    let wait = self.policy.backoff(attempt);
                    tracing::warn!(%method, %url, attempt, wait_ms = wait.as_millis() as u64, error = %source, "request failed, retrying");
                    self.pause(wait).await?;
                }
                Err(stalled @ Error::Stalled { .. }) if !last => {
                    let wait = self.policy.backoff(attempt);
                    tracing::warn!(attempt, wait_ms = wait.as_millis() as u64, error = %stalled, "request stalled, retrying");
                    self.pause(wait).await?;
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

impl Transport {
    /// The delay a retryable response asks for: `Retry-After`, else a delay in a 429 body.
    async fn retry_delay(&self, response: Response) -> Option<Duration> {
        let header = response
            .headers()
            .get(reqwest::header::RETRY_AFTER)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| retry::parse_retry_after_header(v, SystemTime::now()));
        if header.is_some() {
            return header;
        }
        let body = self.read_limited(response, 64 * 1024).await.ok()?;
        retry::parse_retry_after_body(&body)
    }

    /// Reads a (small) response body, refusing one longer than `limit` bytes; [`Error::Stalled`]
    /// when no bytes come for the request stall limit, [`Error::Stopped`] when the run stops.
    pub(crate) async fn read_limited(
        &self,
        mut response: Response,
        limit: usize,
    ) -> Result<Vec<u8>> {
        let url = display_url(response.url());
        if response.content_length().is_some_and(|n| n > limit as u64) {
            return Err(Error::Protocol {
                url,
                message: format!("body larger than {limit} bytes"),
            });
        }
        let mut body = Vec::new();
        loop {
            let stall = self.request_stall;
            let next = tokio::select! {
                next = tokio::time::timeout(stall, response.chunk()) => next,
                reason = self.stop.stopped() => return Err(Error::Stopped(reason)),
            };
            let Ok(next) = next else {
                return Err(Error::Stalled {
                    method: "reading".into(),
                    url,
                    waited: stall,
                });
            };
            match next {
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

/// The system's CA certificates: the first system bundle found (one file, parsed once: the
/// certificate directory beside it holds the same certificates again, and reading it costs ~20 ms
/// at every start), else whatever the platform's native store holds.
fn system_roots() -> Vec<Certificate> {
    let bundle = system_bundle()
        .and_then(|p| read_pem_file(&p).ok())
        .unwrap_or_default();
    if !bundle.is_empty() {
        return bundle;
    }
    let native = rustls_native_certs::load_native_certs();
    for error in &native.errors {
        tracing::debug!(%error, "reading the native CA store");
    }
    native
        .certs
        .iter()
        .filter_map(|der| Certificate::from_der(der).ok())
        .collect()
}

/// The first system bundle that exists.
fn system_bundle() -> Option<PathBuf> {
    SYSTEM_BUNDLES
        .iter()
        .map(PathBuf::from)
        .find(|p| p.is_file())
}

/// The PEM files named by `SSL_CERT_FILE` and found in the `SSL_CERT_DIR` directories, leaving
/// out the system store itself (loaded anyway): the system bundle named again, and a directory
/// that holds it (as `/etc/ssl/certs` holds `ca-certificates.crt` beside the same certificates
/// one per file, whose reading would cost ~20 ms at every start).
pub(crate) fn env_ca_files() -> Vec<PathBuf> {
    ca_files_named(
        std::env::var_os("SSL_CERT_FILE"),
        std::env::var_os("SSL_CERT_DIR"),
        system_bundle().as_deref(),
    )
}

/// [`env_ca_files`] for the given variables and system bundle.
fn ca_files_named(
    file: Option<std::ffi::OsString>,
    dirs: Option<std::ffi::OsString>,
    system_bundle: Option<&Path>,
) -> Vec<PathBuf> {
    let system = system_bundle.and_then(|p| p.canonicalize().ok());
    let is_system = |p: &Path| system.is_some() && p.canonicalize().ok() == system;
    let holds_system = |dir: &Path| {
        system
            .as_deref()
            .and_then(Path::parent)
            .is_some_and(|parent| dir.canonicalize().ok().as_deref() == Some(parent))
    };
    let mut files = Vec::new();
    if let Some(file) = file.filter(|v| !v.is_empty()) {
        let file = PathBuf::from(file);
        if !is_system(&file) {
            files.push(file);
        }
    }
    if let Some(dirs) = dirs {
        for dir in std::env::split_paths(&dirs) {
            if holds_system(&dir) {
                continue;
            }
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

#[cfg(test)]
mod tests {
    use super::*;

    fn pem() -> String {
        let key = rcgen::KeyPair::generate().expect("key");
        let params = rcgen::CertificateParams::new(vec!["ca.test".into()]).expect("params");
        params.self_signed(&key).expect("cert").pem()
    }

    #[test]
    fn ca_files_leave_out_the_system_store_and_keep_the_rest() {
        let tmp = tempfile::tempdir().expect("tmp");
        let system_dir = tmp.path().join("system");
        let own_dir = tmp.path().join("own");
        std::fs::create_dir_all(&system_dir).unwrap();
        std::fs::create_dir_all(&own_dir).unwrap();
        let bundle = system_dir.join("ca-certificates.crt");
        std::fs::write(&bundle, pem()).unwrap();
        std::fs::write(system_dir.join("one.pem"), pem()).unwrap();
        let own = own_dir.join("test-ca.pem");
        std::fs::write(&own, pem()).unwrap();
        std::fs::write(own_dir.join("notes.txt"), "not a certificate").unwrap();
        let dirs = std::env::join_paths([&system_dir, &own_dir]).unwrap();

        // The system bundle named again and the directory holding it are the system store.
        let got = ca_files_named(
            Some(bundle.clone().into()),
            Some(dirs.clone()),
            Some(&bundle),
        );
        assert_eq!(got, vec![own.clone()]);
        // Another file and any other directory are read, PEM certificates only.
        let got = ca_files_named(Some(own.clone().into()), Some(dirs.clone()), None);
        assert_eq!(
            got,
            vec![
                own.clone(),
                bundle.clone(),
                system_dir.join("one.pem"),
                own.clone()
            ]
        );
        assert!(ca_files_named(Some("".into()), None, Some(&bundle)).is_empty());
    }
}
