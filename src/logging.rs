//! `tracing` to stderr: `info` by default, `debug` when the runner's debug logging is on
//! (`RUNNER_DEBUG=1`), or whatever `RUST_LOG` says.

use std::collections::BTreeMap;
use tracing_subscriber::EnvFilter;

pub fn init(vars: &BTreeMap<String, String>) {
    let default = if vars.get("RUNNER_DEBUG").is_some_and(|v| v == "1") {
        "debug"
    } else {
        "warn"
    };
    let filter = vars
        .get("RUST_LOG")
        .and_then(|spec| EnvFilter::try_new(spec).ok())
        .unwrap_or_else(|| EnvFilter::new(default));
    let _ = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .with_ansi(false)
        .with_target(false)
        .try_init();
}
