//! The emulator's REST API face: routes, the primary budget, version listing with `Link`
//! pagination, version deletion (also in the real registry), and the documented response shapes.

use super::{Shared, State, Version, unix_now};
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
    let read_only = token == state.read_only_token;
    if token != state.token && !read_only {
        return message(401, "Bad credentials");
    }
    // The primary budget.
    let now = unix_now() as u64;
    if now >= state.rate_reset {
        state.rate_remaining = state.rate_limit;
        state.rate_reset = now + 3600;
    }
    let rate_headers = |s: &State| {
        vec![
            ("x-ratelimit-limit".to_string(), s.rate_limit.to_string()),
            (
                "x-ratelimit-remaining".to_string(),
                s.rate_remaining.to_string(),
            ),
            ("x-ratelimit-reset".to_string(), s.rate_reset.to_string()),
            (
                "x-ratelimit-used".to_string(),
                (s.rate_limit - s.rate_remaining).to_string(),
            ),
            ("x-ratelimit-resource".to_string(), "core".to_string()),
        ]
    };
    if state.rate_remaining == 0 {
        let (status, _, body) = message(403, "API rate limit exceeded for user ID 1.");
        return (status, rate_headers(&state), body);
    }
    state.rate_remaining -= 1;
    let (status, mut headers, body) = route(request, &mut state, shared, read_only);
    headers.extend(rate_headers(&state));
    (status, headers, body)
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
            let expected = if state.owner_type == "Organization" {
                "orgs"
            } else {
                "users"
            };
            if *kind != expected {
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
        let (status, _, body) = message(
            403,
            "You have exceeded a secondary rate limit. Please wait a few minutes before you try again.",
        );
        return (status, vec![("retry-after".into(), "1".into())], body);
    }
    let now = Instant::now();
    state
        .deletes
        .retain(|t| now.duration_since(*t) < Duration::from_secs(60));
    state.deletes.push(now);
    if state.deletes.len() > 180 {
        state.pace_violations += 1;
    }
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
