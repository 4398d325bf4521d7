//! The image graph and the one walk over it. [`walk`] reads manifests by digest from a
//! [`ManifestSource`] (an image source, or a repository through the registry client), breadth
//! first, each once, a level at a time concurrently, following the descriptors the caller wants
//! (publish: every child; verify: indexes only); each command projects what it needs from the
//! nodes. [`ImageGraph`] is publish's projection: everything a copy of the image moves, in a safe
//! push order.

use super::descriptor::{Descriptor, RawManifest};
use super::digest::Digest;
use super::manifest::{ParseError, Parsed, parse_manifest};
use futures_util::future::BoxFuture;
use futures_util::stream::{self, StreamExt};
use std::collections::{BTreeMap, BTreeSet, HashMap};

/// How deep manifests are read below a root (buildx nests one level; this stops runaway input).
pub const MAX_DEPTH: usize = 8;

/// Where manifests are read by digest. The answer's digest is verified by the source; its media
/// type is what the source says (a descriptor's, when the walk has one, is preferred).
pub trait ManifestSource: Sync {
    type Error: std::error::Error + Send + Sync + 'static;
    fn manifest<'a>(
        &'a self,
        digest: &'a Digest,
    ) -> BoxFuture<'a, Result<RawManifest, Self::Error>>;
}

/// Why a manifest of the graph could not be had.
#[derive(Debug, thiserror::Error)]
pub enum GraphError<E: std::error::Error + 'static> {
    /// The source could not serve it.
    #[error(transparent)]
    Read(E),
    #[error("manifest {digest}: {source}")]
    Manifest {
        digest: Digest,
        #[source]
        source: ParseError,
    },
    #[error("manifest {digest} is {actual} bytes, its descriptor says {expected}")]
    ManifestSize {
        digest: Digest,
        expected: u64,
        actual: u64,
    },
    #[error("blob {digest} is described with two sizes, {first} and {second}")]
    BlobSizeConflict {
        digest: Digest,
        first: u64,
        second: u64,
    },
    #[error("indexes nest deeper than {MAX_DEPTH} levels")]
    TooDeep,
}

/// A manifest with what it refers to.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Node {
    pub manifest: RawManifest,
    pub parsed: Parsed,
}

impl Node {
    /// Parses `manifest`; `described` (the descriptor that listed it) is checked for the size and
    /// preferred for the media type. The node's media type is the effective one.
    pub fn parse<E: std::error::Error>(
        mut manifest: RawManifest,
        described: Option<&Descriptor>,
    ) -> Result<Node, GraphError<E>> {
        if let Some(descriptor) = described {
            let actual = manifest.bytes.len() as u64;
            if actual != descriptor.size {
                return Err(GraphError::ManifestSize {
                    digest: descriptor.digest.clone(),
                    expected: descriptor.size,
                    actual,
                });
            }
            if !descriptor.media_type.is_empty() {
                manifest.media_type = descriptor.media_type.clone();
            }
        }
        let parsed = parse_manifest(&manifest.media_type, &manifest.bytes).map_err(|source| {
            GraphError::Manifest {
                digest: manifest.digest.clone(),
                source,
            }
        })?;
        manifest.media_type = parsed.media_type.clone();
        Ok(Node { manifest, parsed })
    }
}

/// One manifest as the walk had it, or why it could not be had.
pub type Read<E> = Result<Node, GraphError<E>>;

/// What a walk read: each manifest once, by digest, or why it could not be had.
#[derive(Debug)]
pub struct Walk<E: std::error::Error + 'static> {
    pub nodes: BTreeMap<Digest, Read<E>>,
    /// A manifest was listed deeper than [`MAX_DEPTH`] below a root and not read.
    pub too_deep: bool,
}

impl<E: std::error::Error + 'static> Walk<E> {
    /// The node of `digest`, when it was read and understood.
    pub fn node(&self, digest: &Digest) -> Option<&Node> {
        self.nodes.get(digest)?.as_ref().ok()
    }

    /// Every manifest listed below `root`, nested ones too, as far as the walk read.
    pub fn below(&self, root: &Digest) -> BTreeSet<Digest> {
        let mut seen = BTreeSet::new();
        let mut stack = vec![root.clone()];
        while let Some(digest) = stack.pop() {
            for child in self
                .node(&digest)
                .into_iter()
                .flat_map(|n| &n.parsed.manifests)
            {
                if seen.insert(child.digest.clone()) {
                    stack.push(child.digest.clone());
                }
            }
        }
        seen
    }
}

/// Reads `roots` (digests not yet read) and everything below them and below `known` (nodes
/// already read) that `follow` wants, at most `concurrency` reads at once. Never fails as a
/// whole: each manifest's result is in [`Walk::nodes`].
pub async fn walk<S: ManifestSource>(
    source: &S,
    roots: Vec<Digest>,
    known: Vec<Node>,
    follow: impl Fn(&Descriptor) -> bool,
    concurrency: usize,
) -> Walk<S::Error> {
    let mut nodes: BTreeMap<Digest, Read<S::Error>> = BTreeMap::new();
    let mut wanted: BTreeSet<Digest> = BTreeSet::new();
    let mut pending: Vec<(Digest, Option<Descriptor>)> = Vec::new();
    let queue = |parsed: &Parsed, pending: &mut Vec<_>, wanted: &mut BTreeSet<Digest>| {
        for child in parsed.manifests.iter().filter(|d| follow(d)) {
            if wanted.insert(child.digest.clone()) {
                pending.push((child.digest.clone(), Some(child.clone())));
            }
        }
    };
    for node in known {
        wanted.insert(node.manifest.digest.clone());
        queue(&node.parsed, &mut pending, &mut wanted);
        nodes.insert(node.manifest.digest.clone(), Ok(node));
    }
    for root in roots {
        if wanted.insert(root.clone()) {
            pending.push((root, None));
        }
    }
    let mut depth = 0;
    while !pending.is_empty() {
        if depth > MAX_DEPTH {
            return Walk {
                nodes,
                too_deep: true,
            };
        }
        depth += 1;
        let mut read: Vec<(Digest, Read<S::Error>)> = stream::iter(std::mem::take(&mut pending))
            .map(|(digest, described)| async move {
                let node = match source.manifest(&digest).await {
                    Ok(manifest) => Node::parse(manifest, described.as_ref()),
                    Err(e) => Err(GraphError::Read(e)),
                };
                (digest, node)
            })
            .buffer_unordered(concurrency.max(1))
            .collect()
            .await;
        read.sort_by(|a, b| a.0.cmp(&b.0));
        for (digest, node) in read {
            if let Ok(node) = &node {
                queue(&node.parsed, &mut pending, &mut wanted);
            }
            nodes.insert(digest, node);
        }
    }
    Walk {
        nodes,
        too_deep: false,
    }
}

/// Everything a copy of the image moves.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ImageGraph {
    /// The manifest or index the source names (also last in `manifests`).
    pub root: Node,
    /// Every manifest once, children before their parents, the root last: a safe push order.
    pub manifests: Vec<Node>,
    /// Every blob once, in first-seen order (as `manifests` lists them).
    pub blobs: Vec<Descriptor>,
    /// Platforms of all indexes' entries, unique, parents before children; attestation manifests
    /// are not platforms (see [`Parsed::platforms`]), though they are in `manifests`.
    pub platforms: Vec<String>,
}

/// Reads in flight at once while reading an image.
const READ_CONCURRENCY: usize = 8;

impl ImageGraph {
    /// Reads every manifest below `root` from `source`: any manifest that cannot be had stops it.
    pub async fn read<S: ManifestSource>(
        source: &S,
        root: RawManifest,
    ) -> Result<ImageGraph, GraphError<S::Error>> {
        let root = Node::parse(root, None)?;
        let digest = root.manifest.digest.clone();
        let walked = walk(source, Vec::new(), vec![root], |_| true, READ_CONCURRENCY).await;
        if walked.too_deep {
            return Err(GraphError::TooDeep);
        }
        let mut nodes = BTreeMap::new();
        for (digest, node) in walked.nodes {
            nodes.insert(digest, node?);
        }
        Self::assemble(&digest, nodes)
    }

    /// Orders the nodes below `root` children first, collecting blobs and platforms.
    fn assemble<E: std::error::Error>(
        root: &Digest,
        mut nodes: BTreeMap<Digest, Node>,
    ) -> Result<ImageGraph, GraphError<E>> {
        let mut order: Vec<Digest> = Vec::new();
        let mut platforms: Vec<String> = Vec::new();
        let mut visited: BTreeSet<Digest> = BTreeSet::new();
        // Depth first: a node's platforms on entering it, the node itself after its children.
        let mut stack: Vec<(Digest, bool)> = vec![(root.clone(), false)];
        while let Some((digest, children_done)) = stack.pop() {
            if children_done {
                order.push(digest);
                continue;
            }
            if !visited.insert(digest.clone()) {
                continue;
            }
            let Some(node) = nodes.get(&digest) else {
                continue;
            };
            for platform in node.parsed.platforms() {
                if !platforms.contains(&platform) {
                    platforms.push(platform);
                }
            }
            stack.push((digest.clone(), true));
            for child in node.parsed.manifests.iter().rev() {
                if !visited.contains(&child.digest) {
                    stack.push((child.digest.clone(), false));
                }
            }
        }
        let mut blobs: Vec<Descriptor> = Vec::new();
        let mut sizes: HashMap<Digest, u64> = HashMap::new();
        let mut manifests = Vec::with_capacity(order.len());
        for digest in order {
            let Some(node) = nodes.remove(&digest) else {
                continue;
            };
            for blob in &node.parsed.blobs {
                match sizes.get(&blob.digest) {
                    Some(&first) if first != blob.size => {
                        return Err(GraphError::BlobSizeConflict {
                            digest: blob.digest.clone(),
                            first,
                            second: blob.size,
                        });
                    }
                    Some(_) => {}
                    None => {
                        sizes.insert(blob.digest.clone(), blob.size);
                        blobs.push(Descriptor::new(
                            blob.digest.clone(),
                            blob.size,
                            blob.media_type.clone(),
                        ));
                    }
                }
            }
            manifests.push(node);
        }
        let root = manifests
            .last()
            .cloned()
            .expect("the root is read, so it is ordered last");
        Ok(ImageGraph {
            root,
            manifests,
            blobs,
            platforms,
        })
    }

    /// The images referred to by `subject` fields (not part of this graph).
    pub fn subjects(&self) -> Vec<&Descriptor> {
        self.manifests
            .iter()
            .filter_map(|n| n.parsed.subject.as_ref())
            .collect()
    }

    /// The blobs' total size.
    pub fn blob_bytes(&self) -> u64 {
        self.blobs.iter().map(|b| b.size).sum()
    }
}
