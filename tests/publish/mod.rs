//! Publishing end to end against real registries: observe -> plan -> execute, checked with
//! skopeo and each registry's own access log (issue #4).

// Authentication failures named with their fix, secrets never shown.
mod auth;
// A registry that refuses a large monolithic upload gets the blob in chunks (issue 14).
mod chunked;
// `registry-action publish` through the real binary.
mod cli;
// The engine with an in-memory image: request floor, re-runs, hotfix, immutability, faults.
mod engine;
// Referrers (signatures, attestations) published with the image, fallback indexes merged (issue 16).
pub mod referrers;
// Referrers between the referrers API (a loopback emulation) and fallback indexes (issue 16).
mod referrers_api;
// Referrers from an OCI layout or archive source: what its index.json lists (issue 16).
mod referrers_layout;
// Tags on re-runs and racing runs: floating tags unchanged, rolling tags only forward (issue 14).
mod rolling;
// A registry that stops answering, the `timeout` input and SIGTERM: the run ends, with its report.
mod stall;
