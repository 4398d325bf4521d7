//! The sample images of `crates/imagekit` (deterministic OCI layouts and archives) with the
//! library's [`Digest`], so that a sample's digests compare with what the library read,
//! published or deleted. imagekit has a digest type of its own: it does not depend on the
//! library.

use std::path::{Path, PathBuf};

pub use imagekit::sample::{SampleSpec, write_archive};
use registry_action::registry::Digest;

/// A written blob or manifest.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Descriptor {
    pub media_type: String,
    pub digest: Digest,
    pub size: u64,
}

/// What [`write_layout`] wrote: the root `index.json` points at, every other manifest, every
/// blob once (see `imagekit::sample::SampleImage`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SampleImage {
    pub dir: PathBuf,
    pub root: Descriptor,
    pub manifests: Vec<Descriptor>,
    pub blobs: Vec<Descriptor>,
}

/// Writes the sample layout of `spec` into `dir` (created when missing).
pub fn write_layout(dir: &Path, spec: &SampleSpec) -> std::io::Result<SampleImage> {
    let image = imagekit::sample::write_layout(dir, spec)?;
    let all = |list: &[imagekit::sample::Descriptor]| list.iter().map(Descriptor::from).collect();
    Ok(SampleImage {
        dir: image.dir,
        root: Descriptor::from(&image.root),
        manifests: all(&image.manifests),
        blobs: all(&image.blobs),
    })
}

impl From<&imagekit::sample::Descriptor> for Descriptor {
    fn from(d: &imagekit::sample::Descriptor) -> Descriptor {
        Descriptor {
            media_type: d.media_type.clone(),
            // imagekit writes `sha256:<hex>`, which the library's parser accepts.
            digest: Digest::parse(&d.digest.to_string()).expect("a sha256 digest"),
            size: d.size,
        }
    }
}

/// A sample as another sample's `subject`.
impl From<&Descriptor> for imagekit::sample::Descriptor {
    fn from(d: &Descriptor) -> imagekit::sample::Descriptor {
        imagekit::sample::Descriptor {
            media_type: d.media_type.clone(),
            digest: imagekit::Digest::parse(&d.digest.to_string()).expect("a sha256 digest"),
            size: d.size,
        }
    }
}
