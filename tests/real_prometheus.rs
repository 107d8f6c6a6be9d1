//! A real Prometheus server scrapes the running demo, found through the demo's file_sd file.
//!
//! Loopback only, a throwaway TSDB in a temp dir, a free port, `scrape_interval: 1s`. Each
//! test reads `/api/v1/query` until `up == 1` and a counter's value has arrived, within a
//! bounded time, then checks what Prometheus stored. The servers a test started are killed by
//! their pid (through `Child::kill`) when it ends, pass or fail.
//!
//! * `prometheus_scrapes_the_demo`: the default set-up negotiates OpenMetrics; metadata.
//! * `native_histograms_are_ingested_as_native_series`: with
//!   `--enable-feature=native-histograms`, Prometheus 2.42 asks for protobuf first, and the
//!   demo's calibration batch (1000 values, 1 ms to 1 s by 1 ms) is stored as one native
//!   series whose `histogram_count` is 1000, `histogram_sum` 500.5 (to 1e-9 relative: the
//!   sum is the demo's own float sum), and `histogram_quantile(0.5, …)` 0.5 within one
//!   bucket of schema 3 (a factor 2^(1/8), about 9%; 0.5 is itself a bucket boundary).
//! * `exemplars_are_stored_with_their_trace_ids`: with `--enable-feature=exemplar-storage`,
//!   the trace ids the demo attaches to its request counter and latency buckets come back
//!   from `/api/v1/query_exemplars`, each with the value it was stored with.
//! * `native_histogram_exemplars_are_stored`: with both features, Prometheus 2.42 scrapes
//!   protobuf and stores the exemplars of the demo's native histogram (2.42 reads a native
//!   histogram's exemplars from its classic buckets, where the demo's slots are; later
//!   versions read `Histogram.exemplars`, which carries the same ones), each with a demo
//!   trace id and a latency in a classic bucket's range.
//! * `classic_view_without_the_feature_flag`: without the flag, the same histograms arrive
//!   over OpenMetrics as classic `_count`/`_sum`/`_bucket` series.

#![cfg(all(feature = "exporter", unix))]

#[path = "support/http.rs"]
mod support;

use std::time::{Duration, Instant};

use support::{Prometheus, Spawned, TempDir, demo_address, require_tool, spawn_demo};

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

/// Percent-encodes a PromQL expression for a query string.
fn encode(expression: &str) -> String {
    let mut out = String::new();
    for byte in expression.bytes() {
        if byte.is_ascii_alphanumeric() || b"_.-".contains(&byte) {
            out.push(byte as char);
        } else {
            out.push_str(&format!("%{byte:02X}"));
        }
    }
    out
}

/// The demo, a Prometheus (started with `flags`) scraping it, and their files.
struct Running {
    demo: Spawned,
    server: Prometheus,
    _directory: TempDir,
}

impl Running {
    /// Starts both and waits (bounded) until Prometheus has scraped the demo: `up == 1` and
    /// `demo_requests_total` stored.
    fn start(binary: &std::path::Path, flags: &[&str]) -> Running {
        let directory = TempDir::new("prometheus");
        let targets = directory.0.join("targets.json");
        let mut demo = spawn_demo(&[
            "--bind",
            "127.0.0.1:0",
            "--file-sd",
            targets.to_str().unwrap(),
        ]);
        demo_address(&mut demo);
        let mut server = Prometheus::start_with_flags(
            binary,
            &directory.0,
            &format!(
                "  - job_name: demo\n    file_sd_configs:\n      - files: ['{}']\n",
                targets.display()
            ),
            flags,
        );
        let started = Instant::now();
        loop {
            assert!(
                started.elapsed() < BUDGET,
                "Prometheus did not report the demo in {BUDGET:?}"
            );
            std::thread::sleep(Duration::from_millis(250));
            let (Some(up), Some(requests)) = (
                server.get("/api/v1/query?query=up"),
                server.get("/api/v1/query?query=demo_requests_total"),
            ) else {
                continue;
            };
            if up.contains("\"job\":\"demo\"")
                && up.contains(",\"1\"]")
                && requests.contains("\"value\":[")
            {
                break;
            }
        }
        Running {
            demo,
            server,
            _directory: directory,
        }
    }

    fn get(&mut self, path: &str) -> String {
        self.server.get(path).expect("Prometheus is ready")
    }

    /// The value of a one-element instant vector, or `None` if the result is empty.
    fn scalar(&mut self, expression: &str) -> Option<f64> {
        let answer = self.get(&format!("/api/v1/query?query={}", encode(expression)));
        let json: serde_json::Value = serde_json::from_str(&answer).unwrap();
        let result = json["data"]["result"].as_array()?;
        assert!(result.len() <= 1, "{expression}: {answer}");
        let value = result.first()?["value"][1].as_str()?;
        Some(value.parse().unwrap())
    }

    /// Stops only what this test started: the server (by pid, via Child::kill) and the demo.
    fn stop(mut self) {
        drop(self.server);
        assert!(
            self.demo
                .terminate(Duration::from_secs(10))
                .unwrap()
                .success()
        );
    }
}

/// The sum the demo's calibration batch adds up to, in the demo's order.
fn calibration_sum() -> f64 {
    (1..=1000).map(|step| f64::from(step) / 1000.0).sum()
}

#[test]
fn native_histograms_are_ingested_as_native_series() {
    let Some(binary) = require_tool("prometheus") else {
        return;
    };
    let mut running = Running::start(&binary, &["--enable-feature=native-histograms"]);

    // Protobuf was negotiated: in protobuf a counter family keeps its `_total` name, so the
    // metadata key is `demo_requests_total` (OpenMetrics would give `demo_requests`).
    let metadata = running.get("/api/v1/metadata");
    assert!(metadata.contains("\"demo_requests_total\":["), "{metadata}");

    // One native series, no `_bucket`, `_count` or `_sum` series.
    let series = running.get(&format!(
        "/api/v1/series?match[]={}",
        encode("{__name__=~\"demo_calibration_seconds.*\"}")
    ));
    let json: serde_json::Value = serde_json::from_str(&series).unwrap();
    let names: Vec<&str> = json["data"]
        .as_array()
        .unwrap()
        .iter()
        .map(|series| series["__name__"].as_str().unwrap())
        .collect();
    assert_eq!(names, ["demo_calibration_seconds"], "{series}");
    let raw = running.get("/api/v1/query?query=demo_calibration_seconds");
    assert!(
        raw.contains("\"histogram\":["),
        "stored as a native histogram: {raw}"
    );

    let count = running
        .scalar("histogram_count(demo_calibration_seconds)")
        .unwrap();
    assert_eq!(count, 1000.0);
    let sum = running
        .scalar("histogram_sum(demo_calibration_seconds)")
        .unwrap();
    let expected = calibration_sum();
    assert!(
        (sum - expected).abs() <= expected * 1e-9,
        "{sum} vs {expected}"
    );
    let median = running
        .scalar("histogram_quantile(0.5, demo_calibration_seconds)")
        .unwrap();
    let bucket_factor = 2f64.powf(1.0 / 8.0);
    assert!(
        median > 0.5 / bucket_factor && median < 0.5 * bucket_factor,
        "median {median}"
    );
    println!("native: count {count}, sum {sum}, median {median}");

    // The live request histogram is native too, and its median is a plausible latency.
    let live = running
        .scalar("histogram_quantile(0.5, demo_request_native_seconds)")
        .unwrap();
    assert!(live > 0.001 && live < 1.0, "live median {live}");
    running.stop();
}

#[test]
fn classic_view_without_the_feature_flag() {
    let Some(binary) = require_tool("prometheus") else {
        return;
    };
    let mut running = Running::start(&binary, &[]);
    assert_eq!(
        running.scalar("demo_calibration_seconds_count"),
        Some(1000.0)
    );
    let sum = running.scalar("demo_calibration_seconds_sum").unwrap();
    let expected = calibration_sum();
    assert!((sum - expected).abs() <= expected * 1e-9, "{sum}");
    assert_eq!(
        running.scalar("demo_calibration_seconds_bucket{le=\"+Inf\"}"),
        Some(1000.0)
    );
    // The histogram declared with classic buckets as well keeps them for text scrapers.
    let bucket = running.scalar("demo_request_native_seconds_bucket{le=\"0.02\"}");
    assert!(bucket.is_some_and(|count| count > 0.0), "{bucket:?}");
    // And nothing native: no histogram samples for the native-only name.
    assert_eq!(
        running.scalar("histogram_count(demo_calibration_seconds)"),
        None
    );
    running.stop();
}

/// The fake trace ids of the demo: this XOR `worker << 64 | request` (see `examples/demo.rs`).
const DEMO_TRACE_BASE: u128 = 0x4bf9_2f35_77b3_4da6_a3ce_929d_0e0e_4736;

/// The demo's request-duration bounds.
const DURATION_BOUNDS: [f64; 4] = [0.005, 0.01, 0.02, 0.05];

/// The exemplars Prometheus stored for `selector`, as `(series labels, exemplar labels,
/// value)`; empty until some have arrived.
fn stored_exemplars(
    running: &mut Running,
    selector: &str,
) -> Vec<(serde_json::Value, serde_json::Value, f64)> {
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs();
    let answer = running.get(&format!(
        "/api/v1/query_exemplars?query={}&start={}&end={}",
        encode(selector),
        now - 600,
        now + 600
    ));
    let json: serde_json::Value = serde_json::from_str(&answer).unwrap();
    assert_eq!(json["status"], "success", "{answer}");
    let mut out = Vec::new();
    for series in json["data"].as_array().into_iter().flatten() {
        for exemplar in series["exemplars"].as_array().into_iter().flatten() {
            let value: f64 = exemplar["value"].as_str().unwrap().parse().unwrap();
            out.push((
                series["seriesLabels"].clone(),
                exemplar["labels"].clone(),
                value,
            ));
        }
    }
    out
}

/// A demo trace id: 32 hex digits that decode to the base XOR a small worker number and a
/// request number.
fn assert_demo_trace_id(labels: &serde_json::Value) {
    let trace = labels["trace_id"]
        .as_str()
        .unwrap_or_else(|| panic!("no trace_id: {labels}"));
    assert_eq!(trace.len(), 32, "{trace}");
    let id = u128::from_str_radix(trace, 16).unwrap() ^ DEMO_TRACE_BASE;
    let (worker, request) = (id >> 64, id as u64);
    assert!(worker < 64, "worker {worker} in {trace}");
    assert!(request < 1_000_000, "request {request} in {trace}");
}

#[test]
fn exemplars_are_stored_with_their_trace_ids() {
    let Some(binary) = require_tool("prometheus") else {
        return;
    };
    let mut running = Running::start(&binary, &["--enable-feature=exemplar-storage"]);
    let started = Instant::now();
    let (buckets, counters) = loop {
        assert!(
            started.elapsed() < BUDGET,
            "Prometheus stored no exemplar of the demo in {BUDGET:?}"
        );
        let buckets = stored_exemplars(&mut running, "demo_request_duration_seconds_bucket");
        let counters = stored_exemplars(&mut running, "demo_requests_total");
        if !buckets.is_empty() && !counters.is_empty() {
            break (buckets, counters);
        }
        std::thread::sleep(Duration::from_millis(250));
    };
    for (series, labels, value) in &buckets {
        assert_demo_trace_id(labels);
        // The value is a request's latency, in the bucket the exemplar is stored on.
        let le: f64 = series["le"].as_str().unwrap().parse().unwrap();
        let index = DURATION_BOUNDS.partition_point(|&bound| bound < le);
        let lower = index
            .checked_sub(1)
            .map_or(0.0, |below| DURATION_BOUNDS[below]);
        assert!(
            *value > lower && *value <= le,
            "{value} on le={le}: {series}"
        );
    }
    for (_, labels, value) in &counters {
        assert_demo_trace_id(labels);
        assert_eq!(*value, 1.0, "a request adds one");
    }
    println!(
        "exemplars stored: {} on buckets, {} on the counter; first: {:?}",
        buckets.len(),
        counters.len(),
        buckets.first()
    );
    running.stop();
}

#[test]
fn native_histogram_exemplars_are_stored() {
    let Some(binary) = require_tool("prometheus") else {
        return;
    };
    let mut running = Running::start(
        &binary,
        &["--enable-feature=exemplar-storage,native-histograms"],
    );
    let started = Instant::now();
    let stored = loop {
        assert!(
            started.elapsed() < BUDGET,
            "Prometheus stored no exemplar of the demo's native histogram in {BUDGET:?}"
        );
        let stored = stored_exemplars(&mut running, "demo_request_native_seconds");
        if !stored.is_empty() {
            break stored;
        }
        std::thread::sleep(Duration::from_millis(250));
    };
    for (series, labels, value) in &stored {
        // The native series itself (no `le`: the classic view is not ingested with the flag).
        assert_eq!(
            series["__name__"], "demo_request_native_seconds",
            "{series}"
        );
        assert!(series.get("le").is_none(), "{series}");
        assert_demo_trace_id(labels);
        // A fake request's latency: at least its 5 ms of "work", and finite.
        assert!(*value >= 0.005 && value.is_finite(), "{value}: {series}");
    }
    println!(
        "native histogram exemplars stored: {}; first: {:?}",
        stored.len(),
        stored.first()
    );
    running.stop();
}
