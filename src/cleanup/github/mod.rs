//! GHCR cleanup through the GitHub Packages REST API (being built).

use super::backend::{Backend, BackendError, Outcome};
use super::{Capabilities, CleanupPlan, Inventory};
use crate::registry::{Client, Repository};
use futures_util::future::BoxFuture;

/// Cleanup of a GHCR-like registry: versions from the Packages API at `api`, manifests from the
/// registry.
pub struct GithubBackend {
    pub api: String,
    pub client: Client,
}

impl Backend for GithubBackend {
    fn capabilities(&self) -> Capabilities {
        Capabilities { untag: true }
    }

    fn gather<'a>(
        &'a self,
        _image: &'a Repository,
    ) -> BoxFuture<'a, Result<Inventory, BackendError>> {
        Box::pin(async move {
            Err(BackendError::Other(format!(
                "cleanup through the GitHub Packages API ({}) is not available yet",
                self.api
            )))
        })
    }

    fn execute<'a>(
        &'a self,
        _image: &'a Repository,
        _inventory: &'a Inventory,
        _plan: &'a CleanupPlan,
    ) -> BoxFuture<'a, Vec<Outcome>> {
        Box::pin(async { Vec::new() })
    }
}
