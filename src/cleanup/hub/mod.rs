//! The Docker Hub backend: cleanup through Hub's own API (`registry-apis`:
//! `docker.io=dockerhub@https://hub.docker.com`, the default), since Hub's registry refuses the
//! distribution API's deletes. [`inventory`] maps Hub's tag listing to an [`Inventory`] (pure),
//! [`api`] talks HTTP, [`execute`] carries out a plan through a [`TagDeleter`].
//!
//! # Docker Hub
//!
//! Hub's API lists and deletes **tags**. A version is the set of tags sharing a digest, as old as
//! its tag's first push (`tag_last_pushed`); an index's platform images are its children. Hub
//! lists no untagged manifests and cannot delete manifests, so untagged versions never reach the
//! inventory (`delete untagged` does nothing on Hub). Deleting a version removes each of its tags
//! (its manifest stays, untagged, pullable by digest); one tag can be removed from a version that
//! stays (`untag`), e.g. `main-old` from a release also tagged `latest`. The login is the `credentials` input's line for `docker.io` (else Docker's
//! config.json): a username and a personal access token with the **Read, Write, Delete** access
//! scope; a read-only token lists, and its first refused delete stops the run with that hint.

pub mod api;
pub mod error;
pub mod execute;
pub mod inventory;
pub mod throttle;

use super::backend::{Backend, BackendError, Deleted, Outcome, all_failed};
use super::{Capabilities, CleanupPlan, Inventory};
use crate::registry::{Client, Credential, Repository, RetryPolicy};
use api::HubApi;
use error::HubError;
use execute::TagDeleter;
use futures_util::future::BoxFuture;
use inventory::HubRepository;

/// Cleanup through Docker Hub's API at `api` (`https://hub.docker.com`) with `credential`.
pub struct HubBackend {
    api: String,
    credential: Option<Credential>,
    /// The registry client's HTTP client (its CA certificates and timeouts).
    http: reqwest::Client,
    policy: RetryPolicy,
    /// The bearer token of the current login, shared by gather and execute.
    token: tokio::sync::Mutex<Option<String>>,
}

impl HubBackend {
    pub fn new(api: String, credential: Option<Credential>, client: &Client) -> HubBackend {
        HubBackend {
            api,
            credential,
            http: client.transport().http().clone(),
            policy: client.config().retry.clone(),
            token: tokio::sync::Mutex::new(None),
        }
    }

    /// The API for `image`, checked before any request: a username and secret, a usable URL, a
    /// `namespace/name` repository.
    fn connect<'a>(
        &'a self,
        image: &'a Repository,
    ) -> Result<(HubApi<'a>, HubRepository), HubError> {
        let registry = &image.registry;
        let (username, secret) = match &self.credential {
            None => {
                return Err(HubError::NoCredential {
                    registry: registry.clone(),
                });
            }
            Some(Credential::IdentityToken(_)) => {
                return Err(HubError::IdentityToken {
                    registry: registry.clone(),
                });
            }
            Some(Credential::Basic { username, password }) => (username, password),
        };
        let repo = inventory::split_repository(&image.repository).ok_or_else(|| {
            HubError::NotNamespaced {
                path: image.repository.clone(),
            }
        })?;
        let api = HubApi {
            http: &self.http,
            base: api::base_url(&self.api)?,
            registry,
            username,
            secret,
            policy: &self.policy,
            token: &self.token,
        };
        Ok((api, repo))
    }
}

/// Deletes tags of one repository through the API.
struct RepoTags<'a> {
    api: HubApi<'a>,
    repo: HubRepository,
}

impl TagDeleter for RepoTags<'_> {
    fn delete<'a>(&'a self, tag: &'a str) -> BoxFuture<'a, Result<Deleted, HubError>> {
        Box::pin(self.api.delete_tag(&self.repo, tag))
    }
}

impl Backend for HubBackend {
    fn capabilities(&self) -> Capabilities {
        Capabilities { untag: true }
    }

    fn gather<'a>(
        &'a self,
        image: &'a Repository,
    ) -> BoxFuture<'a, Result<Inventory, BackendError>> {
        Box::pin(async move {
            let (api, repo) = self.connect(image)?;
            let tags = api.list_tags(&repo).await?;
            let name = format!("{}/{}", image.registry, image.repository);
            Ok(inventory::to_inventory(&name, &tags))
        })
    }

    fn execute<'a>(
        &'a self,
        image: &'a Repository,
        inventory: &'a Inventory,
        plan: &'a CleanupPlan,
    ) -> BoxFuture<'a, Vec<Outcome>> {
        Box::pin(async move {
            match self.connect(image) {
                Ok((api, repo)) => execute::execute(&RepoTags { api, repo }, inventory, plan).await,
                Err(e) => all_failed(plan, &BackendError::from(e).to_string()),
            }
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::registry::ClientConfig;

    /// Gathers `image` with `credential` from an API on a port nothing listens on: any request
    /// would fail as a connection error, not with the message asserted.
    fn gather(image: &str, credential: Option<Credential>) -> String {
        let config = ClientConfig {
            retry: RetryPolicy {
                max_attempts: 1,
                ..RetryPolicy::default()
            },
            ..ClientConfig::default()
        };
        let client = Client::new(config).unwrap();
        let backend = HubBackend::new("http://127.0.0.1:9".into(), credential, &client);
        let image = Repository::parse(image).unwrap();
        let rt = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .unwrap();
        rt.block_on(backend.gather(&image)).unwrap_err().to_string()
    }

    fn login() -> Option<Credential> {
        Some(Credential::Basic {
            username: "octo".into(),
            password: "dckr_pat_x".into(),
        })
    }

    #[test]
    fn no_login_is_an_error_before_any_request() {
        let e = gather("docker.io/user/app", None);
        assert!(e.starts_with("no Docker Hub login for `docker.io`"), "{e}");
        let e = gather(
            "docker.io/user/app",
            Some(Credential::IdentityToken("t".into())),
        );
        assert!(e.contains("identity token"), "{e}");
        assert!(!e.contains("t\""), "{e}");
    }

    #[test]
    fn a_repository_without_namespace_is_refused_before_any_request() {
        let e = gather("127.0.0.1:5000/app", login());
        assert!(e.contains("`app` is not a Docker Hub repository"), "{e}");
        // Official images are `library/<name>`: reachable.
        let e = gather("nginx", login());
        assert!(
            e.contains("cannot reach Docker Hub's API for the login"),
            "{e}"
        );
    }
}
