//! Every endpoint and method of the built-in server.

#![cfg(feature = "exporter")]

use crate::support;

use promstatic::exporter::Exporter;
use promstatic::{Counter, metric};
use support::{request, start};

/// Requests the endpoint tests made.
#[metric]
static ENDPOINT_TEST_REQUESTS_TOTAL: Counter = Counter::new();

const TEXT: &str = "text/plain; version=0.0.4; charset=utf-8";

#[test]
fn get_metrics_serves_the_text_exposition() {
    ENDPOINT_TEST_REQUESTS_TOTAL.inc_by(3);
    let (handle, address) = start(Exporter::new());
    let response = request(address, "GET", "/metrics", &[]);
    assert_eq!(response.status, 200);
    assert_eq!(response.header("content-type"), Some(TEXT));
    let text = response.text();
    assert!(
        text.contains("# TYPE endpoint_test_requests_total counter\n"),
        "{text}"
    );
    let value: u64 = text
        .lines()
        .find_map(|line| line.strip_prefix("endpoint_test_requests_total "))
        .unwrap()
        .parse()
        .unwrap();
    assert!(value >= 3);
    assert!(text.contains("\npromstatic_scrapes_total 1\n"), "{text}");
    assert!(text.contains("promstatic_build_info{version=\""), "{text}");
    assert!(!text.contains("# EOF"));
    handle.shutdown();
}

#[test]
fn head_metrics_has_the_length_of_get_and_no_body() {
    let (handle, address) = start(Exporter::new().process_metrics(false));
    let head = request(address, "HEAD", "/metrics", &[]);
    assert_eq!(head.status, 200);
    assert_eq!(head.header("content-type"), Some(TEXT));
    let get = request(address, "GET", "/metrics", &[]);
    let announced: usize = head.header("content-length").unwrap().parse().unwrap();
    // The two scrapes differ only in the scrape counter and the timing values, so the
    // lengths are close, not equal; the HEAD body itself must be empty.
    assert!(
        announced.abs_diff(get.body.len()) < 64,
        "{announced} vs {}",
        get.body.len()
    );
    handle.shutdown();
}

#[test]
fn health_is_200() {
    let (handle, address) = start(Exporter::new());
    let response = request(address, "GET", "/health", &[]);
    assert_eq!(response.status, 200);
    assert_eq!(
        response.header("content-type"),
        Some("text/plain; charset=utf-8")
    );
    assert_eq!(response.text(), "ok\n");
    let head = request(address, "HEAD", "/health", &[]);
    assert_eq!(head.status, 200);
    assert_eq!(head.header("content-length"), Some("3"));
    handle.shutdown();
}

#[test]
fn index_links_to_metrics() {
    let (handle, address) = start(Exporter::new());
    let response = request(address, "GET", "/", &[]);
    assert_eq!(response.status, 200);
    assert_eq!(
        response.header("content-type"),
        Some("text/html; charset=utf-8")
    );
    assert!(response.text().contains("<a href=\"/metrics\">"));
    handle.shutdown();
}

#[test]
fn other_paths_are_404() {
    let (handle, address) = start(Exporter::new());
    for path in ["/metricsx", "/metrics/", "/favicon.ico", "/health/x"] {
        let response = request(address, "GET", path, &[]);
        assert_eq!(response.status, 404, "{path}");
        assert_eq!(
            response.header("content-type"),
            Some("text/plain; charset=utf-8")
        );
    }
    handle.shutdown();
}

#[test]
fn other_methods_are_405_with_allow() {
    let (handle, address) = start(Exporter::new());
    for (method, path) in [
        ("POST", "/metrics"),
        ("PUT", "/"),
        ("DELETE", "/health"),
        ("OPTIONS", "/metrics"),
    ] {
        let response = request(address, method, path, &[("Content-Length", "0")]);
        assert_eq!(response.status, 405, "{method} {path}");
        assert_eq!(response.header("allow"), Some("GET, HEAD"));
    }
    handle.shutdown();
}

#[test]
fn keep_alive_serves_several_requests_on_one_connection() {
    use std::io::Write;
    let (handle, address) = start(Exporter::new());
    let mut stream = support::connect(address);
    for number in 1..=3u32 {
        stream
            .write_all(b"GET /metrics HTTP/1.1\r\nHost: test\r\n\r\n")
            .unwrap();
        let response = support::read_response(&mut stream, false);
        assert_eq!(response.status, 200);
        assert!(
            response
                .text()
                .contains(&format!("\npromstatic_scrapes_total {number}\n"))
        );
    }
    handle.shutdown();
}

#[cfg(target_os = "linux")]
#[test]
fn process_metrics_are_exported_and_can_be_turned_off() {
    let families = [
        "process_cpu_seconds_total counter",
        "process_resident_memory_bytes gauge",
        "process_virtual_memory_bytes gauge",
        "process_open_fds gauge",
        "process_max_fds gauge",
        "process_start_time_seconds gauge",
        "process_threads gauge",
    ];
    let (handle, address) = start(Exporter::new());
    let text = request(address, "GET", "/metrics", &[]).text();
    handle.shutdown();
    for family in families {
        assert!(
            text.contains(&format!("# TYPE {family}\n")),
            "{family} in {text}"
        );
    }
    let value = |name: &str| -> f64 {
        text.lines()
            .find_map(|line| line.strip_prefix(&format!("{name} ")))
            .unwrap()
            .parse()
            .unwrap()
    };
    // This test binary runs the exporter thread and the test threads.
    assert!(value("process_threads") >= 2.0);
    assert!(value("process_open_fds") >= 3.0);
    assert!(value("process_resident_memory_bytes") > 1e5);
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs_f64();
    let started = value("process_start_time_seconds");
    assert!(
        started <= now + 1.0 && started > now - 3600.0,
        "{started} vs {now}"
    );

    let (handle, address) = start(Exporter::new().process_metrics(false));
    let text = request(address, "GET", "/metrics", &[]).text();
    handle.shutdown();
    assert!(!text.contains("process_"), "{text}");
}
