//! The registry client: talks the OCI distribution API to registries (ping, manifests, blobs,
//! mounts, tags) with Docker's references, credentials, auth, transport and retry rules.
//!
//! Layout: [`reference`] is the noun (digests, media types and manifests are [`crate::oci`]'s); [`auth`] and `token` who we are; `transport`
//! and [`retry`] how bytes move; `client` the request path every operation takes; `manifests`,
//! `blobs`, `tags` and `referrers` the operations.

pub mod auth;
mod authorize;
mod blobs;
mod ca;
mod chunked;
mod client;
pub mod config;
pub mod credential;
pub mod error;
pub mod manifests;
pub mod reference;
mod referrers;
pub mod retry;
mod stall;
pub mod stop;
mod tags;
mod token;
mod transport;

pub use crate::oci::{Algorithm, Digest, Verifier};
pub use auth::{Action, Login, Scopes};
pub use blobs::{Blob, BlobSource, BlobStream, Mount, ReaderSource, UploadSession};
pub use client::Client;
pub use config::ClientConfig;
pub use credential::{Credential, CredentialOrigin};
pub use error::{Error, Result};
pub use manifests::{ManifestInfo, RepositoryManifests};
pub use reference::{ImageRef, Reference, Repository};
pub use referrers::{ReferrersApi, of_types};
pub use retry::RetryPolicy;
pub use stop::{Stop, StopReason};
