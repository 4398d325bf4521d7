//! Blob operations: HEAD, cross-repository mount (its 202 upload session is reused), monolithic
//! upload (POST, then one streamed PUT with `?digest=`), chunked upload for registries that refuse
//! a monolithic one (POST, PATCH chunks, PUT with `?digest=`), and streamed download. Bytes are
//! verified as they pass; nothing buffers a whole layer.

use std::future::Future;
use std::pin::Pin;
use std::sync::atomic::Ordering;
use std::sync::{Arc, Mutex};

use bytes::Bytes;
use futures_util::future::BoxFuture;
use futures_util::{Stream, StreamExt};
use reqwest::header::{CONTENT_LENGTH, CONTENT_TYPE, LOCATION};
use reqwest::{Body, Url};
use tokio::io::AsyncRead;

use super::auth::{Action, Scopes};
use super::client::Client;
use super::error::{Error, Result, display_url, transport_message};
use super::retry::is_retryable_status;
use super::stall::{self, Progress};
use super::transport::is_retryable_transport;
use crate::oci::{Digest, Verifier};

/// A stream of blob bytes.
pub type BlobStream = Pin<Box<dyn Stream<Item = std::io::Result<Bytes>> + Send>>;

/// Where an upload reads its bytes from; opened again when an upload is retried.
pub trait BlobSource: Send + Sync {
    fn open(&self) -> BoxFuture<'_, Result<BlobStream>>;

    /// Whether the streams `open` returns check the blob's digest and size themselves, failing
    /// before their last byte on a mismatch: an upload then does not hash the bytes again.
    fn verifies(&self) -> bool {
        false
    }

    /// Checks the blob's bytes now, before any upload (`Err` says what is wrong, naming the
    /// file); the streams `open` returns then reuse the result. Sources that cannot check ahead
    /// (a registry download) pass.
    fn precheck(&self) -> BoxFuture<'_, std::result::Result<(), String>> {
        Box::pin(async { Ok(()) })
    }
}

impl BlobSource for Bytes {
    fn open(&self) -> BoxFuture<'_, Result<BlobStream>> {
        let bytes = self.clone();
        Box::pin(async move {
            let stream: BlobStream = Box::pin(futures_util::stream::iter([Ok(bytes)]));
            Ok(stream)
        })
    }
}

/// A source that opens an [`AsyncRead`] (a file in an OCI layout, a decompressor, ...).
pub struct ReaderSource<F>(pub F);

impl<F, Fut, R> BlobSource for ReaderSource<F>
where
    F: Fn() -> Fut + Send + Sync,
    Fut: Future<Output = std::io::Result<R>> + Send + 'static,
    R: AsyncRead + Send + 'static,
{
    fn open(&self) -> BoxFuture<'_, Result<BlobStream>> {
        let opening = (self.0)();
        Box::pin(async move {
            let reader = opening.await?;
            let stream: BlobStream = Box::pin(tokio_util::io::ReaderStream::new(reader));
            Ok(stream)
        })
    }
}

/// An upload session a registry opened (its `Location`, and the `OCI-Chunk-Min-Length` it
/// asked chunks to have, if any).
#[derive(Debug, Clone)]
pub struct UploadSession {
    pub(super) url: Url,
    pub(super) min_chunk: Option<u64>,
}

impl UploadSession {
    fn from_response(response: &reqwest::Response) -> Result<UploadSession> {
        let min_chunk = response
            .headers()
            .get("oci-chunk-min-length")
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.trim().parse().ok());
        Ok(UploadSession {
            url: location(response)?,
            min_chunk,
        })
    }
}

/// The result of a cross-repository mount.
#[derive(Debug)]
pub enum Mount {
    /// The blob is now in the target repository; nothing to upload.
    Mounted,
    /// The registry did not mount; upload into this session (no second POST needed).
    Upload(UploadSession),
}

/// A blob download: its length when the registry said, and its verified bytes.
pub struct Blob {
    pub size: Option<u64>,
    pub stream: BlobStream,
}

impl Client {
    /// HEADs a blob: its size, or `None` when the repository does not have it.
    pub async fn head_blob(
        &self,
        repo: &super::Repository,
        digest: &Digest,
    ) -> Result<Option<u64>> {
        let scopes = Scopes::repo(&repo.repository, &[Action::Pull]);
        let path = format!("v2/{}/blobs/{digest}", repo.repository);
        let make = |http: &reqwest::Client, base: &Url| http.head(join(base, &path));
        let sent = self.call(&repo.registry, &scopes, &make).await?;
        match sent.response.status().as_u16() {
            // Not `content_length()`: for a HEAD that is the (empty) body's length.
            200 => Ok(Some(
                sent.response
                    .headers()
                    .get(CONTENT_LENGTH)
                    .and_then(|v| v.to_str().ok())
                    .and_then(|v| v.parse().ok())
                    .unwrap_or_default(),
            )),
            404 => Ok(None),
            _ => Err(self
                .status_error(&self.state(&repo.registry), "HEAD", sent)
                .await),
        }
    }

    /// Asks the registry to mount `digest` from `from` into `target` (same registry). The token
    /// asked for covers push on the target and pull on the source.
    pub async fn mount_blob(
        &self,
        target: &super::Repository,
        from: &super::Repository,
        digest: &Digest,
    ) -> Result<Mount> {
        if target.registry != from.registry {
            return Err(Error::Config(format!(
                "cannot mount across registries ({from} -> {target})"
            )));
        }
        let scopes = Scopes::repo(&target.repository, &[Action::Pull, Action::Push])
            .with(&from.repository, &[Action::Pull]);
        let path = format!("v2/{}/blobs/uploads/", target.repository);
        let digest_text = digest.to_string();
        let make = |http: &reqwest::Client, base: &Url| {
            http.post(join(base, &path))
                .query(&[
                    ("mount", digest_text.as_str()),
                    ("from", from.repository.as_str()),
                ])
                .header(CONTENT_LENGTH, 0)
        };
        let sent = self.call(&target.registry, &scopes, &make).await?;
        match sent.response.status().as_u16() {
            201 => Ok(Mount::Mounted),
            202 => Ok(Mount::Upload(UploadSession::from_response(&sent.response)?)),
            _ => Err(self
                .status_error(&self.state(&target.registry), "POST", sent)
                .await),
        }
    }

    /// Opens an upload session (POST).
    pub async fn start_upload(&self, repo: &super::Repository) -> Result<UploadSession> {
        let scopes = Scopes::repo(&repo.repository, &[Action::Pull, Action::Push]);
        let path = format!("v2/{}/blobs/uploads/", repo.repository);
        let make = |http: &reqwest::Client, base: &Url| {
            http.post(join(base, &path)).header(CONTENT_LENGTH, 0)
        };
        let sent = self.call(&repo.registry, &scopes, &make).await?;
        match sent.response.status().as_u16() {
            202 => UploadSession::from_response(&sent.response),
            _ => Err(self
                .status_error(&self.state(&repo.registry), "POST", sent)
                .await),
        }
    }

    /// Uploads a blob monolithically: into `session` (from a refused mount) or a new one, with one
    /// PUT whose body streams from `source`. The bytes are verified on the way: a mismatch aborts
    /// the PUT before its last byte, so the registry never commits it. A failed attempt is retried
    /// from a new session with the source opened again.
    ///
    /// A registry that refuses the monolithic PUT with 413 (payload too large), or 400 (as Docker
    /// Hub has been seen to for large ones), gets the blob in chunks instead; once that worked,
    /// every later blob to that registry goes in chunks at once (see [`Client::push_blob_chunked`]).
    pub async fn push_blob(
        &self,
        repo: &super::Repository,
        digest: &Digest,
        size: u64,
        source: &dyn BlobSource,
        session: Option<UploadSession>,
    ) -> Result<()> {
        let state = self.state(&repo.registry);
        if state.chunked_uploads.load(Ordering::Relaxed) {
            return self
                .push_blob_chunked(repo, digest, size, source, session)
                .await;
        }
        let mut scopes = Scopes::repo(&repo.repository, &[Action::Pull, Action::Push]);
        let mut session = session;
        let mut attempt = 1;
        let mut reauthed = false;
        let policy = self.transport().policy().clone();
        loop {
            let upload = match session.take() {
                Some(s) => s,
                None => self.start_upload(repo).await?,
            };
            let mut url = upload.url.clone();
            url.query_pairs_mut()
                .append_pair("digest", &digest.to_string());
            let auth = self.auth_header(&state, &scopes, false).await?;
            // The host's slot first, then the source: an opened source may be one the download
            // waits on (a registry source's tee), so it is read from the moment it is open.
            let permit = self.transport().permit(&state.host).await;
            let failure = Arc::new(Mutex::new(None));
            let body = checked_stream(source, digest, size, &failure).await?;
            // Every chunk hyper takes from the body is progress: a registry that stops reading
            // stops it, and the transport calls the upload stalled.
            let progress = Progress::new();
            let mut request = self
                .transport()
                .http()
                .put(url)
                .header(CONTENT_TYPE, "application/octet-stream")
                .header(CONTENT_LENGTH, size)
                .body(Body::wrap_stream(progress.track(body)));
            if let Some(auth) = auth {
                request = request.header(reqwest::header::AUTHORIZATION, auth);
            }
            state.count();
            let outcome = self
                .transport()
                .send_holding(permit, request, Some(&progress))
                .await;
            if let Some(err) = failure.lock().unwrap_or_else(|p| p.into_inner()).take() {
                return Err(err);
            }
            let last = attempt >= policy.max_attempts;
            match outcome {
                Ok(sent) => match sent.response.status().as_u16() {
                    201 | 204 => {
                        tracing::debug!(repo = %repo, %digest, size, "blob uploaded");
                        return Ok(());
                    }
                    401 if !reauthed => {
                        reauthed = true;
                        if !self.learn_challenge(&state, &sent, &mut scopes).await? {
                            return Err(self.status_error(&state, "PUT", sent).await);
                        }
                        self.auth_header(&state, &scopes, true).await?;
                        continue;
                    }
                    413 | 400 => {
                        let refusal = self.status_error(&state, "PUT", sent).await;
                        tracing::warn!(registry = %state.name, %digest, size, error = %refusal, "the registry refused the blob in one PUT; uploading it in chunks");
                        self.push_blob_chunked(repo, digest, size, source, None)
                            .await?;
                        if !state.chunked_uploads.swap(true, Ordering::Relaxed) {
                            tracing::info!(registry = %state.name, "uploading the other blobs to this registry in chunks");
                        }
                        return Ok(());
                    }
                    s if is_retryable_status(s) && !last => {
                        tracing::warn!(repo = %repo, %digest, status = s, attempt, "blob upload failed, retrying");
                    }
                    _ => return Err(self.status_error(&state, "PUT", sent).await),
                },
                Err(Error::Transport { source, .. })
                    if !last && is_retryable_transport(&source) =>
                {
                    tracing::warn!(repo = %repo, %digest, attempt, error = %transport_message(&source), "blob upload failed, retrying");
                }
                Err(stalled @ Error::Stalled { .. }) if !last => {
                    tracing::warn!(repo = %repo, %digest, attempt, error = %stalled, "blob upload stalled, retrying");
                }
                Err(e) => return Err(e),
            }
            self.transport().pause(policy.backoff(attempt)).await?;
            attempt += 1;
        }
    }

    /// Streams a blob; the stream fails at its end (before yielding its last chunk) when the
    /// bytes do not match `digest`.
    pub async fn get_blob(&self, repo: &super::Repository, digest: &Digest) -> Result<Blob> {
        let scopes = Scopes::repo(&repo.repository, &[Action::Pull]);
        let path = format!("v2/{}/blobs/{digest}", repo.repository);
        let make = |http: &reqwest::Client, base: &Url| http.get(join(base, &path));
        let sent = self.call(&repo.registry, &scopes, &make).await?;
        if sent.response.status().as_u16() != 200 {
            return Err(self
                .status_error(&self.state(&repo.registry), "GET", sent)
                .await);
        }
        let size = sent.response.content_length();
        let permit = sent.permit;
        let what = format!("GET {}", display_url(sent.response.url()));
        let bytes = sent
            .response
            .bytes_stream()
            .map(move |chunk| {
                let _held = &permit; // the host's slot stays taken while the body streams
                chunk.map_err(std::io::Error::other)
            })
            .boxed();
        let transport = self.transport();
        let bytes = stall::guard(
            bytes,
            transport.transfer_stall(),
            transport.stop().clone(),
            what,
        )
        .boxed();
        Ok(Blob {
            size,
            stream: verified(bytes, digest.clone(), size, None),
        })
    }
}

pub(super) fn join(base: &Url, path: &str) -> Url {
    base.join(path).unwrap_or_else(|_| base.clone())
}

/// The upload URL of a 202, resolved against the request URL (registries send relative ones).
pub(super) fn location(response: &reqwest::Response) -> Result<Url> {
    let url = display_url(response.url());
    let value = response
        .headers()
        .get(LOCATION)
        .and_then(|v| v.to_str().ok())
        .ok_or_else(|| Error::Protocol {
            url: url.clone(),
            message: "upload session without a Location header".into(),
        })?;
    response.url().join(value).map_err(|e| Error::Protocol {
        url,
        message: format!("upload Location is not a URL: {e}"),
    })
}

/// The source's bytes as an upload sends them, checked against `digest` unless the source
/// verifies them itself; the stream's first error lands in `failure` as well.
pub(super) async fn checked_stream(
    source: &dyn BlobSource,
    digest: &Digest,
    size: u64,
    failure: &Arc<Mutex<Option<Error>>>,
) -> Result<BlobStream> {
    let opened = source.open().await?;
    Ok(if source.verifies() {
        reporting(opened, failure.clone())
    } else {
        verified(opened, digest.clone(), Some(size), Some(failure.clone()))
    })
}

/// Passes a stream through, putting its first error into `failure` (a request body's error
/// reaches the caller only as a transport error).
fn reporting(inner: BlobStream, failure: Arc<Mutex<Option<Error>>>) -> BlobStream {
    Box::pin(inner.map(move |item| {
        item.inspect_err(|e| {
            let mut slot = failure.lock().unwrap_or_else(|p| p.into_inner());
            if slot.is_none() {
                *slot = Some(Error::Io(std::io::Error::new(e.kind(), e.to_string())));
            }
        })
    }))
}

/// Wraps a stream so it verifies digest and size, holding back one chunk so that a mismatch is
/// an error before the last byte is yielded. The error also goes into `failure` when given (a
/// request body's error reaches the caller only as a transport error).
pub(crate) fn verified(
    inner: BlobStream,
    digest: Digest,
    size: Option<u64>,
    failure: Option<Arc<Mutex<Option<Error>>>>,
) -> BlobStream {
    struct State {
        inner: BlobStream,
        verifier: Option<Verifier>,
        held: Option<Bytes>,
        size: Option<u64>,
        failure: Option<Arc<Mutex<Option<Error>>>>,
    }
    fn fail(state: &mut State, err: Error) -> std::io::Error {
        let io = std::io::Error::new(std::io::ErrorKind::InvalidData, err.to_string());
        if let Some(slot) = &state.failure {
            *slot.lock().unwrap_or_else(|p| p.into_inner()) = Some(err);
        }
        state.verifier = None;
        io
    }
    let state = State {
        inner,
        verifier: Some(digest.verifier()),
        held: None,
        size,
        failure,
    };
    let digest_for_size = digest;
    Box::pin(futures_util::stream::unfold(state, move |mut st| {
        let digest = digest_for_size.clone();
        async move {
            loop {
                let verifier = st.verifier.as_mut()?;
                match st.inner.next().await {
                    Some(Ok(chunk)) if chunk.is_empty() => continue,
                    Some(Ok(chunk)) => {
                        verifier.update(&chunk);
                        let seen = verifier.len();
                        if let Some(expected) = st.size.filter(|s| seen > *s) {
                            let err = fail(
                                &mut st,
                                Error::SizeMismatch {
                                    digest,
                                    expected,
                                    actual: seen,
                                },
                            );
                            return Some((Err(err), st));
                        }
                        if let Some(previous) = st.held.replace(chunk) {
                            return Some((Ok(previous), st));
                        }
                    }
                    Some(Err(e)) => {
                        st.verifier = None;
                        return Some((Err(e), st));
                    }
                    None => {
                        let verifier = st.verifier.take()?;
                        let seen = verifier.len();
                        if let Some(expected) = st.size.filter(|s| seen != *s) {
                            let err = fail(
                                &mut st,
                                Error::SizeMismatch {
                                    digest,
                                    expected,
                                    actual: seen,
                                },
                            );
                            return Some((Err(err), st));
                        }
                        if let Err(e) = verifier.finish() {
                            let err = fail(&mut st, e.into());
                            return Some((Err(err), st));
                        }
                        return st.held.take().map(|last| (Ok(last), st));
                    }
                }
            }
        }
    }))
}
