//! OCI image layouts written offline and reproducibly, outside the shipped action:
//!
//! - [`action_image`]: the action's own container image (static binaries + CA bundle ->
//!   `target/image`), run by `scripts/build-image.sh` through the `assemble-image` binary;
//! - [`sample`]: deterministic sample images for the tests, the demo and the benchmarks (the
//!   `sample-image` binary).
//!
//! `registry-action` uses this crate as a dev-dependency only, and the crate does not depend on
//! it: its [`Digest`] and [`media`] types are its own, so the library's unit tests see one copy
//! of the library's types.

pub mod action_image;
mod digest;
pub mod media;
pub mod sample;

pub use digest::Digest;
