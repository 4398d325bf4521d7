//! The emulator against GitHub's documented behaviour, by raw requests: the registry's token
//! flow, the primary budget per token kind (`/rate_limit` free), the package route, and the
//! secondary limit on deletions.

use super::{DELETIONS_PER_MINUTE, GithubEmulator, PERSONAL_TOKEN, READ_ONLY_TOKEN, TOKEN};
use crate::emulator::http::{Request, forward_raw, response_head};
use crate::registry::harness::Registry;
use base64::Engine as _;

struct Answer {
    status: u16,
    headers: Vec<(String, String)>,
    body: String,
}

impl Answer {
    fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(n, _)| n == name)
            .map(|(_, v)| v.as_str())
    }

    fn json(&self) -> serde_json::Value {
        serde_json::from_str(&self.body).unwrap_or_else(|e| panic!("{e}: {}", self.body))
    }
}

fn send(emulator: &GithubEmulator, method: &str, target: &str, auth: Option<String>) -> Answer {
    // distribution serves an OCI manifest only to a client that accepts one.
    let mut headers = vec![
        ("Host".to_owned(), emulator.addr.to_string()),
        (
            "Accept".to_owned(),
            "application/vnd.oci.image.manifest.v1+json".to_owned(),
        ),
    ];
    headers.extend(auth.map(|a| ("Authorization".to_owned(), a)));
    let request = Request {
        method: method.into(),
        target: target.into(),
        headers,
        body: Vec::new(),
        framed: false,
    };
    let raw = forward_raw(emulator.addr, &request).expect("request the emulator");
    let (status, headers) = response_head(&raw);
    let at = raw
        .windows(4)
        .position(|w| w == b"\r\n\r\n")
        .map_or(raw.len(), |p| p + 4);
    Answer {
        status,
        headers,
        body: String::from_utf8_lossy(&raw[at..]).into_owned(),
    }
}

fn basic(user: &str, password: &str) -> Option<String> {
    let raw = format!("{user}:{password}");
    Some(format!(
        "Basic {}",
        base64::engine::general_purpose::STANDARD.encode(raw)
    ))
}

fn bearer(token: &str) -> Option<String> {
    Some(format!("Bearer {token}"))
}

fn token_for(emulator: &GithubEmulator, password: &str, scope: &str) -> String {
    let answer = send(
        emulator,
        "GET",
        &format!("/token?service=ghcr.io&scope={scope}"),
        basic("anyone", password),
    );
    assert_eq!(answer.status, 200, "{}", answer.body);
    answer.json()["token"].as_str().expect("a token").to_owned()
}

#[test]
fn the_registry_face_takes_a_github_token_through_ghcrs_token_flow() {
    let Some(registry) = Registry::plain() else {
        return;
    };
    let emulator = GithubEmulator::start(registry.addr, "octo-org", "Organization");
    emulator.seed("octo-org/app", 1, |_| vec!["latest".into()]);

    let ping = send(&emulator, "GET", "/v2/", None);
    assert_eq!(ping.status, 401);
    let challenge = ping.header("www-authenticate").expect("a challenge");
    assert!(
        challenge.starts_with(&format!(
            "Bearer realm=\"http://{}/token\",service=\"ghcr.io\",scope=\"repository:",
            emulator.addr
        )),
        "{challenge}"
    );
    let manifest = "/v2/octo-org/app/manifests/latest";
    let refused = send(&emulator, "GET", manifest, None);
    assert_eq!(refused.status, 401);
    assert!(
        refused
            .header("www-authenticate")
            .is_some_and(|c| c.contains("scope=\"repository:octo-org/app:pull\"")),
        "{:?}",
        refused.headers
    );
    let wrong = send(
        &emulator,
        "GET",
        "/token?scope=repository:octo-org/app:pull",
        basic("anyone", "ghs_000000000000000000000000000000000000"),
    );
    assert_eq!(wrong.status, 401, "{}", wrong.body);

    // Any username, the token as password; the grant covers what was asked, nothing else.
    let pull = token_for(&emulator, TOKEN, "repository:octo-org/app:pull");
    assert_eq!(send(&emulator, "GET", "/v2/", bearer(&pull)).status, 200);
    assert_eq!(send(&emulator, "GET", manifest, bearer(&pull)).status, 200);
    let upload = send(
        &emulator,
        "POST",
        "/v2/octo-org/app/blobs/uploads/",
        bearer(&pull),
    );
    assert_eq!(upload.status, 401);
    assert!(
        upload
            .header("www-authenticate")
            .is_some_and(|c| c.contains("error=\"insufficient_scope\"")),
        "{:?}",
        upload.headers
    );
    let push = token_for(&emulator, TOKEN, "repository:octo-org/app:pull,push");
    let upload = send(
        &emulator,
        "POST",
        "/v2/octo-org/app/blobs/uploads/",
        bearer(&push),
    );
    assert_eq!(upload.status, 202, "{}", upload.body);
    // A read-only token pulls but may not push; an anonymous token meets a private package.
    let read_only = token_for(
        &emulator,
        READ_ONLY_TOKEN,
        "repository:octo-org/app:pull,push",
    );
    assert_eq!(
        send(&emulator, "GET", manifest, bearer(&read_only)).status,
        200
    );
    let denied = send(
        &emulator,
        "POST",
        "/v2/octo-org/app/blobs/uploads/",
        bearer(&read_only),
    );
    assert_eq!(denied.status, 403);
    assert!(denied.body.contains("DENIED"), "{}", denied.body);
    let anonymous = send(
        &emulator,
        "GET",
        "/token?scope=repository:octo-org/app:pull",
        None,
    );
    assert_eq!(anonymous.status, 200);
    let anonymous = anonymous.json()["token"].as_str().unwrap().to_owned();
    assert_eq!(
        send(&emulator, "GET", manifest, bearer(&anonymous)).status,
        403
    );
    // GHCR deletes through the API only.
    let delete = send(&emulator, "DELETE", manifest, bearer(&push));
    assert_eq!(delete.status, 401, "push does not grant delete");
}

#[test]
fn budgets_follow_the_token_kind_and_rate_limit_is_not_charged() {
    let Some(registry) = Registry::plain() else {
        return;
    };
    let emulator = GithubEmulator::start(registry.addr, "octo-org", "Organization");
    for token in [TOKEN, READ_ONLY_TOKEN, PERSONAL_TOKEN] {
        assert_eq!(token.len(), 40, "{token}");
        assert!(token[4..].chars().all(|c| c.is_ascii_alphanumeric()));
    }
    let auth = |t: &str| Some(format!("Bearer {t}"));
    for (token, limit) in [(TOKEN, 1000), (PERSONAL_TOKEN, 5000)] {
        for _ in 0..2 {
            let rate = send(&emulator, "GET", "/rate_limit", auth(token));
            assert_eq!(rate.status, 200);
            let json = rate.json();
            assert_eq!(json["resources"]["core"]["limit"], limit);
            assert_eq!(json["resources"]["core"]["remaining"], limit);
            assert_eq!(json["rate"], json["resources"]["core"]);
            assert_eq!(
                rate.header("x-ratelimit-remaining"),
                Some(limit.to_string().as_str())
            );
        }
        let profile = send(&emulator, "GET", "/users/octo-org", auth(token));
        assert_eq!(profile.status, 200);
        assert_eq!(
            profile.header("x-ratelimit-limit"),
            Some(limit.to_string().as_str())
        );
        assert_eq!(
            profile.header("x-ratelimit-remaining"),
            Some((limit - 1).to_string().as_str())
        );
        assert_eq!(profile.header("x-ratelimit-used"), Some("1"));
        assert_eq!(profile.header("x-ratelimit-resource"), Some("core"));
    }
    // Workflow tokens of one repository share its budget.
    let read_only = send(&emulator, "GET", "/users/octo-org", auth(READ_ONLY_TOKEN));
    assert_eq!(read_only.header("x-ratelimit-remaining"), Some("998"));
    let bad = send(&emulator, "GET", "/users/octo-org", auth("ghs_nope"));
    assert_eq!(bad.status, 401);
    assert_eq!(bad.header("x-ratelimit-limit"), Some("60"));

    emulator.state().rate.remaining = 0;
    let spent = send(&emulator, "GET", "/users/octo-org", auth(TOKEN));
    assert_eq!(spent.status, 403);
    assert_eq!(spent.header("x-ratelimit-remaining"), Some("0"));
    assert!(
        spent.body.contains("API rate limit exceeded"),
        "{}",
        spent.body
    );
    assert_eq!(
        send(&emulator, "GET", "/rate_limit", auth(TOKEN)).status,
        200,
        "/rate_limit answers when the budget is spent"
    );
}

#[test]
fn the_package_route_answers_with_githubs_shape() {
    let Some(registry) = Registry::plain() else {
        return;
    };
    let emulator = GithubEmulator::start(registry.addr, "octo-org", "Organization");
    emulator.seed("octo-org/app/api", 3, |_| Vec::new());
    let auth = Some(format!("Bearer {TOKEN}"));
    let package = send(
        &emulator,
        "GET",
        "/orgs/octo-org/packages/container/app%2Fapi",
        auth.clone(),
    );
    assert_eq!(package.status, 200, "{}", package.body);
    let json = package.json();
    assert_eq!(json["name"], "app/api");
    assert_eq!(json["package_type"], "container");
    assert_eq!(json["version_count"], 3);
    assert_eq!(json["owner"]["login"], "octo-org");
    for field in [
        "id",
        "visibility",
        "url",
        "html_url",
        "created_at",
        "updated_at",
    ] {
        assert!(!json[field].is_null(), "{field} missing: {json}");
    }
    let wrong_kind = send(
        &emulator,
        "GET",
        "/users/octo-org/packages/container/app%2Fapi",
        auth.clone(),
    );
    assert_eq!(wrong_kind.status, 404);
    let missing = send(
        &emulator,
        "GET",
        "/orgs/octo-org/packages/container/nope",
        auth,
    );
    assert_eq!(missing.status, 404);
}

#[test]
fn more_than_180_deletions_in_a_minute_are_refused_with_retry_after() {
    let Some(registry) = Registry::plain() else {
        return;
    };
    let emulator = GithubEmulator::start(registry.addr, "octo-org", "User");
    emulator.seed("octo-org/app", DELETIONS_PER_MINUTE + 2, |_| Vec::new());
    let ids: Vec<u64> = emulator.state().versions.iter().map(|v| v.id).collect();
    let auth = Some(format!("Bearer {TOKEN}"));
    let mut statuses = Vec::new();
    let mut refusal = None;
    for id in ids {
        let answer = send(
            &emulator,
            "DELETE",
            &format!("/users/octo-org/packages/container/app/versions/{id}"),
            auth.clone(),
        );
        statuses.push(answer.status);
        if answer.status == 403 {
            refusal.get_or_insert(answer);
        }
    }
    assert!(statuses[..DELETIONS_PER_MINUTE].iter().all(|s| *s == 204));
    assert_eq!(statuses[DELETIONS_PER_MINUTE..], [403, 403]);
    let refusal = refusal.expect("a refusal");
    let retry_after: u64 = refusal
        .header("retry-after")
        .and_then(|v| v.parse().ok())
        .expect("retry-after");
    assert!((1..=60).contains(&retry_after), "{retry_after}");
    assert!(
        refusal.json()["message"]
            .as_str()
            .is_some_and(|m| m.starts_with("You have exceeded a secondary rate limit")),
        "{}",
        refusal.body
    );
    let state = emulator.state();
    assert_eq!(state.secondary_refusals, 2);
    assert_eq!(state.max_deletions_in_a_minute(), DELETIONS_PER_MINUTE);
    assert_eq!(
        state.versions.len(),
        2,
        "the refused deletions deleted nothing"
    );
}
