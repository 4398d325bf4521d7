//! action.yml as the runner reads it: the declared inputs and their defaults, exactly as YAML
//! gives them (`'\n'` in single quotes is a backslash and an `n`).

use yaml_rust2::YamlLoader;

pub struct Input {
    pub name: String,
    /// `None`: no default (the runner passes the input empty).
    pub default: Option<String>,
}

pub fn inputs() -> Vec<Input> {
    let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("action.yml");
    let text = std::fs::read_to_string(path).expect("action.yml");
    let docs = YamlLoader::load_from_str(&text).expect("action.yml is YAML");
    docs[0]["inputs"]
        .as_hash()
        .expect("action.yml inputs")
        .iter()
        .map(|(name, spec)| Input {
            name: name.as_str().expect("input name").to_owned(),
            default: spec["default"].as_str().map(str::to_owned),
        })
        .collect()
}
