//! `promtool check metrics` on the text exposition: no error and no lint finding.

#![cfg(feature = "exporter")]

#[path = "support/http.rs"]
mod support;

use std::io::Write;
use std::process::{Command, Stdio};

use promstatic::exporter::Exporter;
use promstatic::{Counter, FloatGauge, Gauge, metric};
use support::{request, require_tool, start};

/// Orders placed through the shop.
#[metric]
static PROMTOOL_ORDERS_TOTAL: Counter = Counter::new();

/// Items waiting in the queue.
#[metric]
static PROMTOOL_QUEUE_ITEMS: Gauge = Gauge::new();

/// Temperature of the "main" room, in degrees Celsius \ with a backslash.
#[metric]
static PROMTOOL_ROOM_CELSIUS: FloatGauge = FloatGauge::new();

#[test]
fn promtool_finds_nothing_in_the_text_exposition() {
    let Some(promtool) = require_tool("promtool") else {
        return;
    };
    PROMTOOL_ORDERS_TOTAL.inc_by(12);
    PROMTOOL_QUEUE_ITEMS.set(-3);
    PROMTOOL_ROOM_CELSIUS.set(21.5);
    let (handle, address) = start(
        Exporter::new()
            .const_label("region", "eu \"west\"\n")
            .build_info("shop", "1.0.0"),
    );
    let body = request(address, "GET", "/metrics", &[]).body;
    handle.shutdown();

    check(&promtool, &body);
}

/// The demo's exposition: a histogram and a label family besides counters and gauges.
#[cfg(unix)]
#[test]
fn promtool_finds_nothing_in_the_demos_exposition() {
    let Some(promtool) = require_tool("promtool") else {
        return;
    };
    let mut demo = support::spawn_demo(&["--bind", "127.0.0.1:0"]);
    let address = support::demo_address(&mut demo);
    // Let the workers record a few requests first.
    std::thread::sleep(std::time::Duration::from_millis(200));
    let body = request(address, "GET", "/metrics", &[]).body;
    assert!(
        demo.terminate(std::time::Duration::from_secs(10))
            .unwrap()
            .success()
    );
    let text = String::from_utf8_lossy(&body);
    assert!(
        text.contains("# TYPE demo_request_duration_seconds histogram\n"),
        "{text}"
    );
    assert!(
        text.contains("demo_route_requests_total{route=\"search\"} "),
        "{text}"
    );
    check(&promtool, &body);
}

/// Runs `promtool check metrics` on `body`; fails on any error or lint finding.
fn check(promtool: &std::path::Path, body: &[u8]) {
    let mut child = Command::new(promtool)
        .args(["check", "metrics"])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    child.stdin.take().unwrap().write_all(body).unwrap();
    let output = child.wait_with_output().unwrap();
    let findings = format!(
        "{}{}",
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    );
    assert!(
        output.status.success() && findings.trim().is_empty(),
        "promtool: {:?}\n{findings}\non:\n{}",
        output.status,
        String::from_utf8_lossy(body)
    );
}
