//! The HTTP layer under the registry client: one `reqwest` client with the system's CA
//! certificates plus the configured ones (and any names resolved by hand), a per-host
//! concurrency limit, retries with backoff on
//! connection errors, stalls, 408, 429 and 5xx for every request, and the stop switch every wait
//! gives way to.

use std::collections::HashMap;

use std::sync::{Arc, Mutex};
use std::time::{Duration, SystemTime};

use reqwest::{Certificate, RequestBuilder, Response};
use tokio::sync::{OwnedSemaphorePermit, Semaphore};

use super::ca::{read_pem_file, system_roots};
use super::config::ClientConfig;
use super::error::{Error, Result, certificate_problem, display_url, transport_message};
use super::retry::{self, RetryPolicy};
use super::stall::{self, Progress};
use super::stop::Stop;

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
                    tracing::warn!(%method, %url, attempt, wait_ms = wait.as_millis() as u64, error = %transport_message(&source), "request failed, retrying");
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
/// cut short. Building errors, redirect loops and a certificate the client cannot trust (the
/// registry sends the same one again) are not.
pub(crate) fn is_retryable_transport(err: &reqwest::Error) -> bool {
    !(err.is_builder() || err.is_redirect() || err.is_decode())
        && certificate_problem(err).is_none()
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
#[cfg(test)]
#[path = "transport_tests.rs"]
mod tests;
