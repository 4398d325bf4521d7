//! The manifest cache of cleanup (`manifest-cache`): what cleanup learnt from each manifest it
//! read ([`ManifestGraph`]), by digest. A digest names its bytes, so an entry never goes stale.
//! The file is read at the start and written at the end of a run, with the entries this run
//! used (looked up or read): a version deleted or gone drops out of it, so it stays the size of
//! the package. A missing or unreadable file is an empty cache (and a warning when unreadable).

use super::oci::{ManifestGraph, read_manifests};
use crate::registry::{Client, Digest, Repository};
use serde_json::{Value, json};
use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};
use std::sync::Mutex;
use std::sync::atomic::{AtomicU64, Ordering};

/// The file format's version: a file of another version is ignored.
const FORMAT: u64 = 1;

/// Manifests known by digest, and which of them this run used.
#[derive(Debug, Default)]
pub struct ManifestCache {
    path: Option<PathBuf>,
    entries: Mutex<BTreeMap<Digest, ManifestGraph>>,
    used: Mutex<BTreeSet<Digest>>,
    hits: AtomicU64,
    reads: AtomicU64,
}

impl ManifestCache {
    /// A cache that lives for this run only (no file).
    pub fn in_memory() -> ManifestCache {
        ManifestCache::default()
    }

    /// The cache kept in `path`, and a warning when the file exists but cannot be used.
    pub fn load(path: &Path) -> (ManifestCache, Option<String>) {
        let (entries, warning) = match std::fs::read(path) {
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => (BTreeMap::new(), None),
            Err(e) => (
                BTreeMap::new(),
                Some(format!(
                    "manifest cache {}: cannot read it ({e}); starting empty",
                    path.display()
                )),
            ),
            Ok(bytes) => match from_json(&bytes) {
                Ok(entries) => (entries, None),
                Err(why) => (
                    BTreeMap::new(),
                    Some(format!(
                        "manifest cache {}: {why}; starting empty",
                        path.display()
                    )),
                ),
            },
        };
        let cache = ManifestCache {
            path: Some(path.to_path_buf()),
            entries: Mutex::new(entries),
            ..ManifestCache::default()
        };
        (cache, warning)
    }

    /// Entries in the cache.
    pub fn len(&self) -> usize {
        self.entries.lock().expect("cache lock").len()
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// (manifests found in the cache, manifests read from the registry) so far.
    pub fn counts(&self) -> (u64, u64) {
        (
            self.hits.load(Ordering::Relaxed),
            self.reads.load(Ordering::Relaxed),
        )
    }

    fn get(&self, digest: &Digest) -> Option<ManifestGraph> {
        let found = self
            .entries
            .lock()
            .expect("cache lock")
            .get(digest)
            .cloned();
        if found.is_some() {
            self.used.lock().expect("cache lock").insert(digest.clone());
        }
        found
    }

    fn put(&self, digest: &Digest, graph: &ManifestGraph) {
        self.entries
            .lock()
            .expect("cache lock")
            .insert(digest.clone(), graph.clone());
        self.used.lock().expect("cache lock").insert(digest.clone());
    }

    /// `digests` from the cache, the others read from `repo` (and cached when read).
    pub async fn read(
        &self,
        client: &Client,
        repo: &Repository,
        digests: &[Digest],
    ) -> Vec<(Digest, Result<ManifestGraph, String>)> {
        let mut out = Vec::with_capacity(digests.len());
        let mut missing = Vec::new();
        for digest in digests {
            match self.get(digest) {
                Some(graph) => out.push((digest.clone(), Ok(graph))),
                None => missing.push(digest.clone()),
            }
        }
        self.hits
            .fetch_add((digests.len() - missing.len()) as u64, Ordering::Relaxed);
        self.reads
            .fetch_add(missing.len() as u64, Ordering::Relaxed);
        for (digest, read) in read_manifests(client, repo, &missing).await {
            if let Ok(graph) = &read {
                self.put(&digest, graph);
            }
            out.push((digest, read));
        }
        out
    }

    /// Writes the entries this run used to the file (nothing without one). The file is
    /// replaced whole (written aside, then renamed), so a run stopped midway leaves the old one.
    pub fn save(&self) -> Result<Option<usize>, String> {
        let Some(path) = &self.path else {
            return Ok(None);
        };
        let used = self.used.lock().expect("cache lock").clone();
        let entries: BTreeMap<Digest, ManifestGraph> = self
            .entries
            .lock()
            .expect("cache lock")
            .iter()
            .filter(|(d, _)| used.contains(d))
            .map(|(d, g)| (d.clone(), g.clone()))
            .collect();
        let bytes = to_json(&entries);
        let write = || -> std::io::Result<()> {
            if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
                std::fs::create_dir_all(dir)?;
            }
            let aside = path.with_extension("json.partial");
            std::fs::write(&aside, &bytes)?;
            std::fs::rename(&aside, path)
        };
        write()
            .map(|()| Some(entries.len()))
            .map_err(|e| format!("manifest cache {}: cannot write it ({e})", path.display()))
    }
}

fn digests(list: &[Digest]) -> Value {
    list.iter().map(|d| Value::String(d.to_string())).collect()
}

/// The file's content: `{"format": 1, "manifests": {"<digest>": {...}}}`, sorted by digest.
pub fn to_json(entries: &BTreeMap<Digest, ManifestGraph>) -> Vec<u8> {
    let manifests: serde_json::Map<String, Value> = entries
        .iter()
        .map(|(d, g)| {
            let mut entry = json!({"mediaType": g.media_type});
            let fields = [
                ("children", digests(&g.children)),
                ("leaves", digests(&g.leaves)),
            ];
            for (name, value) in fields {
                if value.as_array().is_some_and(|a| !a.is_empty()) {
                    entry[name] = value;
                }
            }
            if let Some(subject) = &g.subject {
                entry["subject"] = json!(subject.to_string());
            }
            if let Some(config) = &g.config {
                entry["config"] = json!(config.to_string());
            }
            (d.to_string(), entry)
        })
        .collect();
    let mut bytes = serde_json::to_vec(&json!({"format": FORMAT, "manifests": manifests}))
        .expect("a JSON value serializes");
    bytes.push(b'\n');
    bytes
}

/// The entries of a file's content, or why it cannot be used.
pub fn from_json(bytes: &[u8]) -> Result<BTreeMap<Digest, ManifestGraph>, String> {
    let value: Value = serde_json::from_slice(bytes).map_err(|e| format!("not JSON ({e})"))?;
    if value.get("format").and_then(Value::as_u64) != Some(FORMAT) {
        return Err(format!("not a format {FORMAT} cache"));
    }
    let manifests = value
        .get("manifests")
        .and_then(Value::as_object)
        .ok_or("no `manifests` object")?;
    let digest = |v: &Value| -> Result<Digest, String> {
        let s = v.as_str().ok_or("a digest that is not a string")?;
        Digest::parse(s).map_err(|e| format!("`{s}`: {e}"))
    };
    let list = |entry: &Value, name: &str| -> Result<Vec<Digest>, String> {
        entry
            .get(name)
            .and_then(Value::as_array)
            .map_or(Ok(Vec::new()), |a| a.iter().map(digest).collect())
    };
    manifests
        .iter()
        .map(|(d, entry)| {
            let graph = ManifestGraph {
                media_type: entry
                    .get("mediaType")
                    .and_then(Value::as_str)
                    .ok_or_else(|| format!("{d}: no mediaType"))?
                    .to_string(),
                children: list(entry, "children")?,
                leaves: list(entry, "leaves")?,
                subject: entry.get("subject").map(digest).transpose()?,
                config: entry.get("config").map(digest).transpose()?,
            };
            Ok((digest(&Value::String(d.clone()))?, graph))
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn graph(n: u8) -> ManifestGraph {
        let d = |k: u8| Digest::sha256(&[n, k]);
        ManifestGraph {
            media_type: "application/vnd.oci.image.index.v1+json".into(),
            children: vec![d(1), d(2)],
            leaves: vec![d(1)],
            subject: Some(d(3)),
            config: None,
        }
    }

    #[test]
    fn entries_survive_the_file_format() {
        let entries: BTreeMap<Digest, ManifestGraph> =
            (0..3u8).map(|n| (Digest::sha256(&[n]), graph(n))).collect();
        let bytes = to_json(&entries);
        assert_eq!(from_json(&bytes).unwrap(), entries);
        let image = ManifestGraph {
            media_type: "application/vnd.oci.image.manifest.v1+json".into(),
            children: Vec::new(),
            leaves: Vec::new(),
            subject: None,
            config: Some(Digest::sha256(b"config")),
        };
        let one: BTreeMap<_, _> = [(Digest::sha256(b"i"), image)].into();
        let text = String::from_utf8(to_json(&one)).unwrap();
        assert!(
            !text.contains("children"),
            "empty lists are left out: {text}"
        );
        assert_eq!(from_json(text.as_bytes()).unwrap(), one);
    }

    #[test]
    fn a_bad_file_says_why() {
        assert!(from_json(b"{not json").unwrap_err().starts_with("not JSON"));
        assert_eq!(
            from_json(br#"{"format": 2, "manifests": {}}"#).unwrap_err(),
            "not a format 1 cache"
        );
        let bad = br#"{"format": 1, "manifests": {"sha256:00": {"mediaType": "x"}}}"#;
        assert!(from_json(bad).is_err());
    }

    #[test]
    fn a_missing_file_is_an_empty_cache_and_a_corrupt_one_a_warning() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("sub/manifests.json");
        let (cache, warning) = ManifestCache::load(&path);
        assert!(cache.is_empty() && warning.is_none());
        std::fs::create_dir_all(path.parent().unwrap()).unwrap();
        std::fs::write(&path, b"\0garbage").unwrap();
        let (cache, warning) = ManifestCache::load(&path);
        assert!(cache.is_empty());
        assert!(warning.unwrap().contains("not JSON"));
    }

    #[test]
    fn only_the_entries_a_run_used_are_written() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("cache/manifests.json");
        let (cache, _) = ManifestCache::load(&path);
        let (a, b) = (Digest::sha256(b"a"), Digest::sha256(b"b"));
        cache.put(&a, &graph(1));
        cache.put(&b, &graph(2));
        assert_eq!(cache.save().unwrap(), Some(2));
        let (cache, warning) = ManifestCache::load(&path);
        assert!(warning.is_none());
        assert_eq!(cache.len(), 2);
        assert_eq!(cache.get(&a), Some(graph(1)));
        assert_eq!(cache.save().unwrap(), Some(1), "b was not used this time");
        let (cache, _) = ManifestCache::load(&path);
        assert_eq!(cache.get(&b), None);
        assert_eq!(ManifestCache::in_memory().save().unwrap(), None);
    }
}
