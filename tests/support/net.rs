//! Loopback ports for tests that need a port number before anything listens on it (a child
//! process told where to bind, a port to conflict on). Everything else binds port 0.
#![allow(dead_code, unreachable_pub)]

use std::net::TcpListener;

/// A loopback port that was free a moment ago: bind port 0, read the port, close.
///
/// Another process may take it in between; tests that use it tolerate or diagnose that (the
/// listener's own conflict reporting names the holder).
pub fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .and_then(|listener| listener.local_addr())
        .map(|address| address.port())
        .unwrap_or_else(|error| panic!("no ephemeral loopback port: {error}"))
}
