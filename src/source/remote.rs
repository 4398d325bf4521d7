//! A registry as the image source: manifests by `GET` (digest verified by the client), blobs read
//! from the registry once whatever the number of destinations: the first open starts streaming the
//! blob into a temporary file (verified on the way), and every open reads that file as it grows,
//! so uploads to the destinations run while the download is still going.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use futures_util::StreamExt;
use futures_util::future::BoxFuture;
use std::io::Write;
use tokio::sync::{OnceCell, watch};

use crate::registry::{
    self, BlobSource, BlobStream, Client, Digest, ImageRef, Reference, Repository,
};

use super::error::{Result, io};
use super::file::read_chunk;
use super::{RawManifest, sniff_media_type};

/// An image in a registry.
pub struct Remote {
    image: ImageRef,
    root: RawManifest,
    cache: Arc<Cache>,
}

impl std::fmt::Debug for Remote {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Remote")
            .field("image", &self.image)
            .field("root", &self.root.digest)
            .finish_non_exhaustive()
    }
}

/// Downloaded blobs: one cell per digest, in a directory removed when the last user drops it.
struct Cache {
    client: Client,
    repo: Repository,
    dir: tempfile::TempDir,
    cells: Mutex<HashMap<Digest, Arc<OnceCell<Arc<Download>>>>>,
}

/// How far a download has got: bytes in the file, and whether it ended (and how).
#[derive(Debug, Clone, PartialEq, Eq)]
enum Progress {
    Running(u64),
    Done,
    Failed(String),
}

/// A blob being (or done being) written to the cache file.
struct Download {
    path: std::path::PathBuf,
    size: u64,
    progress: watch::Receiver<Progress>,
}

/// Readers are told the file grew after at least this many new bytes.
const STEP: usize = 256 * 1024;

/// The most a reader takes from the cache file at once (one chunk of the upload body).
const READ: usize = 1024 * 1024;

impl Remote {
    /// Reads the root manifest of `image` (one GET).
    pub async fn open(image: &ImageRef, client: &Client) -> Result<Remote> {
        let dir = tempfile::Builder::new()
            .prefix("registry-action-blobs-")
            .tempdir()
            .map_err(io(std::env::temp_dir()))?;
        let root = client.get_manifest_raw(image).await?;
        Ok(Remote {
            image: image.clone(),
            root: raw(root),
            cache: Arc::new(Cache {
                client: client.clone(),
                repo: image.repo(),
                dir,
                cells: Mutex::new(HashMap::new()),
            }),
        })
    }

    /// The manifest or index the reference names.
    pub fn root(&self) -> &RawManifest {
        &self.root
    }

    /// The directory blobs are cached in (removed when the source and its blobs are dropped).
    pub fn cache_dir(&self) -> &std::path::Path {
        self.cache.dir.path()
    }

    /// The image reference read from.
    pub fn image(&self) -> &ImageRef {
        &self.image
    }

    /// A manifest of the same repository by digest (verified by the client).
    pub async fn manifest(&self, digest: &Digest) -> Result<RawManifest> {
        if *digest == self.root.digest {
            return Ok(self.root.clone());
        }
        let image = self.image.repo().with(Reference::Digest(digest.clone()));
        Ok(raw(self.cache.client.get_manifest_raw(&image).await?))
    }

    /// A blob as a re-openable stream; nothing is read before the first open.
    pub fn blob(&self, digest: &Digest, size: u64) -> Arc<dyn BlobSource> {
        let cell = self
            .cache
            .cells
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .entry(digest.clone())
            .or_default()
            .clone();
        Arc::new(CachedBlob {
            cache: self.cache.clone(),
            digest: digest.clone(),
            size,
            cell,
        })
    }
}

fn raw(manifest: registry::Manifest) -> RawManifest {
    let media_type = if manifest.media_type.is_empty() {
        sniff_media_type(&manifest.bytes)
    } else {
        manifest.media_type
    };
    RawManifest {
        digest: manifest.digest,
        media_type,
        bytes: manifest.bytes,
    }
}

/// One blob of the source registry, downloaded on its first open.
struct CachedBlob {
    cache: Arc<Cache>,
    digest: Digest,
    size: u64,
    cell: Arc<OnceCell<Arc<Download>>>,
}

impl BlobSource for CachedBlob {
    fn open(&self) -> BoxFuture<'_, registry::Result<BlobStream>> {
        Box::pin(async move {
            let download = self
                .cell
                .get_or_try_init(|| {
                    Cache::start(self.cache.clone(), self.digest.clone(), self.size)
                })
                .await?
                .clone();
            let file = std::fs::File::open(&download.path)?;
            let state = (file, 0u64, download.progress.clone(), download.size);
            let stream = futures_util::stream::try_unfold(
                state,
                |(file, pos, mut progress, size)| async move {
                    loop {
                        let now = progress.borrow_and_update().clone();
                        let available = match &now {
                            Progress::Running(written) => *written,
                            Progress::Done => size,
                            Progress::Failed(why) => {
                                return Err(std::io::Error::other(why.clone()));
                            }
                        };
                        if pos < available {
                            let want = (available - pos).min(READ as u64);
                            let (file, chunk) = read_chunk(file, want).await?;
                            return Ok(Some((chunk, (file, pos + want, progress, size))));
                        }
                        if now == Progress::Done {
                            return Ok(None);
                        }
                        if progress.changed().await.is_err() {
                            return Err(std::io::Error::other("the source download stopped"));
                        }
                    }
                },
            );
            let stream: BlobStream = Box::pin(stream);
            Ok(stream)
        })
    }

    /// The download is verified as it arrives (its last bytes are written only once the digest
    /// matched), and a reader never gets past what was written: what it reads is verified.
    fn verifies(&self) -> bool {
        true
    }
}

impl Cache {
    /// Starts streaming the blob into `<dir>/<alg>-<hex>` in the background; the client verifies
    /// the digest, this the size. Readers follow the file through the returned progress.
    async fn start(
        cache: Arc<Cache>,
        digest: Digest,
        size: u64,
    ) -> registry::Result<Arc<Download>> {
        let blob = cache.client.get_blob(&cache.repo, &digest).await?;
        if let Some(told) = blob.size
            && told != size
        {
            return Err(registry::Error::SizeMismatch {
                digest,
                expected: size,
                actual: told,
            });
        }
        let path = cache
            .dir
            .path()
            .join(format!("{}-{}", digest.algorithm().name(), digest.hex()));
        let file = std::fs::File::create(&path)?;
        let (tx, rx) = watch::channel(Progress::Running(0));
        let task_cache = cache.clone();
        tokio::spawn(async move {
            let end = match write_blob(file, blob.stream, size, &tx).await {
                Ok(()) => {
                    tracing::debug!(%digest, size, "source blob cached");
                    Progress::Done
                }
                Err(e) => Progress::Failed(format!("reading blob {digest} from the source: {e}")),
            };
            let _ = tx.send(end);
            drop(task_cache); // the cache directory outlives the download
        });
        Ok(Arc::new(Download {
            path,
            size,
            progress: rx,
        }))
    }
}

/// Writes the verified stream to `file` as it arrives, publishing how much is readable at least
/// every [`STEP`] bytes. The file is a fresh temporary file: writes land in the page cache, so
/// they are made directly rather than through the blocking pool.
async fn write_blob(
    mut file: std::fs::File,
    mut stream: BlobStream,
    size: u64,
    progress: &watch::Sender<Progress>,
) -> std::io::Result<()> {
    let (mut written, mut published) = (0u64, 0u64);
    while let Some(chunk) = stream.next().await.transpose()? {
        if written + chunk.len() as u64 > size {
            return Err(std::io::Error::other(format!(
                "the source sent {} bytes, more than the {size} its descriptor says",
                written + chunk.len() as u64
            )));
        }
        file.write_all(&chunk)?;
        written += chunk.len() as u64;
        if written - published >= STEP as u64 {
            published = written;
            let _ = progress.send(Progress::Running(written));
        }
    }
    if written != size {
        return Err(std::io::Error::other(format!(
            "the source sent {written} bytes, the descriptor says {size}"
        )));
    }
    Ok(())
}
