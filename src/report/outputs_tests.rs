use super::*;
use crate::report::fixtures::{hostile_values, sample_meta};
use proptest::prelude::*;

/// An independent reader of the file-command format, following the runner's rules: lines end
/// at `\n`; `NAME=VALUE`, or `NAME<<DELIM` then the exact text up to the first line equal to
/// `DELIM`. Errors where the runner would fail the step.
fn parse_file_commands(text: &str) -> Result<Vec<(String, String)>, String> {
    let mut out = Vec::new();
    let mut rest = text;
    while !rest.is_empty() {
        let (line, after) = rest.split_once('\n').unwrap_or((rest, ""));
        rest = after;
        if line.is_empty() {
            continue;
        }
        let eq = line.find('=');
        let heredoc = line.find("<<");
        match (eq, heredoc) {
            (Some(e), h) if h.is_none_or(|h| e < h) => {
                if e == 0 {
                    return Err(format!("empty name: {line:?}"));
                }
                out.push((line[..e].to_owned(), line[e + 1..].to_owned()));
            }
            (_, Some(h)) => {
                let (name, delim) = (&line[..h], &line[h + 2..]);
                if name.is_empty() || delim.is_empty() {
                    return Err(format!("empty name or delimiter: {line:?}"));
                }
                let (mut scan, mut value_end) = (0, 0);
                loop {
                    if scan >= rest.len() {
                        return Err(format!("delimiter {delim:?} not found"));
                    }
                    let nl = rest[scan..].find('\n').map(|n| scan + n);
                    let line_end = nl.unwrap_or(rest.len());
                    if &rest[scan..line_end] == delim {
                        out.push((name.to_owned(), rest[..value_end].to_owned()));
                        rest = &rest[nl.map_or(line_end, |n| n + 1)..];
                        break;
                    }
                    let Some(nl) = nl else {
                        return Err("EOF marker missing new line".into());
                    };
                    value_end = nl;
                    scan = nl + 1;
                }
            }
            _ => return Err(format!("invalid line {line:?}")),
        }
    }
    Ok(out)
}

fn render(outputs: &Outputs) -> String {
    let mut buf = Vec::new();
    write_github_output(&mut buf, outputs).expect("in-memory write");
    String::from_utf8(buf).expect("utf-8")
}

fn pairs(outputs: &Outputs) -> Vec<(String, String)> {
    outputs
        .iter()
        .map(|(n, v)| (n.to_owned(), v.to_owned()))
        .collect()
}

#[test]
fn test_parser_reads_the_runner_examples() {
    let text = "A=1\nB<<EOF\nx\n\ny\nEOF\nC<<EOF\nEOF\nD<<EOF\n\nEOF\n";
    let parsed = parse_file_commands(text).expect("valid");
    let expected = [("A", "1"), ("B", "x\n\ny"), ("C", ""), ("D", "")];
    let expected: Vec<_> = expected
        .iter()
        .map(|(n, v)| (n.to_string(), v.to_string()))
        .collect();
    assert_eq!(parsed, expected);
    assert!(parse_file_commands("A<<EOF\nx\n").is_err());
    assert!(parse_file_commands("A<<EOF\nx").is_err());
    assert!(parse_file_commands("<<EOF\nEOF\n").is_err());
    assert_eq!(
        parse_file_commands("A<<EOF\nx\nEOF"),
        Ok(vec![("A".into(), "x".into())])
    );
}

#[test]
fn tag_outputs_follow_metadata_action() {
    let out = tag_outputs(&sample_meta(), &Separators::default());
    let names: Vec<&str> = out.iter().map(|(n, _)| n).collect();
    assert_eq!(
        names,
        [
            "version",
            "tags",
            "tag-names",
            "labels",
            "annotations",
            "json"
        ]
    );
    assert_eq!(out.get("version"), Some("1.2.3"));
    assert_eq!(out.get("tag-names"), Some("v1.2.3\nv1.2\nv1\nlatest"));
    assert_eq!(
        out.get("annotations"),
        Some("manifest:org.opencontainers.image.title=app")
    );
    insta::assert_snapshot!(out.get("json").unwrap_or_default(), @r#"{"tags":["ghcr.io/octo/app:v1.2.3","ghcr.io/octo/app:v1.2","ghcr.io/octo/app:v1","ghcr.io/octo/app:latest","docker.io/octo/app:v1.2.3","docker.io/octo/app:v1.2","docker.io/octo/app:v1","docker.io/octo/app:latest"],"tag-names":["v1.2.3","v1.2","v1","latest"],"labels":{"org.opencontainers.image.description":"An app","org.opencontainers.image.licenses":"Apache-2.0","org.opencontainers.image.title":"app","org.opencontainers.image.version":"1.2.3"},"annotations":["manifest:org.opencontainers.image.title=app"]}"#);
}

#[test]
fn separators_and_empty_meta() {
    let seps = Separators {
        tags: ",".into(),
        labels: ";".into(),
        annotations: " ".into(),
    };
    let out = tag_outputs(&sample_meta(), &seps);
    assert!(
        out.get("tags")
            .unwrap_or_default()
            .starts_with("ghcr.io/octo/app:v1.2.3,ghcr.io/octo/app:v1.2,")
    );
    assert_eq!(out.get("tag-names"), Some("v1.2.3,v1.2,v1,latest"));
    assert!(out.get("labels").unwrap_or_default().contains(";"));

    let empty = tag_outputs(&Meta::default(), &Separators::default());
    assert_eq!(empty.get("version"), Some(""));
    assert_eq!(empty.get("tags"), Some(""));
    assert_eq!(
        empty.get("json"),
        Some(r#"{"tags":[],"tag-names":[],"labels":{},"annotations":[]}"#)
    );
}

#[test]
fn json_keeps_javascript_quirks() {
    let meta = Meta {
        labels: vec![
            ("b".into(), "1".into()),
            ("10".into(), "ten".into()),
            ("a".into(), "two\nlines".into()),
            ("2".into(), "two".into()),
            ("01".into(), "not an index".into()),
            ("k=x".into(), "y".into()),
            ("q".into(), "\u{1}\"\\".into()),
        ],
        ..Meta::default()
    };
    let out = tag_outputs(&meta, &Separators::default());
    insta::assert_snapshot!(out.get("json").unwrap_or_default(), @r#"{"tags":[],"tag-names":[],"labels":{"2":"two","10":"ten","b":"1","a":"two","01":"not an index","k":"x=y","q":"\u0001\"\\"},"annotations":[]}"#);
}

#[test]
fn github_output_snapshot() {
    let out = tag_outputs(&sample_meta(), &Separators::default());
    let text = render(&out);
    insta::assert_snapshot!("github_output", text);
    assert_eq!(parse_file_commands(&text), Ok(pairs(&out)));
}

#[test]
fn env_exports_use_metadata_action_names() {
    let out = tag_outputs(&sample_meta(), &Separators::default());
    let env = env_exports(&out);
    let names: Vec<&str> = env.iter().map(|(n, _)| n).collect();
    assert_eq!(
        names,
        [
            "DOCKER_METADATA_OUTPUT_VERSION",
            "DOCKER_METADATA_OUTPUT_TAGS",
            "DOCKER_METADATA_OUTPUT_TAG_NAMES",
            "DOCKER_METADATA_OUTPUT_LABELS",
            "DOCKER_METADATA_OUTPUT_ANNOTATIONS",
            "DOCKER_METADATA_OUTPUT_JSON",
        ]
    );
    assert_eq!(env.get("DOCKER_METADATA_OUTPUT_JSON"), out.get("json"));
    let text = render(&env);
    assert_eq!(parse_file_commands(&text), Ok(pairs(&env)));
}

#[test]
fn hostile_label_values_round_trip_exactly() {
    let mut meta = sample_meta();
    for (i, value) in hostile_values().into_iter().enumerate() {
        meta.labels.push((format!("evil.{i}"), value));
    }
    let out = tag_outputs(&meta, &Separators::default());
    let text = render(&out);
    let parsed = parse_file_commands(&text).expect("runner would accept the file");
    assert_eq!(parsed, pairs(&out));
    assert_eq!(parsed.len(), 6, "no extra outputs: {parsed:?}");
    assert!(!parsed.iter().any(|(n, _)| n == "x"));
}

#[test]
fn hostile_values_as_their_own_outputs_round_trip() {
    let out: Outputs = hostile_values()
        .into_iter()
        .enumerate()
        .map(|(i, v)| (format!("out-{i}"), v))
        .collect();
    assert_eq!(parse_file_commands(&render(&out)), Ok(pairs(&out)));
}

#[test]
fn invalid_names_are_refused_and_nothing_is_written() {
    for name in ["", "a b", "a<<b", "a=b", "x\ny", "ä"] {
        let mut out = Outputs::new();
        out.set("ok", "1");
        out.set(name, "v");
        let mut buf = Vec::new();
        let err = write_github_output(&mut buf, &out).expect_err(name);
        assert_eq!(err.kind(), io::ErrorKind::InvalidInput);
        assert!(buf.is_empty());
    }
}

#[test]
fn delimiter_is_deterministic_and_absent_from_the_value() {
    let d = delimiter("tags", "a\nb");
    assert_eq!(d, delimiter("tags", "a\nb"));
    assert_ne!(d, delimiter("labels", "a\nb"));
    assert!(d.starts_with("ghadelimiter_") && d.len() == "ghadelimiter_".len() + 32);
    let chosen = first_absent("xx D0 D1 yy", |n| format!("D{n}"));
    assert_eq!(chosen, "D2");
}

#[test]
fn set_replaces_in_place() {
    let mut out = Outputs::new();
    out.set("a", "1");
    out.set("b", "2");
    out.set("a", "3");
    assert_eq!(
        pairs(&out),
        [("a".into(), "3".into()), ("b".into(), "2".into())]
    );
    assert_eq!(out.len(), 2);
    assert!(!out.is_empty());
}

fn value_strategy() -> impl Strategy<Value = String> {
    prop_oneof![
        any::<String>(),
        "[\\n\\r=<a-zA-Z_%:]{0,40}",
        prop::collection::vec(
            prop_oneof![
                Just("\n".to_owned()),
                Just("\r\n".to_owned()),
                Just("ghadelimiter_".to_owned()),
                Just("<<EOF".to_owned()),
                Just("EOF".to_owned()),
                Just("::set-output name=x::y".to_owned()),
                any::<String>(),
            ],
            0..12
        )
        .prop_map(|parts| parts.concat()),
    ]
}

proptest! {
    #[test]
    fn any_values_round_trip(
        entries in prop::collection::vec(("[A-Za-z0-9_-]{1,12}", value_strategy()), 0..8)
    ) {
        let out: Outputs = entries.into_iter().collect();
        let parsed = parse_file_commands(&render(&out));
        prop_assert_eq!(parsed, Ok(pairs(&out)));
    }
}
