//! Unit tests of `credentials.rs`: no network.

use super::*;
use crate::lines::input_lines;

fn parse(text: &str) -> Result<BTreeMap<String, Credential>, String> {
    parse_logins(&input_lines(text), |name| {
        (name == "HUB_TOKEN").then(|| "dckr_pat,with\"odd".to_string())
    })
    .map(|logins| logins.credentials)
    .map_err(|e| e.to_string())
}

#[test]
fn secrets_are_found_in_lines_that_do_not_parse() {
    let lines = input_lines(
        "registry=quay.io username=x,password=pa,ss\nbogus,password-env=HUB_TOKEN\npassword=",
    );
    let found: Vec<String> = secrets_in(&lines, |name| {
        (name == "HUB_TOKEN").then(|| "dckr_pat_1".to_string())
    })
    .iter()
    .map(|s| s.expose().to_owned())
    .collect();
    assert_eq!(found, ["dckr_pat_1", "pa", "pa,ss"]);
}

#[test]
fn lines_with_inline_and_env_passwords() {
    let creds = parse("registry=index.docker.io,username=octo,password-env=HUB_TOKEN\nregistry=quay.io,username=octo+ci,password=s3cret").unwrap();
    assert_eq!(
        creds["docker.io"],
        Credential::Basic {
            username: "octo".into(),
            password: "dckr_pat,with\"odd".into()
        }
    );
    assert_eq!(
        creds["quay.io"],
        Credential::Basic {
            username: "octo+ci".into(),
            password: "s3cret".into()
        }
    );
}

#[test]
fn errors_name_the_line_but_never_the_secret() {
    let e = parse("registry=quay.io,colour=red,username=u,password=topsecret").unwrap_err();
    assert_eq!(
        e,
        "input `credentials`, line 1: unknown key `colour`; expected registry=, username=, password= or password-env="
    );
    assert!(!e.contains("topsecret"));
    assert!(
        parse("registry=quay.io,password=x")
            .unwrap_err()
            .contains("`username=` is missing")
    );
    assert!(
        parse("username=u,password=x")
            .unwrap_err()
            .contains("`registry=` is missing")
    );
    assert!(
        parse("registry=quay.io,username=u")
            .unwrap_err()
            .contains("`password=` or `password-env=` is missing")
    );
    assert!(
        parse("registry=quay.io,username=u,password-env=NOPE")
            .unwrap_err()
            .contains("not set")
    );
}

/// Regression: a second line for the same registry silently replaced the first.
#[test]
fn a_registry_on_two_lines_is_an_error_naming_both() {
    let e = parse(
        "registry=127.0.0.1:5504,username=alice,password=pw-alice-1\n\
         # bob too\n\
         registry=127.0.0.1:5504,username=bob,password=pw-bob-2",
    )
    .unwrap_err();
    assert_eq!(
        e,
        "input `credentials`, line 3: `127.0.0.1:5504` already has a login on line 1; give one line per registry"
    );
    // The same registry however it is spelled.
    let e = parse(
        "registry=docker.io,username=a,password=x\nregistry=index.docker.io,username=b,password=y",
    )
    .unwrap_err();
    assert!(
        e.contains("line 2: `docker.io` already has a login on line 1"),
        "{e}"
    );
}

/// Regression: `registry=x username=y` said "`username=` is missing".
#[test]
fn space_separated_fields_are_named_as_such() {
    let e = parse("registry=127.0.0.1:5504 username=alice password-env=HUB_TOKEN").unwrap_err();
    assert!(
        e.contains("fields are separated by commas, not spaces"),
        "{e}"
    );
    assert!(!e.contains("is missing"), "{e}");
    let e = parse("registry=quay.io,username=alice password=hunter2").unwrap_err();
    assert!(e.contains("not spaces") && !e.contains("hunter2"), "{e}");
}

/// Regression: `password=ab,cd` gave a generic "expected `key=value` fields".
#[test]
fn a_password_cut_at_a_comma_points_to_password_env() {
    for line in [
        "registry=quay.io,username=u,password=s3c,r3t",
        "registry=quay.io,username=u,password=s3c,r3=t",
    ] {
        let e = parse(line).unwrap_err();
        assert!(e.contains("password-env=<VAR>"), "{e}");
        assert!(e.contains("comma"), "{e}");
        assert!(!e.contains("s3c") && !e.contains("r3"), "{e}");
    }
    // Quoted, the comma is part of the password.
    let creds = parse("registry=quay.io,username=u,password=\"sec,ret\"").unwrap();
    assert_eq!(
        creds["quay.io"],
        Credential::Basic {
            username: "u".into(),
            password: "sec,ret".into()
        }
    );
}

#[test]
fn password_and_password_env_together_conflict() {
    let e =
        parse("registry=quay.io,username=u,password=hunter2,password-env=HUB_TOKEN").unwrap_err();
    assert!(
        e.contains("both `password=` and `password-env=` are given"),
        "{e}"
    );
    assert!(!e.contains("hunter2") && !e.contains("dckr_pat"), "{e}");
    let e = parse("registry=quay.io,username=u,username=v,password=hunter2").unwrap_err();
    assert!(e.contains("`username=` is given twice"), "{e}");
}

#[test]
fn each_login_remembers_its_line() {
    let lines = input_lines(
        "\nregistry=quay.io,username=u,password=a\nregistry=ghcr.io,username=v,password=b",
    );
    let logins = parse_logins(&lines, |_| None).unwrap();
    assert_eq!(
        logins.origins,
        BTreeMap::from([
            ("quay.io".to_string(), CredentialOrigin::InputLine(2)),
            ("ghcr.io".to_string(), CredentialOrigin::InputLine(3)),
        ])
    );
    assert_eq!(secrets_in(&lines, |_| None).len(), 2);
}

#[test]
fn github_token_logs_in_to_ghcr_unless_given() {
    let mut creds = BTreeMap::new();
    let token = Secret::new("ghs_abc".into());
    add_github_token(&mut creds, Some(&token), Some("mona"));
    assert_eq!(
        creds["ghcr.io"],
        Credential::Basic {
            username: "mona".into(),
            password: "ghs_abc".into()
        }
    );
    let mut given = parse("registry=ghcr.io,username=bot,password=pat").unwrap();
    add_github_token(&mut given, Some(&token), Some("mona"));
    assert_eq!(
        given["ghcr.io"],
        Credential::Basic {
            username: "bot".into(),
            password: "pat".into()
        }
    );
}
