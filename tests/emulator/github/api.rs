//! The emulator's REST API face: routes, the primary budget, version listing with `Link`
//! pagination, version deletion (also in the real registry), and the documented response shapes.

use super::{Budget, DELETIONS_PER_MINUTE, Login, Shared, State, Version, unix_now};
use crate::emulator::http::{Request, forward_raw, response_head};
use std::collections::BTreeMap;
use std::time::{Duration, Instant};

type ApiResponse = (u16, Vec<(String, String)>, String);

fn message(status: u16, text: &str) -> ApiResponse {
    (
        status,
        Vec::new(),
        serde_json::json!({
            "message": text,
            "documentation_url": "https://docs.github.com/rest",
            "status": status.to_string(),
        })
        .to_string(),
    )
}

fn percent_decode(s: &str) -> String {
    let bytes = s.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == b'%'
            && i + 2 < bytes.len()
            && let Ok(b) = u8::from_str_radix(&s[i + 1..i + 3], 16)
        {
            out.push(b);
            i += 3;
        } else {
            out.push(bytes[i]);
            i += 1;
        }
    }
    String::from_utf8_lossy(&out).into_owned()
}

fn query(target: &str) -> BTreeMap<String, String> {
    target
        .split_once('?')
        .map(|(_, q)| q)
        .unwrap_or_default()
        .split('&')
        .filter_map(|p| p.split_once('='))
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect()
}

fn rate_headers(budget: &Budget) -> Vec<(String, String)> {
    vec![
        ("x-ratelimit-limit".to_string(), budget.limit.to_string()),
        (
            "x-ratelimit-remaining".to_string(),
            budget.remaining.to_string(),
        ),
        ("x-ratelimit-reset".to_string(), budget.reset.to_string()),
        ("x-ratelimit-used".to_string(), budget.used().to_string()),
        ("x-ratelimit-resource".to_string(), "core".to_string()),
    ]
}

/// The budget a login spends: one per token kind (workflow tokens share their repository's).
fn budget_of(state: &mut State, login: Option<Login>) -> &mut Budget {
    match login {
        None => &mut state.anonymous_rate,
        Some(Login::Personal) => &mut state.personal_rate,
        Some(Login::Workflow | Login::ReadOnly) => &mut state.rate,
    }
}

pub(super) fn api_face(request: &Request, shared: &Shared) -> ApiResponse {
    let mut state = shared.state.lock().expect("lock");
    state
        .requests
        .push(format!("{} {}", request.method, request.target));
    let token = request
        .header("authorization")
        .and_then(|a| a.split_whitespace().nth(1))
        .unwrap_or_default()
        .to_string();
    let login = state.login(&token);
    if login.is_none() {
        let budget = budget_of(&mut state, None);
        budget.refresh();
        let headers = rate_headers(budget);
        let (status, _, body) = if token.is_empty() {
            message(401, "Requires authentication")
        } else {
            message(401, "Bad credentials")
        };
        return (status, headers, body);
    }
    let budget = budget_of(&mut state, login);
    budget.refresh();
    // `GET /rate_limit` is not charged.
    if request.method == "GET" && request.path() == "/rate_limit" {
        let budget = budget.clone();
        return (200, rate_headers(&budget), rate_limit(&budget));
    }
    if budget.remaining == 0 {
        let who = match login {
            Some(Login::Personal) => "user ID 1",
            _ => "installation ID 1",
        };
        let (status, _, body) = message(403, &format!("API rate limit exceeded for {who}."));
        return (status, rate_headers(budget), body);
    }
    budget.remaining -= 1;
    let may_delete = login.is_some_and(Login::may_write);
    let (status, mut headers, body) = route(request, &mut state, shared, !may_delete);
    headers.extend(rate_headers(budget_of(&mut state, login)));
    (status, headers, body)
}

/// `GET /rate_limit`, as GitHub's docs show it (`rate` is the deprecated copy of `core`).
fn rate_limit(core: &Budget) -> String {
    let resource = |limit: u64, reset: u64| serde_json::json!({"limit": limit, "used": 0, "remaining": limit, "reset": reset});
    let core = serde_json::json!({
        "limit": core.limit, "used": core.used(), "remaining": core.remaining, "reset": core.reset,
    });
    let reset = unix_now() as u64 + 60;
    serde_json::json!({
        "resources": {
            "core": core,
            "search": resource(30, reset),
            "graphql": resource(5000, reset + 3540),
            "integration_manifest": resource(5000, reset + 3540),
            "code_search": resource(10, reset),
        },
        "rate": core,
    })
    .to_string()
}

fn route(request: &Request, state: &mut State, shared: &Shared, read_only: bool) -> ApiResponse {
    let path = request
        .target
        .split('?')
        .next()
        .unwrap_or_default()
        .to_string();
    let segments: Vec<String> = path
        .trim_start_matches('/')
        .split('/')
        .map(percent_decode)
        .collect();
    let segments: Vec<&str> = segments.iter().map(String::as_str).collect();
    match (request.method.as_str(), segments.as_slice()) {
        ("GET", ["users", login]) if *login == state.owner => (200, Vec::new(), profile(state)),
        ("GET", ["users", _]) => message(404, "Not Found"),
        ("GET", ["repos", owner, _, "pulls", n]) if *owner == state.owner => {
            match n
                .parse::<u64>()
                .ok()
                .and_then(|n| Some((n, *state.pulls.get(&n)?)))
            {
                Some((n, pr_state)) => (200, Vec::new(), pull_request(state, n, pr_state)),
                None => message(404, "Not Found"),
            }
        }
        ("GET", [kind, owner, "packages", "container", package]) if *owner == state.owner => {
            if *kind != owner_route(state) {
                return message(404, "Not Found");
            }
            package_of(state, kind, owner, package)
        }
        (
            method,
            [
                kind,
                owner,
                "packages",
                "container",
                package,
                "versions",
                rest @ ..,
            ],
        ) if *owner == state.owner => {
            if *kind != owner_route(state) {
                return message(404, "Not Found");
            }
            let full = format!("{owner}/{package}");
            match (method, rest) {
                ("GET", []) => list_versions(request, state, shared, kind, &full),
                ("DELETE", [id]) => delete_version(state, shared, &full, id, read_only),
                _ => message(404, "Not Found"),
            }
        }
        _ => message(404, "Not Found"),
    }
}

/// `orgs` or `users`: the routes of the owner's packages.
fn owner_route(state: &State) -> &'static str {
    if state.owner_type == "Organization" {
        "orgs"
    } else {
        "users"
    }
}

/// `GET /{orgs|users}/{owner}/packages/container/{name}`, as GitHub's docs show it.
fn package_of(state: &State, kind: &str, owner: &str, name: &str) -> ApiResponse {
    let full = format!("{owner}/{name}");
    let versions: Vec<&Version> = state
        .versions
        .iter()
        .filter(|v| v.package == full)
        .collect();
    let (Some(created), Some(updated)) = (
        versions.iter().map(|v| v.created_at).min(),
        versions.iter().map(|v| v.created_at).max(),
    ) else {
        return message(404, "Package not found.");
    };
    let encoded = name.replace('/', "%2F");
    let login = &state.owner;
    let body = serde_json::json!({
        "id": 197 + full.len() as u64,
        "name": name,
        "package_type": "container",
        "owner": {
            "login": login, "id": 1, "node_id": "MDQ6VXNlcjE=",
            "avatar_url": "https://github.com/images/error/octocat_happy.gif", "gravatar_id": "",
            "url": format!("https://api.github.com/users/{login}"),
            "html_url": format!("https://github.com/{login}"),
            "type": state.owner_type, "site_admin": false,
        },
        "version_count": versions.len(),
        "visibility": "private",
        "url": format!("https://api.github.com/{kind}/{owner}/packages/container/{encoded}"),
        "created_at": iso(created),
        "updated_at": iso(updated),
        "html_url": format!("https://github.com/{kind}/{owner}/packages/container/package/{encoded}"),
    });
    (200, Vec::new(), body.to_string())
}

fn iso(at: i64) -> String {
    jiff::Timestamp::from_second(at)
        .map(|t| t.strftime("%Y-%m-%dT%H:%M:%SZ").to_string())
        .unwrap_or_default()
}

fn list_versions(
    request: &Request,
    state: &State,
    shared: &Shared,
    kind: &str,
    package: &str,
) -> ApiResponse {
    let q = query(&request.target);
    let per_page = q
        .get("per_page")
        .and_then(|p| p.parse::<usize>().ok())
        .unwrap_or(30)
        .clamp(1, 100)
        .min(state.page_cap);
    let page = q
        .get("page")
        .and_then(|p| p.parse::<usize>().ok())
        .unwrap_or(1)
        .max(1);
    let mut all: Vec<&Version> = state
        .versions
        .iter()
        .filter(|v| v.package == package)
        .collect();
    if all.is_empty() {
        return message(404, "Package not found.");
    }
    all.sort_by_key(|v| std::cmp::Reverse(v.id));
    let last = all.len().div_ceil(per_page).max(1);
    let (owner, name) = package.split_once('/').unwrap_or(("", package));
    let encoded = name.replace('/', "%2F");
    let base = format!(
        "http://{}/{kind}/{owner}/packages/container/{encoded}/versions",
        shared.addr
    );
    let items: Vec<serde_json::Value> = all
        .iter()
        .skip((page - 1) * per_page)
        .take(per_page)
        .map(|v| {
            serde_json::json!({
                "id": v.id,
                "name": v.digest,
                "url": format!("https://api.github.com/{kind}/{owner}/packages/container/{encoded}/versions/{}", v.id),
                "package_html_url": format!("https://github.com/{kind}/{owner}/packages/container/package/{encoded}"),
                "created_at": iso(v.created_at),
                "updated_at": iso(v.created_at),
                "html_url": format!("https://github.com/{kind}/{owner}/packages/container/{encoded}/{}", v.id),
                "metadata": {"package_type": "container", "container": {"tags": v.tags}},
            })
        })
        .collect();
    let link = |p: usize, rel: &str| {
        format!("<{base}?per_page={per_page}&state=active&page={p}>; rel=\"{rel}\"")
    };
    let mut links = Vec::new();
    if page < last {
        links.push(link(page + 1, "next"));
        links.push(link(last, "last"));
    }
    if page > 1 {
        links.push(link(1, "first"));
        links.push(link(page - 1, "prev"));
    }
    let headers = if links.is_empty() {
        Vec::new()
    } else {
        vec![("Link".to_string(), links.join(", "))]
    };
    (200, headers, serde_json::Value::Array(items).to_string())
}

fn delete_version(
    state: &mut State,
    shared: &Shared,
    package: &str,
    id: &str,
    read_only: bool,
) -> ApiResponse {
    if read_only {
        return message(403, "Resource not accessible by integration");
    }
    if state.inject_secondary > 0 {
        state.inject_secondary -= 1;
        let (status, _, body) = secondary_limit();
        return (status, vec![("retry-after".into(), "1".into())], body);
    }
    // The secondary limit: 900 points a minute, 5 a DELETE.
    let now = Instant::now();
    let window = Duration::from_secs(60);
    let recent: Vec<Instant> = state
        .deletions
        .iter()
        .rev()
        .take_while(|t| now.duration_since(**t) < window)
        .copied()
        .collect();
    if recent.len() >= DELETIONS_PER_MINUTE && state.enforce_secondary {
        state.secondary_refusals += 1;
        let oldest = recent.last().copied().unwrap_or(now);
        let wait = (oldest + window).saturating_duration_since(now);
        let retry_after = wait.as_secs() + u64::from(wait.subsec_nanos() > 0);
        let (status, _, body) = secondary_limit();
        return (
            status,
            vec![("retry-after".into(), retry_after.max(1).to_string())],
            body,
        );
    }
    state.deletions.push(now);
    let Some(index) = state
        .versions
        .iter()
        .position(|v| v.package == package && v.id.to_string() == id)
    else {
        return message(404, "Not Found");
    };
    let digest = state.versions[index].digest.clone();
    let target = format!("/v2/{package}/manifests/{digest}");
    let delete = Request {
        method: "DELETE".into(),
        target,
        headers: vec![("Host".into(), shared.upstream.to_string())],
        body: Vec::new(),
        framed: false,
    };
    match forward_raw(shared.upstream, &delete) {
        Ok(raw) if matches!(response_head(&raw).0, 202 | 404) => {
            state.versions.remove(index);
            if state.deleted_elsewhere > 0 {
                // Someone else's cleanup got there first.
                state.deleted_elsewhere -= 1;
                return message(404, "Not Found");
            }
            (204, Vec::new(), String::new())
        }
        Ok(raw) => message(
            500,
            &format!("registry refused the delete: {}", response_head(&raw).0),
        ),
        Err(e) => message(500, &format!("registry unreachable: {e}")),
    }
}

/// GitHub's answer to a request over a secondary rate limit.
fn secondary_limit() -> ApiResponse {
    (
        403,
        Vec::new(),
        serde_json::json!({
            "message": "You have exceeded a secondary rate limit. Please wait a few minutes before you try again. If you reach out to GitHub Support for help, please include the request ID 0000:0000:0000000:0000000:00000000.",
            "documentation_url": "https://docs.github.com/rest/overview/rate-limits-for-the-rest-api#about-secondary-rate-limits",
            "status": "403",
        })
        .to_string(),
    )
}

/// `GET /users/{owner}`, as GitHub's docs show it.
fn profile(state: &State) -> String {
    let login = &state.owner;
    let u = format!("https://api.github.com/users/{login}");
    serde_json::json!({
        "login": login, "id": 1, "node_id": "MDQ6VXNlcjE=",
        "avatar_url": "https://github.com/images/error/octocat_happy.gif", "gravatar_id": "",
        "url": u, "html_url": format!("https://github.com/{login}"),
        "followers_url": format!("{u}/followers"), "following_url": format!("{u}/following{{/other_user}}"),
        "gists_url": format!("{u}/gists{{/gist_id}}"), "starred_url": format!("{u}/starred{{/owner}}{{/repo}}"),
        "subscriptions_url": format!("{u}/subscriptions"), "organizations_url": format!("{u}/orgs"),
        "repos_url": format!("{u}/repos"), "events_url": format!("{u}/events{{/privacy}}"),
        "received_events_url": format!("{u}/received_events"), "type": state.owner_type,
        "site_admin": false, "name": "monalisa octocat", "company": "GitHub", "blog": "https://github.com/blog",
        "location": "San Francisco", "email": null, "hireable": false, "bio": null, "twitter_username": null,
        "public_repos": 2, "public_gists": 1, "followers": 20, "following": 0,
        "created_at": "2008-01-14T04:33:35Z", "updated_at": "2008-01-14T04:33:35Z",
    })
    .to_string()
}

/// `GET /repos/{owner}/{repo}/pulls/{n}`, the fields GitHub's docs show (trimmed).
fn pull_request(state: &State, number: u64, pr_state: &str) -> String {
    let repo = format!("https://api.github.com/repos/{}/app", state.owner);
    let closed_at = (pr_state == "closed").then_some("2011-01-26T19:01:12Z");
    let branch = |name: &str| {
        serde_json::json!({
            "label": format!("{}:{name}", state.owner), "ref": name,
            "sha": "6dcb09b5b57875f334f61aebed695e2e4193db5e",
        })
    };
    serde_json::json!({
        "url": format!("{repo}/pulls/{number}"), "id": 1000 + number, "node_id": "MDExOlB1bGxSZXF1ZXN0MQ==",
        "html_url": format!("https://github.com/{}/app/pull/{number}", state.owner),
        "number": number, "state": pr_state, "locked": false, "title": "Amazing new feature",
        "body": "Please pull these awesome changes in!", "created_at": "2011-01-26T19:01:12Z",
        "updated_at": "2011-01-26T19:01:12Z", "closed_at": closed_at, "merged_at": null,
        "head": branch("new-topic"), "base": branch("main"), "draft": false,
    })
    .to_string()
}
