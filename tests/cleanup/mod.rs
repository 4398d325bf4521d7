//! `command: cleanup`: the planner at scale, and the binary against real local registries, one
//! scenario table over the three backends.

// Sample images published for the cleanup tests.
pub mod images;
// The three backends (OCI, GHCR, Docker Hub) behind one face: set up, publish, sign, clean up, read back.
mod backend;
// The scenario table: each scenario and the backends it runs on.
mod scenarios;
// Input errors of `cleanup`.
mod cli;
// Planning 10,000 versions (ignored: run with `--release --ignored`).
mod bench;
// Scenarios of the OCI distribution API (deletes enabled), checked with skopeo.
mod oci;
// Scenarios of GHCR: the GitHub Packages API emulator in front of a real registry.
mod github;
// Scenarios of GHCR within its limits: API and time budgets, the manifest cache (issue 17).
mod budget;
// Scenarios of Docker Hub: the Hub API emulator in front of a real registry.
mod hub;
// Fallback indexes and cosign tags follow their image, on every backend (issue 16).
mod fallback;
// One signed history cleaned on every backend.
mod signed;
// On a registry with the OCI 1.1 referrers API: untagged referrers found through it follow their image (issue 16).
mod referrers_api;
