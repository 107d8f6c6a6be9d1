//! systemd socket activation through a launcher of our own (fd 3 + `LISTEN_*`), including a
//! `LISTEN_PID` mismatch and fds that are not listening stream sockets.

#![cfg(target_os = "linux")]

use crate::listener_support;

use std::io::{Read, Write};
use std::net::{SocketAddr, TcpStream, UdpSocket};
use std::os::fd::AsRawFd;
use std::time::{Duration, Instant};

use listener_support::{ListenPid, assert_socket_options, launch_activated};
use promstatic::listener::{self, BindPolicy, Source, State};
use socket2::{Domain, Socket, Type};

/// The `activated` role: open the listener, report what came out, serve one connection.
pub(crate) fn helper_entry() {
    if std::env::var(listener_support::ROLE).as_deref() != Ok("activated") {
        return;
    }
    let binding = listener::open(BindPolicy::new("127.0.0.1:0".parse().unwrap()));
    let cleared = ["LISTEN_PID", "LISTEN_FDS", "LISTEN_FDNAMES"]
        .iter()
        .all(|name| std::env::var_os(name).is_none());
    println!(
        "\nHELPER ENV {}",
        if cleared { "cleared" } else { "still set" }
    );
    println!("HELPER FD3 {}", listener_support::fd_flags(3));
    match binding.state() {
        State::Bound { addr, source, .. } => {
            let source = match source {
                Source::SocketActivation => "activation",
                Source::Configured => "configured",
                _ => "other",
            };
            let listener = binding.wait(None).unwrap();
            assert_socket_options(&listener);
            println!("HELPER OPTIONS ok fd={}", listener.as_raw_fd());
            println!("HELPER STATE bound {source} {addr}");
            listener.set_nonblocking(false).unwrap();
            if let Ok((mut stream, _)) = listener.accept() {
                let _ = stream.write_all(b"ACTIVATED\n");
            }
        }
        State::Disabled { reason } => println!("HELPER STATE disabled {reason}"),
        State::Retrying { .. } => println!("HELPER STATE retrying"),
        _ => println!("HELPER STATE unknown"),
    }
}

const TIMEOUT: Duration = Duration::from_secs(10);

#[test]
fn activated_socket_is_adopted_and_the_environment_cleared() {
    let socket = listener_support::listening_socket();
    let addr = socket.local_addr().unwrap().as_socket().unwrap();
    let mut child = launch_activated(socket.as_raw_fd(), ListenPid::Child, "metrics", "activated");
    assert_eq!(child.expect("ENV", TIMEOUT), "cleared");
    assert_eq!(
        child.expect("FD3", TIMEOUT),
        format!("cloexec={}", libc::FD_CLOEXEC),
        "adopted fds get close-on-exec"
    );
    assert_eq!(child.expect("OPTIONS", TIMEOUT), "ok fd=3");
    assert_eq!(
        child.expect("STATE", TIMEOUT),
        format!("bound activation {addr}")
    );
    // Our copy of the socket is closed so that only the child can accept.
    drop(socket);
    let mut stream = TcpStream::connect_timeout(&addr, TIMEOUT).unwrap();
    stream.set_read_timeout(Some(TIMEOUT)).unwrap();
    let mut text = String::new();
    stream.read_to_string(&mut text).unwrap();
    assert_eq!(text, "ACTIVATED\n");
    assert!(child.wait_exit(TIMEOUT).success());
}

#[test]
fn listen_pid_mismatch_leaves_the_socket_alone_and_binds_the_configured_address() {
    let socket = listener_support::listening_socket();
    let addr = socket.local_addr().unwrap().as_socket().unwrap();
    let mut child = launch_activated(
        socket.as_raw_fd(),
        ListenPid::Other(1),
        "metrics",
        "activated",
    );
    assert_eq!(child.expect("ENV", TIMEOUT), "cleared");
    assert_eq!(
        child.expect("FD3", TIMEOUT),
        "cloexec=0",
        "not ours: untouched"
    );
    let state = child.expect("STATE", TIMEOUT);
    let bound = state
        .strip_prefix("bound configured ")
        .unwrap_or_else(|| panic!("{state}"));
    assert_ne!(bound, addr.to_string());
    // The configured listener accepts; unblock the child.
    let _ = TcpStream::connect_timeout(&bound.parse().unwrap(), TIMEOUT).unwrap();
    assert!(child.wait_exit(TIMEOUT).success());
}

#[test]
fn bound_but_not_listening_socket_disables_without_retry() {
    let socket = Socket::new(Domain::IPV4, Type::STREAM, None).unwrap();
    socket
        .bind(&SocketAddr::from(([127, 0, 0, 1], 0)).into())
        .unwrap();
    let mut child = launch_activated(socket.as_raw_fd(), ListenPid::Child, "metrics", "activated");
    let started = Instant::now();
    let state = child.expect("STATE", TIMEOUT);
    assert_eq!(
        state,
        "disabled socket activation: fd 3 is not listening (listen() was never called on it); the \
         listener is disabled (no retry on this path). Fix the socket unit (ListenStream=, \
         FileDescriptorName=) or turn socket activation off"
    );
    assert!(child.wait_exit(TIMEOUT).success());
    assert!(started.elapsed() < Duration::from_secs(5));
}

/// Launches the `activated` role with `fd` on fd 3 and returns its STATE line.
fn state_with_fd(fd: std::os::fd::RawFd) -> String {
    let mut child = launch_activated(fd, ListenPid::Child, "metrics", "activated");
    let state = child.expect("STATE", TIMEOUT);
    assert!(child.wait_exit(TIMEOUT).success());
    state
}

#[test]
fn datagram_socket_and_regular_file_are_rejected() {
    let udp = UdpSocket::bind("127.0.0.1:0").unwrap();
    let state = state_with_fd(udp.as_raw_fd());
    let expected = "disabled socket activation: fd 3 is a socket but not a stream (TCP) socket;";
    assert!(state.starts_with(expected), "{state}");
    let file = std::fs::File::open("/proc/self/status").unwrap();
    let state = state_with_fd(file.as_raw_fd());
    let expected =
        "disabled socket activation: fd 3 is not a socket (Socket operation on non-socket";
    assert!(state.starts_with(expected), "{state}");
}
