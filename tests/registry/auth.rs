//! Authentication against real registries: Basic over TLS (wrong password refused), and Bearer
//! tokens from a token server where one token covers the push target and the mount source.

use registry_action::registry::{
    Action, Client, ClientConfig, Credential, CredentialOrigin, Error, Mount, Reference, Scopes,
};

use super::harness::{PASSWORD, Registry, USER};
use super::image::{image, push_image, repo};

/// `registry`'s client settings with the right user and a wrong password.
fn with_wrong_password(registry: &Registry) -> ClientConfig {
    let mut config = registry.client_config();
    config.credentials.insert(
        registry.name(),
        Credential::Basic {
            username: USER.into(),
            password: "wrong".into(),
        },
    );
    config
}

#[tokio::test]
async fn basic_auth_with_a_wrong_password_is_refused() {
    let Some(registry) = Registry::tls_basic() else {
        return;
    };
    let config = with_wrong_password(&registry);
    let client = Client::new(config).expect("client");
    let err = client
        .head_blob(
            &repo(&registry.name(), "x"),
            &image("w", "amd64").config.digest,
        )
        .await
        .unwrap_err();
    assert!(
        matches!(
            err,
            Error::Unauthorized {
                status: 401,
                refused: Some(CredentialOrigin::Configured),
                ..
            }
        ),
        "{err}"
    );
    let shown = err.to_string();
    assert!(shown.contains("rejected the credentials"), "{shown}");
    assert!(
        !shown.contains("wrong"),
        "errors never show credentials: {shown}"
    );
}

#[tokio::test]
async fn token_auth_one_token_covers_push_and_mount_source() {
    let Some(registry) = Registry::token() else {
        return;
    };
    let tokens = registry.token_server.as_ref().expect("token server");
    let client = Client::new(registry.client_config()).expect("client");
    let name = registry.name();
    let base = repo(&name, "org/base");
    let app = repo(&name, "org/app");
    let img = image("token", "amd64");

    push_image(&client, &base, &img, Reference::Tag("v1".into())).await;
    let pushes = tokens.requests();
    assert!(
        pushes.iter().all(|r| r.user.as_deref() == Some(USER)),
        "{pushes:?}"
    );
    assert!(
        pushes
            .iter()
            .any(|r| r.scopes == ["repository:org/base:pull,push"]),
        "push asks pull,push on the target: {pushes:?}"
    );

    // One token for the target's push and the source's pull, asked for in one request...
    let scopes =
        Scopes::repo("org/app", &[Action::Pull, Action::Push]).with("org/base", &[Action::Pull]);
    client.authorize(&name, &scopes).await.expect("authorize");
    let after_authorize = tokens.requests();
    assert_eq!(after_authorize.len(), pushes.len() + 1);
    assert_eq!(
        after_authorize.last().expect("one").scopes,
        ["repository:org/app:pull,push", "repository:org/base:pull"]
    );

    // ...then every mount and the manifest PUT go through without another token request.
    for blob in img.blobs() {
        let mount = client
            .mount_blob(&app, &base, &blob.digest)
            .await
            .expect("mount");
        assert!(matches!(mount, Mount::Mounted), "{mount:?}");
    }
    client
        .put_manifest_raw(
            &app.with(Reference::Tag("v1".into())),
            img.manifest.clone(),
            registry_action::oci::media::OCI_MANIFEST,
        )
        .await
        .expect("put manifest");
    assert_eq!(
        tokens.requests().len(),
        after_authorize.len(),
        "no further token request"
    );
    assert_eq!(registry.skopeo_raw("org/app:v1"), img.manifest.to_vec());
}

#[tokio::test]
async fn token_auth_refused_credentials_are_an_auth_error() {
    let Some(registry) = Registry::token() else {
        return;
    };
    let mut config = registry.client_config();
    config.credentials.insert(
        registry.name(),
        Credential::Basic {
            username: USER.into(),
            password: format!("{PASSWORD}-not"),
        },
    );
    let client = Client::new(config).expect("client");
    let err = client
        .head_blob(
            &repo(&registry.name(), "x"),
            &image("t", "amd64").config.digest,
        )
        .await
        .unwrap_err();
    assert!(
        matches!(
            err,
            Error::Unauthorized {
                refused: Some(CredentialOrigin::Configured),
                ..
            }
        ),
        "{err}"
    );
    let shown = err.to_string();
    assert!(
        shown.contains(&format!(
            "{} rejected the credentials from the client's configuration",
            registry.name()
        )),
        "{shown}"
    );
    assert!(!shown.contains(PASSWORD), "{shown}");
}

#[tokio::test]
async fn basic_auth_without_credentials_says_none_were_given() {
    let Some(registry) = Registry::tls_basic() else {
        return;
    };
    let mut config = registry.client_config();
    config.credentials.clear();
    let client = Client::new(config).expect("client");
    let err = client
        .head_blob(
            &repo(&registry.name(), "x"),
            &image("n", "amd64").config.digest,
        )
        .await
        .unwrap_err();
    assert!(
        matches!(err, Error::Unauthorized { refused: None, .. }),
        "{err}"
    );
    assert!(
        err.to_string()
            .contains("requires authentication, and no credentials were given for it"),
        "{err}"
    );
}

#[tokio::test]
async fn a_refused_login_names_the_origin_it_was_given_with() {
    let Some(registry) = Registry::tls_basic() else {
        return;
    };
    let mut config = with_wrong_password(&registry);
    config
        .credential_origins
        .insert(registry.name(), CredentialOrigin::InputLine(3));
    let client = Client::new(config).expect("client");
    let err = client
        .head_blob(
            &repo(&registry.name(), "x"),
            &image("o", "amd64").config.digest,
        )
        .await
        .unwrap_err();
    assert!(
        err.to_string()
            .contains("rejected the credentials from the `credentials` input, line 3"),
        "{err}"
    );
}
