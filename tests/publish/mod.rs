//! Publishing end to end against real registries: observe -> plan -> execute, checked with
//! skopeo and each registry's own access log (issue #4).

// Authentication failures named with their fix, secrets never shown.
mod auth;
// `registry-action publish` through the real binary.
mod cli;
// The engine with an in-memory image: request floor, re-runs, hotfix, immutability, faults.
mod engine;
// A registry that stops answering, the `timeout` input and SIGTERM: the run ends, with its report.
mod stall;
