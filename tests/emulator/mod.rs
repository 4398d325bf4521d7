//! Loopback emulators of the APIs that cannot run here, each kept consistent with a real local
//! registry (a proxy in front of it records what is pushed).

// Just enough HTTP/1.1 for both: read a request, answer it, forward it to a real registry.
pub mod http;
// The GitHub Packages REST API (GHCR versions) and the pull request API.
pub mod github;
// Docker Hub's API (tags, tag deletion, token login).
pub mod hub;
