//! Publishing: one image to every target repository under every tag, byte-for-byte.
//! `plan` decides (pure); the executor carries the plan out.

pub mod plan;
