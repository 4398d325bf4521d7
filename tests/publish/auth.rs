//! Authentication failures through the real binary, against the htpasswd registry over TLS: no
//! credentials, and credentials refused (from a `credentials` line, from Docker's config.json, a
//! `github-token` ghcr.io refuses), each named as such with its fix; the password is never printed.

use crate::registry::harness::{PASSWORD, Registry, USER};
use crate::sample::{SampleSpec, write_layout};
use crate::support::{Run, run};

/// Publishes a sample to `private/app` on `registry` with `vars` (plus its CA), as in a workflow:
/// the error is an `::error` annotation on stdout.
fn publish(registry: &Registry, vars: &[(&str, &str)]) -> Run {
    let dir = tempfile::tempdir().expect("temp dir");
    let image = write_layout(&dir.path().join("layout"), &SampleSpec::default()).expect("layout");
    let ca = registry.ca_file();
    let mut all = vec![
        ("SSL_CERT_FILE", ca.to_str().expect("utf-8 path")),
        ("GITHUB_ACTIONS", "true"),
    ];
    all.extend_from_slice(vars);
    run(
        &[
            "publish",
            "--source",
            &format!("oci:{}", image.dir.display()),
            "--images",
            &format!("{}/private/app", registry.name()),
            "--tags",
            "type=raw,value=v1.0.0",
        ],
        &all,
    )
}

/// Writes `dir/config.json` as `docker login` would for `registry`; returns the `auth` value.
fn docker_login(dir: &std::path::Path, registry: &Registry, password: &str) -> String {
    use base64::Engine as _;
    let auth = base64::engine::general_purpose::STANDARD.encode(format!("{USER}:{password}"));
    let config = format!(
        r#"{{"auths":{{"{}":{{"auth":"{auth}"}}}}}}"#,
        registry.name()
    );
    std::fs::write(dir.join("config.json"), config).expect("config.json");
    auth
}

/// Everything the run showed: log, error, outputs, summary.
fn shown(r: &Run) -> String {
    format!(
        "{}\n{}\n{}\n{}",
        r.stdout(),
        r.stderr(),
        r.outputs_file,
        r.summary_file
    )
}

/// Regression: a 401 said only `HTTP 401`.
#[test]
fn no_credentials_say_so_and_how_to_add_them() {
    let Some(registry) = Registry::tls_basic() else {
        return;
    };
    let r = publish(&registry, &[]);
    assert!(!r.success());
    let out = shown(&r);
    let name = registry.name();
    assert!(
        out.contains(&format!(
            "HTTP 401: {name} requires authentication, and no credentials were given for it"
        )),
        "{out}"
    );
    assert!(
        out.contains(&format!(
            "hint: add a line `registry={name},username=<user>,password-env=<VAR>` to the `credentials` input"
        )),
        "{out}"
    );
    assert!(out.contains(&format!("docker login {name}")), "{out}");
}

/// Regression: a wrong password gave the same bare `HTTP 401` as none.
#[test]
fn a_refused_credentials_line_is_named_and_its_secret_never_shown() {
    let Some(registry) = Registry::tls_basic() else {
        return;
    };
    let wrong = "WRONG-pass-8271";
    let credentials = format!(
        "# logins\nregistry={},username={USER},password-env=PW",
        registry.name()
    );
    let r = publish(
        &registry,
        &[("INPUT_CREDENTIALS", &credentials), ("PW", wrong)],
    );
    assert!(!r.success());
    let out = shown(&r);
    assert!(
        out.contains(&format!(
            "HTTP 401: {} rejected the credentials from the `credentials` input, line 2",
            registry.name()
        )),
        "{out}"
    );
    assert!(
        out.contains("check the username and the secret on line 2 of `credentials`"),
        "{out}"
    );
    assert_eq!(
        out.matches(wrong).count(),
        1,
        "only in its ::add-mask:: command: {out}"
    );
    assert!(r.stdout().contains(&format!("::add-mask::{wrong}")));
}

#[test]
fn a_refused_docker_login_points_to_docker_login() {
    let Some(registry) = Registry::tls_basic() else {
        return;
    };
    let docker = tempfile::tempdir().expect("temp dir");
    let wrong = "WRONG-docker-5531";
    let auth = docker_login(docker.path(), &registry, wrong);
    let r = publish(
        &registry,
        &[("DOCKER_CONFIG", docker.path().to_str().expect("utf-8"))],
    );
    assert!(!r.success());
    let out = shown(&r);
    let config = docker.path().join("config.json");
    assert!(
        out.contains(&format!(
            "rejected the credentials from Docker's {}",
            config.display()
        )),
        "{out}"
    );
    assert!(
        out.contains(&format!("run `docker login {}` again", registry.name())),
        "{out}"
    );
    assert!(!out.contains(wrong) && !out.contains(&auth), "{out}");
    // The right password in the same place works.
    docker_login(docker.path(), &registry, PASSWORD);
    let r = publish(
        &registry,
        &[("DOCKER_CONFIG", docker.path().to_str().expect("utf-8"))],
    );
    assert!(r.success(), "{}", shown(&r));
}

/// ghcr.io refuses a wrong `github-token` at its token endpoint (401): the error names the input.
#[test]
fn a_github_token_ghcr_io_refuses_is_named() {
    use crate::emulator::github::GithubEmulator;
    let Some(upstream) = Registry::plain() else {
        return;
    };
    let emulator = GithubEmulator::start(upstream.addr, "octo-org", "Organization");
    let dir = tempfile::tempdir().expect("temp dir");
    let image = write_layout(&dir.path().join("layout"), &SampleSpec::default()).expect("layout");
    let wrong = "ghs_0123456789abcdefghijklmnopqrstuvwxyz";
    let env = emulator.ghcr_env();
    let mut vars: Vec<(&str, &str)> = env.iter().map(|(n, v)| (*n, v.as_str())).collect();
    vars.extend([("INPUT_GITHUB-TOKEN", wrong), ("GITHUB_ACTIONS", "true")]);
    let r = run(
        &[
            "publish",
            "--source",
            &format!("oci:{}", image.dir.display()),
            "--images",
            "ghcr.io/octo-org/app",
            "--tags",
            "type=raw,value=v1.0.0",
        ],
        &vars,
    );
    assert!(!r.success(), "{}", shown(&r));
    let all = shown(&r);
    assert!(all.contains("`github-token`"), "{all}");
    let leaked = all
        .lines()
        .filter(|l| !l.starts_with("::add-mask::"))
        .any(|l| l.contains(wrong));
    assert!(!leaked, "the token leaked:\n{all}");
    let state = emulator.state();
    assert!(state.token_requests.iter().all(|t| t.status == 401));
    assert!(state.versions.is_empty());
}

/// `DOCKER_CONFIG` and `SSL_CERT_FILE` given in an `--env-file` are read like the process's
/// own: the login and the test CA come from the file alone.
#[test]
fn docker_config_and_ca_from_an_env_file() {
    let Some(registry) = Registry::tls_basic() else {
        return;
    };
    let docker = tempfile::tempdir().expect("temp dir");
    docker_login(docker.path(), &registry, PASSWORD);
    let env_file = docker.path().join("env");
    let ca = registry.ca_file();
    std::fs::write(
        &env_file,
        format!(
            "DOCKER_CONFIG={}\nSSL_CERT_FILE={}\n",
            docker.path().display(),
            ca.display()
        ),
    )
    .expect("env file");
    let dir = tempfile::tempdir().expect("temp dir");
    let image = write_layout(&dir.path().join("layout"), &SampleSpec::default()).expect("layout");
    let r = run(
        &[
            "--env-file",
            env_file.to_str().expect("utf-8 path"),
            "publish",
            "--source",
            &format!("oci:{}", image.dir.display()),
            "--images",
            &format!("{}/private/app", registry.name()),
            "--tags",
            "type=raw,value=v1.0.0",
        ],
        &[],
    );
    assert!(r.success(), "{}", shown(&r));
    let raw = registry.skopeo_raw("private/app:v1.0.0");
    assert_eq!(
        registry_action::registry::Digest::sha256(&raw),
        image.root.digest
    );
}
