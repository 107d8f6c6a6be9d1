//! A listener handed in by the host must be listening, as a socket-activation fd must: a
//! `TcpListener` can be made from any descriptor (a connected stream's, a socket bound
//! without `listen()`), and serving on one would report `Bound` while nothing can connect.
//! Both the listener module and the exporter refuse it with a readable reason.

#![cfg(all(target_os = "linux", feature = "exporter"))]

use std::net::{TcpListener, TcpStream};
use std::os::fd::OwnedFd;

use promstatic::exporter::{Exporter, ListenerState};
use promstatic::listener::{self, BindPolicy, State};
use socket2::{Domain, Socket, Type};

/// A connected stream turned into a "listener".
fn connected_stream_as_listener() -> (TcpListener, TcpListener) {
    let server = TcpListener::bind("127.0.0.1:0").unwrap();
    let client = TcpStream::connect(server.local_addr().unwrap()).unwrap();
    (TcpListener::from(OwnedFd::from(client)), server)
}

/// A socket bound without `listen()`.
fn bound_only_as_listener() -> TcpListener {
    let socket = Socket::new(Domain::IPV4, Type::STREAM, None).unwrap();
    socket
        .bind(
            &"127.0.0.1:0"
                .parse::<std::net::SocketAddr>()
                .unwrap()
                .into(),
        )
        .unwrap();
    TcpListener::from(OwnedFd::from(socket))
}

const REFUSED: &str = "the listener handed in by the host is unusable: it is not listening \
                       (listen() was never called on it); the listener is disabled";

#[test]
fn the_listener_module_refuses_a_host_listener_that_is_not_listening() {
    let (connected, _server) = connected_stream_as_listener();
    for fake in [connected, bound_only_as_listener()] {
        let binding = listener::open(
            BindPolicy::new("127.0.0.1:0".parse().unwrap())
                .socket_activation(false)
                .listener(fake),
        );
        let State::Disabled { reason } = binding.state() else {
            panic!("{:?}", binding.state())
        };
        let message = reason.to_string();
        assert!(message.starts_with(REFUSED), "{message}");
    }
}

#[test]
fn the_exporter_does_not_report_bound_on_a_host_listener_that_is_not_listening() {
    let (connected, _server) = connected_stream_as_listener();
    let policy = BindPolicy::new("127.0.0.1:0".parse().unwrap())
        .socket_activation(false)
        .listener(connected);
    let handle = Exporter::new().listener_policy(policy).start().unwrap();
    let state = handle.state();
    assert!(
        matches!(&state, ListenerState::Disabled { reason } if reason.to_string().contains("it is not listening")),
        "{state:?}"
    );
    assert_eq!(handle.local_addr(), None);
    handle.shutdown();
}
