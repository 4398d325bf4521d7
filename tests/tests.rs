//! All integration tests, in one test binary.
mod registry; // registry client against real registries (docker-registry, skopeo)
