//! The publish step end to end: source -> manifest graph (and its referrers) -> observe every
//! target -> plan -> the plan (dry run) or its execution. Decisions live in `plan`; this file only sequences I/O.

use super::execute::{Report, SourceContent, execute_with};
use super::observe::{authorize, has_root, observe};
use super::plan::{Content, Descriptor, Observed, Options, Plan, Refusals, plan};
use super::reason::{TargetRefusal, refusal_lines};
use super::referrers::{self, DiscoverError, Held, ReferrerContent};
use crate::meta::ComputedTag;
use crate::oci::referrer::Referrers;
use crate::oci::{GraphError, ImageGraph, Node};
use crate::registry::{BlobSource, Client, Digest, Repository};
use crate::source::{self, Source, SourceSpec};
use bytes::Bytes;
use futures_util::future::try_join_all;
use std::collections::BTreeMap;
use std::sync::Arc;

/// What to publish where.
pub struct Request<'a> {
    pub source: &'a SourceSpec,
    /// The repositories to publish to, in `images` order.
    pub targets: &'a [Repository],
    pub tags: &'a [ComputedTag],
    pub options: Options,
    /// Copy the image's referrers along (input `referrers`).
    pub referrers: bool,
    /// The artifact types of the image's referrers to copy, all when empty (input
    /// `referrer-types`; see `referrers::discover`).
    pub referrer_types: &'a [String],
    /// Targets that hold the root but may lack some of what it lists: every manifest and blob
    /// is checked there instead of trusting the root (verify's sync of an `incomplete` image).
    pub recheck: &'a [Repository],
    /// What a refused tag stops: the run (publish) or the tag (verify's sync).
    pub refusals: Refusals,
    pub dry_run: bool,
}

/// Everything the planner needs, as read from the source and the targets (pure data: a plan
/// is a function of it).
#[derive(Debug, Clone)]
pub struct Observation {
    pub content: Content,
    /// Each target (in `images` order) and what it holds of the image and its tags.
    pub targets: Vec<(Repository, Observed)>,
    /// The image's referrers in the source.
    pub found: Referrers,
    /// What each target holds of them, in `targets` order.
    pub held: Vec<Held>,
}

impl Observation {
    /// The publish plan for `tags`: the image's steps, then the referrers' on every target.
    pub fn plan(&self, tags: &[ComputedTag], options: &Options, refusals: Refusals) -> Plan {
        let mut planned = plan(&self.content, &self.targets, tags, options);
        planned.refusals = refusals;
        if self.found.is_empty() {
            return planned;
        }
        for (target, held) in planned.targets.iter_mut().zip(&self.held) {
            let image_blobs = target.blobs.iter().map(|(b, _)| b.digest.clone()).collect();
            let source_repo = self.content.source_repo.as_ref();
            target.referrers =
                referrers::plan(&self.found, held, &target.repo, source_repo, &image_blobs);
        }
        planned
    }
}

/// The source opened and read, and what the targets hold: [`Observation`] plus the bytes the
/// executor sends.
pub struct Gathered {
    pub source: Source,
    /// The image's graph; `None` when every target holds the image (nothing of it is sent).
    pub graph: Option<ImageGraph>,
    pub observation: Observation,
}

impl Gathered {
    /// Carries `plan` (made from [`Gathered::observation`]) out.
    pub async fn execute(&self, client: &Client, plan: &Plan) -> Result<Report, PublishError> {
        let content = &self.observation.content;
        let found = &self.observation.found;
        execute_from(
            client,
            plan,
            &self.source,
            content,
            self.graph.as_ref(),
            found,
        )
        .await
    }
}

pub enum Outcome {
    /// Dry run: what would happen.
    Planned(Plan),
    /// What happened; `failures` lists what did not complete.
    Published(Report),
}

#[derive(Debug, thiserror::Error)]
pub enum PublishError {
    #[error("input `source`: {0}")]
    Source(#[from] source::Error),
    #[error("input `source`: cannot read the image: {0}")]
    Graph(#[from] GraphError<source::Error>),
    #[error("input `images`: `{image}` is not a repository to publish to: {error}")]
    Target {
        image: String,
        error: Box<crate::registry::Error>,
    },
    #[error("input `source`: cannot read the image's referrers: {0}")]
    Referrers(Box<DiscoverError>),
    #[error("input `images` is empty: publishing needs at least one image to publish to")]
    NoImages,
    #[error("{0}")]
    Registry(Box<crate::registry::Error>),
    #[error("refused, nothing was written:\n{}", refusal_lines(.0))]
    Refused(Vec<TargetRefusal>),
    /// A local source's blob is not what its digest says; found before anything is written.
    #[error(
        "input `source` (`{location}`): {message}: the image is corrupted; nothing was written"
    )]
    Corrupt { location: String, message: String },
}

impl From<DiscoverError> for PublishError {
    fn from(error: DiscoverError) -> Self {
        PublishError::Referrers(Box::new(error))
    }
}

impl From<crate::registry::Error> for PublishError {
    fn from(error: crate::registry::Error) -> Self {
        PublishError::Registry(Box::new(error))
    }
}

/// Publishes `request`: gather, plan, then the plan (dry run) or its execution. With
/// [`Refusals::StopRun`] a refused tag fails the run before its first write.
pub async fn publish(client: &Client, request: Request<'_>) -> Result<Outcome, PublishError> {
    let gathered = gather(client, &request).await?;
    let plan = gathered
        .observation
        .plan(request.tags, &request.options, request.refusals);
    if request.dry_run {
        return Ok(Outcome::Planned(plan));
    }
    let refusals = plan.refusals();
    if request.refusals == Refusals::StopRun && !refusals.is_empty() {
        return Err(PublishError::Refused(refusals));
    }
    Ok(Outcome::Published(gathered.execute(client, &plan).await?))
}

/// The read-only half of a publish: opens the source, authorizes every target, reads the
/// graph unless every target holds the image, observes the targets and, with
/// `request.referrers`, finds the referrers and what each target holds of them.
pub async fn gather(client: &Client, request: &Request<'_>) -> Result<Gathered, PublishError> {
    if request.targets.is_empty() {
        return Err(PublishError::NoImages);
    }
    let targets = request.targets.to_vec();
    let spec = request.source;
    let source_repo = match spec {
        SourceSpec::Registry(image) => Some(image.repo()),
        _ => None,
    };
    // The source opens while the targets' other registries authorize; the source's own registry
    // authorizes after it, so that it is asked for one token, not two at once.
    let on_source_registry =
        |registry: &str| source_repo.as_ref().is_some_and(|s| s.registry == registry);
    let others = |registry: &str| !on_source_registry(registry);
    let (source, ()) = futures_util::future::try_join(
        async { Source::open(spec, client).await.map_err(PublishError::from) },
        async {
            authorize(client, source_repo.as_ref(), &targets, others)
                .await
                .map_err(PublishError::from)
        },
    )
    .await?;
    authorize(client, source_repo.as_ref(), &targets, on_source_registry).await?;
    let root = source.root();
    let present = try_join_all(targets.iter().map(|t| async {
        match request.recheck.contains(t) {
            true => Ok(false),
            false => has_root(client, &root.digest, t).await,
        }
    }))
    .await?;
    // Every target already holds the image: its children and blobs need not even be read.
    let graph = if present.iter().all(|p| *p) {
        None
    } else {
        Some(source.graph().await?)
    };
    let content = match &graph {
        Some(graph) => content_of(graph, source_repo),
        None => root_only(root, source_repo)?,
    };
    let observed = try_join_all(
        targets
            .iter()
            .zip(&present)
            .map(|(t, p)| observe(client, &content, t, request.tags, *p)),
    )
    .await?;
    let (found, held) = match request.referrers {
        true => {
            let subjects = subjects_of(graph.as_ref(), root)?;
            find_referrers(client, &source, subjects, &targets, request.referrer_types).await?
        }
        false => (Referrers::default(), Vec::new()),
    };
    let observation = Observation {
        content,
        targets: targets.into_iter().zip(observed).collect(),
        found,
        held,
    };
    Ok(Gathered {
        source,
        graph,
        observation,
    })
}

/// The referrers of `subjects` in `source`, and what each target holds of them.
async fn find_referrers(
    client: &Client,
    source: &Source,
    subjects: Vec<Digest>,
    targets: &[Repository],
    artifact_types: &[String],
) -> Result<(Referrers, Vec<Held>), PublishError> {
    let found = referrers::discover(client, source, subjects, artifact_types).await?;
    if found.is_empty() {
        return Ok((found, Vec::new()));
    }
    let held = try_join_all(
        targets
            .iter()
            .map(|t| referrers::observe(client, &found, t)),
    )
    .await?;
    Ok((found, held))
}

/// The subjects whose referrers travel with the image: every manifest of its graph, or, when
/// the graph was not read (every target holds the image), the root and what it lists.
fn subjects_of(
    graph: Option<&ImageGraph>,
    root: &source::RawManifest,
) -> Result<Vec<Digest>, PublishError> {
    if let Some(graph) = graph {
        return Ok(graph
            .manifests
            .iter()
            .map(|n| n.manifest.digest.clone())
            .collect());
    }
    let root = Node::parse::<source::Error>(root.clone(), None)?;
    let children = root.parsed.manifests.iter().map(|d| d.digest.clone());
    Ok(std::iter::once(root.manifest.digest.clone())
        .chain(children)
        .collect())
}

/// Executes `plan` with the image's own bytes: its manifests as read (the root alone when
/// `graph` is `None`, every target holding the image already) and its blobs from `source`, each
/// opened for as many readers as the plan has for it.
pub(crate) async fn execute_from(
    client: &Client,
    plan: &Plan,
    source: &Source,
    content: &Content,
    graph: Option<&ImageGraph>,
    found: &Referrers,
) -> Result<Report, PublishError> {
    let root = source.root();
    let mut manifests: BTreeMap<Digest, (Bytes, String)> = BTreeMap::new();
    manifests.insert(
        root.digest.clone(),
        (root.bytes.clone(), content.root.media_type.clone()),
    );
    let mut blobs: BTreeMap<Digest, Arc<dyn BlobSource>> = BTreeMap::new();
    if let Some(graph) = graph {
        for node in &graph.manifests {
            let manifest = &node.manifest;
            let entry = (manifest.bytes.clone(), manifest.media_type.clone());
            manifests.insert(manifest.digest.clone(), entry);
        }
        for blob in &graph.blobs {
            let readers = plan.readers_of(&blob.digest);
            let opened = source.blob(&blob.digest, blob.size, readers).await?;
            blobs.insert(blob.digest.clone(), opened);
        }
    }
    // A local source is checked whole before the first write: a corrupt layer then writes
    // nothing (the bytes are usually in the page cache, and uploads reuse each check).
    let planned = blobs
        .iter()
        .filter(|(digest, _)| plan.readers_of(digest) > 0)
        .map(|(_, blob)| blob.precheck());
    if let Err(message) = futures_util::future::try_join_all(planned).await {
        return Err(PublishError::Corrupt {
            location: source.location(),
            message,
        });
    }
    let blob = |d: &Descriptor| -> Arc<dyn BlobSource> {
        match blobs.get(&d.digest) {
            Some(b) => b.clone(),
            None => Arc::new(Bytes::new()), // unreachable: every planned blob comes from the graph; the digest check would refuse it
        }
    };
    let content = SourceContent {
        manifests: &manifests,
        blob: &blob,
    };
    let referrers =
        ReferrerContent::open(source, found, |digest| plan.referrer_readers_of(digest)).await?;
    Ok(execute_with(client, plan, &content, &referrers).await)
}

/// The planner's view of an image every target already holds: the root alone (its platforms
/// from the root itself, no further read).
fn root_only(
    root: &source::RawManifest,
    source_repo: Option<Repository>,
) -> Result<Content, PublishError> {
    let root = Node::parse::<source::Error>(root.clone(), None)?;
    let parsed = root.parsed;
    Ok(Content {
        root: root.manifest.descriptor(),
        manifests: Vec::new(),
        blobs: Vec::new(),
        platforms: parsed.platforms(),
        source_repo,
    })
}

/// The planner's view of the graph.
pub fn content_of(graph: &ImageGraph, source_repo: Option<Repository>) -> Content {
    let descriptor = |n: &Node| n.manifest.descriptor();
    Content {
        root: descriptor(&graph.root),
        manifests: graph
            .manifests
            .iter()
            .filter(|n| n.manifest.digest != graph.root.manifest.digest)
            .map(descriptor)
            .collect(),
        blobs: graph.blobs.clone(),
        platforms: graph.platforms.clone(),
        source_repo,
    }
}
