//! Validates the conformance kit's strict parser (`promstatic::conformance`, the one users get)
//! against the official OpenMetrics parser corpus: every one of its cases must be accepted or
//! rejected exactly as its `test.json` says.

mod support;

use std::fs;

use promstatic::conformance::{self, Format};

/// Reads `"shouldParse": true|false` from a case's `test.json`.
fn should_parse(json: &str) -> Option<bool> {
    let after_key = &json[json.find("\"shouldParse\"")? + "\"shouldParse\"".len()..];
    let value = after_key.trim_start().strip_prefix(':')?.trim_start();
    if value.starts_with("true") {
        Some(true)
    } else if value.starts_with("false") {
        Some(false)
    } else {
        None
    }
}

#[test]
fn oracle_agrees_with_every_case_of_the_openmetrics_corpus() {
    let dir = support::corpus_dir();
    let Ok(entries) = fs::read_dir(&dir) else {
        support::skip(&format!(
            "the OpenMetrics corpus is absent at {}",
            dir.display()
        ));
        return;
    };
    let mut cases: Vec<_> = entries.map(|entry| entry.unwrap().path()).collect();
    cases.sort();
    let mut disagreements = Vec::new();
    let mut should_pass = 0;
    for case in &cases {
        let name = case.file_name().unwrap().to_string_lossy().into_owned();
        let json = fs::read_to_string(case.join("test.json")).unwrap();
        assert!(
            json.contains("\"type\": \"text\""),
            "{name}: not a text case"
        );
        let expected = should_parse(&json).unwrap_or_else(|| panic!("{name}: no shouldParse"));
        should_pass += usize::from(expected);
        let metrics = fs::read(case.join("metrics")).unwrap();
        let result = conformance::parse(Format::OpenMetrics, &metrics);
        if result.is_ok() != expected {
            let why = match result {
                Ok(_) => "accepted".to_owned(),
                Err(error) => format!("rejected: {error}"),
            };
            disagreements.push(format!("{name} (shouldParse={expected}, {why})"));
        }
    }
    assert_eq!(cases.len(), 211, "the corpus should hold 211 cases");
    assert_eq!(should_pass, 44, "44 corpus cases must parse");
    assert!(
        disagreements.is_empty(),
        "the strict parser disagrees with {} of {} corpus cases:\n{}",
        disagreements.len(),
        cases.len(),
        disagreements.join("\n")
    );
    println!(
        "the strict parser agrees with {}/{} corpus cases",
        cases.len(),
        cases.len()
    );
}

#[test]
fn test_json_reader() {
    assert_eq!(should_parse(r#"{"shouldParse": true}"#), Some(true));
    assert_eq!(should_parse("{\n  \"shouldParse\" :false\n}"), Some(false));
    assert_eq!(should_parse(r#"{"shouldParse": 1}"#), None);
    assert_eq!(should_parse("{}"), None);
}
