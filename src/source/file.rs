//! A byte range of a file as a re-openable blob stream: a blob file of an OCI layout, or an entry
//! of an OCI archive (read in place, never extracted).

use std::io::SeekFrom;
use std::path::PathBuf;
use std::sync::Arc;

use futures_util::future::BoxFuture;
use tokio::io::{AsyncReadExt, AsyncSeekExt};

use crate::registry::{self, BlobSource, BlobStream};

/// Read buffer of a blob stream: large reads keep a gigabit upload fed with few syscalls.
const CHUNK: usize = 1024 * 1024;

/// `len` bytes of `path` from `offset`.
#[derive(Debug, Clone)]
pub struct FileRange {
    pub path: Arc<PathBuf>,
    pub offset: u64,
    pub len: u64,
}

impl FileRange {
    /// The whole of `path`, `len` bytes long.
    pub fn whole(path: PathBuf, len: u64) -> FileRange {
        FileRange {
            path: Arc::new(path),
            offset: 0,
            len,
        }
    }

    /// The file, positioned at the range's start.
    async fn open_at_offset(&self) -> std::io::Result<tokio::fs::File> {
        let mut file = tokio::fs::File::open(self.path.as_ref()).await?;
        if self.offset > 0 {
            file.seek(SeekFrom::Start(self.offset)).await?;
        }
        Ok(file)
    }

    async fn reader(&self) -> std::io::Result<tokio::io::Take<tokio::fs::File>> {
        Ok(self.open_at_offset().await?.take(self.len))
    }

    /// Reads the range into memory (manifests and index.json only, which are small).
    pub async fn read(&self) -> std::io::Result<Vec<u8>> {
        let mut out = Vec::with_capacity(usize::try_from(self.len).unwrap_or(0));
        self.reader().await?.read_to_end(&mut out).await?;
        if out.len() as u64 != self.len {
            return Err(std::io::Error::new(
                std::io::ErrorKind::UnexpectedEof,
                format!("expected {} bytes, the file has {}", self.len, out.len()),
            ));
        }
        Ok(out)
    }
}

impl BlobSource for FileRange {
    fn open(&self) -> BoxFuture<'_, registry::Result<BlobStream>> {
        Box::pin(async move {
            let file = self.open_at_offset().await?.into_std().await;
            let stream =
                futures_util::stream::try_unfold((file, self.len), |(file, left)| async move {
                    if left == 0 {
                        return Ok(None);
                    }
                    let want = left.min(CHUNK as u64);
                    let (file, chunk) = read_chunk(file, want).await?;
                    Ok(Some((chunk, (file, left - want))))
                });
            let stream: BlobStream = Box::pin(stream);
            Ok(stream)
        })
    }
}

/// Reads the next `len` bytes of `file` into a fresh buffer (filled by the read, never zeroed
/// first), on the blocking pool: a file not in the page cache waits for the disk there, not on a
/// runtime worker. Fewer bytes than `len` is an error. Gives the file back for the next read.
async fn read_chunk(
    mut file: std::fs::File,
    len: u64,
) -> std::io::Result<(std::fs::File, bytes::Bytes)> {
    tokio::task::spawn_blocking(move || {
        use std::io::Read;
        let mut buf = Vec::with_capacity(usize::try_from(len).map_err(std::io::Error::other)?);
        (&mut file).take(len).read_to_end(&mut buf)?;
        if buf.len() as u64 != len {
            return Err(std::io::Error::new(
                std::io::ErrorKind::UnexpectedEof,
                format!("expected {len} bytes, read {}", buf.len()),
            ));
        }
        Ok((file, bytes::Bytes::from(buf)))
    })
    .await
    .map_err(std::io::Error::other)?
}

/// A file range checked against its digest once, however many uploads read it: the first
/// `open` starts one hash of the file (on a blocking thread, alongside the reading); every
/// stream holds its last chunk back until that hash matched. Two targets cost one hash, not two.
pub struct VerifiedFile {
    range: FileRange,
    digest: registry::Digest,
    check: Arc<tokio::sync::OnceCell<Result<(), String>>>,
}

impl VerifiedFile {
    pub fn new(range: FileRange, digest: registry::Digest) -> VerifiedFile {
        VerifiedFile {
            range,
            digest,
            check: Arc::default(),
        }
    }

    /// The check's result, computed by the first caller.
    async fn checked(
        check: &tokio::sync::OnceCell<Result<(), String>>,
        range: &FileRange,
        digest: &registry::Digest,
    ) -> Result<(), String> {
        check
            .get_or_init(|| {
                let (range, digest) = (range.clone(), digest.clone());
                async move {
                    tokio::task::spawn_blocking(move || hash_range(&range, digest))
                        .await
                        .unwrap_or_else(|e| Err(format!("the check of the blob stopped: {e}")))
                }
            })
            .await
            .clone()
    }
}

/// Hashes `range` and compares it with `digest` and the range's length.
fn hash_range(range: &FileRange, digest: registry::Digest) -> Result<(), String> {
    use std::io::{Read, Seek};
    let fail = |e: std::io::Error| format!("reading {}: {e}", range.path.display());
    let mut file = std::fs::File::open(range.path.as_ref()).map_err(fail)?;
    file.seek(SeekFrom::Start(range.offset)).map_err(fail)?;
    let mut reader = file.take(range.len);
    let mut verifier = digest.verifier();
    let mut buf = vec![0u8; 1024 * 1024];
    loop {
        let n = reader.read(&mut buf).map_err(fail)?;
        if n == 0 {
            break;
        }
        verifier.update(&buf[..n]);
    }
    if verifier.len() != range.len {
        return Err(format!(
            "{} has {} bytes where {} were expected",
            range.path.display(),
            verifier.len(),
            range.len
        ));
    }
    verifier.finish().map_err(|e| e.to_string())
}

impl BlobSource for VerifiedFile {
    fn open(&self) -> BoxFuture<'_, registry::Result<BlobStream>> {
        Box::pin(async move {
            let (check, range, digest) =
                (self.check.clone(), self.range.clone(), self.digest.clone());
            {
                let (check, range, digest) = (check.clone(), range.clone(), digest.clone());
                tokio::spawn(async move {
                    let _ = VerifiedFile::checked(&check, &range, &digest).await;
                });
            }
            let inner = self.range.open().await?;
            struct State {
                inner: BlobStream,
                held: Option<bytes::Bytes>,
                done: bool,
            }
            let state = State {
                inner,
                held: None,
                done: false,
            };
            let stream = futures_util::stream::unfold(state, move |mut st| {
                let (check, range, digest) = (check.clone(), range.clone(), digest.clone());
                async move {
                    use futures_util::StreamExt;
                    if st.done {
                        return None;
                    }
                    loop {
                        match st.inner.next().await {
                            Some(Ok(chunk)) if chunk.is_empty() => continue,
                            Some(Ok(chunk)) => {
                                if let Some(previous) = st.held.replace(chunk) {
                                    return Some((Ok(previous), st));
                                }
                            }
                            Some(Err(e)) => {
                                st.done = true;
                                return Some((Err(e), st));
                            }
                            None => {
                                st.done = true;
                                return match VerifiedFile::checked(&check, &range, &digest).await {
                                    Ok(()) => st.held.take().map(|last| (Ok(last), st)),
                                    Err(why) => Some((
                                        Err(std::io::Error::new(
                                            std::io::ErrorKind::InvalidData,
                                            why,
                                        )),
                                        st,
                                    )),
                                };
                            }
                        }
                    }
                }
            });
            let stream: BlobStream = Box::pin(stream);
            Ok(stream)
        })
    }

    fn verifies(&self) -> bool {
        true
    }

    fn precheck(&self) -> BoxFuture<'_, std::result::Result<(), String>> {
        Box::pin(async move {
            VerifiedFile::checked(&self.check, &self.range, &self.digest)
                .await
                .map_err(
                    |why| match why.contains(&*self.range.path.to_string_lossy()) {
                        true => why,
                        false => format!("{}: {why}", self.range.path.display()),
                    },
                )
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use futures_util::StreamExt;

    /// Reads a stream to its end: the bytes it gave, and its error if it ended with one.
    async fn drain(mut stream: BlobStream) -> (Vec<u8>, Option<std::io::Error>) {
        let mut bytes = Vec::new();
        while let Some(item) = stream.next().await {
            match item {
                Ok(chunk) => bytes.extend_from_slice(&chunk),
                Err(e) => return (bytes, Some(e)),
            }
        }
        (bytes, None)
    }

    fn blob_file(content: &[u8]) -> (tempfile::TempDir, FileRange) {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("blob");
        std::fs::write(&path, content).unwrap();
        (dir, FileRange::whole(path, content.len() as u64))
    }

    #[tokio::test]
    async fn a_verified_file_streams_whole_to_every_reader() {
        let content: Vec<u8> = (0..3 * CHUNK + 17).map(|i| (i % 251) as u8).collect();
        let (_dir, range) = blob_file(&content);
        let source = VerifiedFile::new(range, registry::Digest::sha256(&content));
        assert!(source.verifies());
        let (a, b) = tokio::join!(async { drain(source.open().await.unwrap()).await }, async {
            drain(source.open().await.unwrap()).await
        });
        for (bytes, error) in [a, b] {
            assert!(error.is_none(), "{error:?}");
            assert_eq!(bytes, content);
        }
    }

    #[tokio::test]
    async fn a_corrupted_file_fails_before_its_last_byte() {
        let content: Vec<u8> = (0..2 * CHUNK + 5).map(|i| (i % 13) as u8).collect();
        let digest = registry::Digest::sha256(&content);
        let mut corrupted = content.clone();
        corrupted[10] ^= 1;
        let (_dir, range) = blob_file(&corrupted);
        let source = VerifiedFile::new(range, digest);
        for _ in 0..2 {
            let (bytes, error) = drain(source.open().await.unwrap()).await;
            let error = error.expect("a digest error");
            assert_eq!(error.kind(), std::io::ErrorKind::InvalidData);
            assert!(error.to_string().contains("digest"), "{error}");
            assert!(
                bytes.len() < corrupted.len(),
                "the last chunk was held back"
            );
        }
    }
}
