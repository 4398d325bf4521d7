//! docker/login-action's login reaches the container: with `DOCKER_CONFIG` set at job level to a
//! folder in the workspace (the README's recipe), the login it stores there is read through the
//! workspace mount; without it, the 401 names the recipe. What is read is never shown.

use base64::Engine;

use super::job::{Job, Step};
use crate::registry::harness::{Auth, PASSWORD, Registry, USER};
use crate::sample::{SampleSpec, write_layout};

/// The README's recipe, as a job-level `env:` entry.
const RECIPE: (&str, &str) = ("DOCKER_CONFIG", "${{ github.workspace }}/.docker");

fn job_and_step(registry: &Registry) -> Option<(Job, Step)> {
    let (job, step) = Job::from_fixture("release-v0.2.0")?;
    write_layout(&job.workspace().join("image"), &SampleSpec::default()).expect("layout");
    let step = step
        .with("images", &format!("{}/octo/app", registry.name()))
        .with("source", "oci:image");
    Some((job, step))
}

/// What docker/login-action leaves: `config.json` in `$DOCKER_CONFIG` on the runner's host.
fn login_action(job: &Job, host_dir: &str, registry: &Registry) -> String {
    let auth = base64::engine::general_purpose::STANDARD.encode(format!("{USER}:{PASSWORD}"));
    let dir = job.host_path(host_dir);
    std::fs::create_dir_all(&dir).expect("docker config dir");
    let config = serde_json::json!({ "auths": { registry.name(): { "auth": auth } } });
    std::fs::write(dir.join("config.json"), config.to_string()).expect("config.json");
    auth
}

#[test]
fn a_login_from_docker_login_action_is_read_with_the_recipe() {
    let Some(registry) = Registry::start(false, Auth::Htpasswd) else {
        return;
    };
    let Some((mut job, step)) = job_and_step(&registry) else {
        return;
    };
    job.env.push((RECIPE.0.to_owned(), RECIPE.1.to_owned()));
    let host_dir = format!("{}/.docker", job.host_workspace());
    let auth = login_action(&job, &host_dir, &registry);
    let run = job.run(&step);
    assert_eq!(
        run.env["DOCKER_CONFIG"], host_dir,
        "the runner passes the host path"
    );
    run.assert_success();
    run.assert_no_leak(&[PASSWORD, &auth]);
}

#[test]
fn without_the_recipe_the_401_names_it() {
    let Some(registry) = Registry::start(false, Auth::Htpasswd) else {
        return;
    };
    let Some((job, step)) = job_and_step(&registry) else {
        return;
    };
    // login-action's default: `~/.docker` on the host, which the container does not see.
    let run = job.run(&step);
    assert!(!run.success(), "published without a login:\n{}", run.log());
    let error = run
        .commands
        .iter()
        .find(|c| c.name == "error")
        .unwrap_or_else(|| panic!("no ::error annotation:\n{}", run.log()));
    assert!(
        error.message.contains("401") && error.message.contains(RECIPE.1),
        "the error should name the recipe: {}",
        error.message
    );
}
