//! Unit tests of credentials (config.json forms, redaction), challenge parsing and scope sets.

use super::*;

fn write_config(json: &str) -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("config.json"), json).unwrap();
    dir
}

fn basic(u: &str, p: &str) -> Option<Credential> {
    Some(Credential::Basic {
        username: u.into(),
        password: p.into(),
    })
}

#[test]
fn debug_never_shows_secrets() {
    let c = Credential::Basic {
        username: "octo".into(),
        password: "hunter2".into(),
    };
    let shown = format!("{c:?}");
    assert!(shown.contains("octo") && shown.contains("<redacted>") && !shown.contains("hunter2"));
    let t = format!("{:?}", Credential::IdentityToken("s3cret".into()));
    assert_eq!(t, "IdentityToken(<redacted>)");
}

#[test]
fn config_auths_base64_username_password_and_identity_token() {
    // "user:pa:ss" -> the password keeps its colon.
    let dir = write_config(
        r#"{"auths": {
            "ghcr.io": {"auth": "dXNlcjpwYTpzcw=="},
            "127.0.0.1:5000": {"username": "u", "password": "p"},
            "https://index.docker.io/v1/": {"auth": "aHViOmh1YnB3"},
            "quay.io": {"identitytoken": "refresh"}
        }}"#,
    );
    let d = dir.path();
    assert_eq!(
        from_docker_config(d, "ghcr.io").unwrap(),
        basic("user", "pa:ss")
    );
    assert_eq!(
        from_docker_config(d, "127.0.0.1:5000").unwrap(),
        basic("u", "p")
    );
    assert_eq!(
        from_docker_config(d, "docker.io").unwrap(),
        basic("hub", "hubpw")
    );
    assert_eq!(
        from_docker_config(d, "quay.io").unwrap(),
        Some(Credential::IdentityToken("refresh".into()))
    );
    assert_eq!(from_docker_config(d, "other.example").unwrap(), None);
}

#[test]
fn config_with_url_keys_matches_hosts() {
    let dir = write_config(r#"{"auths": {"https://docker.io/v1/": {"auth": "YTpi"}}}"#);
    assert_eq!(
        from_docker_config(dir.path(), "docker.io").unwrap(),
        basic("a", "b")
    );
}

#[test]
fn missing_config_is_anonymous_and_broken_config_is_an_error() {
    let empty = tempfile::tempdir().unwrap();
    assert_eq!(from_docker_config(empty.path(), "ghcr.io").unwrap(), None);
    let broken = write_config("{not json");
    assert!(from_docker_config(broken.path(), "ghcr.io").is_err());
    let bad_auth = write_config(r#"{"auths": {"ghcr.io": {"auth": "!!!"}}}"#);
    assert!(from_docker_config(bad_auth.path(), "ghcr.io").is_err());
}

#[test]
fn missing_credential_helper_is_an_error_naming_the_fix() {
    let dir = write_config(r#"{"credHelpers": {"ghcr.io": "registry-action-test-missing"}}"#);
    let err = from_docker_config(dir.path(), "ghcr.io")
        .unwrap_err()
        .to_string();
    assert!(err.contains("docker-credential-"), "{err}");
}

#[test]
fn challenges_basic_and_bearer() {
    assert_eq!(
        parse_challenges(r#"Basic realm="Registry Realm""#),
        vec![Challenge::Basic]
    );
    let hub = r#"Bearer realm="https://auth.docker.io/token",service="registry.docker.io",scope="repository:samalba/my-app:pull,push""#;
    assert_eq!(
        parse_challenges(hub),
        vec![Challenge::Bearer {
            realm: "https://auth.docker.io/token".into(),
            service: Some("registry.docker.io".into()),
            scope: Some("repository:samalba/my-app:pull,push".into()),
            error: None,
        }]
    );
    let insufficient = r#"bearer realm="https://r/t", error="insufficient_scope", scope="repository:a:pull repository:b:push""#;
    match &parse_challenges(insufficient)[..] {
        [Challenge::Bearer { error, scope, .. }] => {
            assert_eq!(error.as_deref(), Some("insufficient_scope"));
            assert_eq!(
                scope.as_deref(),
                Some("repository:a:pull repository:b:push")
            );
        }
        other => panic!("{other:?}"),
    }
}

#[test]
fn challenges_several_schemes_escapes_and_unquoted_values() {
    let both = r#"Basic realm="a, b", Bearer realm=https://t/x,service=svc"#;
    assert_eq!(
        parse_challenges(both),
        vec![
            Challenge::Basic,
            Challenge::Bearer {
                realm: "https://t/x".into(),
                service: Some("svc".into()),
                scope: None,
                error: None
            }
        ]
    );
    let escaped = r#"Bearer realm="https://t/\"q\"""#;
    assert!(
        matches!(&parse_challenges(escaped)[..], [Challenge::Bearer { realm, .. }] if realm == "https://t/\"q\"")
    );
    assert_eq!(parse_challenges(r#"Bearer service="no realm""#), vec![]);
    assert_eq!(
        parse_challenges(r#"Negotiate abc, Basic"#),
        vec![Challenge::Basic]
    );
    assert_eq!(parse_challenges(""), vec![]);
    assert_eq!(parse_challenges(r#"Bearer realm="unterminated"#).len(), 1);
}

#[test]
fn scopes_merge_cover_and_render() {
    let mut s = Scopes::repo("o/app", &[Action::Push, Action::Pull]);
    s.merge(&Scopes::repo("o/base", &[Action::Pull]));
    assert_eq!(
        s.to_query_values(),
        vec!["repository:o/app:pull,push", "repository:o/base:pull"]
    );
    assert!(s.covers(&Scopes::repo("o/app", &[Action::Pull])));
    assert!(s.covers(&Scopes::repo("o/base", &[Action::Pull])));
    assert!(!s.covers(&Scopes::repo("o/base", &[Action::Push])));
    assert!(!s.covers(&Scopes::repo("o/other", &[Action::Pull])));
    assert!(s.covers(&Scopes::new()));

    let mut c = Scopes::new();
    c.add_challenge_scope("repository:a/b:pull,push repository:c:delete registry:catalog:*");
    assert_eq!(
        c.to_query_values(),
        vec!["repository:a/b:pull,push", "repository:c:delete"]
    );
}
