//! Limits under which no scrape could ever be served are refused when the exporter is built,
//! instead of reporting `Bound` and answering nothing: no connection allowed, a request-head
//! cap below the shortest `/metrics` request, no time to read a head or send a response. The
//! smallest accepted head cap really serves.

#![cfg(feature = "exporter")]

use std::io::{Read, Write};
use std::net::TcpStream;
use std::time::Duration;

use promstatic::exporter::{ConfigError, Exporter, ListenerState};

fn refused(exporter: Exporter) -> ConfigError {
    match exporter.start() {
        Ok(handle) => {
            let state = handle.state();
            handle.shutdown();
            panic!("accepted, state {state:?}")
        }
        Err(error) => error,
    }
}

fn local() -> Exporter {
    Exporter::new().address("127.0.0.1:0".parse().unwrap())
}

#[test]
fn impossible_limits_are_config_errors() {
    let cases = [
        (
            local().max_connections(0),
            "`max_connections` of 0 can never serve a scrape",
        ),
        (
            local().max_header_bytes(0),
            "`max_header_bytes` of 0 can never serve a scrape",
        ),
        (
            local().max_header_bytes(24),
            "`max_header_bytes` of 24 can never serve a scrape",
        ),
        (
            local().header_read_timeout(Duration::ZERO),
            "`header_read_timeout` of 0 s can never serve a scrape",
        ),
        (
            local().response_timeout(Duration::ZERO),
            "`response_timeout` of 0 s can never serve a scrape",
        ),
    ];
    for (exporter, expected) in cases {
        let error = refused(exporter);
        assert!(
            matches!(error, ConfigError::ImpossibleLimit { .. }),
            "{error:?}"
        );
        let message = error.to_string();
        assert!(message.starts_with(expected), "{message}");
    }
}

#[test]
fn the_smallest_accepted_limits_serve_a_scrape() {
    let handle = local()
        .max_connections(1)
        .max_header_bytes(25)
        .start()
        .unwrap();
    let ListenerState::Bound { address } = handle.state() else {
        panic!("{:?}", handle.state())
    };
    let mut stream = TcpStream::connect(address).unwrap();
    stream
        .set_read_timeout(Some(Duration::from_secs(10)))
        .unwrap();
    // Exactly 25 bytes: the shortest request head for /metrics.
    stream.write_all(b"GET /metrics HTTP/1.0\r\n\r\n").unwrap();
    let mut response = String::new();
    stream.read_to_string(&mut response).unwrap();
    assert!(response.starts_with("HTTP/1.0 200 OK\r\n"), "{response}");
    handle.shutdown();
}
