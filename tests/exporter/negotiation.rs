//! Content negotiation with the exact Accept headers real scrapers send.

#![cfg(feature = "exporter")]

use crate::support;

use promstatic::exporter::Exporter;
use promstatic::{Counter, metric};
use support::{PROMETHEUS_2_49_ACCEPT, PROMETHEUS_2_ACCEPT, PROMETHEUS_3_ACCEPT, request, start};

/// Jobs seen by the negotiation tests.
#[metric]
static NEGOTIATION_JOBS_TOTAL: Counter = Counter::new();

const OPENMETRICS: &str = "application/openmetrics-text; version=1.0.0; charset=utf-8";
const TEXT: &str = "text/plain; version=0.0.4; charset=utf-8";

fn scrape_with(accept: Option<&str>) -> (String, String) {
    NEGOTIATION_JOBS_TOTAL.inc();
    let (handle, address) = start(Exporter::new());
    let headers: Vec<(&str, &str)> = accept.map(|value| ("Accept", value)).into_iter().collect();
    let response = request(address, "GET", "/metrics", &headers);
    handle.shutdown();
    assert_eq!(response.status, 200);
    (
        response.header("content-type").unwrap().to_owned(),
        response.text(),
    )
}

fn assert_openmetrics(accept: &str) {
    let (content_type, body) = scrape_with(Some(accept));
    assert_eq!(content_type, OPENMETRICS, "for {accept}");
    assert!(body.ends_with("# EOF\n"), "{body}");
    assert!(
        body.contains("# TYPE negotiation_jobs counter\nnegotiation_jobs_total "),
        "{body}"
    );
}

fn assert_text(accept: Option<&str>) {
    let (content_type, body) = scrape_with(accept);
    assert_eq!(content_type, TEXT, "for {accept:?}");
    assert!(!body.contains("# EOF"), "{body}");
    assert!(
        body.contains("# TYPE negotiation_jobs_total counter\nnegotiation_jobs_total "),
        "{body}"
    );
}

#[test]
fn prometheus_2_gets_openmetrics() {
    assert_openmetrics(PROMETHEUS_2_ACCEPT);
}

#[test]
fn prometheus_2_49_gets_openmetrics() {
    assert_openmetrics(PROMETHEUS_2_49_ACCEPT);
}

#[test]
fn prometheus_3_gets_openmetrics() {
    assert_openmetrics(PROMETHEUS_3_ACCEPT);
}

#[test]
fn openmetrics_without_version_gets_openmetrics() {
    assert_openmetrics("application/openmetrics-text");
}

#[test]
fn openmetrics_1_0_0_gets_openmetrics() {
    assert_openmetrics("application/openmetrics-text; version=1.0.0");
}

#[test]
fn openmetrics_0_0_1_only_gets_text() {
    assert_text(Some("application/openmetrics-text; version=0.0.1"));
}

#[test]
fn no_accept_gets_text() {
    assert_text(None);
}

#[test]
fn browser_accept_gets_text() {
    assert_text(Some(
        "text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8",
    ));
}

#[test]
fn text_preferred_over_openmetrics_gets_text() {
    assert_text(Some("text/plain;q=0.9, application/openmetrics-text;q=0.5"));
}
