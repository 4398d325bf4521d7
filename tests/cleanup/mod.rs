//! `command: cleanup`: the planner at scale, and the binary against a real local registry.

// Sample images published for the cleanup tests.
pub mod images;
// The three backends (OCI, GHCR, Docker Hub) behind one face for the scenarios.
mod backend;
// Input errors of `cleanup`.
mod cli;
// Planning 10,000 versions (ignored: run with `--release --ignored`).
mod bench;
// `registry-action cleanup` against a real registry with deletes enabled, checked with skopeo.
mod oci;
// GHCR: the GitHub Packages API emulator in front of a real registry.
mod github;
// GHCR within its limits: API and time budgets, the manifest cache (issue 17).
mod budget;
// Docker Hub: the Hub API emulator in front of a real registry.
mod hub;
// Fallback indexes and cosign tags follow their image, on every backend (issue 16).
mod fallback;
