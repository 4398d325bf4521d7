//! Blob operations: HEAD, cross-repository mount (its 202 upload session is reused), upload
//! sessions, and streamed download. The monolithic upload (POST, then one streamed PUT with
//! `?digest=`) is in [`upload`], the chunked upload for registries that refuse a monolithic one
//! (POST, PATCH chunks, PUT with `?digest=`) in `registry::chunked`. Bytes are verified as they
//! pass ([`checked`]); nothing buffers a whole layer.

use std::future::Future;
use std::pin::Pin;

use bytes::Bytes;
use futures_util::future::BoxFuture;
use futures_util::{Stream, StreamExt};
use reqwest::Url;
use reqwest::header::{CONTENT_LENGTH, LOCATION};
use tokio::io::AsyncRead;

use super::auth::{Action, Scopes};
use super::client::Client;
use super::error::{Error, Result, display_url};
use super::stall;
use crate::oci::Digest;

mod checked;
mod upload;

pub(super) use checked::checked_stream;
pub(crate) use checked::verified;

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
