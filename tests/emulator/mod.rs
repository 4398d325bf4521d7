//! Loopback emulators of the APIs that cannot run here, each kept consistent with a real local
//! registry (a proxy in front of it records what is pushed).

// The GitHub Packages REST API (GHCR versions) and the pull request API.
pub mod github;
// Docker Hub's API (tags, tag deletion, token login).
pub mod hub;
