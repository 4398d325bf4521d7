//! All integration tests, in one test binary.

// Packaging: action.yml, Dockerfile, CI workflows and `.ci/run` keep their contracts.
mod packaging;
