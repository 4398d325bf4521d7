//! The registry client: talks the OCI distribution API to registries (ping, manifests, blobs,
//! mounts, tags) with Docker's references, credentials, auth, transport and retry rules.

pub mod auth;
pub mod digest;
pub mod error;
pub mod reference;
pub mod retry;

pub use auth::{Action, Credential, Scopes};
pub use digest::{Algorithm, Digest, Verifier};
pub use error::{Error, Result};
pub use reference::{ImageRef, Reference, Repository};
