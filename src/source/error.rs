//! The source boundary's one error type: what went wrong reading the image to publish (the
//! `source` input, an OCI layout or archive on disk, or the source registry), naming the input and,
//! where known, the fix.

use std::path::PathBuf;

use crate::registry::{self, Digest};

/// A `Result` with this boundary's [`Error`].
pub type Result<T, E = Error> = std::result::Result<T, E>;

/// Everything reading an image source can fail with.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// The `source` input does not parse.
    #[error("source `{input}`: {reason}\nhint: {hint}")]
    Spec {
        input: String,
        reason: String,
        hint: String,
    },

    /// A file of a layout or archive could not be read.
    #[error("{}: {source}", .path.display())]
    Io {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },

    /// The layout or archive is not a usable OCI image layout.
    #[error("{location}: {message}\nhint: {hint}")]
    Layout {
        location: String,
        message: String,
        hint: String,
    },

    /// A manifest or blob the image refers to is not in the layout or archive.
    #[error("{location}: {digest} is missing (the OCI layout is incomplete)")]
    Missing { location: String, digest: Digest },

    /// Bytes read did not hash to the digest they are stored under.
    #[error("{location}: content of {expected} hashes to {actual}: the image is corrupted")]
    DigestMismatch {
        location: String,
        expected: Digest,
        actual: Digest,
    },

    /// A blob or manifest has another size than its descriptor says.
    #[error("{location}: {digest} is {actual} bytes, its descriptor says {expected}")]
    SizeMismatch {
        location: String,
        digest: Digest,
        expected: u64,
        actual: u64,
    },

    /// A manifest is larger than any registry accepts.
    #[error("{location}: manifest {digest} is larger than {limit} bytes")]
    TooLarge {
        location: String,
        digest: Digest,
        limit: usize,
    },

    /// The source registry failed (boxed: registry errors are large).
    #[error(transparent)]
    Registry(Box<registry::Error>),
}

impl From<registry::Error> for Error {
    fn from(err: registry::Error) -> Error {
        Error::Registry(Box::new(err))
    }
}

/// Maps an I/O error to [`Error::Io`] for `path`.
pub(crate) fn io(path: impl Into<PathBuf>) -> impl FnOnce(std::io::Error) -> Error {
    let path = path.into();
    move |source| Error::Io { path, source }
}
