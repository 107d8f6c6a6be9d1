//! Panic isolation: a panic while a scrape is rendered (here in the host's `on_scrape`
//! hook) costs that scrape only. The exporter thread, the other connections (one of them in
//! the middle of a response) and the host keep going, and the next scrape is whole.

#![cfg(feature = "exporter")]

use crate::support;

use std::io::{Read, Write};
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use promstatic::encode::{Family, Help, Kind, Suffix, Value};
use promstatic::exporter::{Exporter, ListenerState};
use support::{connect, large_exposition, read_response, request, split_response, start};

/// A hook that adds `hook_calls_total` and panics on the calls `panics_on` picks.
fn counting_hook(
    exporter: Exporter,
    calls: Arc<AtomicU64>,
    panics_on: fn(u64) -> bool,
) -> Exporter {
    exporter.on_scrape(move |encoder| {
        let call = calls.fetch_add(1, Ordering::Relaxed) + 1;
        let family = Family::new("hook_calls_total", Kind::Counter, Help::Raw("Hook calls."))
            .expect("a valid name");
        encoder
            .family(&family)
            .and_then(|mut writer| writer.sample(Suffix::Bare, &[], Value::Unsigned(call)))
            .expect("the hook's one family is valid");
        if panics_on(call) {
            panic!("injected panic in scrape hook call {call}");
        }
    })
}

/// The value of an unlabelled sample in a text exposition.
fn value(text: &str, name: &str) -> Option<u64> {
    text.lines()
        .find_map(|line| line.strip_prefix(name)?.strip_prefix(' '))
        .and_then(|value| value.parse().ok())
}

#[test]
fn a_panicking_hook_costs_one_scrape_and_the_next_succeeds() {
    let calls = Arc::new(AtomicU64::new(0));
    let (handle, address) = start(counting_hook(
        Exporter::new().namespace("app_"),
        Arc::clone(&calls),
        |call| call == 2,
    ));
    let first = request(address, "GET", "/metrics", &[]);
    assert_eq!(first.status, 200);
    assert_eq!(value(&first.text(), "app_hook_calls_total"), Some(1));

    let failed = request(address, "GET", "/metrics", &[]);
    assert_eq!(failed.status, 500);
    assert!(failed.text().contains("panic"), "{}", failed.text());

    let next = request(address, "GET", "/metrics", &[]);
    assert_eq!(next.status, 200);
    let text = next.text();
    assert_eq!(value(&text, "app_hook_calls_total"), Some(3));
    assert_eq!(value(&text, "promstatic_failed_scrapes_total"), Some(1));
    assert_eq!(value(&text, "promstatic_scrapes_total"), Some(3));
    // Nothing half-written from the failed scrape is left in the reused buffers.
    assert_eq!(text.matches("# TYPE app_hook_calls_total").count(), 1);
    assert!(matches!(handle.state(), ListenerState::Bound { .. }));
    handle.shutdown();
}

#[test]
fn the_same_keep_alive_connection_is_served_after_a_failed_scrape() {
    let calls = Arc::new(AtomicU64::new(0));
    let (handle, address) = start(counting_hook(Exporter::new(), Arc::clone(&calls), |call| {
        call % 2 == 1
    }));
    let mut stream = connect(address);
    for round in 1..=6 {
        stream
            .write_all(b"GET /metrics HTTP/1.1\r\nHost: t\r\n\r\n")
            .unwrap();
        let response = read_response(&mut stream, false);
        let expected = if round % 2 == 1 { 500 } else { 200 };
        assert_eq!(response.status, expected, "round {round}");
    }
    // HEAD goes through the same rendering.
    stream
        .write_all(b"HEAD /metrics HTTP/1.1\r\nHost: t\r\n\r\n")
        .unwrap();
    assert_eq!(read_response(&mut stream, true).status, 500);
    handle.shutdown();
}

#[test]
fn a_panic_does_not_disturb_a_response_in_flight_on_another_connection() {
    // An exposition far larger than the socket buffers, so the first response is still
    // being written while the panics happen.
    let calls = Arc::new(AtomicU64::new(0));
    let exporter = large_exposition(Exporter::new().response_timeout(Duration::from_secs(30)));
    let (handle, address) = start(counting_hook(exporter, Arc::clone(&calls), |call| call > 1));
    let mut in_flight = connect(address);
    in_flight
        .write_all(b"GET /metrics HTTP/1.1\r\nHost: t\r\nConnection: close\r\n\r\n")
        .unwrap();
    // Read a little, so the response has begun, then stall while others panic.
    let mut start_of_body = [0u8; 1024];
    in_flight.read_exact(&mut start_of_body).unwrap();
    for _ in 0..5 {
        assert_eq!(request(address, "GET", "/metrics", &[]).status, 500);
    }
    // The stalled response completes, whole and well-formed.
    let mut rest = Vec::new();
    in_flight.read_to_end(&mut rest).unwrap();
    let mut raw = start_of_body.to_vec();
    raw.extend_from_slice(&rest);
    let (head, announced, body) = split_response(&raw);
    assert!(head.starts_with("http/1.1 200"), "{head}");
    let body = String::from_utf8(body.to_vec()).unwrap();
    assert_eq!(body.len(), announced);
    assert!(body.contains("\nhook_calls_total{label_0="));
    assert!(body.ends_with('\n'));
    assert_eq!(calls.load(Ordering::Relaxed), 6);
    handle.shutdown();
}

#[test]
fn concurrent_scrapes_with_panics_every_third_call_keep_the_exporter_serving() {
    let calls = Arc::new(AtomicU64::new(0));
    let (handle, address) = start(counting_hook(Exporter::new(), Arc::clone(&calls), |call| {
        call % 3 == 0
    }));
    let threads: Vec<_> = (0..4)
        .map(|_| {
            std::thread::spawn(move || {
                let mut failed = 0u64;
                for _ in 0..30 {
                    let response = request(address, "GET", "/metrics", &[]);
                    match response.status {
                        200 => assert!(response.text().contains("promstatic_scrapes_total ")),
                        500 => failed += 1,
                        other => panic!("unexpected status {other}"),
                    }
                }
                failed
            })
        })
        .collect();
    let failed: u64 = threads
        .into_iter()
        .map(|thread| thread.join().unwrap())
        .sum();
    // Exactly the calls that panicked failed: 120 calls, every third one.
    assert_eq!(calls.load(Ordering::Relaxed), 120);
    assert_eq!(failed, 40);
    // The exporter is still up (the 121st call does not panic) and counted them all.
    let text = request(address, "GET", "/metrics", &[]).text();
    assert_eq!(value(&text, "promstatic_failed_scrapes_total"), Some(40));
    assert_eq!(value(&text, "promstatic_scrapes_total"), Some(121));
    handle.shutdown();
}

#[test]
fn a_mounted_service_turns_a_panic_into_500_for_the_host() {
    let calls = Arc::new(AtomicU64::new(0));
    let service = counting_hook(Exporter::new(), Arc::clone(&calls), |call| call == 1)
        .service()
        .unwrap();
    let request = hyper::Request::get("/metrics").body(()).unwrap();
    assert_eq!(service.metrics(&request).status(), 500);
    assert_eq!(service.metrics(&request).status(), 200);
}

/// A panic payload whose drop panics again: the exporter's `catch_unwind` catches the first
/// panic, and the second one escapes it while the payload is dropped, unwinding through the
/// connection's task. It stands for any panic on a connection outside the rendering.
struct Bomb;

impl Drop for Bomb {
    fn drop(&mut self) {
        panic!("injected panic while a caught panic's payload is dropped");
    }
}

#[test]
fn a_panic_that_ends_a_connection_task_releases_its_slot_and_the_exporter_keeps_serving() {
    let calls = Arc::new(AtomicU64::new(0));
    let hook_calls = Arc::clone(&calls);
    // A cap of 2: had a task that panicked kept its slot, the third scrape would be refused.
    let exporter = Exporter::new().max_connections(2).on_scrape(move |_| {
        if hook_calls.fetch_add(1, Ordering::Relaxed).is_multiple_of(2) {
            std::panic::panic_any(Bomb);
        }
    });
    let (handle, address) = start(exporter);
    for round in 0..6 {
        // The task dies mid-request: the client sees the connection end without an answer.
        let mut stream = connect(address);
        stream
            .write_all(b"GET /metrics HTTP/1.1\r\nHost: t\r\n\r\n")
            .unwrap();
        let mut received = Vec::new();
        let ended = stream.read_to_end(&mut received);
        assert!(
            received.is_empty(),
            "round {round}: {}",
            String::from_utf8_lossy(&received)
        );
        assert!(
            ended.is_ok()
                || ended
                    .as_ref()
                    .is_err_and(|error| error.kind() == std::io::ErrorKind::ConnectionReset),
            "round {round}: {ended:?}"
        );
        // The exporter thread is alive and the slot came back: the next scrape is whole.
        let next = request(address, "GET", "/metrics", &[]);
        assert_eq!(next.status, 200, "round {round}");
        assert!(next.text().contains("promstatic_scrapes_total "));
    }
    assert_eq!(calls.load(Ordering::Relaxed), 12);
    assert!(matches!(handle.state(), ListenerState::Bound { .. }));
    handle.shutdown();
}
