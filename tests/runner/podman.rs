//! The action's image under podman, started with the runner's `docker run` flags: the image
//! layout that `scripts/build-image.sh` assembles (`RA_IMAGE_LAYOUT`, else `target/image`) is
//! pulled once per test process into a private vfs store under `target/`, then each step is a
//! `podman run --rm` of it.
//!
//! Podman as Debian ships it, set for this kind of machine: `runc` (crun refuses the cgroup
//! layout), `vfs` storage, `cgroupfs`, `--network host` (the registries are on 127.0.0.1), and
//! explicit ulimits within the machine's hard limits (podman's defaults ask for more than it
//! allows).

use std::path::{Path, PathBuf};
use std::process::{Command, Output};
use std::sync::OnceLock;

/// The pulled image: its ID and the store it lives in.
pub struct Image {
    pub id: String,
    store: PathBuf,
    /// Bytes of the amd64 image as the registry serves it (config + layers, compressed).
    pub pull_bytes: u64,
}

fn ci() -> bool {
    std::env::var("CI").is_ok_and(|v| !v.is_empty() && v != "false" && v != "0")
}

fn layout_dir() -> PathBuf {
    std::env::var_os("RA_IMAGE_LAYOUT").map_or_else(
        || Path::new(env!("CARGO_MANIFEST_DIR")).join("target/image"),
        PathBuf::from,
    )
}

/// The image, or `None` (the test is skipped, saying so) when podman or the layout is missing
/// outside CI. Under CI both must be there: `scripts/test.sh` installs podman and builds the
/// layout before the tests.
pub fn image() -> Option<&'static Image> {
    static IMAGE: OnceLock<Option<Image>> = OnceLock::new();
    IMAGE.get_or_init(load).as_ref()
}

fn load() -> Option<Image> {
    let layout = layout_dir();
    let missing = if Command::new("podman").arg("--version").output().is_err() {
        Some("podman is not installed (apt-get install podman runc)".to_owned())
    } else if !layout.join("index.json").is_file() {
        Some(format!(
            "no image layout at {} (bash scripts/build-image.sh linux/amd64)",
            layout.display()
        ))
    } else {
        None
    };
    if let Some(why) = missing {
        assert!(!ci(), "{why}, and CI is set: scripts/test.sh provides both");
        eprintln!("SKIPPED: {why}");
        return None;
    }
    // One store for the test process, made anew: what an earlier run left is not trusted.
    let store = Path::new(env!("CARGO_MANIFEST_DIR")).join("target/podman-harness");
    let _ = std::fs::remove_dir_all(&store);
    let pulled = podman(&store)
        .args(["pull", "--quiet"])
        .arg(format!("oci:{}", layout.display()))
        .output()
        .expect("run podman pull");
    assert!(
        pulled.status.success(),
        "podman pull oci:{} failed: {}",
        layout.display(),
        String::from_utf8_lossy(&pulled.stderr)
    );
    let id = String::from_utf8_lossy(&pulled.stdout).trim().to_owned();
    Some(Image {
        id,
        pull_bytes: pull_bytes(&layout),
        store,
    })
}

/// Config and layer sizes of the layout's (one) platform manifest.
fn pull_bytes(layout: &Path) -> u64 {
    let blob = |digest: &str| {
        let hex = digest.trim_start_matches("sha256:");
        let bytes = std::fs::read(layout.join("blobs/sha256").join(hex)).expect("layout blob");
        serde_json::from_slice::<serde_json::Value>(&bytes).expect("layout JSON")
    };
    let index: serde_json::Value =
        serde_json::from_slice(&std::fs::read(layout.join("index.json")).expect("index.json"))
            .expect("index.json JSON");
    let mut node = index;
    while let Some(first) = node["manifests"].as_array().and_then(|m| m.first()) {
        node = blob(first["digest"].as_str().expect("digest"));
    }
    std::iter::once(&node["config"])
        .chain(node["layers"].as_array().into_iter().flatten())
        .filter_map(|d| d["size"].as_u64())
        .sum()
}

/// `podman` with this machine's settings and a private store.
fn podman(store: &Path) -> Command {
    let mut command = Command::new("podman");
    command
        .arg("--root")
        .arg(store.join("root"))
        .arg("--runroot")
        .arg(store.join("run"))
        .args([
            "--storage-driver",
            "vfs",
            "--cgroup-manager",
            "cgroupfs",
            "--runtime",
            "runc",
            "--events-backend",
            "file",
        ]);
    command
}

/// The soft limit of a resource of this process (`Max open files`, `Max processes`), at most
/// `cap`: podman inherits this process's limits, so asking for no more than the soft one is
/// always allowed.
fn limit(name: &str, cap: u64) -> u64 {
    let limits = std::fs::read_to_string("/proc/self/limits").unwrap_or_default();
    limits
        .lines()
        .find(|line| line.starts_with(name))
        .and_then(|line| line[name.len()..].split_whitespace().next())
        .and_then(|soft| soft.parse().ok())
        .map_or(cap, |soft: u64| soft.min(cap))
}

/// One `docker run` of the image as the runner does it: `--workdir /github/workspace --rm`,
/// `-e` for every variable (multi-line values pass as they are), and the four `-v` mounts.
pub struct Run<'a> {
    pub env: &'a [(String, String)],
    pub mounts: &'a [(PathBuf, &'static str)],
    /// Further `-v` specs, as given.
    pub volumes: &'a [String],
}

impl Image {
    /// The container's file tree as a step sees it (`podman create` + `export`): path and mode
    /// of every entry.
    pub fn files(&self) -> Vec<(String, u32)> {
        let created = podman(&self.store)
            .args(["create", &self.id])
            .output()
            .expect("podman create");
        assert!(created.status.success(), "podman create: {created:?}");
        let id = String::from_utf8_lossy(&created.stdout).trim().to_owned();
        let exported = podman(&self.store)
            .args(["export", &id])
            .output()
            .expect("podman export");
        let _ = podman(&self.store).args(["rm", &id]).output();
        assert!(exported.status.success(), "podman export: {exported:?}");
        let mut archive = tar::Archive::new(&exported.stdout[..]);
        archive
            .entries()
            .expect("export tar")
            .map(|entry| {
                let entry = entry.expect("tar entry");
                let path = entry.path().expect("path").to_string_lossy().into_owned();
                (path, entry.header().mode().expect("mode"))
            })
            .collect()
    }

    pub fn run(&self, run: &Run) -> Output {
        let nofile = limit("Max open files", 4096);
        let nproc = limit("Max processes", 4096);
        let mut command = podman(&self.store);
        command
            .args([
                "run",
                "--rm",
                "--network",
                "host",
                "--workdir",
                "/github/workspace",
            ])
            .arg(format!("--ulimit=nofile={nofile}:{nofile}"))
            .arg(format!("--ulimit=nproc={nproc}:{nproc}"))
            .env_clear()
            .env("PATH", std::env::var("PATH").unwrap_or_default());
        // `-e NAME=VALUE` rather than the runner's `-e NAME`: podman itself reads variables such
        // as `DOCKER_CONFIG` from its own environment, which must stay this harness's.
        for (name, value) in run.env {
            command.arg("-e").arg(format!("{name}={value}"));
        }
        for (host, container) in run.mounts {
            command
                .arg("-v")
                .arg(format!("{}:{container}", host.display()));
        }
        for volume in run.volumes {
            command.arg("-v").arg(volume);
        }
        command.arg(&self.id);
        command.output().expect("run podman")
    }
}
