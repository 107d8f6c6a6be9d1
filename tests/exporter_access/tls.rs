//! TLS on the built-in server: HTTPS with a certificate made in the test, client
//! certificates, rotation without a restart, configuration errors, and hostile clients
//! (silent handshakes, garbage before the ClientHello) that cannot delay a real scrape.

#![cfg(feature = "tls")]

use crate::support;
// The shared helper, under this test module's own name for it.
#[path = "../support/tls.rs"]
mod tls_support;
use tls_support as tls;

use std::io::{Read, Write};
use std::net::TcpStream;
use std::time::{Duration, Instant};

use promstatic::exporter::{ConfigError, Exporter};
use support::{TempDir, start, unlabelled_value};
use tls::{Authority, client_config, get};

#[test]
fn serves_https_and_refuses_plain_http() {
    let directory = TempDir::new("tls-basic");
    let authority = Authority::new("test CA");
    let (cert, key) = authority.server("exporter").write(&directory.0, "server");
    let (handle, address) = start(Exporter::new().tls(&cert, &key));
    let client = client_config(&authority, None);
    let exchange = get(address, &client, "/metrics", &[]);
    assert_eq!(
        exchange.status(),
        Some(200),
        "{:?}",
        exchange.response.err()
    );
    // Plain HTTP on the TLS port: no HTTP answer, the connection is closed.
    let mut plain = TcpStream::connect(address).unwrap();
    plain
        .set_read_timeout(Some(Duration::from_secs(10)))
        .unwrap();
    plain
        .write_all(b"GET /metrics HTTP/1.1\r\nHost: t\r\n\r\n")
        .unwrap();
    let mut received = Vec::new();
    let _ = plain.read_to_end(&mut received);
    assert!(!received.starts_with(b"HTTP/"), "{received:?}");
    let text = get(address, &client, "/metrics", &[]).text();
    assert_eq!(
        unlabelled_value(&text, "promstatic_tls_handshake_failures_total"),
        1
    );
    handle.shutdown();
}

#[test]
fn a_client_certificate_is_required_when_a_client_ca_is_given() {
    let directory = TempDir::new("tls-client");
    let authority = Authority::new("test CA");
    let (cert, key) = authority.server("exporter").write(&directory.0, "server");
    let clients = Authority::new("client CA");
    let ca = clients.write(&directory.0, "clients");
    let (handle, address) = start(Exporter::new().tls(&cert, &key).tls_client_ca(&ca));
    let anonymous = get(address, &client_config(&authority, None), "/metrics", &[]);
    assert_eq!(
        anonymous.status(),
        None,
        "served without a client certificate"
    );
    let stranger = Authority::new("another CA").client("stranger");
    let wrong = get(
        address,
        &client_config(&authority, Some(&stranger)),
        "/metrics",
        &[],
    );
    assert_eq!(
        wrong.status(),
        None,
        "served a client signed by an unknown CA"
    );
    let prometheus = clients.client("prometheus");
    let admitted = get(
        address,
        &client_config(&authority, Some(&prometheus)),
        "/metrics",
        &[],
    );
    assert_eq!(
        admitted.status(),
        Some(200),
        "{:?}",
        admitted.response.err()
    );
    handle.shutdown();
}

#[test]
fn a_rotated_certificate_is_served_without_a_restart() {
    let directory = TempDir::new("tls-rotate");
    let authority = Authority::new("test CA");
    let first = authority.server("first");
    let (cert, key) = first.write(&directory.0, "server");
    let (handle, address) = start(Exporter::new().tls(&cert, &key));
    let client = client_config(&authority, None);
    let before = get(address, &client, "/metrics", &[]);
    assert_eq!(
        before.peer_certificate.as_deref(),
        Some(first.der.as_slice())
    );
    // A half-done rotation (new certificate, old key) keeps the old pair serving.
    let second = authority.server("second");
    std::fs::write(&cert, &second.cert_pem).unwrap();
    let deadline = Instant::now() + Duration::from_secs(3);
    while Instant::now() < deadline {
        let during = get(address, &client, "/metrics", &[]);
        assert_eq!(during.status(), Some(200));
        assert_eq!(
            during.peer_certificate.as_deref(),
            Some(first.der.as_slice())
        );
        std::thread::sleep(Duration::from_millis(100));
    }
    std::fs::write(&key, &second.key_pem).unwrap();
    // Bounded polling: the files are looked at about once a second.
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        let after = get(address, &client, "/metrics", &[]);
        assert_eq!(after.status(), Some(200));
        if after.peer_certificate.as_deref() == Some(second.der.as_slice()) {
            break;
        }
        assert!(
            Instant::now() < deadline,
            "the new certificate was never served"
        );
        std::thread::sleep(Duration::from_millis(100));
    }
    handle.shutdown();
}

#[test]
fn unusable_tls_files_fail_start() {
    let directory = TempDir::new("tls-config");
    let authority = Authority::new("test CA");
    let (cert, key) = authority.server("one").write(&directory.0, "one");
    let (_, other_key) = authority.server("two").write(&directory.0, "two");
    let garbage = directory.0.join("garbage.pem");
    std::fs::write(&garbage, "not PEM at all\n").unwrap();
    let missing = directory.0.join("missing.pem");
    let cases = [
        (Exporter::new().tls(&cert, &other_key), "does not fit"),
        (Exporter::new().tls(&missing, &key), "missing.pem"),
        (Exporter::new().tls(&cert, &missing), "missing.pem"),
        (Exporter::new().tls(&garbage, &key), "no PEM"),
        (Exporter::new().tls(&cert, &garbage), "garbage.pem"),
        (
            Exporter::new().tls(&cert, &key).tls_client_ca(&garbage),
            "no PEM",
        ),
        (
            Exporter::new().tls_client_ca(&cert),
            "without a certificate",
        ),
    ];
    for (exporter, expected) in cases {
        let error = exporter
            .address("127.0.0.1:0".parse().unwrap())
            .start()
            .unwrap_err();
        assert!(matches!(error, ConfigError::Tls { .. }), "{error:?}");
        assert!(error.to_string().contains(expected), "{error}");
        println!("{error}");
    }
}

/// Silent connections (a TCP connect and nothing else: a handshake that never starts),
/// trickled partial ClientHellos and garbage cannot delay a real scrape: the silent ones
/// are evicted at the connection cap and closed by the header timeout, garbage fails the
/// handshake at once.
#[test]
fn hostile_clients_do_not_delay_a_tls_scrape() {
    let directory = TempDir::new("tls-hostile");
    let authority = Authority::new("test CA");
    let (cert, key) = authority.server("exporter").write(&directory.0, "server");
    let (handle, address) = start(
        Exporter::new()
            .tls(&cert, &key)
            .max_connections(32)
            .header_read_timeout(Duration::from_secs(2)),
    );
    let client = client_config(&authority, None);
    let mut hostile = Vec::new();
    let mut timings = Vec::new();
    for round in 0..5 {
        // Fewer per round than the cap: a burst far beyond it, accepted before any evicted
        // connection has let go, is refused (every slot is being handed over).
        for index in 0..20 {
            let mut stream = TcpStream::connect(address).unwrap();
            match index % 3 {
                // A TLS record header announcing a ClientHello, then nothing.
                0 => {
                    let _ = stream.write_all(&[0x16, 0x03, 0x01, 0x02, 0x00, 0x01]);
                }
                1 => {
                    let _ = stream.write_all(b"\x00garbage before any ClientHello\r\n\r\n");
                }
                _ => {}
            }
            hostile.push(stream);
        }
        let started = Instant::now();
        let exchange = get(address, &client, "/metrics", &[]);
        timings.push(started.elapsed());
        assert_eq!(
            exchange.status(),
            Some(200),
            "round {round}: {:?}",
            exchange.response.err()
        );
    }
    timings.sort();
    println!(
        "TLS scrapes among {} hostile connections: {timings:?}",
        hostile.len()
    );
    assert!(
        timings[2] < Duration::from_millis(200),
        "median TLS scrape took {:?}",
        timings[2]
    );
    let text = get(address, &client, "/metrics", &[]).text();
    assert!(
        unlabelled_value(&text, "promstatic_tls_handshake_failures_total") > 0,
        "{text}"
    );
    assert!(
        unlabelled_value(&text, "promstatic_evicted_connections_total") > 0,
        "{text}"
    );
    drop(hostile);
    handle.shutdown();
}
