//! OCI image layouts on disk, as a directory (`oci:`) or a tar of one (`oci-archive:`): selects the
//! root manifest from `index.json` (and keeps what else it lists, where referrers are found) and
//! serves manifests and blobs from `blobs/<alg>/<hex>`. An archive is indexed once (entry name ->
//! offset and size) and read in place.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use serde::Deserialize;

use futures_util::future::BoxFuture;

use crate::oci::ManifestSource;
use crate::oci::media::MAX_MANIFEST_BYTES;
use crate::registry::{BlobSource, Digest};

use super::archive::{ArchiveError, Entries, index_archive};
use super::error::{Error, Result, io};
use super::file::{FileRange, VerifiedFile};
use super::{RawManifest, sniff_media_type};

/// The annotation `oci:<dir>:<ref>` selects by.
pub const REF_NAME: &str = "org.opencontainers.image.ref.name";

/// An OCI image layout, as a directory or an archive.
#[derive(Debug)]
pub struct Local {
    /// How messages name it (`oci:build/image`).
    location: String,
    store: Store,
    root: RawManifest,
    /// The descriptors `index.json` lists, as written (the root among them).
    entries: Vec<IndexEntry>,
}

#[derive(Debug)]
enum Store {
    Dir(PathBuf),
    Archive {
        file: Arc<PathBuf>,
        entries: Entries,
    },
}

#[derive(Deserialize)]
struct IndexJson {
    #[serde(default)]
    manifests: Vec<IndexEntry>,
}

/// One descriptor of a layout's `index.json`: a tagged image (`ref.name`), or any manifest a
/// tool put there (referrers, signatures, fallback indexes).
#[derive(Debug, Clone, Deserialize)]
pub struct IndexEntry {
    #[serde(rename = "mediaType")]
    pub media_type: Option<String>,
    pub digest: String,
    pub size: u64,
    #[serde(default)]
    pub annotations: BTreeMap<String, String>,
}

impl Local {
    /// Opens the layout directory `dir` and reads its root manifest.
    pub async fn open_dir(dir: &Path, reference: Option<&str>, location: String) -> Result<Local> {
        let meta = tokio::fs::metadata(dir).await.map_err(io(dir))?;
        if !meta.is_dir() {
            return Err(Error::Layout {
                location,
                message: "not a directory".into(),
                hint: "`oci:` names an OCI image layout directory; use `oci-archive:` for a tar"
                    .into(),
            });
        }
        Local::open(Store::Dir(dir.to_owned()), reference, location).await
    }

    /// Indexes the archive `file` (one pass over its headers) and reads its root manifest.
    pub async fn open_archive(
        file: &Path,
        reference: Option<&str>,
        location: String,
    ) -> Result<Local> {
        let path = file.to_owned();
        let entries = tokio::task::spawn_blocking(move || index_archive(&path))
            .await
            .map_err(|e| io(file)(std::io::Error::other(e)))?
            .map_err(|error| match error {
                ArchiveError::Io(e) => io(file)(e),
                ArchiveError::Unusable { message, hint } => Error::Layout {
                    location: location.clone(),
                    message,
                    hint,
                },
            })?;
        let store = Store::Archive {
            file: Arc::new(file.to_owned()),
            entries,
        };
        Local::open(store, reference, location).await
    }

    async fn open(store: Store, reference: Option<&str>, location: String) -> Result<Local> {
        let layout_error = |message: String, hint: &str| Error::Layout {
            location: location.clone(),
            message,
            hint: hint.to_owned(),
        };
        let not_layout = "build it with `docker buildx build --output type=oci,dest=FILE,tar=false` \
                          (a directory) or `skopeo copy ... oci:DIR`";
        let index = store.find("index.json").await?.ok_or_else(|| {
            layout_error("no index.json: not an OCI image layout".into(), not_layout)
        })?;
        let bytes = index.read().await.map_err(io(index.path.as_ref()))?;
        let index: IndexJson = serde_json::from_slice(&bytes)
            .map_err(|e| layout_error(format!("index.json does not parse: {e}"), not_layout))?;
        let entry = select(&index.manifests, reference)
            .map_err(|(message, hint)| layout_error(message, &hint))?;
        let digest = Digest::parse(&entry.digest)
            .map_err(|e| layout_error(format!("index.json: {e}"), not_layout))?;
        let root = read_manifest(
            &store,
            &location,
            &digest,
            Some(entry.size),
            entry.media_type.as_deref(),
        )
        .await?;
        Ok(Local {
            location,
            store,
            root,
            entries: index.manifests,
        })
    }

    /// The manifest or index the spec names.
    pub fn root(&self) -> &RawManifest {
        &self.root
    }

    /// The source as the `source` input names it.
    pub fn location(&self) -> &str {
        &self.location
    }

    /// The descriptors `index.json` lists, in its order.
    pub fn index_entries(&self) -> &[IndexEntry] {
        &self.entries
    }

    /// A manifest by digest, verified.
    pub async fn manifest(&self, digest: &Digest) -> Result<RawManifest> {
        read_manifest(&self.store, &self.location, digest, None, None).await
    }

    /// A blob as a re-openable stream; its size must be `size`.
    pub async fn blob(&self, digest: &Digest, size: u64) -> Result<Arc<dyn BlobSource>> {
        let range = self.locate(digest).await?;
        if range.len != size {
            return Err(Error::SizeMismatch {
                location: self.location.clone(),
                digest: digest.clone(),
                expected: size,
                actual: range.len,
            });
        }
        Ok(Arc::new(VerifiedFile::new(range, digest.clone())))
    }

    async fn locate(&self, digest: &Digest) -> Result<FileRange> {
        locate(&self.store, &self.location, digest).await
    }
}

impl ManifestSource for Local {
    type Error = Error;
    fn manifest<'a>(&'a self, digest: &'a Digest) -> BoxFuture<'a, Result<RawManifest>> {
        Box::pin(Local::manifest(self, digest))
    }
}

async fn locate(store: &Store, location: &str, digest: &Digest) -> Result<FileRange> {
    let name = format!("blobs/{}/{}", digest.algorithm().name(), digest.hex());
    store.find(&name).await?.ok_or_else(|| Error::Missing {
        location: location.to_owned(),
        digest: digest.clone(),
    })
}

/// Reads and verifies a manifest; `size` and `media_type` from its descriptor when known.
async fn read_manifest(
    store: &Store,
    location: &str,
    digest: &Digest,
    size: Option<u64>,
    media_type: Option<&str>,
) -> Result<RawManifest> {
    let range = locate(store, location, digest).await?;
    if let Some(expected) = size
        && expected != range.len
    {
        return Err(Error::SizeMismatch {
            location: location.to_owned(),
            digest: digest.clone(),
            expected,
            actual: range.len,
        });
    }
    if range.len > MAX_MANIFEST_BYTES as u64 {
        return Err(Error::TooLarge {
            location: location.to_owned(),
            digest: digest.clone(),
            limit: MAX_MANIFEST_BYTES,
        });
    }
    let bytes = range.read().await.map_err(io(range.path.as_ref()))?;
    let mut verifier = digest.verifier();
    verifier.update(&bytes);
    let actual = verifier.actual();
    if &actual != digest {
        return Err(Error::DigestMismatch {
            location: location.to_owned(),
            expected: digest.clone(),
            actual,
        });
    }
    let media_type = match media_type {
        Some(m) if !m.is_empty() => m.to_owned(),
        _ => sniff_media_type(&bytes),
    };
    Ok(RawManifest {
        digest: digest.clone(),
        media_type,
        bytes: bytes.into(),
    })
}

impl Store {
    /// The file `name` (relative to the layout's root), if present.
    async fn find(&self, name: &str) -> Result<Option<FileRange>> {
        match self {
            Store::Dir(dir) => {
                let path = dir.join(name);
                match tokio::fs::metadata(&path).await {
                    Ok(meta) if meta.is_file() => Ok(Some(FileRange::whole(path, meta.len()))),
                    Ok(_) => Ok(None),
                    Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
                    Err(e) => Err(io(path)(e)),
                }
            }
            Store::Archive { file, entries } => {
                Ok(entries.get(name).map(|&(offset, len)| FileRange {
                    path: file.clone(),
                    offset,
                    len,
                }))
            }
        }
    }
}

/// Picks the root descriptor: by `ref.name` annotation, or the only one.
fn select<'a>(
    entries: &'a [IndexEntry],
    reference: Option<&str>,
) -> std::result::Result<&'a IndexEntry, (String, String)> {
    let names = || {
        let names: Vec<&str> = entries
            .iter()
            .filter_map(|e| e.annotations.get(REF_NAME).map(String::as_str))
            .collect();
        if names.is_empty() {
            "none of its manifests has a ref.name annotation".to_owned()
        } else {
            format!("it has: {}", names.join(", "))
        }
    };
    match reference {
        Some(wanted) => {
            let found: Vec<&IndexEntry> = entries
                .iter()
                .filter(|e| e.annotations.get(REF_NAME).map(String::as_str) == Some(wanted))
                .collect();
            match found.as_slice() {
                [one] => Ok(one),
                [] => Err((
                    format!("index.json has no manifest named `{wanted}` ({REF_NAME})"),
                    format!("pick one of the names it has; {}", names()),
                )),
                [first, rest @ ..] if rest.iter().all(|e| e.digest == first.digest) => Ok(first),
                _ => Err((
                    format!("index.json names several different manifests `{wanted}`"),
                    "rewrite the layout so the name is unique".into(),
                )),
            }
        }
        None => match entries {
            [one] => Ok(one),
            [] => Err((
                "index.json lists no manifest".into(),
                "the layout is empty: check the build's output".into(),
            )),
            _ => Err((
                format!(
                    "index.json lists {} manifests, and no ref was given",
                    entries.len()
                ),
                format!("name one as `oci:<dir>:<ref>`; {}", names()),
            )),
        },
    }
}
