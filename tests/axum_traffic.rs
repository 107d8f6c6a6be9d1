//! Real traffic through the axum example: a few thousand requests from concurrent kept-alive
//! clients on loopback, then the exposition must account for every one of them exactly, by
//! method, route template, status and error type, in the counter and the histogram alike.

#![cfg(all(feature = "tower", unix))]

mod support;

use std::collections::BTreeMap;
use std::io::Write;
use std::time::{Duration, Instant};

use promstatic::conformance;
use promstatic::encode::Format;
use support::http::{connect, demo_address, read_response, request, spawn_example};

const CLIENTS: usize = 8;
const REQUESTS_PER_CLIENT: usize = 400;

/// What request `index` of a client sends, and the labels it must be recorded with.
fn plan(client: usize, index: usize) -> (&'static str, String, [&'static str; 4]) {
    let unique = client * REQUESTS_PER_CLIENT + index;
    match index % 5 {
        0 => (
            "GET",
            format!("/users/{unique}"),
            ["GET", "/users/{id}", "200", ""],
        ),
        1 => ("GET", "/".to_owned(), ["GET", "/", "200", ""]),
        2 => ("GET", "/fail".to_owned(), ["GET", "/fail", "500", "500"]),
        3 => ("GET", format!("/nowhere/{unique}"), ["GET", "", "404", ""]),
        _ => ("HEAD", "/".to_owned(), ["HEAD", "/", "200", ""]),
    }
}

fn series(name: &str, labels: &[&str; 4]) -> String {
    format!(
        "{name}{{http_request_method=\"{}\",http_route=\"{}\",http_response_status_code=\"{}\",\
         error_type=\"{}\"}}",
        labels[0], labels[1], labels[2], labels[3]
    )
}

fn sample(exposition: &str, series: &str) -> u64 {
    exposition
        .lines()
        .find_map(|line| line.strip_prefix(series)?.strip_prefix(' '))
        .map_or(0, |value| value.parse().expect("an integer count"))
}

#[test]
fn every_request_is_counted_once_by_route_and_status() {
    let mut example = spawn_example("axum", &["tower"], &["--bind", "127.0.0.1:0"]);
    let address = demo_address(&mut example);

    let clients: Vec<_> = (0..CLIENTS)
        .map(|client| {
            std::thread::spawn(move || {
                // One kept-alive connection per client, as a load generator uses.
                let mut stream = connect(address);
                let mut sent: BTreeMap<[&str; 4], u64> = BTreeMap::new();
                for index in 0..REQUESTS_PER_CLIENT {
                    let (method, path, labels) = plan(client, index);
                    let head = format!("{method} {path} HTTP/1.1\r\nHost: traffic\r\n\r\n");
                    stream.write_all(head.as_bytes()).unwrap();
                    let response = read_response(&mut stream, method == "HEAD");
                    let expected: u16 = labels[2].parse().unwrap();
                    assert_eq!(response.status, expected, "{method} {path}");
                    *sent.entry(labels).or_default() += 1;
                }
                sent
            })
        })
        .collect();
    let mut sent: BTreeMap<[&str; 4], u64> = BTreeMap::new();
    for client in clients {
        for (labels, count) in client.join().expect("no request failed") {
            *sent.entry(labels).or_default() += count;
        }
    }
    assert_eq!(
        sent.values().sum::<u64>(),
        (CLIENTS * REQUESTS_PER_CLIENT) as u64
    );

    // A request is recorded when its body ends, which the server may poll just after the
    // client has read the last byte: wait (bounded) for the totals, then compare exactly.
    let total = |text: &str| {
        sent.keys()
            .map(|labels| sample(text, &series("http_server_requests_total", labels)))
            .sum::<u64>()
    };
    let deadline = Instant::now() + Duration::from_secs(20);
    let text = loop {
        let text = request(address, "GET", "/metrics", &[]).text();
        if total(&text) >= sent.values().sum::<u64>() || Instant::now() > deadline {
            break text;
        }
        std::thread::sleep(Duration::from_millis(20));
    };
    conformance::parse(Format::Text, text.as_bytes()).expect("a valid exposition");

    for (labels, &count) in &sent {
        let requests = sample(&text, &series("http_server_requests_total", labels));
        let durations = sample(
            &text,
            &series("http_server_request_duration_seconds_count", labels),
        );
        assert_eq!((requests, durations), (count, count), "{labels:?}\n{text}");
    }
    // Nothing cancelled, nothing overflowed, no raw path in a label.
    assert!(!text.contains("error_type=\"cancelled\""), "{text}");
    assert!(!text.contains("/nowhere/"), "{text}");
    assert!(!text.contains("/users/1"), "{text}");
    let overflow = "http_server_requests_total{http_request_method=\"__overflow__\",\
                    http_route=\"__overflow__\",http_response_status_code=\"__overflow__\",\
                    error_type=\"__overflow__\"} 0\n";
    assert!(text.contains(overflow), "{text}");
    // In flight while this exposition was rendered: the scrape itself, nothing else.
    assert!(text.contains("http_server_active_requests{http_request_method=\"GET\"} 1\n"));
    assert!(text.contains("http_server_active_requests{http_request_method=\"HEAD\"} 0\n"));

    let openmetrics = request(
        address,
        "GET",
        "/metrics",
        &[("Accept", "application/openmetrics-text;version=1.0.0")],
    );
    conformance::parse(Format::OpenMetrics, &openmetrics.body).expect("valid OpenMetrics");

    let status = example
        .terminate(Duration::from_secs(20))
        .expect("exits after SIGTERM");
    assert!(status.success(), "{status:?}");
}
