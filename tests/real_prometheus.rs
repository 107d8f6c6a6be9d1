//! A real Prometheus server scrapes the running demo, found through the demo's file_sd file.
//!
//! Loopback only, a throwaway TSDB in a temp dir, a free port, `scrape_interval: 1s`. The
//! test reads `/api/v1/query` until `up == 1` and a counter's value has arrived, then checks
//! `/api/v1/metadata` for its type and HELP. The server it started is killed by its pid
//! (through `Child::kill`) when the test ends, pass or fail.

#![cfg(all(feature = "exporter", unix))]

#[path = "support/http.rs"]
mod support;

use std::time::{Duration, Instant};

use support::{Prometheus, TempDir, demo_address, require_tool, spawn_demo};

/// Prometheus 2.42 may wait up to one scrape interval plus a start-up delay before its first
/// scrape; this bounds the whole wait.
const BUDGET: Duration = Duration::from_secs(25);

#[test]
fn prometheus_scrapes_the_demo() {
    let Some(binary) = require_tool("prometheus") else {
        return;
    };
    // Prometheus finds the demo through the file_sd target file the demo's listener writes.
    let directory = TempDir::new("prometheus");
    let targets = directory.0.join("targets.json");
    let mut demo = spawn_demo(&[
        "--bind",
        "127.0.0.1:0",
        "--file-sd",
        targets.to_str().unwrap(),
    ]);
    let target = demo_address(&mut demo);
    let listed = std::fs::read_to_string(&targets).unwrap();
    assert!(listed.contains(&format!("\"{target}\"")), "{listed}");
    let mut server = Prometheus::start(
        &binary,
        &directory.0,
        &format!(
            "  - job_name: demo\n    file_sd_configs:\n      - files: ['{}']\n",
            targets.display()
        ),
    );

    let started = Instant::now();
    let mut up = String::new();
    let mut requests = String::new();
    loop {
        assert!(
            started.elapsed() < BUDGET,
            "Prometheus did not report the demo in {BUDGET:?}; last answers:\n{up}\n{requests}"
        );
        std::thread::sleep(Duration::from_millis(250));
        let (Some(up_now), Some(requests_now)) = (
            server.get("/api/v1/query?query=up"),
            server.get("/api/v1/query?query=demo_requests_total"),
        ) else {
            continue;
        };
        (up, requests) = (up_now, requests_now);
        // The file_sd file sets no `job`: the scrape config's `job_name` applies.
        let is_up = up.contains("\"job\":\"demo\"") && up.contains(",\"1\"]");
        let has_value = requests.contains("\"__name__\":\"demo_requests_total\"")
            && requests.contains("\"value\":[");
        if is_up && has_value {
            break;
        }
    }
    println!("Prometheus reported the demo after {:?}", started.elapsed());

    // Prometheus keys metadata by the family name it parsed. In OpenMetrics a counter family
    // is named without `_total`, so the key `demo_requests` also proves that the exporter
    // negotiated OpenMetrics with this Prometheus (text 0.0.4 would give `demo_requests_total`).
    let metadata = server.get("/api/v1/metadata").expect("Prometheus is ready");
    let at = metadata
        .find("\"demo_requests\":[")
        .unwrap_or_else(|| panic!("no metadata for the demo_requests family in {metadata}"));
    let entry = &metadata[at..];
    let entry = &entry[..entry.find(']').unwrap()];
    assert!(entry.contains("\"type\":\"counter\""), "{entry}");
    assert!(
        entry.contains("\"help\":\"Fake requests served since start.\""),
        "{entry}"
    );

    // Stop only what this test started: the server (by pid, via Child::kill) and the demo.
    drop(server);
    assert!(demo.terminate(Duration::from_secs(10)).unwrap().success());
    assert!(!targets.exists(), "a clean exit removes the file_sd target");
}
