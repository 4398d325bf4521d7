//! Where the image to publish comes from: the `source` input ([`SourceSpec`]) opened as a
//! [`Source`] that serves the root manifest, child manifests by digest (always verified) and blobs
//! as re-openable streams, from an OCI layout directory, an OCI archive or a registry. The
//! publisher reads the image graph through it ([`crate::oci::ImageGraph`]) and streams blobs to targets.

mod archive;
mod error;
mod file;
mod local;
mod remote;
mod spec;
mod tee;

use std::sync::Arc;

use serde::Deserialize;

use crate::oci::media::{OCI_INDEX, OCI_MANIFEST};
use crate::oci::{GraphError, ImageGraph, ManifestSource};
use crate::registry::{BlobSource, Client, Digest};
use futures_util::future::BoxFuture;

pub use error::{Error, Result};
pub use file::FileRange;
pub use local::{IndexEntry, Local, REF_NAME};
pub use remote::Remote;
pub use spec::SourceSpec;

pub use crate::oci::RawManifest;

/// An opened image source.
#[derive(Debug)]
pub enum Source {
    /// An OCI image layout directory (`oci:`).
    Layout(Local),
    /// A tar of an OCI image layout (`oci-archive:`), read in place.
    Archive(Local),
    /// A registry (`docker://`); each blob is downloaded once for all the uploads that read it.
    Registry(Remote),
}

impl Source {
    /// Opens `spec` and reads its root manifest (for a registry: one GET).
    pub async fn open(spec: &SourceSpec, client: &Client) -> Result<Source> {
        let location = spec.to_string();
        Ok(match spec {
            SourceSpec::Layout { dir, reference } => {
                Source::Layout(Local::open_dir(dir, reference.as_deref(), location).await?)
            }
            SourceSpec::Archive { file, reference } => {
                Source::Archive(Local::open_archive(file, reference.as_deref(), location).await?)
            }
            SourceSpec::Registry(image) => Source::Registry(Remote::open(image, client).await?),
        })
    }

    /// The source as the `source` input names it (`oci:image`, `ghcr.io/o/app:build`).
    pub fn location(&self) -> String {
        match self {
            Source::Layout(l) | Source::Archive(l) => l.location().to_owned(),
            Source::Registry(r) => r.image().to_string(),
        }
    }

    /// The manifest or index the spec names.
    pub fn root(&self) -> &RawManifest {
        match self {
            Source::Layout(l) | Source::Archive(l) => l.root(),
            Source::Registry(r) => r.root(),
        }
    }

    /// A manifest by digest, verified. Its media type is what the source says (the registry's
    /// `Content-Type`, or the manifest's own `mediaType`); a descriptor's media type, when it has
    /// one, is the better answer.
    pub async fn manifest(&self, digest: &Digest) -> Result<RawManifest> {
        match self {
            Source::Layout(l) | Source::Archive(l) => l.manifest(digest).await,
            Source::Registry(r) => r.manifest(digest).await,
        }
    }

    /// The image graph below the root: every manifest read once (a registry source reads each
    /// child by digest).
    pub async fn graph(&self) -> std::result::Result<ImageGraph, GraphError<Error>> {
        ImageGraph::read(self, self.root().clone()).await
    }

    /// A blob of `size` bytes as a re-openable stream, never held in memory whole, for `readers`
    /// uploads. Local blobs are checked for their size now; a registry blob is read on its first
    /// open, once for all `readers` (an open beyond them reads it again).
    pub async fn blob(
        &self,
        digest: &Digest,
        size: u64,
        readers: usize,
    ) -> Result<Arc<dyn BlobSource>> {
        match self {
            Source::Layout(l) | Source::Archive(l) => l.blob(digest, size).await,
            Source::Registry(r) => Ok(r.blob(digest, size, readers)),
        }
    }
}

impl ManifestSource for Source {
    type Error = Error;
    fn manifest<'a>(&'a self, digest: &'a Digest) -> BoxFuture<'a, Result<RawManifest>> {
        Box::pin(Source::manifest(self, digest))
    }
}

/// The media type a manifest declares in its `mediaType` field, else guessed from its shape
/// (`manifests` -> OCI index, otherwise OCI image manifest).
pub fn sniff_media_type(bytes: &[u8]) -> String {
    #[derive(Deserialize)]
    struct Shape {
        #[serde(rename = "mediaType")]
        media_type: Option<String>,
        manifests: Option<serde::de::IgnoredAny>,
    }
    match serde_json::from_slice::<Shape>(bytes) {
        Ok(Shape {
            media_type: Some(m),
            ..
        }) if !m.is_empty() => m,
        Ok(Shape {
            manifests: Some(_), ..
        }) => OCI_INDEX.to_owned(),
        _ => OCI_MANIFEST.to_owned(),
    }
}

#[cfg(test)]
mod tests;
