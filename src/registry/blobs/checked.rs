//! Blob bytes checked as they pass: a stream that verifies digest and size while holding back
//! one chunk, so that a mismatch is an error before the last byte reaches the reader (an upload
//! is then aborted before the registry can commit it).

use std::sync::{Arc, Mutex};

use bytes::Bytes;
use futures_util::StreamExt;

use super::{BlobSource, BlobStream};
use crate::oci::{Digest, Verifier};
use crate::registry::error::{Error, Result};

/// Where a stream's first error is put for the caller: a request body's error reaches it only
/// as a transport error.
type Failure = Arc<Mutex<Option<Error>>>;

/// The source's bytes as an upload sends them, checked against `digest` unless the source
/// verifies them itself; the stream's first error lands in `failure` as well.
pub(in crate::registry) async fn checked_stream(
    source: &dyn BlobSource,
    digest: &Digest,
    size: u64,
    failure: &Failure,
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
fn reporting(inner: BlobStream, failure: Failure) -> BlobStream {
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
    failure: Option<Failure>,
) -> BlobStream {
    let state = Verifying {
        inner,
        verifier: Some(digest.verifier()),
        digest,
        held: None,
        size,
        failure,
    };
    Box::pin(futures_util::stream::unfold(state, |mut st| async move {
        let item = st.next().await?;
        Some((item, st))
    }))
}

/// A stream being verified: `verifier` is `None` once it ended or failed (it yields nothing
/// more then).
struct Verifying {
    inner: BlobStream,
    verifier: Option<Verifier>,
    digest: Digest,
    /// The chunk held back until the next one (or the end) shows the bytes are right so far.
    held: Option<Bytes>,
    size: Option<u64>,
    failure: Option<Failure>,
}

impl Verifying {
    /// The next checked chunk, an error (after which the stream ends), or `None` at the end.
    async fn next(&mut self) -> Option<std::io::Result<Bytes>> {
        loop {
            let verifier = self.verifier.as_mut()?;
            match self.inner.next().await {
                Some(Ok(chunk)) if chunk.is_empty() => continue,
                Some(Ok(chunk)) => {
                    verifier.update(&chunk);
                    let seen = verifier.len();
                    if let Some(expected) = self.size.filter(|s| seen > *s) {
                        return Some(Err(self.size_mismatch(expected, seen)));
                    }
                    if let Some(previous) = self.held.replace(chunk) {
                        return Some(Ok(previous));
                    }
                }
                Some(Err(e)) => {
                    self.verifier = None;
                    return Some(Err(e));
                }
                None => return self.finish(),
            }
        }
    }

    /// At the end of the inner stream: the held chunk once size and digest are right.
    fn finish(&mut self) -> Option<std::io::Result<Bytes>> {
        let verifier = self.verifier.take()?;
        let seen = verifier.len();
        if let Some(expected) = self.size.filter(|s| seen != *s) {
            return Some(Err(self.size_mismatch(expected, seen)));
        }
        if let Err(e) = verifier.finish() {
            return Some(Err(self.fail(e.into())));
        }
        self.held.take().map(Ok)
    }

    fn size_mismatch(&mut self, expected: u64, actual: u64) -> std::io::Error {
        let digest = self.digest.clone();
        self.fail(Error::SizeMismatch {
            digest,
            expected,
            actual,
        })
    }

    /// Ends the stream with `err`, recording it in `failure` when given.
    fn fail(&mut self, err: Error) -> std::io::Error {
        let io = std::io::Error::new(std::io::ErrorKind::InvalidData, err.to_string());
        if let Some(slot) = &self.failure {
            *slot.lock().unwrap_or_else(|p| p.into_inner()) = Some(err);
        }
        self.verifier = None;
        io
    }
}
