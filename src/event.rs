//! The event payload (`GITHUB_EVENT_PATH`): only the fields the action reads, all optional, so a
//! payload of any event type (push, pull_request, release, schedule, ...) deserializes.

use serde::Deserialize;

#[derive(Debug, Clone, Default, Deserialize, PartialEq, Eq)]
pub struct Event {
    /// What happened (`closed`, `opened`, `published`, ...), for events that have kinds.
    pub action: Option<String>,
    pub repository: Option<Repository>,
    /// `push` of a tag: the branch the tag's commit was on (undocumented, kept for `{{base_ref}}`).
    pub base_ref: Option<String>,
    /// `pull_request(_target)`: the pull request number.
    pub number: Option<u64>,
    pub pull_request: Option<PullRequest>,
    pub head_commit: Option<Commit>,
    #[serde(default)]
    pub commits: Option<Vec<Commit>>,
    pub release: Option<Release>,
}

#[derive(Debug, Clone, Default, Deserialize, PartialEq, Eq)]
pub struct Repository {
    pub name: Option<String>,
    pub full_name: Option<String>,
    pub description: Option<String>,
    pub html_url: Option<String>,
    pub default_branch: Option<String>,
    pub license: Option<License>,
}

#[derive(Debug, Clone, Default, Deserialize, PartialEq, Eq)]
pub struct License {
    pub spdx_id: Option<String>,
}

#[derive(Debug, Clone, Default, Deserialize, PartialEq, Eq)]
pub struct PullRequest {
    pub number: Option<u64>,
    pub title: Option<String>,
    pub base: Option<GitRef>,
    pub head: Option<GitRef>,
}

#[derive(Debug, Clone, Default, Deserialize, PartialEq, Eq)]
pub struct GitRef {
    #[serde(rename = "ref")]
    pub git_ref: Option<String>,
    pub sha: Option<String>,
}

#[derive(Debug, Clone, Default, Deserialize, PartialEq, Eq)]
pub struct Commit {
    pub id: Option<String>,
    pub timestamp: Option<String>,
}

#[derive(Debug, Clone, Default, Deserialize, PartialEq, Eq)]
pub struct Release {
    pub tag_name: Option<String>,
    pub prerelease: Option<bool>,
}

impl Event {
    pub fn parse(json: &str) -> Result<Self, serde_json::Error> {
        serde_json::from_str(json)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn any_shape_with_nulls_and_extra_fields_parses() {
        let e = Event::parse(r#"{"schedule":"0 0 * * *","repository":{"name":"app","license":null,"owner":{}},"commits":null}"#).unwrap();
        assert_eq!(e.repository.unwrap().name.as_deref(), Some("app"));
        assert_eq!(Event::parse("{}").unwrap(), Event::default());
    }

    #[test]
    fn pull_request_fields() {
        let e = Event::parse(r#"{"number":7,"pull_request":{"title":"x","base":{"ref":"main"},"head":{"sha":"abc"}}}"#).unwrap();
        let pr = e.pull_request.unwrap();
        assert_eq!(pr.base.unwrap().git_ref.as_deref(), Some("main"));
        assert_eq!(pr.head.unwrap().sha.as_deref(), Some("abc"));
    }
}
