//! Each connection limit, and that one slow client does not delay another.

#![cfg(feature = "exporter")]

#[path = "support/http.rs"]
mod support;

use std::io::Write;
use std::time::{Duration, Instant};

use promstatic::exporter::Exporter;
use support::{closed_within, connect, read_response, request, start};

#[test]
fn header_read_timeout_closes_a_slow_head() {
    let (handle, address) = start(Exporter::new().header_read_timeout(Duration::from_millis(300)));
    let mut stream = connect(address);
    stream
        .write_all(b"GET /metrics HTTP/1.1\r\nHost: t")
        .unwrap();
    let started = Instant::now();
    assert!(closed_within(&mut stream, Duration::from_secs(5)));
    let waited = started.elapsed();
    assert!(
        waited >= Duration::from_millis(250),
        "closed too early: {waited:?}"
    );
    handle.shutdown();
}

#[test]
fn a_silent_new_connection_is_closed_after_the_header_timeout() {
    let (handle, address) = start(Exporter::new().header_read_timeout(Duration::from_millis(300)));
    let mut stream = connect(address);
    assert!(closed_within(&mut stream, Duration::from_secs(5)));
    handle.shutdown();
}

#[test]
fn idle_keep_alive_connection_is_closed_after_the_idle_timeout() {
    let (handle, address) = start(
        Exporter::new()
            .idle_timeout(Duration::from_millis(400))
            .header_read_timeout(Duration::from_secs(30)),
    );
    let mut stream = connect(address);
    stream
        .write_all(b"GET /health HTTP/1.1\r\nHost: t\r\n\r\n")
        .unwrap();
    assert_eq!(read_response(&mut stream, false).status, 200);
    let started = Instant::now();
    assert!(closed_within(&mut stream, Duration::from_secs(5)));
    let waited = started.elapsed();
    assert!(
        waited >= Duration::from_millis(300),
        "closed too early: {waited:?}"
    );
    handle.shutdown();
}

#[test]
fn idle_timeout_longer_than_header_timeout_keeps_the_connection() {
    // The header timer must not run while a kept-alive connection waits between requests.
    let (handle, address) = start(
        Exporter::new()
            .idle_timeout(Duration::from_secs(30))
            .header_read_timeout(Duration::from_millis(200)),
    );
    let mut stream = connect(address);
    stream
        .write_all(b"GET /health HTTP/1.1\r\nHost: t\r\n\r\n")
        .unwrap();
    assert_eq!(read_response(&mut stream, false).status, 200);
    std::thread::sleep(Duration::from_millis(600));
    stream
        .write_all(b"GET /health HTTP/1.1\r\nHost: t\r\n\r\n")
        .unwrap();
    assert_eq!(read_response(&mut stream, false).status, 200);
    handle.shutdown();
}

#[test]
fn connections_beyond_the_cap_are_closed_quickly() {
    let (handle, address) = start(Exporter::new().max_connections(2));
    let held: Vec<_> = (0..2).map(|_| connect(address)).collect();
    // Let the server accept the two held connections before the third arrives.
    std::thread::sleep(Duration::from_millis(100));
    let mut excess = connect(address);
    assert!(closed_within(&mut excess, Duration::from_secs(1)));
    drop(held);
    // Once the held ones are gone, new connections are served again.
    let deadline = Instant::now() + Duration::from_secs(5);
    loop {
        let mut stream = connect(address);
        let served = stream
            .write_all(b"GET /health HTTP/1.1\r\nHost: t\r\nConnection: close\r\n\r\n")
            .is_ok()
            && !closed_within(&mut stream, Duration::from_millis(500));
        if served {
            break;
        }
        assert!(
            Instant::now() < deadline,
            "never served again after the cap"
        );
        std::thread::sleep(Duration::from_millis(50));
    }
    handle.shutdown();
}

#[test]
fn oversized_request_head_is_431() {
    let (handle, address) = start(Exporter::new().max_header_bytes(8192));
    let big = "x".repeat(16 * 1024);
    let response = request(address, "GET", "/metrics", &[("X-Big", &big)]);
    assert_eq!(response.status, 431);
    handle.shutdown();
}

#[test]
fn request_with_a_body_is_413() {
    let (handle, address) = start(Exporter::new());
    let mut stream = connect(address);
    stream
        .write_all(b"GET /metrics HTTP/1.1\r\nHost: t\r\nContent-Length: 100000\r\n\r\n")
        .unwrap();
    let response = read_response(&mut stream, false);
    assert_eq!(response.status, 413);
    assert_eq!(response.header("connection"), Some("close"));
    handle.shutdown();
}

#[test]
fn a_stalled_client_does_not_delay_another() {
    let (handle, address) = start(Exporter::new().header_read_timeout(Duration::from_secs(30)));
    // Several clients that send half a head and stall.
    let stalled: Vec<_> = (0..8)
        .map(|_| {
            let mut stream = connect(address);
            stream.write_all(b"GET /metrics HTTP/1.1\r\n").unwrap();
            stream
        })
        .collect();
    let started = Instant::now();
    for _ in 0..20 {
        assert_eq!(request(address, "GET", "/metrics", &[]).status, 200);
    }
    assert!(started.elapsed() < Duration::from_secs(5));
    drop(stalled);
    handle.shutdown();
}

#[test]
fn concurrent_scrapes_all_complete() {
    let (handle, address) = start(Exporter::new());
    let threads: Vec<_> = (0..8)
        .map(|_| {
            std::thread::spawn(move || {
                for _ in 0..25 {
                    let response = request(address, "GET", "/metrics", &[]);
                    assert_eq!(response.status, 200);
                    assert!(response.text().contains("promstatic_scrapes_total "));
                }
            })
        })
        .collect();
    for thread in threads {
        thread.join().unwrap();
    }
    let text = request(address, "GET", "/metrics", &[]).text();
    assert!(text.contains("\npromstatic_scrapes_total 201\n"), "{text}");
    handle.shutdown();
}

#[test]
fn a_client_that_does_not_read_is_cut_off_after_the_response_timeout() {
    use std::io::Read;
    // Long constant labels make the exposition far larger than the socket buffers (~13 MB),
    // so the response cannot be written while the client does not read.
    let value = "v".repeat(60_000);
    let mut exporter = Exporter::new()
        .response_timeout(Duration::from_millis(500))
        .process_metrics(false);
    for index in 0..16 {
        exporter = exporter.const_label(&format!("label_{index}"), &value);
    }
    let (handle, address) = start(exporter);
    let mut stalled = connect(address);
    stalled
        .write_all(b"GET /metrics HTTP/1.1\r\nHost: t\r\n\r\n")
        .unwrap();
    // While it stalls, others are served.
    std::thread::sleep(Duration::from_millis(100));
    let started = Instant::now();
    assert_eq!(request(address, "GET", "/health", &[]).status, 200);
    assert!(started.elapsed() < Duration::from_secs(1));
    // Another scrape does not wait for the stalled one's buffers: it takes its own.
    let started = Instant::now();
    let other = request(address, "GET", "/metrics", &[]);
    assert_eq!(other.status, 200);
    assert!(other.text().contains("promstatic_scrapes_total{label_0="));
    assert!(started.elapsed() < Duration::from_secs(5));
    // Well past the response timeout, the stalled connection has been closed: reading now
    // yields what the kernel had buffered, then the end, short of the announced length.
    std::thread::sleep(Duration::from_millis(1500));
    let mut received = Vec::new();
    stalled
        .set_read_timeout(Some(Duration::from_secs(3)))
        .unwrap();
    let ended = stalled.read_to_end(&mut received);
    assert!(
        ended.is_ok()
            || ended
                .as_ref()
                .is_err_and(|error| error.kind() == std::io::ErrorKind::ConnectionReset),
        "the connection was not closed: {ended:?}"
    );
    let head_end = received
        .windows(4)
        .position(|window| window == b"\r\n\r\n")
        .unwrap();
    let head = String::from_utf8_lossy(&received[..head_end]).to_lowercase();
    let announced: usize = head
        .lines()
        .find_map(|line| line.strip_prefix("content-length: "))
        .unwrap()
        .parse()
        .unwrap();
    let body = received.len() - head_end - 4;
    assert!(
        body < announced,
        "received the whole body ({body} of {announced})"
    );
    handle.shutdown();
}

#[test]
fn limits_set_to_their_maximum_mean_no_limit_and_never_panic() {
    let (handle, address) = start(
        Exporter::new()
            .header_read_timeout(Duration::MAX)
            .idle_timeout(Duration::MAX)
            .response_timeout(Duration::MAX)
            .shutdown_grace(Duration::MAX)
            .max_header_bytes(usize::MAX)
            .max_connections(usize::MAX),
    );
    assert_eq!(request(address, "GET", "/metrics", &[]).status, 200);
    // With no connection open, shutdown does not wait for the (unbounded) grace period.
    handle.shutdown();
}
