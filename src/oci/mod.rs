//! The OCI nouns every command shares, below the registry client and the image sources:
//! digests, media types, descriptors and platforms, manifests as parsed (never re-serialized),
//! the names referrers go by, and the image graph with the one walk over a [`ManifestSource`]
//! that publish, verify and cleanup each project what they need from. No network, no files.

pub mod descriptor;
pub mod digest;
pub mod graph;
pub mod manifest;
pub mod media;
pub mod referrer;

pub use descriptor::{Descriptor, Platform, RawManifest};
pub use digest::{Algorithm, Digest, DigestError, Verifier};
pub use graph::{GraphError, ImageGraph, ManifestSource, Node, Walk, walk};
pub use manifest::{Kind, ParseError, Parsed, parse_manifest};
