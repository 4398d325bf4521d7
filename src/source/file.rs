//! A byte range of a file as a re-openable blob stream: a blob file of an OCI layout, an entry of
//! an OCI archive (read in place, never extracted), or a blob cached from the source registry.

use std::io::SeekFrom;
use std::path::PathBuf;
use std::sync::Arc;

use futures_util::future::BoxFuture;
use tokio::io::{AsyncReadExt, AsyncSeekExt};

use crate::registry::{self, BlobSource, BlobStream};

/// Read buffer of a blob stream: large reads keep a gigabit upload fed with few syscalls.
const CHUNK: usize = 256 * 1024;

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

    async fn reader(&self) -> std::io::Result<tokio::io::Take<tokio::fs::File>> {
        let mut file = tokio::fs::File::open(self.path.as_ref()).await?;
        if self.offset > 0 {
            file.seek(SeekFrom::Start(self.offset)).await?;
        }
        Ok(file.take(self.len))
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
            let reader = self.reader().await?;
            let stream: BlobStream =
                Box::pin(tokio_util::io::ReaderStream::with_capacity(reader, CHUNK));
            Ok(stream)
        })
    }
}
