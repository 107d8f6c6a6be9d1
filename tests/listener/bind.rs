//! Binding on loopback: free port, the same process twice, TIME_WAIT leftovers, address
//! overlaps, EADDRNOTAVAIL, host listeners, and the port / file_sd reports.

#![cfg(target_os = "linux")]

use crate::listener_support;

use std::io::{Read, Write};
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::time::Duration;

use listener_support::{Scratch, assert_socket_options, free_port, spawn_instance};
use promstatic::listener::{self, BindPolicy, Fallback, Holder, ListenerError, Source, State};

/// The helper side of this module's tests (see `helper_entry` in `main.rs`).
pub(crate) fn helper_entry() {
    if std::env::var(listener_support::ROLE).as_deref() == Ok("hold") {
        listener_support::hold_role();
    }
}

fn policy(addr: &str) -> BindPolicy {
    BindPolicy::new(addr.parse().unwrap()).socket_activation(false)
}

#[test]
fn free_port_binds_on_the_first_attempt() {
    let binding = listener::open(policy("127.0.0.1:0"));
    let State::Bound {
        addr,
        source: Source::Configured,
        attempts: 1,
    } = binding.state()
    else {
        panic!("{:?}", binding.state())
    };
    assert_ne!(addr.port(), 0);
    assert_eq!(binding.local_addr(), Some(addr));
    let listener = binding.wait(Some(Duration::from_secs(1))).unwrap();
    assert_eq!(listener.local_addr().unwrap(), addr);
    assert_socket_options(&listener);
    assert!(matches!(
        binding.wait(None),
        Err(ListenerError::AlreadyTaken)
    ));
    // The handed-over listener works.
    let mut client = TcpStream::connect(addr).unwrap();
    listener.set_nonblocking(false).unwrap();
    let (mut server, _) = listener.accept().unwrap();
    server.write_all(b"hi").unwrap();
    let mut buffer = [0; 2];
    client.read_exact(&mut buffer).unwrap();
    assert_eq!(&buffer, b"hi");
}

#[test]
fn the_same_process_twice_is_an_error_without_retry_or_fallback() {
    let first = listener::open(policy("127.0.0.1:0"));
    let addr = first.local_addr().unwrap();
    let second = listener::open(policy(&addr.to_string()).fallback(Fallback::Ephemeral));
    // Final at once: no background retry, no fallback.
    let State::Disabled { reason } = second.state() else {
        panic!("{:?}", second.state())
    };
    assert_eq!(reason.raw_os_error(), Some(libc::EADDRINUSE));
    assert_eq!(
        reason.diagnosis().map(|diagnosis| &diagnosis.holder),
        Some(&Holder::ThisProcess)
    );
    let message = reason.to_string();
    let expected = format!(
        "port {}: already held by this process (listening on {addr})",
        addr.port()
    );
    assert!(message.contains(&expected), "{message}");
    assert!(message.contains("opened twice"), "{message}");
    eprintln!("observed: {message}");
    assert!(second.wait(Some(Duration::from_millis(1))).is_err());
    assert_socket_options(&first.wait(None).unwrap());
}

#[test]
fn time_wait_leftovers_do_not_block_a_restart() {
    let binding = listener::open(policy("127.0.0.1:0"));
    let listener = binding.wait(None).unwrap();
    let addr = listener.local_addr().unwrap();
    listener.set_nonblocking(false).unwrap();
    let mut client = TcpStream::connect(addr).unwrap();
    let (server, _) = listener.accept().unwrap();
    // The server closes first: its side (local port = the listening port) enters TIME_WAIT.
    drop(server);
    let mut rest = Vec::new();
    client.read_to_end(&mut rest).unwrap();
    drop(client);
    drop(listener);
    drop(binding);
    let tcp = std::fs::read_to_string("/proc/net/tcp").unwrap();
    let port_hex = format!(":{:04X} ", addr.port());
    let time_wait = tcp.lines().filter(|line| {
        line.contains(&format!("0100007F{port_hex}"))
            && line.split_whitespace().nth(3) == Some("06")
    });
    assert!(
        time_wait.count() >= 1,
        "expected a TIME_WAIT row on {addr}:\n{tcp}"
    );

    let restarted = listener::open(policy(&addr.to_string()));
    let state = restarted.state();
    assert!(
        matches!(state, State::Bound { source: Source::Configured, attempts: 1, addr: bound } if bound == addr),
        "{state:?}"
    );
    assert_socket_options(&restarted.wait(None).unwrap());
}

#[test]
fn specific_address_held_blocks_the_wildcard_and_is_diagnosed() {
    let addr = SocketAddr::from(([127, 0, 0, 1], free_port()));
    let holder = spawn_instance(addr, None);
    let wildcard = format!("0.0.0.0:{}", addr.port());
    let binding = listener::open(policy(&wildcard).budget(Duration::from_millis(300)));
    let error = binding.wait(Some(Duration::from_secs(5))).unwrap_err();
    let diagnosis = error.diagnosis().unwrap();
    assert_eq!(diagnosis.listening_on, Some(addr));
    let Holder::SameProgram(process) = &diagnosis.holder else {
        panic!("{error}")
    };
    assert_eq!(process.pid, holder.pid());
    eprintln!("observed: {error}");
}

#[test]
fn dual_stack_overlaps_with_ipv4_and_v6only_does_not() {
    let addr = SocketAddr::from(([127, 0, 0, 1], free_port()));
    let holder = spawn_instance(addr, None);
    // An IPv4-mapped IPv6 address is the same endpoint as the IPv4 one.
    let mapped = format!("[::ffff:127.0.0.1]:{}", addr.port());
    let binding = listener::open(policy(&mapped).budget(Duration::from_millis(200)));
    let error = binding.wait(Some(Duration::from_secs(5))).unwrap_err();
    assert_eq!(error.raw_os_error(), Some(libc::EADDRINUSE), "{error}");
    let diagnosis = error.diagnosis().unwrap();
    assert_eq!(diagnosis.listening_on, Some(addr));
    assert!(
        matches!(&diagnosis.holder, Holder::SameProgram(process) if process.pid == holder.pid()),
        "{error}"
    );
    // A dual-stack `[::]` overlaps with 127.0.0.1 on the same port.
    let dual = format!("[::]:{}", addr.port());
    let binding = listener::open(policy(&dual).budget(Duration::from_millis(200)));
    let error = binding.wait(Some(Duration::from_secs(5))).unwrap_err();
    assert_eq!(error.raw_os_error(), Some(libc::EADDRINUSE), "{error}");
    assert_eq!(error.diagnosis().unwrap().listening_on, Some(addr));
    // `::1` and 127.0.0.1 are different endpoints: no false conflict.
    let loopback6 = format!("[::1]:{}", addr.port());
    let binding = listener::open(policy(&loopback6));
    let listener = binding.wait(Some(Duration::from_secs(1))).unwrap();
    assert!(
        socket2::SockRef::from(&listener).only_v6().unwrap(),
        "IPV6_V6ONLY set explicitly"
    );
    assert_socket_options(&listener);
}

#[test]
fn unassigned_address_is_disabled_at_once_listing_local_addresses() {
    // 192.0.2.0/24 is TEST-NET-1: never assigned to a machine.
    let binding = listener::open(policy("192.0.2.1:0").fallback(Fallback::Ephemeral));
    let State::Disabled { reason } = binding.state() else {
        panic!("{:?}", binding.state())
    };
    assert_eq!(reason.raw_os_error(), Some(libc::EADDRNOTAVAIL));
    assert!(matches!(
        *reason,
        ListenerError::Bind {
            attempts: 1,
            gave_up: true,
            ..
        }
    ));
    let message = reason.to_string();
    assert!(
        message.contains("192.0.2.1 is not assigned to this machine; use one of: "),
        "{message}"
    );
    assert!(message.contains("127.0.0.1"), "{message}");
    eprintln!("observed: {message}");
}

#[test]
fn host_listener_is_used_as_is() {
    let host = TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = host.local_addr().unwrap();
    let binding = listener::open(policy("127.0.0.1:1").listener(host));
    assert!(matches!(
        binding.state(),
        State::Bound {
            source: Source::Host,
            attempts: 0,
            ..
        }
    ));
    let listener = binding.wait(None).unwrap();
    assert_eq!(listener.local_addr().unwrap(), addr);
    assert!(socket2::SockRef::from(&listener).nonblocking().unwrap());
}

#[test]
fn port_file_and_file_sd_carry_the_real_port_and_a_stable_instance() {
    let scratch = Scratch::new("reports");
    let port_file = scratch.0.join("metrics.port");
    let targets = scratch.0.join("targets.json");
    let binding = listener::open(
        policy("127.0.0.1:0")
            .port_file(port_file.clone())
            .file_sd(targets.clone())
            .job("game")
            .instance("client-1")
            .claim_dir(scratch.0.join("claims")),
    );
    let port = binding.local_addr().unwrap().port();
    assert_eq!(
        std::fs::read_to_string(&port_file).unwrap(),
        format!("{port}\n")
    );
    let json: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(&targets).unwrap()).unwrap();
    assert_eq!(
        json,
        serde_json::json!([{
            "targets": [format!("127.0.0.1:{port}")],
            "labels": {"job": "game", "instance": "client-1"}
        }])
    );
    let leftovers: Vec<_> = std::fs::read_dir(&scratch.0)
        .unwrap()
        .map(|entry| entry.unwrap().file_name())
        .collect();
    assert_eq!(leftovers.len(), 3, "no temporary file left: {leftovers:?}");
    // Dropping the binding withdraws the advertisement.
    drop(binding);
    assert!(!port_file.exists() && !targets.exists());
}

#[test]
fn two_live_instances_never_advertise_the_same_name() {
    let scratch = Scratch::new("names");
    let claims = scratch.0.join("claims");
    let open = |file: &str| {
        let targets = scratch.0.join(file);
        let binding = listener::open(
            policy("127.0.0.1:0")
                .file_sd(targets.clone())
                .instance("worker")
                .claim_dir(claims.clone()),
        );
        let json: serde_json::Value =
            serde_json::from_str(&std::fs::read_to_string(&targets).unwrap()).unwrap();
        (binding, json[0]["labels"]["instance"].clone())
    };
    let (first, first_name) = open("a.json");
    let (second, second_name) = open("b.json");
    assert_eq!(first_name, "worker");
    assert_eq!(second_name, "worker-2");
    // The name is free again once its holder is gone: a restart gets it back.
    drop(first);
    let (restarted, restarted_name) = open("a.json");
    assert_eq!(restarted_name, "worker");
    drop((second, restarted));
    assert_eq!(std::fs::read_dir(&claims).unwrap().count(), 0);
}

#[test]
fn binding_can_move_to_another_thread() {
    fn assert_send_sync<T: Send + Sync + 'static>() {}
    assert_send_sync::<listener::Binding>();
    assert_send_sync::<ListenerError>();
    assert_send_sync::<State>();
    let binding = listener::open(policy("127.0.0.1:0"));
    let listener = std::thread::spawn(move || binding.wait(None))
        .join()
        .unwrap()
        .unwrap();
    assert_socket_options(&listener);
}
