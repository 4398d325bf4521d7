//! Issue 14, item 1: a registry that accepts connections and then stops answering (a registry
//! under SIGSTOP, played by the proxy's `Stall` faults) fails the publish within a bound, as a
//! temporary failure; the `timeout` input and SIGTERM stop a run that would otherwise wait, and
//! its step summary says what was written and what was not.

use std::time::{Duration, Instant};

use super::cli::{layout, publish_cli, sample};
use crate::registry::harness::Registry;
use crate::registry::proxy::{Fault, Proxy, Rule};
use crate::sample::SampleSpec;
use crate::support::start;

/// The test knob that shortens both stall timeouts (`registry::config::STALL_TIMEOUT_VAR`).
const STALL: &str = "REGISTRY_ACTION_STALL_TIMEOUT";

fn stall_uploads(registry: &Registry, repo: &'static str, times: usize) -> Proxy {
    Proxy::start(
        registry.addr,
        vec![Rule {
            matching: repo,
            times,
            fault: Fault::Stall,
        }],
    )
}

fn stalled(proxy: &Proxy) -> usize {
    proxy.seen().iter().filter(|(_, o)| o == "stalled").count()
}

/// Every blob upload stalls, the large ones mid-body (their 16 MiB top layers outgrow the socket
/// buffers): with a 1 s stall timeout the publish fails in seconds, each upload retried, and the
/// summary reports a temporary failure with no tag written. Without stall detection each
/// attempt waited for reqwest's 300 s read timeout.
#[test]
fn issue_14_a_stalled_registry_fails_the_publish_in_seconds_as_a_temporary_failure() {
    let Some(registry) = Registry::plain() else {
        return;
    };
    let proxy = stall_uploads(&registry, "PUT /v2/stall/app/blobs/uploads/", 1000);
    let (_dir, image) = layout(&SampleSpec {
        seed: 41,
        layer_sizes: vec![48 * 1024, 16 << 20],
        ..SampleSpec::default()
    });
    let target = format!("{}/stall/app", proxy.addr);
    let started = Instant::now();
    let r = publish_cli(
        format!("oci:{}", image.dir.display()),
        &target,
        "type=raw,value=v1.0.0\ntype=raw,value=latest",
        &[(STALL, "1")],
    );
    let took = started.elapsed();
    assert!(!r.success(), "{}", r.console());
    assert!(took < Duration::from_secs(60), "took {took:?}");
    // Each blob was tried again after its stall (6 attempts each by default).
    assert!(stalled(&proxy) >= 6, "{:?}", proxy.seen());
    let summary = &r.summary_file;
    assert!(summary.contains("### Publish incomplete:"), "{summary}");
    assert!(summary.contains("**No tag was written**"), "{summary}");
    assert!(
        summary.contains("**Interrupted** by temporary errors"),
        "{summary}"
    );
    assert!(
        summary.contains("the registry stopped responding: nothing moved for 1s"),
        "{summary}"
    );
    assert!(!summary.contains("**Failed**:"), "{summary}");
    assert!(
        r.console().contains("run the step again to finish"),
        "{}",
        r.console()
    );
}

/// A registry stopped before the run (every request, from the first `GET /v2/`, gets no
/// answer): the ping gives up in seconds with a hint that the error is temporary.
#[test]
fn issue_14_a_registry_stalled_from_the_start_fails_at_the_ping_as_temporary() {
    let Some(registry) = Registry::plain() else {
        return;
    };
    let proxy = stall_uploads(&registry, "", usize::MAX);
    let (_dir, image) = sample(45);
    let started = Instant::now();
    let r = publish_cli(
        format!("oci:{}", image.dir.display()),
        format!("{}/frozen/app", proxy.addr),
        "type=raw,value=v1.0.0",
        &[(STALL, "1")],
    );
    let took = started.elapsed();
    assert!(!r.success(), "{}", r.console());
    assert!(took < Duration::from_secs(60), "took {took:?}");
    let console = r.console();
    assert!(
        console.contains("/v2/: the registry stopped responding: nothing moved for 1s"),
        "{console}"
    );
    assert!(
        console.contains("this error is temporary: run the step again (nothing was written)"),
        "{console}"
    );
    // The HTTPS try, then plain HTTP with every retry.
    assert!(stalled(&proxy) >= 6, "{:?}", proxy.seen());
}

/// A source registry that sends half a blob and then nothing: the copy fails in seconds as a
/// temporary failure instead of waiting on the body.
#[test]
fn issue_14_a_source_that_stops_mid_download_fails_the_copy_in_seconds() {
    let Some(registry) = Registry::plain() else {
        return;
    };
    let (_dir, image) = sample(42);
    let pushed = publish_cli(
        format!("oci:{}", image.dir.display()),
        format!("{}/src/app", registry.name()),
        "type=raw,value=build",
        &[],
    );
    assert!(pushed.success(), "{}", pushed.console());
    let proxy = Proxy::start(
        registry.addr,
        vec![Rule {
            matching: "GET /v2/src/app/blobs/",
            times: 1000,
            fault: Fault::StallBody,
        }],
    );
    let started = Instant::now();
    let r = publish_cli(
        format!("docker://{}/src/app:build", proxy.addr),
        format!("{}/copy/app", registry.name()),
        "type=raw,value=v1",
        &[(STALL, "1")],
    );
    let took = started.elapsed();
    assert!(!r.success(), "{}", r.console());
    assert!(took < Duration::from_secs(60), "took {took:?}");
    assert!(stalled(&proxy) >= 1, "{:?}", proxy.seen());
    let summary = &r.summary_file;
    assert!(summary.contains("**No tag was written**"), "{summary}");
    assert!(
        summary.contains("**Interrupted** by temporary errors"),
        "{summary}"
    );
    assert!(summary.contains("nothing moved for 1s"), "{summary}");
}

/// The `timeout` input ends a run that makes no progress long before the stall timeouts would:
/// the error names the input and the summary says the time limit was reached.
#[test]
fn issue_14_the_timeout_input_stops_a_stalled_publish_and_names_itself() {
    let Some(registry) = Registry::plain() else {
        return;
    };
    let proxy = stall_uploads(&registry, "PUT /v2/deadline/app/blobs/uploads/", 1000);
    let (_dir, image) = sample(43);
    let started = Instant::now();
    let r = publish_cli(
        format!("oci:{}", image.dir.display()),
        format!("{}/deadline/app", proxy.addr),
        "type=raw,value=v1.0.0",
        &[("INPUT_TIMEOUT", "3s")],
    );
    let took = started.elapsed();
    assert!(!r.success(), "{}", r.console());
    assert!(took < Duration::from_secs(30), "took {took:?}");
    let console = r.console();
    assert!(
        console.contains("publishing stopped: the `timeout` input's limit of 3s was reached"),
        "{console}"
    );
    assert!(console.contains("raise `timeout`"), "{console}");
    let summary = &r.summary_file;
    assert!(
        summary.contains("**Time limit reached** (`timeout`: 3s)"),
        "{summary}"
    );
    assert!(summary.contains("**No tag was written**"), "{summary}");
}

/// SIGTERM (GitHub cancelling the job) while one blob upload hangs and the others are in: the
/// run ends at once, non-zero, with a summary that says it was cancelled, counts the blobs that
/// were written, and lists the tags that were not.
#[test]
fn issue_14_sigterm_writes_a_summary_of_what_was_written_and_fails() {
    let Some(registry) = Registry::plain() else {
        return;
    };
    let proxy = stall_uploads(&registry, "PUT /v2/cancel/app/blobs/uploads/", 1);
    let (_dir, image) = sample(44);
    let blobs = image.blobs.len();
    let target = format!("{}/cancel/app", proxy.addr);
    let source = format!("oci:{}", image.dir.display());
    let run = start(
        &[
            "publish",
            "--source",
            &source,
            "--images",
            &target,
            "--tags",
            "type=raw,value=v1.0.0",
        ],
        &[],
    );
    // Wait until one upload hangs and every other one is in.
    let uploaded = || {
        proxy
            .seen()
            .iter()
            .filter(|(r, o)| r.starts_with("PUT /v2/cancel/app/blobs/uploads/") && o == "forwarded")
            .count()
    };
    let waiting = Instant::now();
    while !(stalled(&proxy) == 1 && uploaded() == blobs - 1) {
        assert!(
            waiting.elapsed() < Duration::from_secs(30),
            "{:?}",
            proxy.seen()
        );
        std::thread::sleep(Duration::from_millis(50));
    }
    let pid = run.child.id().to_string();
    let killed = Instant::now();
    let kill = std::process::Command::new("kill")
        .args(["-TERM", &pid])
        .status()
        .expect("kill");
    assert!(kill.success());
    let r = run.finish();
    assert!(
        killed.elapsed() < Duration::from_secs(10),
        "ended {:?} after SIGTERM",
        killed.elapsed()
    );
    assert!(!r.success(), "{}", r.console());
    assert!(
        r.output.status.code().is_some(),
        "it exits by itself, not by the signal: {:?}",
        r.output.status
    );
    assert!(
        r.console().contains("publishing was cancelled (SIGTERM)"),
        "{}",
        r.console()
    );
    let summary = &r.summary_file;
    assert!(
        summary.contains("**Cancelled** (SIGTERM): publishing stopped before it completed"),
        "{summary}"
    );
    assert!(summary.contains("**No tag was written**"), "{summary}");
    assert!(
        summary.contains(&format!("| `{target}` | `v1.0.0` | **not written**")),
        "{summary}"
    );
    assert!(
        summary.contains(&format!("| `{target}` | {} | 0 | 0 |", blobs - 1)),
        "the blobs that were written are counted: {summary}"
    );
}

/// Verify and cleanup share publish's session: against a registry that stops answering, the
/// `timeout` input stops them too (long before the stall limits would), and each says why.
#[test]
fn issue_14_the_timeout_input_stops_verify_and_cleanup_too() {
    let Some(registry) = Registry::plain() else {
        return;
    };
    let proxy = Proxy::start(
        registry.addr,
        vec![Rule {
            matching: "GET /v2/",
            times: 1000,
            fault: Fault::Stall,
        }],
    );
    let image = format!("{}/stall/app", proxy.addr);
    for (command, vars) in [
        ("verify", vec![("INPUT_VERIFY-TAGS", "latest")]),
        ("cleanup", vec![("INPUT_RETENTION", "delete tag=main-*")]),
    ] {
        let mut all = vec![
            ("INPUT_COMMAND", command),
            ("INPUT_IMAGES", image.as_str()),
            ("INPUT_TIMEOUT", "2s"),
        ];
        all.extend(vars);
        let started = Instant::now();
        let r = start(&[command], &all).finish();
        let took = started.elapsed();
        assert!(!r.success(), "{command}: {}", r.console());
        assert!(took < Duration::from_secs(15), "{command} took {took:?}");
        let said = r.console() + &r.summary_file;
        assert!(
            said.contains("the time limit of 2s ran out"),
            "{command}: {said}"
        );
    }
}
