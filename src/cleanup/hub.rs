//! Docker Hub's API backend (being built: see the issue note). Until then it reads nothing and
//! says so.

use super::backend::{Backend, BackendError, Outcome};
use super::{Capabilities, CleanupPlan, Inventory};
use crate::registry::{Credential, Repository};
use futures_util::future::BoxFuture;

/// Cleanup through Docker Hub's API at `api` (`https://hub.docker.com`).
pub struct HubBackend {
    pub api: String,
    pub credential: Option<Credential>,
}

impl HubBackend {
    pub fn new(api: String, credential: Option<Credential>) -> HubBackend {
        HubBackend { api, credential }
    }
}

impl Backend for HubBackend {
    fn capabilities(&self) -> Capabilities {
        Capabilities { untag: true }
    }

    fn gather<'a>(
        &'a self,
        _image: &'a Repository,
    ) -> BoxFuture<'a, Result<Inventory, BackendError>> {
        Box::pin(async move {
            Err(BackendError::Other(format!(
                "cleanup through Docker Hub's API ({}) is not available yet",
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
