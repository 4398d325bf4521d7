//! Tag listing: from a real registry, across `Link` pages (distribution 2.8 does not paginate tag
//! lists, so the pages come from the loopback proxy), and for a repository that does not exist.

use registry_action::registry::{Client, Reference};

use super::harness::Registry;
use super::image::{image, push_image, repo};
use super::proxy::{Fault, Proxy, Rule};

#[tokio::test]
async fn tags_are_listed_from_a_real_registry() {
    let Some(registry) = Registry::plain() else {
        return;
    };
    let client = Client::new(registry.client_config()).expect("client");
    let app = repo(&registry.name(), "listed");
    let img = image("tags", "amd64");
    let tags = ["v1.0.0", "v1.0", "v1", "latest", "main-abc1234"];
    for tag in tags {
        push_image(&client, &app, &img, Reference::Tag(tag.into())).await;
    }
    let mut listed = client.list_tags(&app, Some(2)).await.expect("list");
    listed.sort();
    let mut expected: Vec<String> = tags.iter().map(|t| t.to_string()).collect();
    expected.sort();
    assert_eq!(listed, expected);
}

fn page(tags: &[&str], next: Option<&str>) -> Rule {
    let mut headers = vec![("Content-Type", "application/json".to_owned())];
    if let Some(next) = next {
        headers.push(("Link", format!("<{next}>; rel=\"next\"")));
    }
    let body = serde_json::json!({ "name": "paged", "tags": tags }).to_string();
    Rule {
        matching: "GET /v2/paged/tags/list",
        times: 1,
        fault: Fault::Respond {
            status: 200,
            headers,
            body,
        },
    }
}

#[tokio::test]
async fn tags_are_listed_across_link_pages() {
    let Some(registry) = Registry::plain() else {
        return;
    };
    let proxy = Proxy::start(
        registry.addr,
        vec![
            page(&["a", "b"], Some("/v2/paged/tags/list?last=b&n=2")),
            page(&["c", "d"], Some("/v2/paged/tags/list?last=d&n=2")),
            page(&["e"], None),
        ],
    );
    let client = Client::new(registry.client_config()).expect("client");
    let tags = client
        .list_tags(&repo(&proxy.addr.to_string(), "paged"), Some(2))
        .await
        .expect("list");
    assert_eq!(tags, ["a", "b", "c", "d", "e"]);
    let asked: Vec<String> = proxy
        .seen()
        .into_iter()
        .map(|(r, _)| r)
        .filter(|r| r.starts_with("GET /v2/paged/"))
        .collect();
    assert_eq!(
        asked,
        [
            "GET /v2/paged/tags/list?n=2",
            "GET /v2/paged/tags/list?last=b&n=2",
            "GET /v2/paged/tags/list?last=d&n=2"
        ]
    );
}

#[tokio::test]
async fn a_new_repository_has_no_tags() {
    let Some(registry) = Registry::plain() else {
        return;
    };
    let client = Client::new(registry.client_config()).expect("client");
    let tags = client
        .list_tags(&repo(&registry.name(), "never/pushed"), Some(10))
        .await
        .expect("list");
    assert!(tags.is_empty());
}
