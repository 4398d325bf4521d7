//! All integration tests, in one test binary.

// Shared helpers: run the binary, parse what it wrote.
mod support;
// The sample images of crates/imagekit, with the library's digest type.
mod sample;

// The binary as a user meets it: help, flags, error messages.
mod cli;
// Untrusted event fields cannot inject commands or outputs.
mod hostile;
// action.yml, Dockerfile, workflows and CI entry point are well-formed and safe.
mod packaging;
// Publishing end to end: observe, plan, execute against real registries.
mod publish;
// action.yml pins its image by digest; the release workflow, toolchain pin and CA bundle.
mod release;
// The registry client against real local registries (docker-registry), checked with skopeo.
mod registry;
// Image sources (OCI layout, OCI archive, registry) read into the manifest graph.
mod source;
// Verify: registries compared by HEAD, drift found and repaired by sync.
mod verify;
// The action's own image under podman, run as GitHub's runner runs it.
mod runner;
// The seed tag strategies, one fixture each.
mod scenarios;
// Loopback emulators of GitHub's and Docker Hub's APIs, backed by real registries.
mod emulator;
// Retention: the cleanup planner at scale and against a real registry.
mod cleanup;
