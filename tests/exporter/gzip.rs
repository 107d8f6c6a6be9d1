//! gzip: when the client allows it and the exposition is above the threshold.

#![cfg(feature = "exporter")]

use crate::support;

use std::io::Read;

use promstatic::exporter::Exporter;
use support::{request, start};

fn gunzip(body: &[u8]) -> String {
    let mut text = String::new();
    flate2::read::GzDecoder::new(body)
        .read_to_string(&mut text)
        .unwrap();
    text
}

#[test]
fn gzip_when_accepted_and_large_enough() {
    let (handle, address) = start(Exporter::new().gzip_min_bytes(1));
    let response = request(address, "GET", "/metrics", &[("Accept-Encoding", "gzip")]);
    assert_eq!(response.status, 200);
    assert_eq!(response.header("content-encoding"), Some("gzip"));
    assert_eq!(
        response
            .header("content-length")
            .unwrap()
            .parse::<usize>()
            .unwrap(),
        response.body.len()
    );
    let text = gunzip(&response.body);
    assert!(text.contains("\npromstatic_scrapes_total 1\n"), "{text}");
    handle.shutdown();
}

#[test]
fn gzip_with_openmetrics_and_prometheus_headers() {
    let (handle, address) = start(Exporter::new().gzip_min_bytes(1));
    let response = request(
        address,
        "GET",
        "/metrics",
        &[
            ("Accept", support::PROMETHEUS_3_ACCEPT),
            ("Accept-Encoding", "gzip"),
        ],
    );
    assert_eq!(response.header("content-encoding"), Some("gzip"));
    assert!(gunzip(&response.body).ends_with("# EOF\n"));
    handle.shutdown();
}

#[test]
fn no_gzip_below_the_threshold() {
    let (handle, address) = start(Exporter::new().gzip_min_bytes(1 << 30));
    let response = request(address, "GET", "/metrics", &[("Accept-Encoding", "gzip")]);
    assert_eq!(response.header("content-encoding"), None);
    assert!(response.text().contains("promstatic_scrapes_total 1\n"));
    handle.shutdown();
}

#[test]
fn no_gzip_without_accept_encoding() {
    let (handle, address) = start(Exporter::new().gzip_min_bytes(1));
    let response = request(address, "GET", "/metrics", &[]);
    assert_eq!(response.header("content-encoding"), None);
    assert!(response.text().contains("promstatic_scrapes_total 1\n"));
    handle.shutdown();
}

#[test]
fn no_gzip_when_refused() {
    let (handle, address) = start(Exporter::new().gzip_min_bytes(1));
    let response = request(
        address,
        "GET",
        "/metrics",
        &[("Accept-Encoding", "gzip;q=0, identity")],
    );
    assert_eq!(response.header("content-encoding"), None);
    handle.shutdown();
}

#[test]
fn head_with_gzip_announces_the_compressed_length() {
    let (handle, address) = start(Exporter::new().gzip_min_bytes(1).process_metrics(false));
    let head = request(address, "HEAD", "/metrics", &[("Accept-Encoding", "gzip")]);
    assert_eq!(head.header("content-encoding"), Some("gzip"));
    assert!(head.body.is_empty());
    let announced: usize = head.header("content-length").unwrap().parse().unwrap();
    assert!(announced > 20);
    handle.shutdown();
}
