//! Publishing: one image to every target repository under every tag, byte-for-byte.
//! `observe` reads what each target holds, `plan` decides (pure), `execute` writes.

pub mod credentials;
pub mod execute;
pub mod observe;
pub mod plan;
