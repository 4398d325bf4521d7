//! Registry client against real registries (distribution 2.8 via the `docker-registry` package),
//! with skopeo as the independent oracle of what landed.

mod harness;
mod image;
mod proxy;
mod token_server;

mod auth;
mod faults;
mod mount;
mod push;
mod tags;
