//! Unit tests of `rule.rs`: no network.

use super::*;

fn line(text: &str) -> InputLine {
    InputLine {
        number: 3,
        text: text.into(),
    }
}

fn rule(text: &str) -> TagRule {
    parse_rule(&line(text)).unwrap()
}

fn error(text: &str) -> String {
    parse_rule(&line(text)).unwrap_err().to_string()
}

#[test]
fn defaults_per_type() {
    let r = rule("type=schedule");
    assert_eq!(
        (r.kind, r.priority, r.prefix),
        (
            RuleKind::Schedule {
                pattern: "nightly".into()
            },
            1000,
            None
        )
    );
    let r = rule("type=semver,pattern={{version}}");
    assert_eq!(r.priority, 900);
    assert_eq!(
        r.kind,
        RuleKind::Semver {
            pattern: "{{version}}".into(),
            value: "".into(),
            matcher: "".into()
        }
    );
    assert_eq!(rule("type=pep440,pattern={{version}}").priority, 900);
    let r = rule("type=match,pattern=v(.*),group=1");
    assert_eq!(
        (r.kind, r.priority),
        (
            RuleKind::Match {
                pattern: "v(.*)".into(),
                group: 1,
                value: "".into()
            },
            800
        )
    );
    assert_eq!(rule("type=edge").kind, RuleKind::Edge { branch: "".into() });
    assert_eq!(rule("type=edge").priority, 700);
    let r = rule("type=ref,event=pr");
    assert_eq!(
        (r.kind, r.priority, r.prefix.as_deref()),
        (
            RuleKind::Ref {
                event: RefEvent::Pr
            },
            600,
            Some("pr-")
        )
    );
    assert_eq!(rule("type=ref,event=branch").prefix, None);
    let r = rule("type=sha");
    assert_eq!(
        (r.kind, r.priority, r.prefix.as_deref()),
        (
            RuleKind::Sha {
                format: ShaFormat::Short
            },
            100,
            Some("sha-")
        )
    );
    assert_eq!(
        rule("type=sha,format=long").kind,
        RuleKind::Sha {
            format: ShaFormat::Long
        }
    );
    assert_eq!(
        rule("type=raw,value=foo").kind,
        RuleKind::Raw {
            value: "foo".into()
        }
    );
    assert_eq!(rule("type=raw,value=foo").priority, 200);
    assert_eq!(rule("type=raw,value=foo").enable, "true");
}

#[test]
fn bare_values_are_raw_rules() {
    assert_eq!(
        rule("foo").kind,
        RuleKind::Raw {
            value: "foo".into()
        }
    );
    assert_eq!(
        rule("type=raw,bar").kind,
        RuleKind::Raw {
            value: "bar".into()
        }
    );
}

#[test]
fn explicit_attributes_override_defaults() {
    let r = rule("type=ref,event=pr,prefix=,suffix=-x,priority=1,enable={{is_default_branch}}");
    assert_eq!(r.prefix.as_deref(), Some(""));
    assert_eq!(r.suffix.as_deref(), Some("-x"));
    assert_eq!(r.priority, 1);
    assert_eq!(r.enable, "{{is_default_branch}}");
    assert_eq!(
        rule("TYPE=raw,Value=x").kind,
        RuleKind::Raw { value: "x".into() }
    );
}

#[test]
fn semver_match_attribute_and_quoted_patterns() {
    let r = rule(r#"type=semver,pattern={{version}},value=p1/v1.0.0,match=v(\d.\d.\d)$"#);
    assert_eq!(
        r.kind,
        RuleKind::Semver {
            pattern: "{{version}}".into(),
            value: "p1/v1.0.0".into(),
            matcher: r"v(\d.\d.\d)$".into()
        }
    );
    let r = rule(r#"type=match,"pattern=\d{1,3}.\d{1,3}.\d{1,3}""#);
    assert_eq!(
        r.kind,
        RuleKind::Match {
            pattern: r"\d{1,3}.\d{1,3}.\d{1,3}".into(),
            group: 0,
            value: "".into()
        }
    );
}

#[test]
fn errors_name_the_input_line_and_the_fix() {
    assert_eq!(
        error("type=foo"),
        "input `tags`, line 3: unknown tag type `foo`; expected one of: schedule, semver, pep440, match, edge, ref, raw, sha"
    );
    assert!(error("type=semver").contains("`type=semver` needs a `pattern=` attribute"));
    assert!(error("type=match").contains("needs a `pattern=`"));
    assert!(error("type=ref").contains("needs a `event=`"));
    assert!(error("type=ref,event=push").contains("invalid event `push`"));
    assert!(error("type=raw").contains("needs a `value=`"));
    assert!(error("type=sha,format=medium").contains("invalid format `medium`"));
    assert!(error("type=match,pattern=x,group=one").contains("invalid match group `one`"));
    assert!(error("type=raw,value=x,priority=high").contains("invalid priority `high`"));
    assert!(error("type=sha,pattern=x").contains("unknown attribute `pattern` for `type=sha`; expected one of: format, enable, priority, prefix, suffix"));
    assert!(error(r#"type=raw,"value=x"#).contains("unterminated double quote"));
}

#[test]
fn rules_sort_by_priority_stably_and_default_when_empty() {
    let lines: Vec<InputLine> = [
        "type=sha",
        "type=raw,value=a",
        "type=raw,value=b",
        "type=semver,pattern={{version}}",
    ]
    .iter()
    .enumerate()
    .map(|(i, t)| InputLine {
        number: i + 1,
        text: t.to_string(),
    })
    .collect();
    let order: Vec<usize> = parse_rules(&lines)
        .unwrap()
        .iter()
        .map(|r| r.line.number)
        .collect();
    assert_eq!(order, [4, 2, 3, 1]);
    let defaults = parse_rules(&[]).unwrap();
    assert_eq!(defaults.len(), 4);
    assert_eq!(
        defaults[0].kind,
        RuleKind::Schedule {
            pattern: "nightly".into()
        }
    );
}
