//! Publishing: one image to every target repository under every tag, byte-for-byte.
//! The source's [`crate::oci::ImageGraph`] is the image, `observe` what each target holds, `plan` decides (pure),
//! `execute` writes, `run` sequences them; `referrers` carries the image's signatures and
//! attestations along.

pub mod execute;
pub mod observe;
pub mod outcome;
pub mod plan;
pub mod reason;
pub mod referrers;
pub mod rolling;
pub mod run;
mod tagging;
