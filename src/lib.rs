//! registry-action: compute image tags from a workflow event, publish one image to every registry
//! under every tag, verify registries agree, and clean up by policy.
//!
//! Data flow: environment (`GITHUB_*`, `INPUT_*`) + event payload -> [`app::RunContext`] (the
//! inputs, per command, and the workflow [`context::Context`]) -> gather, pure planning, execute
//! ([`meta`], [`publish`], [`verify`], [`cleanup`], over [`registry`], [`source`] and [`oci`])
//! -> [`report`] (outputs, step summary, annotations). ARCHITECTURE.md has the map.

pub mod app;
pub mod cleanup;
pub mod cli;
pub mod clock;
pub mod context;
pub mod envfile;
pub mod event;
pub mod inputs;
pub mod lines;
pub mod logging;
pub mod meta;
pub mod oci;
pub mod publish;
pub mod registry;
pub mod report;
pub mod secret;
pub mod size;
pub mod source;
pub mod verify;
