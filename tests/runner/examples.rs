//! The README's examples, run in the image as written (registry names mapped to local
//! registries): the Usage step gives every row of the README's tag table on its fixture's event;
//! the Publishing, Verify and Cleanup steps work against real registries.

use super::job::{Job, Step};
use super::readme::{example, examples, tag_table};
use crate::cleanup::images::{multi_arch, publish_to};
use crate::registry::harness::{Auth, PASSWORD, Registry, USER};
use crate::sample::{SampleSpec, write_layout};

/// The README sections whose examples this file runs.
const RUN_HERE: &[&str] = &["Usage", "Publishing", "Verify", "Cleanup"];

#[test]
fn every_readme_example_is_run_by_the_harness() {
    let headings: Vec<String> = examples().into_iter().map(|e| e.heading).collect();
    assert_eq!(
        headings, RUN_HERE,
        "a README example the harness does not run"
    );
}

/// The tag names a README table cell lists: backticked words before ` in `, placeholders
/// filled from the event.
fn table_tags(cell: &str, sha: &str, day: &str) -> Vec<String> {
    let cell = cell.split(" in ").next().unwrap_or(cell);
    cell.split('`')
        .skip(1)
        .step_by(2)
        .map(|t| t.replace("<sha7>", &sha[..7]).replace("<yyyymmdd>", day))
        .collect()
}

#[test]
fn the_usage_example_gives_the_readme_table_on_every_fixture() {
    let rows = tag_table();
    assert!(rows.len() >= 8, "the README's tag table: {rows:?}");
    let usage = example("Usage");
    for (fixture, cell) in rows {
        let Some((job, fixture_step)) = Job::from_fixture(&fixture) else {
            return;
        };
        let mut step = usage.clone();
        step.env.extend(fixture_step.env.clone());
        let run = job.run(&step);
        run.assert_success();
        let env = &run.env;
        let epoch: i64 = env["SOURCE_DATE_EPOCH"].parse().expect("epoch");
        let day = jiff::Timestamp::from_second(epoch)
            .expect("epoch")
            .strftime("%Y%m%d")
            .to_string();
        let expected = table_tags(&cell, &env["GITHUB_SHA"], &day);
        let got: Vec<&str> = run.get("tag-names").lines().collect();
        assert_eq!(got, expected, "{fixture}: the README says {cell}");
    }
}

/// The example's `with:` with the registries of the README mapped to local ones.
fn mapped(step: &Step, names: &[(&str, &Registry)]) -> Step {
    let mut step = step.clone();
    for (_, value) in &mut step.with {
        for (name, registry) in names {
            *value = value.replace(name, &registry.name());
        }
    }
    step
}

struct Registries {
    ghcr: Registry,
    hub: Registry,
}

impl Registries {
    fn start() -> Option<Registries> {
        Some(Registries {
            ghcr: Registry::plain()?,
            hub: Registry::start(false, Auth::Htpasswd)?,
        })
    }
    fn map(&self, step: &Step) -> Step {
        mapped(step, &[("ghcr.io", &self.ghcr), ("docker.io", &self.hub)])
    }
}

/// The release job of the Publishing example: its variables and secrets, the layout buildx
/// would leave in `image`.
fn publishing_job() -> Option<Job> {
    let (mut job, _) = Job::from_fixture("release-v0.2.0")?;
    job.vars.insert("DOCKERHUB_USERNAME".into(), USER.into());
    job.secrets
        .insert("DOCKERHUB_TOKEN".into(), PASSWORD.into());
    write_layout(&job.workspace().join("image"), &SampleSpec::default()).expect("layout");
    Some(job)
}

#[test]
fn the_publishing_example_publishes_to_both_registries() {
    let Some(registries) = Registries::start() else {
        return;
    };
    let Some(job) = publishing_job() else {
        return;
    };
    let run = job.run(&registries.map(&example("Publishing")));
    run.assert_success();
    run.assert_no_leak(&[PASSWORD, &job.token]);
    run.assert_masked_first(&[PASSWORD, &job.token]);
    let root = std::fs::read(job.workspace().join("image/index.json")).expect("index.json");
    let index: serde_json::Value = serde_json::from_slice(&root).expect("index.json JSON");
    let digest = index["manifests"][0]["digest"].as_str().expect("digest");
    assert_eq!(run.get("digest"), digest);
    let hex = digest.trim_start_matches("sha256:");
    let bytes = std::fs::read(job.workspace().join("image/blobs/sha256").join(hex)).expect("root");
    for (registry, repo) in [
        (&registries.ghcr, "octo-org/app"),
        (&registries.hub, "octoorg/app"),
    ] {
        for tag in ["v0.2.0", "v0.2", "v0", "latest"] {
            assert_eq!(
                registry.skopeo_raw(&format!("{repo}:{tag}")),
                bytes,
                "{}/{repo}:{tag}",
                registry.name()
            );
        }
    }
}

#[test]
fn the_verify_example_repairs_drift() {
    let Some(registries) = Registries::start() else {
        return;
    };
    let Some(job) = publishing_job() else {
        return;
    };
    job.run(&registries.map(&example("Publishing")))
        .assert_success();
    // A tag the primary holds and the second registry lacks.
    let primary = format!("{}/octo-org/app", registries.ghcr.name());
    let extra = Step::default()
        .with("images", &primary)
        .with("tags", "type=raw,value=extra")
        .with("source", "oci:image");
    job.run(&extra).assert_success();
    let verify = registries.map(&example("Verify"));
    let run = job.run(&verify);
    run.assert_success();
    run.assert_masked_first(&[PASSWORD, &job.token]);
    assert_eq!(run.get("in-sync"), "true", "{}", run.log());
}

#[test]
fn the_cleanup_example_plans_deletions_and_deletes_nothing() {
    let Some(registry) = Registry::plain() else {
        return;
    };
    let Some((job, fixture_step)) = Job::from_fixture("schedule") else {
        return;
    };
    let target = format!("{}/octo/app", registry.name());
    let epoch = [("SOURCE_DATE_EPOCH", "1763856000")];
    publish_to(&target, &multi_arch(1, true), &["v0.1.0", "latest"], &epoch);
    // More branch builds than the example's `keep last=10` keeps.
    let branch_tags: Vec<String> = (0..12).map(|n| format!("main-{n:07x}")).collect();
    for (n, tag) in branch_tags.iter().enumerate() {
        publish_to(
            &target,
            &multi_arch(10 + n as u64, false),
            &[tag.as_str()],
            &epoch,
        );
    }
    let mut step = mapped(&example("Cleanup"), &[("registry.example.com", &registry)]);
    step.env.extend(fixture_step.env);
    let run = job.run(&step);
    run.assert_success();
    run.assert_masked_first(&[&job.token]);
    assert_ne!(run.get("deleted"), "0", "{}", run.log());
    let tags = registry.skopeo_tags("octo/app");
    for tag in &branch_tags {
        assert!(tags.contains(tag), "a dry run deleted {tag}: {tags:?}");
    }
}
