//! A registry as the image source: manifests by `GET` (digest verified by the client), blobs read
//! from the registry once whatever the number of destinations: the first open streams the blob
//! into a temporary file (verified on the way), later opens read that file.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use futures_util::StreamExt;
use futures_util::future::BoxFuture;
use tokio::io::AsyncWriteExt;
use tokio::sync::OnceCell;

use crate::registry::{
    self, BlobSource, BlobStream, Client, Digest, ImageRef, Reference, Repository,
};

use super::error::{Result, io};
use super::file::FileRange;
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
    cells: Mutex<HashMap<Digest, Arc<OnceCell<FileRange>>>>,
}

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
    cell: Arc<OnceCell<FileRange>>,
}

impl BlobSource for CachedBlob {
    fn open(&self) -> BoxFuture<'_, registry::Result<BlobStream>> {
        Box::pin(async move {
            let range = self
                .cell
                .get_or_try_init(|| self.cache.download(&self.digest, self.size))
                .await?;
            range.open().await
        })
    }
}

impl Cache {
    /// Streams the blob into `<dir>/<alg>-<hex>`; the client verifies the digest, this the size.
    async fn download(&self, digest: &Digest, size: u64) -> registry::Result<FileRange> {
        let size_error = |actual| registry::Error::SizeMismatch {
            digest: digest.clone(),
            expected: size,
            actual,
        };
        let blob = self.client.get_blob(&self.repo, digest).await?;
        if let Some(told) = blob.size
            && told != size
        {
            return Err(size_error(told));
        }
        let name = format!("{}-{}", digest.algorithm().name(), digest.hex());
        let path = self.dir.path().join(&name);
        let partial = self.dir.path().join(format!("{name}.partial"));
        let file = tokio::fs::File::create(&partial).await?;
        let mut writer = tokio::io::BufWriter::with_capacity(256 * 1024, file);
        let mut stream = blob.stream;
        let mut written = 0u64;
        while let Some(chunk) = stream.next().await {
            let chunk = chunk?;
            written += chunk.len() as u64;
            if written > size {
                return Err(size_error(written));
            }
            writer.write_all(&chunk).await?;
        }
        writer.flush().await?;
        if written != size {
            return Err(size_error(written));
        }
        tokio::fs::rename(&partial, &path).await?;
        tracing::debug!(%digest, size, "source blob cached");
        Ok(FileRange::whole(path, size))
    }
}
