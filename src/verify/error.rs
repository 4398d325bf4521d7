//! What stops verify: no image to check, a registry that cannot be read, drift, tags no
//! registry has.

use super::gather::GatherError;

/// Everything that stops verify (the app gives each its hint).
#[derive(Debug, thiserror::Error)]
pub enum VerifyError {
    #[error(
        "input `images` is empty: verify needs the image to check (the first one is the primary; every other is compared with it)"
    )]
    NoImages,
    #[error("input `images`: `{image}` is not a repository to verify: {error}")]
    Image {
        image: String,
        error: Box<crate::registry::Error>,
    },
    #[error("cannot read the registries: {0}")]
    Gather(#[from] GatherError),
    #[error("{} drift:\n{}", if *.synced { "after sync, the registries still" } else { "the registries" }, .lines.join("\n"))]
    Drift { lines: Vec<String>, synced: bool },
    /// Tags no registry has; `drift` holds any drift of the other tags, for the same message.
    #[error("{}", missing_message(.tags, .drift))]
    MissingEverywhere {
        tags: Vec<String>,
        drift: Vec<String>,
    },
}

fn missing_message(tags: &[String], drift: &[String]) -> String {
    let names: Vec<String> = tags.iter().map(|t| format!("`{t}`")).collect();
    let mut out = match names.as_slice() {
        [one] => format!("tag {one} is missing from every registry"),
        _ => format!("tags {} are missing from every registry", names.join(", ")),
    };
    if !drift.is_empty() {
        out.push_str(&format!(
            ", and the registries drift:\n{}",
            drift.join("\n")
        ));
    }
    out
}
