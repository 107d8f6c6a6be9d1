//! Each connection limit, and that one slow client does not delay another.

#![cfg(feature = "exporter")]

#[path = "support/http.rs"]
mod support;

use std::io::Write;
use std::time::{Duration, Instant};

use promstatic::exporter::Exporter;
use support::{
    closed_within, connect, large_exposition, read_response, request, split_response, start,
};

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

/// Whether the server has started to answer on `stream` within `within`: its first response
/// byte has arrived (peeked, so nothing is consumed).
fn answering(stream: &std::net::TcpStream, within: Duration) -> bool {
    let mut byte = [0u8; 1];
    stream.set_read_timeout(Some(within)).is_ok() && matches!(stream.peek(&mut byte), Ok(1))
}

/// A connection that asked for the exposition and does not read it.
fn stalled_scrape(address: std::net::SocketAddr) -> std::net::TcpStream {
    let mut stream = connect(address);
    stream
        .write_all(b"GET /metrics HTTP/1.1\r\nHost: t\r\n\r\n")
        .unwrap();
    stream
}

#[test]
fn at_the_cap_a_newcomer_is_refused_only_when_every_connection_is_being_answered() {
    let (handle, address) = start(large_exposition(Exporter::new().max_connections(2)));
    let held: Vec<_> = (0..2).map(|_| stalled_scrape(address)).collect();
    // The server accepted both and is answering them once the first response bytes arrive:
    // only then may the third be refused (a connection still reading its head is evictable).
    for stream in &held {
        assert!(
            answering(stream, Duration::from_secs(20)),
            "a held scrape was never answered"
        );
    }
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
    let text = request(address, "GET", "/metrics", &[]).text();
    let refused: u64 = text
        .lines()
        .find_map(|line| line.strip_prefix("promstatic_rejected_connections_total{"))
        .and_then(|rest| rest.rsplit(' ').next())
        .and_then(|value| value.parse().ok())
        .expect("a rejection counter");
    assert!(refused >= 1, "the refusal was not counted");
    handle.shutdown();
}

#[test]
fn at_the_cap_the_longest_silent_connection_makes_room_for_a_scrape() {
    let (handle, address) = start(
        Exporter::new()
            .max_connections(4)
            .header_read_timeout(Duration::from_secs(30)),
    );
    let mut silent = Vec::new();
    for _ in 0..4 {
        silent.push(connect(address));
        // Distinct arrival times, so the oldest is well defined.
        std::thread::sleep(Duration::from_millis(50));
    }
    let started = Instant::now();
    let response = request(address, "GET", "/metrics", &[]);
    assert_eq!(response.status, 200);
    assert!(started.elapsed() < Duration::from_secs(2));
    assert!(
        response
            .text()
            .contains("\npromstatic_evicted_connections_total 1\n"),
        "{}",
        response.text()
    );
    // The oldest silent connection was closed for it; the others are still open.
    assert!(closed_within(&mut silent[0], Duration::from_secs(1)));
    for stream in &mut silent[1..] {
        assert!(!closed_within(stream, Duration::from_millis(100)));
    }
    // The scrape's slot is free again once it is answered; fill the cap again, and the next
    // scrape takes the place of the next oldest.
    silent.push(connect(address));
    std::thread::sleep(Duration::from_millis(100));
    assert_eq!(request(address, "GET", "/health", &[]).status, 200);
    assert!(closed_within(&mut silent[1], Duration::from_secs(1)));
    assert!(!closed_within(&mut silent[2], Duration::from_millis(100)));
    handle.shutdown();
}

#[test]
fn a_connection_reading_a_head_is_evicted_before_an_idle_kept_alive_one() {
    let (handle, address) = start(
        Exporter::new()
            .max_connections(2)
            .header_read_timeout(Duration::from_secs(30)),
    );
    // The older connection: a kept-alive client between two scrapes.
    let mut kept_alive = connect(address);
    kept_alive
        .write_all(b"GET /health HTTP/1.1\r\nHost: t\r\n\r\n")
        .unwrap();
    assert_eq!(read_response(&mut kept_alive, false).status, 200);
    std::thread::sleep(Duration::from_millis(50));
    // The newer one: half a head, then nothing.
    let mut slow = connect(address);
    slow.write_all(b"GET /metrics HTTP/1.1\r\n").unwrap();
    std::thread::sleep(Duration::from_millis(100));
    assert_eq!(request(address, "GET", "/metrics", &[]).status, 200);
    assert!(closed_within(&mut slow, Duration::from_secs(1)));
    // The kept-alive connection still serves its next request.
    kept_alive
        .write_all(b"GET /health HTTP/1.1\r\nHost: t\r\n\r\n")
        .unwrap();
    assert_eq!(read_response(&mut kept_alive, false).status, 200);
    // With no connection reading a head, the longest idle one makes room.
    std::thread::sleep(Duration::from_millis(50));
    let mut newer = connect(address);
    newer
        .write_all(b"GET /health HTTP/1.1\r\nHost: t\r\n\r\n")
        .unwrap();
    assert_eq!(read_response(&mut newer, false).status, 200);
    std::thread::sleep(Duration::from_millis(50));
    assert_eq!(request(address, "GET", "/health", &[]).status, 200);
    assert!(closed_within(&mut kept_alive, Duration::from_secs(1)));
    newer
        .write_all(b"GET /health HTTP/1.1\r\nHost: t\r\n\r\n")
        .unwrap();
    assert_eq!(read_response(&mut newer, false).status, 200);
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
    // The exposition is far larger than the socket buffers, so the response cannot be
    // written while the client does not read.
    // The limit is generous because the other scrape below must hand over the same large
    // exposition within it on a loaded machine; what is checked is the stalled connection.
    const LIMIT: Duration = Duration::from_secs(4);
    let exporter = large_exposition(Exporter::new().response_timeout(LIMIT));
    let (handle, address) = start(exporter);
    let mut stalled = connect(address);
    stalled
        .write_all(b"GET /metrics HTTP/1.1\r\nHost: t\r\n\r\n")
        .unwrap();
    let sent = Instant::now();
    assert!(answering(&stalled, Duration::from_secs(20)));
    // While it stalls, others are served: well before the stalled one is cut off, so they
    // did not wait for it.
    assert_eq!(request(address, "GET", "/health", &[]).status, 200);
    // Another scrape does not wait for the stalled one's buffers: it takes its own (and is
    // itself answered within the response limit, or it would be cut off short).
    let other = request(address, "GET", "/metrics", &[]);
    assert_eq!(other.status, 200);
    assert!(other.text().contains("promstatic_scrapes_total{label_0="));
    assert!(
        sent.elapsed() < LIMIT,
        "the others were served only after the stalled response's limit: {:?}",
        sent.elapsed()
    );
    // Well past the response limit, the stalled connection has been closed: reading now
    // yields what the kernel had buffered, then the end, short of the announced length.
    std::thread::sleep(
        (sent + LIMIT + Duration::from_secs(2)).saturating_duration_since(Instant::now()),
    );
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
    let (_, announced, body) = split_response(&received);
    let body = body.len();
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
