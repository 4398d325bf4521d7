//! Publishing: read the source image's manifest graph ([`graph`]), then copy it to every target.

pub mod graph;
