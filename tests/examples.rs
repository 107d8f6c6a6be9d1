//! Each small example runs as a real process on a loopback port it picks itself (port 0,
//! read back from its one stdout line), is scraped over HTTP, and stops cleanly: `blocking`
//! at the end of its stdin, `hyper_service` and `axum` on SIGTERM.

#![cfg(all(feature = "exporter", unix))]

mod support;

use std::io::{Read, Write};
use std::net::SocketAddr;
use std::time::{Duration, Instant};

use promstatic::conformance;
use promstatic::encode::Format;
use support::http::{Spawned, demo_address, request, spawn_example};

/// The value of the sample line that starts with `series ` (name and labels as written).
fn sample(exposition: &str, series: &str) -> Option<f64> {
    exposition
        .lines()
        .find_map(|line| line.strip_prefix(series)?.strip_prefix(' '))
        .and_then(|value| value.parse().ok())
}

/// Scrapes until `ready` holds for the exposition, for at most 20 s (a loaded machine may
/// take a while to schedule the example's threads; the test never waits a fixed time).
fn scrape_until(address: SocketAddr, ready: impl Fn(&str) -> bool) -> String {
    let deadline = Instant::now() + Duration::from_secs(20);
    loop {
        let response = request(address, "GET", "/metrics", &[]);
        assert_eq!(response.status, 200);
        let text = response.text();
        if ready(&text) {
            conformance::parse(Format::Text, text.as_bytes()).expect("a valid exposition");
            return text;
        }
        assert!(
            Instant::now() < deadline,
            "never reached the expected values:\n{text}"
        );
        std::thread::sleep(Duration::from_millis(20));
    }
}

/// Waits for SIGTERM to stop the example, then checks it said nothing more on stdout.
fn stops_on_sigterm(mut example: Spawned) {
    let status = example
        .terminate(Duration::from_secs(20))
        .expect("exits after SIGTERM");
    let mut stderr = String::new();
    let _ = example
        .child
        .stderr
        .take()
        .unwrap()
        .read_to_string(&mut stderr);
    assert!(status.success(), "{status:?}; stderr: {stderr}");
}

#[test]
fn blocking_serves_while_it_works_and_exits_at_the_end_of_stdin() {
    let mut example = spawn_example("blocking", &[], &["--bind", "127.0.0.1:0"]);
    let address = demo_address(&mut example);
    assert_ne!(address.port(), 0);
    let mut stdin = example.child.stdin.take().unwrap();
    stdin
        .write_all(b"one two three\nfour\n\nfive six\n")
        .unwrap();
    stdin.flush().unwrap();
    let text = scrape_until(address, |text| sample(text, "jobs_total") == Some(4.0));
    assert_eq!(sample(&text, "job_words_total"), Some(6.0), "{text}");
    assert_eq!(
        sample(&text, "job_duration_seconds_count"),
        Some(4.0),
        "{text}"
    );
    assert_eq!(sample(&text, "jobs_in_progress"), Some(0.0), "{text}");

    // End of stdin: the exporter shuts down, the summary is printed, the status is 0.
    drop(stdin);
    let deadline = Instant::now() + Duration::from_secs(20);
    let status = loop {
        if let Some(status) = example.child.try_wait().unwrap() {
            break status;
        }
        assert!(
            Instant::now() < deadline,
            "still running after the end of stdin"
        );
        std::thread::sleep(Duration::from_millis(20));
    };
    assert!(status.success(), "{status:?}");
    let mut rest = String::new();
    example
        .child
        .stdout
        .take()
        .unwrap()
        .read_to_string(&mut rest)
        .unwrap();
    assert_eq!(rest, "processed 4 jobs, 6 words\n");
    assert!(
        std::net::TcpListener::bind(address).is_ok(),
        "port released"
    );
}

#[test]
fn hyper_service_serves_the_application_and_metrics_on_one_port() {
    let mut example = spawn_example("hyper_service", &[], &["--bind", "127.0.0.1:0"]);
    let address = demo_address(&mut example);
    for _ in 0..3 {
        let response = request(address, "GET", "/hello", &[]);
        assert_eq!(
            (response.status, response.text().as_str()),
            (200, "hello\n")
        );
    }
    assert_eq!(request(address, "GET", "/missing", &[]).status, 404);
    let text = scrape_until(address, |text| {
        sample(text, "hello_requests_total") == Some(3.0)
    });
    assert!(
        text.contains("# TYPE hello_requests_total counter\n"),
        "{text}"
    );
    // The exporter's negotiation works through the mounted handler too.
    let openmetrics = request(
        address,
        "GET",
        "/metrics",
        &[("Accept", "application/openmetrics-text;version=1.0.0")],
    );
    assert!(
        openmetrics
            .header("content-type")
            .unwrap()
            .starts_with("application/openmetrics-text"),
        "{:?}",
        openmetrics.headers
    );
    conformance::parse(Format::OpenMetrics, &openmetrics.body).expect("valid OpenMetrics");
    stops_on_sigterm(example);
}

#[cfg(feature = "tower")]
#[test]
fn axum_records_every_request_by_route_template() {
    let mut example = spawn_example("axum", &["tower"], &["--bind", "127.0.0.1:0"]);
    let address = demo_address(&mut example);
    for path in ["/users/1", "/users/2", "/users/3"] {
        assert_eq!(request(address, "GET", path, &[]).status, 200);
    }
    assert_eq!(request(address, "GET", "/fail", &[]).status, 500);
    assert_eq!(request(address, "GET", "/no/such/page", &[]).status, 404);
    assert_eq!(request(address, "HEAD", "/", &[]).status, 200);
    let users = "http_server_requests_total{http_request_method=\"GET\",http_route=\"/users/{id}\",\
                 http_response_status_code=\"200\",error_type=\"\"}";
    let text = scrape_until(address, |text| sample(text, users) == Some(3.0));
    let expected = [
        (
            "http_server_requests_total{http_request_method=\"GET\",http_route=\"/fail\",\
             http_response_status_code=\"500\",error_type=\"500\"}",
            1.0,
        ),
        (
            "http_server_requests_total{http_request_method=\"GET\",http_route=\"\",\
             http_response_status_code=\"404\",error_type=\"\"}",
            1.0,
        ),
        (
            "http_server_requests_total{http_request_method=\"HEAD\",http_route=\"/\",\
             http_response_status_code=\"200\",error_type=\"\"}",
            1.0,
        ),
        (
            "http_server_request_duration_seconds_count{http_request_method=\"GET\",\
             http_route=\"/users/{id}\",http_response_status_code=\"200\",error_type=\"\"}",
            3.0,
        ),
    ];
    for (series, value) in expected {
        assert_eq!(sample(&text, series), Some(value), "{series}\n{text}");
    }
    // The raw paths never became labels.
    assert!(!text.contains("/users/1"), "{text}");
    assert!(!text.contains("no/such"), "{text}");
    stops_on_sigterm(example);
}
