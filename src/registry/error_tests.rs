//! Unit tests of `error.rs`: no network.

use super::*;

#[test]
fn ghcr_403_names_the_fix_and_urls_lose_their_query() {
    let url =
        reqwest::Url::parse("https://u:p@ghcr.io/v2/o/r/blobs/uploads/x?_state=secret").unwrap();
    let err = Error::Status {
        status: 403,
        method: "PUT".into(),
        url: display_url(&url),
        code: Some("DENIED".into()),
        message: Some("permission_denied: write_package".into()),
        hint: forbidden_hint("ghcr.io"),
    };
    let shown = err.to_string();
    assert!(
        shown.starts_with("PUT https://ghcr.io/v2/o/r/blobs/uploads/x: HTTP 403 DENIED"),
        "{shown}"
    );
    assert!(
        shown.contains("hint:") && shown.contains("packages: write"),
        "{shown}"
    );
    assert!(
        !shown.contains("secret") && !shown.contains("u:p"),
        "{shown}"
    );
    assert_eq!(forbidden_hint("docker.io"), None);
}

fn unauthorized(registry: &str, refused: Option<CredentialOrigin>) -> String {
    Error::Unauthorized {
        status: 401,
        method: "HEAD".into(),
        url: format!("https://{registry}/v2/o/r/manifests/v1"),
        registry: registry.into(),
        refused,
    }
    .to_string()
}

/// Regression: no credentials and refused credentials both said only `HTTP 401`.
#[test]
fn a_401_tells_missing_from_refused_credentials_and_names_the_fix() {
    let none = unauthorized("quay.io", None);
    assert_eq!(
        none.lines().next(),
        Some(
            "HEAD https://quay.io/v2/o/r/manifests/v1: HTTP 401: quay.io requires authentication, and no credentials were given for it"
        )
    );
    assert!(
        none.contains(
            "hint: add a line `registry=quay.io,username=<user>,password-env=<VAR>` to the `credentials` input"
        ) && none.contains("docker login quay.io"),
        "{none}"
    );
    assert!(!none.contains("packages: write"), "{none}");
    assert!(
        unauthorized("ghcr.io", None).contains("`github-token` input"),
        "ghcr.io names the workflow token"
    );

    let line = unauthorized("quay.io", Some(CredentialOrigin::InputLine(2)));
    assert!(
        line.contains("quay.io rejected the credentials from the `credentials` input, line 2")
            && line.contains("hint: check the username and the secret on line 2"),
        "{line}"
    );
    let token = unauthorized("ghcr.io", Some(CredentialOrigin::GithubToken));
    assert!(
        token.contains("rejected the credentials from the `github-token` input")
            && token.contains("permissions: packages: write"),
        "{token}"
    );
    let docker = unauthorized(
        "quay.io",
        Some(CredentialOrigin::DockerConfig("/home/u/.docker".into())),
    );
    assert!(
        docker.contains("from Docker's /home/u/.docker/config.json")
            && docker.contains("run `docker login quay.io` again"),
        "{docker}"
    );
}
