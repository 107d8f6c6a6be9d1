//! A listening socket inherited by a child that outlived its parent: the child is named.
//! In its own test binary because the socket is briefly inheritable, and a child spawned
//! meanwhile by a concurrent test would inherit it too.

#![cfg(target_os = "linux")]

mod listener_support;

use std::process::Stdio;

use listener_support::ChildGuard;
use promstatic::listener::{self, BindPolicy, Fallback, Holder, Source, State};

#[test]
fn child_that_inherited_the_socket_is_named() {
    // A listening socket without close-on-exec, inherited by `sleep`, then closed here: the
    // child now holds the port alone (what a spawned helper does after its parent died).
    let socket = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = socket.local_addr().unwrap();
    socket2::SockRef::from(&socket).set_cloexec(false).unwrap();
    let mut command = std::process::Command::new("sleep");
    command.arg("20").stdin(Stdio::null());
    let child = ChildGuard::spawn(command);
    drop(socket);
    let binding = listener::open(
        BindPolicy::new(addr)
            .socket_activation(false)
            .fallback(Fallback::Ephemeral),
    );
    let State::Bound {
        source: Source::Fallback { reason },
        attempts: 1,
        ..
    } = binding.state()
    else {
        panic!("{:?}", binding.state())
    };
    let Some(Holder::OtherProgram(process)) = reason.diagnosis().map(|diagnosis| &diagnosis.holder)
    else {
        panic!("{reason}")
    };
    assert_eq!(
        (process.pid, process.command.as_str()),
        (child.pid(), "sleep 20")
    );
    eprintln!("observed: {reason}");
}
