//! Chunked blob uploads (the OCI distribution spec's "pushing a blob in chunks"), for registries
//! that refuse a large monolithic PUT: POST a session, PATCH the blob in chunks to the Location
//! each answer gives, then PUT with the digest.

use super::auth::{Action, Scopes};
use super::blobs::{BlobSource, BlobStream, UploadSession, checked_stream, location};
use super::client::{Client, RegistryState};
use super::error::{Error, Result, display_url};
use super::retry::is_retryable_status;
use super::stall::Progress;
use super::transport::{Sent, is_retryable_transport};
use crate::oci::Digest;
use bytes::{Bytes, BytesMut};
use futures_util::StreamExt;
use reqwest::header::{CONTENT_LENGTH, CONTENT_RANGE, CONTENT_TYPE, HeaderValue, RANGE};
use reqwest::{Body, Url};
use std::sync::{Arc, Mutex};
use tokio::sync::OwnedSemaphorePermit;

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

impl Client {
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
            let bytes = checked_stream(source, digest, size, &failure).await?;
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
