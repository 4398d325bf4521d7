//! Registry client against real registries (distribution 2.8 via the `docker-registry` package),
//! with skopeo as the independent oracle of what landed.

pub(crate) mod harness;
pub(crate) mod image;
pub(crate) mod proxy;
pub(crate) mod referrers_api;
mod token_server;
mod wire;

mod auth;
mod faults;
mod mount;
mod push;
pub(crate) mod referrers;
mod tags;
