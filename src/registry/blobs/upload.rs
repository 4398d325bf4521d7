//! Monolithic blob upload: an upload session (from a refused mount, or a new POST), then one PUT
//! with `?digest=` whose body streams from the source, checked on the way; retried from a new
//! session, and handed to the chunked upload when the registry refuses the blob in one PUT.

use std::sync::atomic::Ordering;
use std::sync::{Arc, Mutex};

use reqwest::Body;
use reqwest::header::{CONTENT_LENGTH, CONTENT_TYPE};

use super::{BlobSource, UploadSession, checked_stream};
use crate::oci::Digest;
use crate::registry::Repository;
use crate::registry::auth::{Action, Scopes};
use crate::registry::client::{Client, RegistryState};
use crate::registry::error::{Error, Result, transport_message};
use crate::registry::retry::is_retryable_status;
use crate::registry::stall::Progress;
use crate::registry::transport::{Sent, is_retryable_transport};

/// One blob to upload: where, which, and where its bytes come from.
struct Upload<'a> {
    repo: &'a Repository,
    digest: &'a Digest,
    size: u64,
    source: &'a dyn BlobSource,
}

impl Client {
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
        repo: &Repository,
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
        let blob = Upload {
            repo,
            digest,
            size,
            source,
        };
        let mut scopes = Scopes::repo(&repo.repository, &[Action::Pull, Action::Push]);
        let mut session = session;
        let mut attempt = 1;
        let mut reauthed = false;
        let policy = self.transport().policy().clone();
        loop {
            let outcome = self
                .put_blob(&state, &blob, &scopes, session.take())
                .await?;
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
                    413 | 400 => return self.push_refused(&state, &blob, sent).await,
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

    /// One attempt: the PUT into `session` (or a new one), its body streamed from the source.
    /// The outer `Err` ends the upload (no session, no token, the bytes were wrong); the inner
    /// result is what the registry answered, or how sending failed.
    async fn put_blob(
        &self,
        state: &RegistryState,
        blob: &Upload<'_>,
        scopes: &Scopes,
        session: Option<UploadSession>,
    ) -> Result<Result<Sent>> {
        let upload = match session {
            Some(s) => s,
            None => self.start_upload(blob.repo).await?,
        };
        let mut url = upload.url.clone();
        url.query_pairs_mut()
            .append_pair("digest", &blob.digest.to_string());
        let auth = self.auth_header(state, scopes, false).await?;
        // The host's slot first, then the source: an opened source may be one the download
        // waits on (a registry source's tee), so it is read from the moment it is open.
        let permit = self.transport().permit(&state.host).await;
        let failure = Arc::new(Mutex::new(None));
        let body = checked_stream(blob.source, blob.digest, blob.size, &failure).await?;
        // Every chunk hyper takes from the body is progress: a registry that stops reading
        // stops it, and the transport calls the upload stalled.
        let progress = Progress::new();
        let mut request = self
            .transport()
            .http()
            .put(url)
            .header(CONTENT_TYPE, "application/octet-stream")
            .header(CONTENT_LENGTH, blob.size)
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
        Ok(outcome)
    }

    /// The registry refused the blob in one PUT (413, or Docker Hub's 400): it goes in chunks,
    /// and so does every later blob to this registry.
    async fn push_refused(
        &self,
        state: &RegistryState,
        blob: &Upload<'_>,
        sent: Sent,
    ) -> Result<()> {
        let (digest, size) = (blob.digest, blob.size);
        let refusal = self.status_error(state, "PUT", sent).await;
        tracing::warn!(registry = %state.name, %digest, size, error = %refusal, "the registry refused the blob in one PUT; uploading it in chunks");
        self.push_blob_chunked(blob.repo, digest, size, blob.source, None)
            .await?;
        if !state.chunked_uploads.swap(true, Ordering::Relaxed) {
            tracing::info!(registry = %state.name, "uploading the other blobs to this registry in chunks");
        }
        Ok(())
    }
}
