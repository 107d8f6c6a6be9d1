//! The official Python client's parsers read what the exporter serves over HTTP: the
//! OpenMetrics body (strict parser) and the text 0.0.4 body.

#![cfg(feature = "exporter")]

use crate::support;

use std::io::Write;
use std::process::{Command, Stdio};

use promstatic::exporter::Exporter;
use promstatic::{Counter, FloatGauge, metric};
use support::{PROMETHEUS_3_ACCEPT, request, require_python_module, start};

/// Parcels shipped, "express" or not.
#[metric]
static PYTHON_PARCELS_TOTAL: Counter = Counter::new();

/// Load of the belt \ as a ratio.
#[metric]
static PYTHON_BELT_LOAD_RATIO: FloatGauge = FloatGauge::new();

/// Parses stdin with the given prometheus_client parser and prints `name type value` per
/// sample.
const SCRIPT: &str = r#"
import sys
mode = sys.argv[1]
if mode == "openmetrics":
    from prometheus_client.openmetrics.parser import text_string_to_metric_families
else:
    from prometheus_client.parser import text_string_to_metric_families
for family in text_string_to_metric_families(sys.stdin.read()):
    for sample in family.samples:
        print(family.name, family.type, sample.name, repr(family.documentation), sample.value)
"#;

fn parse(mode: &str, body: &[u8]) -> Option<String> {
    let python = require_python_module("prometheus_client")?;
    let mut child = Command::new(python)
        .args(["-c", SCRIPT, mode])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    child.stdin.take().unwrap().write_all(body).unwrap();
    let output = child.wait_with_output().unwrap();
    assert!(
        output.status.success(),
        "{mode} parser rejected the body: {}\n{}",
        String::from_utf8_lossy(&output.stderr),
        String::from_utf8_lossy(body)
    );
    Some(String::from_utf8(output.stdout).unwrap())
}

fn scrape(accept: Option<&str>) -> Vec<u8> {
    PYTHON_PARCELS_TOTAL.inc_by(7);
    PYTHON_BELT_LOAD_RATIO.set(0.75);
    let (handle, address) = start(Exporter::new().const_label("site", "north \"dock\""));
    let headers: Vec<(&str, &str)> = accept.map(|value| ("Accept", value)).into_iter().collect();
    let body = request(address, "GET", "/metrics", &headers).body;
    handle.shutdown();
    body
}

#[test]
fn openmetrics_body_parses_with_the_strict_parser() {
    let body = scrape(Some(PROMETHEUS_3_ACCEPT));
    let Some(parsed) = parse("openmetrics", &body) else {
        return;
    };
    // The counter's value depends on how many scrapes this binary's tests made; its name,
    // type and HELP (with `"` escaped on the wire) must come back exactly.
    assert!(
        parsed.contains(
            "python_parcels counter python_parcels_total 'Parcels shipped, \"express\" or not.' "
        ),
        "{parsed}"
    );
    assert!(
        parsed.contains(
            "python_belt_load_ratio gauge python_belt_load_ratio 'Load of the belt \\\\ as a ratio.' 0.75\n"
        ),
        "{parsed}"
    );
    assert!(
        parsed.contains("promstatic_scrapes counter promstatic_scrapes_total"),
        "{parsed}"
    );
}

#[test]
fn text_body_parses_with_the_text_parser() {
    let body = scrape(None);
    let Some(parsed) = parse("text", &body) else {
        return;
    };
    assert!(
        parsed.contains("python_belt_load_ratio gauge python_belt_load_ratio"),
        "{parsed}"
    );
    assert!(
        parsed.contains("python_parcels counter python_parcels_total"),
        "{parsed}"
    );
}
