//! Image sources and the manifest graph: OCI layouts, OCI archives and a real registry
//! (docker-registry) read into the same graph, with skopeo as the independent reader.

// Layout and archive sources: selection, shapes, corruption, skopeo agreement.
mod local;
// A registry source: same graph, each blob read from the registry once.
mod remote;

use crate::sample::{SampleImage, SampleSpec, write_archive, write_layout};
use registry_action::oci::ImageGraph;
use registry_action::registry::{Client, ClientConfig};
use registry_action::source::{Source, SourceSpec};

/// A sample image written into a fresh temp dir, as layout `dir/layout` and archive `dir/image.tar`.
pub struct Sample {
    pub dir: tempfile::TempDir,
    pub image: SampleImage,
}

impl Sample {
    pub fn new(spec: &SampleSpec) -> Sample {
        let dir = tempfile::tempdir().expect("tempdir");
        let image = write_layout(&dir.path().join("layout"), spec).expect("write layout");
        write_archive(&dir.path().join("layout"), &dir.path().join("image.tar")).expect("archive");
        Sample { dir, image }
    }

    pub fn layout(&self) -> String {
        format!("oci:{}", self.dir.path().join("layout").display())
    }

    pub fn archive(&self) -> String {
        format!(
            "oci-archive:{}",
            self.dir.path().join("image.tar").display()
        )
    }
}

pub fn client() -> Client {
    Client::new(ClientConfig::default()).expect("client")
}

pub async fn open(spec: &str, client: &Client) -> Source {
    let spec = SourceSpec::parse(spec).expect("spec");
    Source::open(&spec, client).await.expect("open source")
}

pub async fn graph(spec: &str) -> ImageGraph {
    let source = open(spec, &client()).await;
    source.graph().await.expect("read graph")
}

/// `skopeo inspect --raw <transport:ref>`.
pub fn skopeo_raw(reference: &str) -> Vec<u8> {
    let output = std::process::Command::new("skopeo")
        .args(["inspect", "--raw", reference])
        .output()
        .expect("run skopeo (apt-get install skopeo)");
    assert!(
        output.status.success(),
        "skopeo inspect {reference}: {}",
        String::from_utf8_lossy(&output.stderr)
    );
    output.stdout
}
