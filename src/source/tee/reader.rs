//! One reader of a [`Tee`]: follows the download from byte 0, taking chunks from memory, or from
//! the spill file once they have left it.

use std::os::unix::fs::FileExt;
use std::sync::Arc;

use bytes::Bytes;
use tokio::sync::watch;

use super::Tee;

/// The most a reader takes from the spill file at once.
const READ: u64 = 1024 * 1024;

/// One reader of a [`Tee`]: reads the blob from its start, from memory or the spill file.
pub(in crate::source) struct TeeReader {
    pub(super) tee: Arc<Tee>,
    pub(super) slot: usize,
    pub(super) position: u64,
    pub(super) progress: watch::Receiver<u64>,
}

/// Where a reader's next bytes are.
enum Next {
    Memory(Bytes),
    File(u64),
    End,
    Wait,
}

impl TeeReader {
    /// The next bytes, `None` at the end; an error when the download failed.
    pub(in crate::source) async fn next(&mut self) -> std::io::Result<Option<Bytes>> {
        loop {
            self.progress.borrow_and_update();
            let next = {
                let state = self.tee.lock();
                if self.position < state.start() {
                    Next::File((state.start() - self.position).min(READ))
                } else if self.position < state.received {
                    let i = state.chunks.partition_point(|(o, _)| *o <= self.position) - 1;
                    let (offset, chunk) = &state.chunks[i];
                    Next::Memory(chunk.slice((self.position - offset) as usize..))
                } else {
                    match &state.end {
                        Some(Ok(())) => Next::End,
                        Some(Err(why)) => {
                            return Err(std::io::Error::other(format!(
                                "reading blob {} from the source: {why}",
                                self.tee.digest
                            )));
                        }
                        None => Next::Wait,
                    }
                }
            };
            let bytes = match next {
                Next::Memory(bytes) => bytes,
                Next::File(len) => self.read_spilled(len).await?,
                Next::End => return Ok(None),
                Next::Wait => {
                    self.progress
                        .changed()
                        .await
                        .map_err(|_| std::io::Error::other("the source download stopped"))?;
                    continue;
                }
            };
            self.position += bytes.len() as u64;
            self.tee.moved(self.slot, Some(self.position));
            return Ok(Some(bytes));
        }
    }

    /// `len` bytes of the spill file from the reader's position, read on the blocking pool.
    async fn read_spilled(&self, len: u64) -> std::io::Result<Bytes> {
        let (tee, at) = (self.tee.clone(), self.position);
        tokio::task::spawn_blocking(move || {
            let mut buf = vec![0; usize::try_from(len).map_err(std::io::Error::other)?];
            tee.spill.read_exact_at(&mut buf, at)?;
            Ok(Bytes::from(buf))
        })
        .await
        .map_err(std::io::Error::other)?
    }
}

impl Drop for TeeReader {
    fn drop(&mut self) {
        self.tee.moved(self.slot, None);
    }
}
