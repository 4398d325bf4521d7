//! The acceptance test of this action: its own image (the layout `scripts/build-image.sh`
//! assembles), run under podman with the runner's contract exactly (mounts, `--workdir`, every
//! `GITHUB_*`/`RUNNER_*` variable, every input action.yml declares with the workflow's value or
//! its default as YAML gives it), and read back as the runner reads it. The workflows run are the
//! bundled fixtures and the README's own examples, against real local registries.

pub(crate) mod action;
mod expr;
mod files;
mod job;
mod podman;
mod readme;

mod credentials;
mod examples;
mod publish;
mod tags;
