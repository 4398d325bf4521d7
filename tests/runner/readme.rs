//! The README's workflow examples, read from the README itself: every fenced `yaml` block that
//! holds a step `uses: <org>/registry-action@<commit-sha>`, with the heading it sits under. The
//! harness runs these steps, so a documented workflow cannot drift from one that works.

use yaml_rust2::{Yaml, YamlLoader};

use super::job::Step;

/// How the README names this action in its examples.
pub const USES: &str = "<org>/registry-action@<commit-sha>";

pub struct Example {
    /// The `##`/`###` heading above the block.
    pub heading: String,
    pub step: Step,
}

fn readme() -> String {
    let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("README.md");
    std::fs::read_to_string(path).expect("README.md")
}

/// Every example step in the README, in order.
pub fn examples() -> Vec<Example> {
    let text = readme();
    let mut heading = String::new();
    let mut block: Option<Vec<&str>> = None;
    let mut out = Vec::new();
    for line in text.lines() {
        match &mut block {
            None if line.starts_with('#') => {
                heading = line.trim_start_matches('#').trim().to_owned();
            }
            None if line.trim() == "```yaml" => block = Some(Vec::new()),
            Some(lines) if line.trim() == "```" => {
                let lines = std::mem::take(lines);
                block = None;
                if lines.iter().any(|l| l.contains(USES)) {
                    for step in steps_in(&dedent(&lines)) {
                        out.push(Example {
                            heading: heading.clone(),
                            step,
                        });
                    }
                }
            }
            Some(lines) => lines.push(line),
            None => {}
        }
    }
    out
}

/// The example under `heading` (exactly one).
pub fn example(heading: &str) -> Step {
    let mut found: Vec<Step> = examples()
        .into_iter()
        .filter(|e| e.heading == heading)
        .map(|e| e.step)
        .collect();
    assert_eq!(
        found.len(),
        1,
        "README section {heading:?} should hold one step"
    );
    found.remove(0)
}

fn dedent(lines: &[&str]) -> String {
    let indent = lines
        .iter()
        .filter(|l| !l.trim().is_empty())
        .map(|l| l.len() - l.trim_start().len())
        .min()
        .unwrap_or(0);
    lines
        .iter()
        .map(|l| format!("{}\n", l.get(indent..).unwrap_or("")))
        .collect()
}

fn steps_in(yaml: &str) -> Vec<Step> {
    let docs = YamlLoader::load_from_str(yaml)
        .unwrap_or_else(|e| panic!("a README example is not valid YAML ({e}):\n{yaml}"));
    let mut out = Vec::new();
    for doc in &docs {
        collect(doc, &mut out);
    }
    out
}

fn collect(node: &Yaml, out: &mut Vec<Step>) {
    match node {
        Yaml::Hash(map) => {
            if node["uses"].as_str() == Some(USES) {
                let pairs = |key: &str| -> Vec<(String, String)> {
                    node[key]
                        .as_hash()
                        .into_iter()
                        .flatten()
                        .map(|(k, v)| {
                            let value = match v {
                                Yaml::String(s) => s.clone(),
                                Yaml::Boolean(b) => b.to_string(),
                                Yaml::Integer(i) => i.to_string(),
                                other => panic!("{key} value {other:?} in a README example"),
                            };
                            (k.as_str().expect("key").to_owned(), value)
                        })
                        .collect()
                };
                out.push(Step {
                    with: pairs("with"),
                    env: pairs("env"),
                });
                return;
            }
            for value in map.values() {
                collect(value, out);
            }
        }
        Yaml::Array(items) => items.iter().for_each(|i| collect(i, out)),
        _ => {}
    }
}

/// The rows of the README's tag table: (fixture, tags as written).
pub fn tag_table() -> Vec<(String, String)> {
    readme()
        .lines()
        .filter(|l| l.starts_with("| ") && l.matches('|').count() == 4)
        .filter_map(|l| {
            let cells: Vec<&str> = l.split('|').map(str::trim).collect();
            let fixture = cells[2].strip_prefix('`')?.strip_suffix('`')?;
            crate::support::fixture(fixture)
                .is_dir()
                .then(|| (fixture.to_owned(), cells[3].to_owned()))
        })
        .collect()
}
