//! Entry point: parse, run, map the error to an exit code.

use clap::Parser;
use registry_action::{app, cli::Cli};
use std::process::ExitCode;

fn main() -> ExitCode {
    let cli = Cli::parse();
    let process = std::env::vars_os()
        .filter_map(|(k, v)| Some((k.into_string().ok()?, v.into_string().ok()?)));
    let mut stdout = std::io::stdout().lock();
    let vars = match app::environment(&cli, process) {
        Ok(vars) => vars,
        Err(error) => {
            app::report_error(&error, false, &mut std::io::stderr().lock());
            return ExitCode::from(error.exit_code());
        }
    };
    registry_action::logging::init(&vars);
    match app::run(&vars, &mut stdout) {
        Ok(_) => ExitCode::SUCCESS,
        Err(error) => {
            // In a workflow the error is an annotation, which the runner reads from stdout;
            // locally it goes where errors go.
            let actions = app::in_actions(&vars);
            if actions {
                app::report_error(&error, true, &mut stdout);
            } else {
                drop(stdout);
                app::report_error(&error, false, &mut std::io::stderr().lock());
            }
            ExitCode::from(error.exit_code())
        }
    }
}
