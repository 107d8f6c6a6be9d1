//! Socket activation never takes the application's own socket. A program started with its
//! own listener on fd 3 (`LISTEN_PID` = itself, one socket, named for the application or not
//! named at all) starts the exporter: the exporter binds its own address, leaves fd 3, its
//! flags and the `LISTEN_*` variables alone, and after the exporter's shutdown the
//! application still accepts on fd 3. Only an explicit opt-in adopts an unnamed socket.
//! Real processes: a launcher puts the socket on fd 3 of a child running this test binary.

#![cfg(all(target_os = "linux", feature = "exporter"))]

use crate::listener_support;

use std::io::{Read, Write};
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::os::fd::{AsRawFd, FromRawFd};
use std::time::Duration;

use listener_support::{ListenPid, launch_activated};
use promstatic::exporter::{Exporter, ListenerState};
use promstatic::listener::BindPolicy;
use socket2::Socket;

const TIMEOUT: Duration = Duration::from_secs(10);

/// The child: an application whose listener is fd 3, starting the exporter on port 0.
pub(crate) fn helper_entry() {
    let adopt_unnamed = match std::env::var(listener_support::ROLE).as_deref() {
        Ok("application") => false,
        Ok("application-opt-in") => true,
        _ => return,
    };
    let policy = BindPolicy::new("127.0.0.1:0".parse().unwrap())
        .adopt_unnamed_activation_socket(adopt_unnamed);
    let exporter = Exporter::new().listener_policy(policy).start().unwrap();
    let source = match exporter.state() {
        ListenerState::Bound { address } => format!("bound {address}"),
        other => format!("{other:?}"),
    };
    let kept = ["LISTEN_PID", "LISTEN_FDS"]
        .iter()
        .all(|name| std::env::var_os(name).is_some());
    println!("\nHELPER ENV {}", if kept { "kept" } else { "removed" });
    println!("HELPER EXPORTER {source}");
    exporter.shutdown();
    let flags = listener_support::fd_flags(3);
    println!("HELPER FD3 {flags}");
    if flags == "closed" {
        return;
    }
    // SAFETY: fd 3 is open (checked above) and is this application's listener, which nothing
    // else in the process owns once the exporter is shut down.
    let listener = unsafe { TcpListener::from_raw_fd(3) };
    let _ = listener.set_nonblocking(false);
    if let Ok((mut stream, _)) = listener.accept() {
        let _ = stream.write_all(b"APPLICATION\n");
    }
}

fn application_socket() -> (Socket, SocketAddr) {
    let socket = listener_support::listening_socket();
    let addr = socket.local_addr().unwrap().as_socket().unwrap();
    (socket, addr)
}

fn greeting(addr: SocketAddr) -> String {
    let mut stream = TcpStream::connect_timeout(&addr, TIMEOUT).unwrap();
    stream.set_read_timeout(Some(TIMEOUT)).unwrap();
    let mut text = String::new();
    stream.read_to_string(&mut text).unwrap();
    text
}

#[test]
fn the_application_s_own_socket_on_fd_3_is_left_to_it() {
    // Named for the application, and not named at all (no FileDescriptorName=).
    for names in ["http", ""] {
        let (socket, addr) = application_socket();
        let mut child =
            launch_activated(socket.as_raw_fd(), ListenPid::Child, names, "application");
        // Only the child holds the application's socket from here on.
        drop(socket);
        assert_eq!(child.expect("ENV", TIMEOUT), "kept", "names {names:?}");
        let exporter = child.expect("EXPORTER", TIMEOUT);
        let bound = exporter
            .strip_prefix("bound ")
            .unwrap_or_else(|| panic!("{exporter}"));
        assert_ne!(
            bound,
            addr.to_string(),
            "the exporter took the application's port"
        );
        assert_eq!(
            child.expect("FD3", TIMEOUT),
            "cloexec=0",
            "fd 3 and its flags are the application's"
        );
        assert_eq!(greeting(addr), "APPLICATION\n");
        assert!(child.wait_exit(TIMEOUT).success());
    }
}

#[test]
fn an_unnamed_single_socket_is_adopted_only_on_request() {
    let (socket, addr) = application_socket();
    let mut child = launch_activated(
        socket.as_raw_fd(),
        ListenPid::Child,
        "",
        "application-opt-in",
    );
    drop(socket);
    assert_eq!(child.expect("ENV", TIMEOUT), "removed");
    assert_eq!(child.expect("EXPORTER", TIMEOUT), format!("bound {addr}"));
    // The exporter adopted fd 3, so its shutdown closed it.
    assert_eq!(child.expect("FD3", TIMEOUT), "closed");
    assert!(child.wait_exit(TIMEOUT).success());
}
