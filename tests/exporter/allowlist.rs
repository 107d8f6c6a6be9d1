//! The IP allowlist: a refused peer is closed before anything is read and counted, an
//! admitted one is served, a malformed range is a `ConfigError` at start.

#![cfg(feature = "exporter")]

use crate::support;

use std::io::{Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::time::Duration;

use promstatic::exporter::{ConfigError, Exporter};
use support::{request, start, unlabelled_value};

/// Connects to `address` from the loopback address `source` (Linux routes all of 127/8 to
/// the loopback interface, so a test can be a "different host" without leaving it).
fn connect_from(source: [u8; 4], address: SocketAddr) -> TcpStream {
    let socket = socket2::Socket::new(socket2::Domain::IPV4, socket2::Type::STREAM, None).unwrap();
    socket.bind(&SocketAddr::from((source, 0)).into()).unwrap();
    socket.connect(&address.into()).unwrap();
    let stream: TcpStream = socket.into();
    stream
        .set_read_timeout(Some(Duration::from_secs(10)))
        .unwrap();
    stream
}

#[test]
fn a_peer_outside_the_list_is_closed_unanswered_and_counted() {
    let (handle, address) = start(Exporter::new().allow("127.0.0.1/32").allow("2001:db8::/32"));
    for _ in 0..3 {
        let mut stranger = connect_from([127, 0, 0, 2], address);
        // The request may already fail to send (the reset can arrive first); either way
        // not one byte of a response may come back.
        let _ = stranger.write_all(b"GET /metrics HTTP/1.1\r\nHost: test\r\n\r\n");
        let mut received = Vec::new();
        let _ = stranger.read_to_end(&mut received);
        assert!(
            received.is_empty(),
            "a refused peer got {:?}",
            String::from_utf8_lossy(&received)
        );
    }
    let response = request(address, "GET", "/metrics", &[]);
    assert_eq!(response.status, 200);
    assert_eq!(
        unlabelled_value(&response.text(), "promstatic_refused_peers_total"),
        3
    );
    handle.shutdown();
}

#[test]
fn a_peer_inside_a_range_is_served() {
    let (handle, address) = start(Exporter::new().allow("10.0.0.0/8").allow("127.0.0.0/8"));
    let mut admitted = connect_from([127, 0, 0, 2], address);
    admitted
        .write_all(b"GET /health HTTP/1.1\r\nHost: test\r\nConnection: close\r\n\r\n")
        .unwrap();
    let mut received = Vec::new();
    admitted.read_to_end(&mut received).unwrap();
    let text = String::from_utf8_lossy(&received);
    assert!(text.starts_with("HTTP/1.1 200 OK\r\n"), "{text}");
    let response = request(address, "GET", "/metrics", &[]);
    assert_eq!(
        unlabelled_value(&response.text(), "promstatic_refused_peers_total"),
        0
    );
    handle.shutdown();
}

#[test]
fn a_malformed_range_is_a_config_error_naming_it() {
    for rule in [
        "10.0.0.0/33",
        "10.0.0/8",
        "localhost",
        "::/200",
        "10.0.0.0/",
    ] {
        let error = Exporter::new()
            .address("127.0.0.1:0".parse().unwrap())
            .allow("127.0.0.1")
            .allow(rule)
            .start()
            .expect_err(rule);
        assert!(
            matches!(&error, ConfigError::Allowlist { rule: given, .. } if given == rule),
            "{error:?}"
        );
        assert!(error.to_string().contains(rule), "{error}");
    }
}

#[test]
fn a_mounted_service_refuses_an_allowlist_it_cannot_enforce() {
    let error = Exporter::new().allow("127.0.0.1").service().unwrap_err();
    assert_eq!(
        error,
        ConfigError::NeedsBuiltInServer {
            what: "an IP allowlist"
        }
    );
}
