//! A registry as the image source: manifests by `GET` (digest verified by the client), blobs read
//! from the registry once whatever the number of destinations: the first open starts the download
//! into a [`Tee`] that every upload of the blob follows at its own pace, in bounded memory, so
//! uploads to the destinations run while the download is still going.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use futures_util::future::BoxFuture;
use tokio::sync::OnceCell;

use crate::registry::{
    self, BlobSource, BlobStream, Client, Digest, ImageRef, Reference, Repository,
};

use super::error::{Result, io};
use super::tee::{SpillBudget, Tee};
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

/// Blobs being read: one tee per digest, spilling into a directory removed when the last user
/// drops it.
struct Cache {
    client: Client,
    repo: Repository,
    dir: tempfile::TempDir,
    tees: Mutex<HashMap<Digest, Arc<OnceCell<Arc<Tee>>>>>,
    /// What the spill files may take together.
    budget: Arc<SpillBudget>,
}

/// A fresh directory for spilled blobs: in the temporary directory (`TMPDIR`, else `/tmp`),
/// else, where that is missing or not writable (a `FROM scratch` image without `/tmp`, a
/// read-only one), in the workspace or `$HOME`. Removed on drop.
fn spill_dir() -> Result<tempfile::TempDir> {
    let temp = std::env::temp_dir();
    let fallbacks = ["GITHUB_WORKSPACE", "HOME"]
        .into_iter()
        .filter_map(|name| std::env::var_os(name).filter(|v| !v.is_empty()))
        .map(std::path::PathBuf::from);
    let mut first_error = None;
    for dir in std::iter::once(temp.clone()).chain(fallbacks) {
        match tempfile::Builder::new()
            .prefix(".registry-action-blobs-")
            .tempdir_in(&dir)
        {
            Ok(made) => return Ok(made),
            Err(e) => {
                first_error.get_or_insert(e);
            }
        }
    }
    Err(io(temp)(first_error.expect("at least one candidate")))
}

/// The most of one blob held in memory while its readers are apart (or not started yet); what
/// a reader further behind needs is spilled to a file.
const WINDOW: u64 = 8 * 1024 * 1024;

/// The most the spill files of one source take on disk together. Two targets that take a blob
/// at different speeds spill most of it (measured: 485 MiB of a 512 MiB layer, neither target
/// paused), so without a limit a run needed the size of its largest layers in `TMPDIR`. Past it,
/// the uploads of a blob move at the slowest one's pace, and one opened later reads the blob
/// again from the source.
const SPILL_LIMIT: u64 = 256 * 1024 * 1024;

impl Remote {
    /// Reads the root manifest of `image` (one GET).
    pub async fn open(image: &ImageRef, client: &Client) -> Result<Remote> {
        let dir = spill_dir()?;
        let root = client.get_manifest_raw(image).await?;
        Ok(Remote {
            image: image.clone(),
            root: raw(root),
            cache: Arc::new(Cache {
                client: client.clone(),
                repo: image.repo(),
                dir,
                tees: Mutex::new(HashMap::new()),
                budget: SpillBudget::new(SPILL_LIMIT),
            }),
        })
    }

    /// The manifest or index the reference names.
    pub fn root(&self) -> &RawManifest {
        &self.root
    }

    /// The directory blobs spill into (removed when the source and its blobs are dropped).
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

    /// A blob as a re-openable stream for `readers` uploads; nothing is read before the first
    /// open, and the blob is read once for all of them.
    pub fn blob(&self, digest: &Digest, size: u64, readers: usize) -> Arc<dyn BlobSource> {
        let tee = self
            .cache
            .tees
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .entry(digest.clone())
            .or_default()
            .clone();
        Arc::new(RemoteBlob {
            cache: self.cache.clone(),
            digest: digest.clone(),
            size,
            readers,
            tee,
        })
    }
}

fn raw(manifest: RawManifest) -> RawManifest {
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
struct RemoteBlob {
    cache: Arc<Cache>,
    digest: Digest,
    size: u64,
    readers: usize,
    tee: Arc<OnceCell<Arc<Tee>>>,
}

impl BlobSource for RemoteBlob {
    fn open(&self) -> BoxFuture<'_, registry::Result<BlobStream>> {
        Box::pin(async move {
            if self.readers > 0 {
                let tee = self
                    .tee
                    .get_or_try_init(|| self.cache.start(&self.digest, self.size, self.readers))
                    .await?;
                if let Some(reader) = tee.claim() {
                    let stream = futures_util::stream::try_unfold(reader, |mut reader| async {
                        Ok(reader.next().await?.map(|bytes| (bytes, reader)))
                    });
                    let stream: BlobStream = Box::pin(stream);
                    return Ok(stream);
                }
            }
            // Every expected upload has had its turn: this one retries after a failure.
            tracing::debug!(digest = %self.digest, "reading a source blob again for a retry");
            self.cache.fetch(&self.digest, self.size).await
        })
    }

    /// The client verifies the download (holding its last bytes back until the digest matched),
    /// and a reader never gets past what was downloaded: what it reads is verified.
    fn verifies(&self) -> bool {
        true
    }
}

impl Cache {
    /// The blob's bytes from the registry (verified by the client), `size` of them.
    async fn fetch(&self, digest: &Digest, size: u64) -> registry::Result<BlobStream> {
        let blob = self.client.get_blob(&self.repo, digest).await?;
        match blob.size {
            Some(told) if told != size => Err(registry::Error::SizeMismatch {
                digest: digest.clone(),
                expected: size,
                actual: told,
            }),
            _ => Ok(blob.stream),
        }
    }

    /// Starts the download of a blob for `readers` readers, spilling into
    /// `<dir>/<alg>-<hex>` what a lagging reader needs.
    async fn start(
        &self,
        digest: &Digest,
        size: u64,
        readers: usize,
    ) -> registry::Result<Arc<Tee>> {
        let stream = self.fetch(digest, size).await?;
        let spill = self
            .dir
            .path()
            .join(format!("{}-{}", digest.algorithm().name(), digest.hex()));
        let spill = std::fs::File::options()
            .read(true)
            .write(true)
            .create_new(true)
            .open(spill)?;
        Ok(Tee::start(
            digest.clone(),
            stream,
            size,
            readers,
            WINDOW,
            spill,
            self.budget.clone(),
        ))
    }
}
