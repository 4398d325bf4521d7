//! Manifest operations: HEAD (digest, size, media type), GET of the raw bytes (digest verified),
//! PUT of exact bytes with their media type (never re-serialised), DELETE by digest.

use bytes::Bytes;
use reqwest::Method;
use reqwest::header::{ACCEPT, CONTENT_LENGTH, CONTENT_TYPE, HeaderMap};

use super::auth::{Action, Scopes};
use super::client::Client;
use super::error::{Error, Result};
use super::reference::{ImageRef, Reference, Repository};
use crate::oci::{Digest, ManifestSource, RawManifest as Manifest};
use futures_util::future::BoxFuture;

pub use crate::oci::media::{MANIFEST_TYPES, MAX_MANIFEST_BYTES};

/// What a HEAD tells about a manifest.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ManifestInfo {
    pub digest: Digest,
    pub size: u64,
    pub media_type: String,
}

fn manifest_path(image: &ImageRef) -> String {
    format!("v2/{}/manifests/{}", image.repository, image.tag_or_digest)
}

fn header<'a>(headers: &'a HeaderMap, name: &str) -> Option<&'a str> {
    headers.get(name).and_then(|v| v.to_str().ok())
}

fn content_digest(headers: &HeaderMap, url: &str) -> Result<Option<Digest>> {
    match header(headers, "docker-content-digest") {
        None => Ok(None),
        Some(value) => Digest::parse(value.trim())
            .map(Some)
            .map_err(|_| Error::Protocol {
                url: url.to_owned(),
                message: format!("Docker-Content-Digest `{value}` is not a digest"),
            }),
    }
}

impl Client {
    /// HEADs a manifest: `None` when the registry does not have it.
    pub async fn head_manifest(&self, image: &ImageRef) -> Result<Option<ManifestInfo>> {
        let scopes = Scopes::repo(&image.repository, &[Action::Pull]);
        let path = manifest_path(image);
        let make = |http: &reqwest::Client, base: &reqwest::Url| {
            http.head(base.join(&path).unwrap_or_else(|_| base.clone()))
                .header(ACCEPT, MANIFEST_TYPES.join(", "))
        };
        let sent = self.call(&image.registry, &scopes, &make).await?;
        let status = sent.response.status().as_u16();
        if status == 404 {
            return Ok(None);
        }
        if status != 200 {
            return Err(self
                .status_error(&self.state(&image.registry), "HEAD", sent)
                .await);
        }
        let headers = sent.response.headers();
        let url = super::error::display_url(sent.response.url());
        let digest = match (content_digest(headers, &url)?, &image.tag_or_digest) {
            (Some(d), _) => d,
            (None, Reference::Digest(d)) => d.clone(),
            (None, Reference::Tag(_)) => {
                // Without the header a HEAD cannot tell the digest: read the manifest instead.
                drop(sent);
                let manifest = self.get_manifest_raw(image).await?;
                return Ok(Some(ManifestInfo {
                    digest: manifest.digest,
                    size: manifest.bytes.len() as u64,
                    media_type: manifest.media_type,
                }));
            }
        };
        let size = header(headers, CONTENT_LENGTH.as_str())
            .and_then(|v| v.parse().ok())
            .ok_or_else(|| Error::Protocol {
                url: url.clone(),
                message: "manifest HEAD without Content-Length".into(),
            })?;
        let media_type = header(headers, CONTENT_TYPE.as_str())
            .unwrap_or_default()
            .to_owned();
        Ok(Some(ManifestInfo {
            digest,
            size,
            media_type,
        }))
    }

    /// GETs a manifest's exact bytes. The bytes are verified against the digest asked for, else
    /// against `Docker-Content-Digest`; a 404 is [`Error::Status`] (see [`Error::is_not_found`]).
    pub async fn get_manifest_raw(&self, image: &ImageRef) -> Result<Manifest> {
        let scopes = Scopes::repo(&image.repository, &[Action::Pull]);
        let path = manifest_path(image);
        let make = |http: &reqwest::Client, base: &reqwest::Url| {
            http.get(base.join(&path).unwrap_or_else(|_| base.clone()))
                .header(ACCEPT, MANIFEST_TYPES.join(", "))
        };
        let sent = self.call(&image.registry, &scopes, &make).await?;
        if sent.response.status().as_u16() != 200 {
            return Err(self
                .status_error(&self.state(&image.registry), "GET", sent)
                .await);
        }
        let url = super::error::display_url(sent.response.url());
        let headers = sent.response.headers().clone();
        let media_type = header(&headers, CONTENT_TYPE.as_str())
            .map(|v| v.split(';').next().unwrap_or(v).trim().to_owned())
            .unwrap_or_default();
        let header_digest = content_digest(&headers, &url)?;
        let bytes = Bytes::from(
            self.transport()
                .read_limited(sent.response, MAX_MANIFEST_BYTES)
                .await?,
        );
        let digest = match (&image.tag_or_digest, header_digest) {
            (Reference::Digest(asked), _) => asked.clone(),
            (Reference::Tag(_), Some(told)) => told,
            (Reference::Tag(_), None) => Digest::sha256(&bytes),
        };
        digest.verify(&bytes)?;
        Ok(Manifest {
            bytes,
            media_type,
            digest,
        })
    }

    /// PUTs exactly `bytes` as a manifest with `media_type`, under the tag or digest of `image`.
    /// Returns the manifest's digest; a registry reporting another digest is an error.
    pub async fn put_manifest_raw(
        &self,
        image: &ImageRef,
        bytes: Bytes,
        media_type: &str,
    ) -> Result<Digest> {
        Ok(self.put_manifest(image, bytes, media_type).await?.0)
    }

    /// [`Client::put_manifest_raw`], also telling whether the registry answered with an
    /// `OCI-Subject` header (it has the referrers API and registered the manifest's subject).
    pub async fn put_manifest(
        &self,
        image: &ImageRef,
        bytes: Bytes,
        media_type: &str,
    ) -> Result<(Digest, bool)> {
        let digest = match &image.tag_or_digest {
            Reference::Digest(d) => {
                d.verify(&bytes)?;
                d.clone()
            }
            Reference::Tag(_) => Digest::sha256(&bytes),
        };
        let scopes = Scopes::repo(&image.repository, &[Action::Pull, Action::Push]);
        let path = manifest_path(image);
        let make = |http: &reqwest::Client, base: &reqwest::Url| {
            http.put(base.join(&path).unwrap_or_else(|_| base.clone()))
                .header(CONTENT_TYPE, media_type)
                .body(bytes.clone())
        };
        let sent = self.call(&image.registry, &scopes, &make).await?;
        if sent.response.status().as_u16() != 201 {
            return Err(self
                .status_error(&self.state(&image.registry), "PUT", sent)
                .await);
        }
        let url = super::error::display_url(sent.response.url());
        if let Some(told) = content_digest(sent.response.headers(), &url)?
            && told.algorithm() == digest.algorithm()
            && told != digest
        {
            return Err(Error::DigestMismatch {
                expected: digest,
                actual: told,
            });
        }
        let subject = sent.response.headers().contains_key("oci-subject");
        tracing::debug!(image = %image, %digest, subject, "manifest pushed");
        Ok((digest, subject))
    }

    /// DELETEs a manifest by digest (the registry must allow deletes).
    pub async fn delete_manifest(&self, repo: &Repository, digest: &Digest) -> Result<()> {
        let scopes = Scopes::repo(&repo.repository, &[Action::Pull, Action::Delete]);
        let path = format!("v2/{}/manifests/{digest}", repo.repository);
        let make = |http: &reqwest::Client, base: &reqwest::Url| {
            http.request(
                Method::DELETE,
                base.join(&path).unwrap_or_else(|_| base.clone()),
            )
        };
        let sent = self.call(&repo.registry, &scopes, &make).await?;
        match sent.response.status().as_u16() {
            200..=299 => Ok(()),
            _ => Err(self
                .status_error(&self.state(&repo.registry), "DELETE", sent)
                .await),
        }
    }
}

/// One repository's manifests by digest: the [`ManifestSource`] that verify and cleanup walk.
pub struct RepositoryManifests<'a> {
    pub client: &'a Client,
    pub repository: &'a Repository,
}

impl ManifestSource for RepositoryManifests<'_> {
    type Error = Error;
    fn manifest<'a>(&'a self, digest: &'a Digest) -> BoxFuture<'a, Result<Manifest>> {
        Box::pin(async move {
            let image = self.repository.with(Reference::Digest(digest.clone()));
            self.client.get_manifest_raw(&image).await
        })
    }
}
