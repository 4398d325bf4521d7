//! The session of a command that talks to registries, opened once per run: the async runtime,
//! the registry client (logins from `credentials`, `github-token` and Docker's config; the CA
//! files and insecure hosts of the run's environment) and the stop that SIGTERM, SIGINT or the
//! `timeout` input triggers. Every secret it holds was masked before the first line of output.

use super::context::RunContext;
use super::credentials::client_config;
use super::error::AppError;
use crate::registry::{Client, ClientConfig, Stop};
use tokio::runtime::Runtime;

pub struct Session {
    pub runtime: Runtime,
    pub client: Client,
    /// Triggered by a signal or the `timeout` input; the client's requests then fail at once.
    pub stop: Stop,
    /// The client's settings (cleanup's Docker Hub API logs in with the same credentials).
    pub config: ClientConfig,
}

impl Session {
    pub fn open(run: &RunContext<'_>) -> Result<Session, AppError> {
        let mut config = client_config(&run.inputs, |name| run.var(name))?;
        let runtime = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(2)
            .enable_all()
            .build()
            .map_err(AppError::Runtime)?;
        let stop = super::stop::watch(&runtime, run.inputs.timeout);
        config.stop = stop.clone();
        let client = Client::new(config.clone()).map_err(|e| AppError::Client(Box::new(e)))?;
        Ok(Session {
            runtime,
            client,
            stop,
            config,
        })
    }
}
