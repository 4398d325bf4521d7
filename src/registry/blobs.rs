//! Blob operations: HEAD, cross-repository mount (its 202 upload session is reused), monolithic
//! upload (POST, then one streamed PUT with `?digest=`), chunked upload for registries that refuse
//! a monolithic one (POST, PATCH chunks, PUT with `?digest=`), and streamed download. Bytes are
//! verified as they pass; nothing buffers a whole layer.

use std::future::Future;
use std::pin::Pin;
use std::sync::atomic::Ordering;
use std::sync::{Arc, Mutex};

use bytes::{Bytes, BytesMut};
use futures_util::future::BoxFuture;
use futures_util::{Stream, StreamExt};
use reqwest::header::{CONTENT_LENGTH, CONTENT_RANGE, CONTENT_TYPE, HeaderValue, LOCATION, RANGE};
use reqwest::{Body, Url};
use tokio::io::AsyncRead;
use tokio::sync::OwnedSemaphorePermit;

use super::auth::{Action, Scopes};
use super::client::{Client, RegistryState};
use super::error::{Error, Result, display_url, transport_message};
use super::retry::is_retryable_status;
use super::stall::{self, Progress};
use super::transport::{Sent, is_retryable_transport};
use crate::oci::{Digest, Verifier};

/// The largest chunk sent to ghcr.io, which refuses larger `PATCH` bodies.
const GHCR_CHUNK: u64 = 4 << 20;

/// The chunk size on other registries. A chunk is held in memory until the registry has taken
/// it, so it stays small.
const CHUNK: u64 = 8 << 20;

/// The largest `OCI-Chunk-Min-Length` honoured: every upload in flight holds one chunk in memory.
const MAX_CHUNK: u64 = 64 << 20;

/// How many times one chunked attempt resumes from where the registry says its upload stands
/// (after a 416, or a `Range` that is not the bytes sent) before it starts over.
const RESUMES: u32 = 3;

/// The size of the pieces a chunk's body is handed to hyper in (each one is progress).
const PIECE: usize = 256 * 1024;

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
    url: Url,
    min_chunk: Option<u64>,
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
            let body = if source.verifies() {
                reporting(source.open().await?, failure.clone())
            } else {
                verified(
                    source.open().await?,
                    digest.clone(),
                    Some(size),
                    Some(failure.clone()),
                )
            };
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

    /// Uploads a blob in chunks, following the distribution spec's "Pushing a blob in chunks":
    /// a session (`session`, from a refused mount, or a new POST), `PATCH` requests of one chunk
    /// each (`Content-Range: <first>-<last>`, `Content-Type: application/octet-stream`), each
    /// sent to the `Location` the previous answer gave, then an empty `PUT` with `?digest=`.
    ///
    /// Chunks are 4 MiB on ghcr.io (which refuses larger ones) and 8 MiB elsewhere, or the
    /// session's `OCI-Chunk-Min-Length` when larger (64 MiB at most); the last may be shorter.
    /// A 416, or an answer whose `Range` is not the bytes sent, is resolved as the spec says: a
    /// `GET` of the session tells where the registry's upload stands, and the chunk goes on from
    /// there. The bytes are verified as they are read, and an error stops the upload before the
    /// `PUT`, so the registry never commits a wrong blob. A failed attempt is retried from a new
    /// session with the source opened again, as a monolithic one is.
    pub async fn push_blob_chunked(
        &self,
        repo: &super::Repository,
        digest: &Digest,
        size: u64,
        source: &dyn BlobSource,
        session: Option<UploadSession>,
    ) -> Result<()> {
        let state = self.state(&repo.registry);
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
            let chunk = chunk_size(&state.name, upload.min_chunk);
            let auth = self.auth_header(&state, &scopes, false).await?;
            // The host's slot first, then the source (see `push_blob`); the slot is held from
            // the first PATCH to the PUT, so the source is read without waiting on other uploads.
            let permit = self.transport().permit(&state.host).await;
            let failure = Arc::new(Mutex::new(None));
            let bytes = if source.verifies() {
                reporting(source.open().await?, failure.clone())
            } else {
                verified(
                    source.open().await?,
                    digest.clone(),
                    Some(size),
                    Some(failure.clone()),
                )
            };
            let chunks = Chunks {
                client: self,
                state: &state,
                digest,
                auth,
                chunk,
            };
            let outcome = chunks.send(upload.url, bytes, permit).await;
            if let Some(err) = failure.lock().unwrap_or_else(|p| p.into_inner()).take() {
                return Err(err);
            }
            let last = attempt >= policy.max_attempts;
            match outcome {
                Ok(()) => {
                    tracing::debug!(repo = %repo, %digest, size, chunk, "blob uploaded in chunks");
                    return Ok(());
                }
                Err(Failed::Unauthorized(sent)) if !reauthed => {
                    reauthed = true;
                    if !self.learn_challenge(&state, &sent, &mut scopes).await? {
                        return Err(self.status_error(&state, "PATCH", sent).await);
                    }
                    self.auth_header(&state, &scopes, true).await?;
                    continue;
                }
                Err(Failed::Unauthorized(sent)) => {
                    return Err(self.status_error(&state, "PATCH", sent).await);
                }
                Err(Failed::Temporary(e)) if !last => {
                    tracing::warn!(repo = %repo, %digest, attempt, error = %e, "chunked blob upload failed, retrying");
                }
                Err(Failed::Temporary(e) | Failed::Final(e)) => return Err(e),
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

/// The chunk size for `registry`, given the `OCI-Chunk-Min-Length` its session asked for.
fn chunk_size(registry: &str, min: Option<u64>) -> u64 {
    let own = if registry == "ghcr.io" {
        GHCR_CHUNK
    } else {
        CHUNK
    };
    own.max(min.unwrap_or(0).min(MAX_CHUNK))
}

/// Why a chunked attempt stopped.
enum Failed {
    /// Worth another attempt from a new session: no answer, a stall, 408/429/5xx, an upload the
    /// registry lost track of.
    Temporary(Error),
    /// A 401: the token may have expired during the upload.
    Unauthorized(Sent),
    Final(Error),
}

/// One chunked attempt's fixed parts.
struct Chunks<'a> {
    client: &'a Client,
    state: &'a RegistryState,
    digest: &'a Digest,
    auth: Option<HeaderValue>,
    chunk: u64,
}

impl Chunks<'_> {
    /// Sends `bytes` in chunks into the session at `url`, then closes it with the PUT.
    async fn send(
        &self,
        mut url: Url,
        mut bytes: BlobStream,
        mut permit: OwnedSemaphorePermit,
    ) -> std::result::Result<(), Failed> {
        let (mut carry, mut ended) = (None, false);
        let mut offset = 0u64;
        loop {
            let chunk = next_chunk(&mut bytes, &mut carry, &mut ended, self.chunk)
                .await
                .map_err(|e| Failed::Final(Error::Io(e)))?;
            if chunk.is_empty() {
                break;
            }
            (url, permit) = self.patch(url, &chunk, offset, permit).await?;
            offset += chunk.len() as u64;
        }
        url.query_pairs_mut()
            .append_pair("digest", &self.digest.to_string());
        let request = self
            .with_auth(self.client_http().put(url))
            .header(CONTENT_LENGTH, 0);
        let sent = self.send_one(permit, request, None).await?;
        match sent.response.status().as_u16() {
            201 | 204 => Ok(()),
            _ => Err(self.refused(sent, "PUT").await),
        }
    }

    /// Sends one chunk that starts at byte `offset` of the blob, resuming where the registry says
    /// its upload stands when that is not where the chunk ends. Returns the next `Location`.
    async fn patch(
        &self,
        mut url: Url,
        chunk: &Bytes,
        offset: u64,
        mut permit: OwnedSemaphorePermit,
    ) -> std::result::Result<(Url, OwnedSemaphorePermit), Failed> {
        let end = offset + chunk.len() as u64;
        let mut from = offset;
        let mut resumes = 0;
        loop {
            let part = chunk.slice((from - offset) as usize..);
            let progress = Progress::new();
            let pieces: Vec<std::io::Result<Bytes>> = (0..part.len())
                .step_by(PIECE)
                .map(|at| Ok(part.slice(at..(at + PIECE).min(part.len()))))
                .collect();
            let body = Body::wrap_stream(progress.track(futures_util::stream::iter(pieces)));
            let request = self
                .with_auth(self.client_http().patch(url.clone()))
                .header(CONTENT_TYPE, "application/octet-stream")
                .header(CONTENT_RANGE, format!("{from}-{}", end - 1))
                .header(CONTENT_LENGTH, part.len())
                .body(body);
            let sent = self.send_one(permit, request, Some(&progress)).await?;
            let status = sent.response.status().as_u16();
            let registry_at = match status {
                202 => {
                    let next = location(&sent.response).unwrap_or_else(|_| url.clone());
                    let at = range_end(&sent.response);
                    if at.is_none_or(|at| at == end) {
                        return Ok((next, sent.permit));
                    }
                    url = next;
                    permit = sent.permit;
                    at
                }
                416 => {
                    let (at, next, p) = self.status(url.clone(), sent.permit).await?;
                    url = next;
                    permit = p;
                    Some(at)
                }
                _ => return Err(self.refused(sent, "PATCH").await),
            };
            resumes += 1;
            match registry_at {
                Some(at) if (offset..end).contains(&at) && resumes <= RESUMES => {
                    tracing::debug!(url = %display_url(&url), at, from, "resuming a chunked upload where the registry stands");
                    from = at;
                }
                Some(at) if at == end => return Ok((url, permit)),
                at => {
                    return Err(Failed::Temporary(Error::Protocol {
                        url: display_url(&url),
                        message: format!(
                            "the registry's upload stands at byte {}, the chunk sent covers {offset}-{}",
                            at.map_or_else(|| "?".to_owned(), |a| a.to_string()),
                            end - 1
                        ),
                    }));
                }
            }
        }
    }

    /// The `GET` of an upload session: the offset the registry's upload stands at and the
    /// session's `Location`.
    async fn status(
        &self,
        url: Url,
        permit: OwnedSemaphorePermit,
    ) -> std::result::Result<(u64, Url, OwnedSemaphorePermit), Failed> {
        let request = self.with_auth(self.client_http().get(url.clone()));
        let sent = self.send_one(permit, request, None).await?;
        if sent.response.status().as_u16() != 204 {
            return Err(self.refused(sent, "GET").await);
        }
        let at = range_end(&sent.response).unwrap_or(0);
        let next = location(&sent.response).unwrap_or(url);
        Ok((at, next, sent.permit))
    }

    fn client_http(&self) -> &reqwest::Client {
        self.client.transport().http()
    }

    fn with_auth(&self, request: reqwest::RequestBuilder) -> reqwest::RequestBuilder {
        match &self.auth {
            Some(auth) => request.header(reqwest::header::AUTHORIZATION, auth.clone()),
            None => request,
        }
    }

    /// Sends one request of the upload in the slot it holds; no answer, or a stall, is
    /// temporary (the attempt starts over).
    async fn send_one(
        &self,
        permit: OwnedSemaphorePermit,
        request: reqwest::RequestBuilder,
        upload: Option<&Progress>,
    ) -> std::result::Result<Sent, Failed> {
        self.state.count();
        match self
            .client
            .transport()
            .send_holding(permit, request, upload)
            .await
        {
            Ok(sent) => Ok(sent),
            Err(Error::Transport {
                method,
                url,
                source,
            }) if is_retryable_transport(&source) => Err(Failed::Temporary(Error::Transport {
                method,
                url,
                source,
            })),
            Err(stalled @ Error::Stalled { .. }) => Err(Failed::Temporary(stalled)),
            Err(e) => Err(Failed::Final(e)),
        }
    }

    /// An answer the upload cannot go on from: a 401 to re-authenticate, a temporary status, or
    /// a final one.
    async fn refused(&self, sent: Sent, method: &str) -> Failed {
        let status = sent.response.status().as_u16();
        if status == 401 {
            return Failed::Unauthorized(sent);
        }
        let err = self.client.status_error(self.state, method, sent).await;
        if is_retryable_status(status) {
            Failed::Temporary(err)
        } else {
            Failed::Final(err)
        }
    }
}

/// The next `len` bytes of `bytes` (fewer at the end, none after it); `carry` keeps what a
/// chunk of the stream had beyond them, `ended` that the stream ended (it is not polled again).
async fn next_chunk(
    bytes: &mut BlobStream,
    carry: &mut Option<Bytes>,
    ended: &mut bool,
    len: u64,
) -> std::io::Result<Bytes> {
    let len = usize::try_from(len).unwrap_or(usize::MAX);
    let mut chunk = BytesMut::new();
    loop {
        let piece = match carry.take() {
            Some(piece) => piece,
            None if *ended => return Ok(chunk.freeze()),
            None => match bytes.next().await.transpose()? {
                Some(piece) => piece,
                None => {
                    *ended = true;
                    return Ok(chunk.freeze());
                }
            },
        };
        let room = len - chunk.len();
        if piece.len() > room {
            chunk.extend_from_slice(&piece[..room]);
            *carry = Some(piece.slice(room..));
        } else {
            chunk.extend_from_slice(&piece);
        }
        if chunk.len() == len {
            return Ok(chunk.freeze());
        }
    }
}

/// The offset after the last byte an upload session holds, from its `Range: 0-<last>` (with or
/// without a `bytes=` prefix). Distribution sends `0-0` for an empty upload: read as none.
fn range_end(response: &reqwest::Response) -> Option<u64> {
    let value = response.headers().get(RANGE)?.to_str().ok()?;
    let value = value.trim().trim_start_matches("bytes=");
    let (first, last) = value.split_once('-')?;
    let (first, last): (u64, u64) = (first.parse().ok()?, last.parse().ok()?);
    match (first, last) {
        (0, 0) => Some(0),
        (0, last) => Some(last + 1),
        _ => None,
    }
}

fn join(base: &Url, path: &str) -> Url {
    base.join(path).unwrap_or_else(|_| base.clone())
}

/// The upload URL of a 202, resolved against the request URL (registries send relative ones).
fn location(response: &reqwest::Response) -> Result<Url> {
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn chunks_are_bounded_and_honour_the_registry_minimum() {
        assert_eq!(chunk_size("ghcr.io", None), 4 << 20);
        assert_eq!(chunk_size("docker.io", None), 8 << 20);
        assert_eq!(chunk_size("quay.io", Some(1024)), 8 << 20);
        assert_eq!(chunk_size("ghcr.io", Some(5 << 20)), 5 << 20);
        assert_eq!(chunk_size("quay.io", Some(1 << 40)), 64 << 20);
    }

    fn with_range(range: &str) -> reqwest::Response {
        reqwest::Response::from(
            http::Response::builder()
                .header("Range", range)
                .body(Vec::<u8>::new())
                .unwrap(),
        )
    }

    #[test]
    fn an_upload_range_gives_the_next_offset() {
        assert_eq!(range_end(&with_range("0-8388607")), Some(8 << 20));
        assert_eq!(range_end(&with_range("bytes=0-99")), Some(100));
        assert_eq!(range_end(&with_range("0-0")), Some(0));
        assert_eq!(range_end(&with_range("5-9")), None);
        assert_eq!(range_end(&with_range("junk")), None);
    }
}
