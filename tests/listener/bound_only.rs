//! A port held by a socket that was bound but never put to `listen()`: such a socket is in no
//! `/proc/net/tcp*` row, so the diagnosis reads the kernel's bound-inactive dump (Linux 6.8+)
//! to name the holder, and says "bound by some process but not listening" where it cannot.
//! The holders are real child processes: another instance of this program (retried, then
//! the port is bound once it exits) and a foreign program (python3: the fallback at once).

#![cfg(target_os = "linux")]

use crate::listener_support;

use std::net::SocketAddr;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use listener_support::{ChildGuard, free_port, helper_command, tools_required};
use promstatic::listener::{self, BindPolicy, Fallback, Holder, Source, State};
use socket2::{Domain, Socket, Type};

/// The helper side of this module's tests (see `helper_entry` in `main.rs`).
pub(crate) fn helper_entry() {
    if std::env::var(listener_support::ROLE).as_deref() == Ok("bind-only") {
        bind_only_role();
    }
}

/// Binds `PROMSTATIC_HOLD_ADDR` without `SO_REUSEADDR` (which would let a second
/// `SO_REUSEADDR` socket bind beside a non-listening one), never listens, and exits after
/// `PROMSTATIC_HOLD_MS`.
fn bind_only_role() {
    let addr: SocketAddr = std::env::var("PROMSTATIC_HOLD_ADDR")
        .unwrap()
        .parse()
        .unwrap();
    let hold: u64 = std::env::var("PROMSTATIC_HOLD_MS")
        .unwrap()
        .parse()
        .unwrap();
    let socket = Socket::new(Domain::IPV4, Type::STREAM, None).unwrap();
    socket.bind(&addr.into()).unwrap();
    println!("\nHELPER READY {addr}");
    std::thread::sleep(Duration::from_millis(hold));
    drop(socket);
    std::process::exit(0);
}

fn kernel_lists_bound_only_sockets() -> bool {
    let release = std::fs::read_to_string("/proc/sys/kernel/osrelease").unwrap_or_default();
    let mut parts = release
        .trim()
        .split(|ch: char| !ch.is_ascii_digit())
        .map(|part| part.parse::<u32>().unwrap_or(0));
    (parts.next().unwrap_or(0), parts.next().unwrap_or(0)) >= (6, 8)
}

fn loopback(port: u16) -> SocketAddr {
    SocketAddr::from(([127, 0, 0, 1], port))
}

#[test]
fn another_instance_bound_without_listening_is_named_and_waited_for() {
    let addr = loopback(free_port());
    let mut command = helper_command("bind-only");
    command
        .env("PROMSTATIC_HOLD_ADDR", addr.to_string())
        .env("PROMSTATIC_HOLD_MS", "1500");
    let mut holder = ChildGuard::spawn(command);
    assert_eq!(
        holder.expect("READY", Duration::from_secs(10)),
        addr.to_string()
    );
    let binding = listener::open(
        BindPolicy::new(addr)
            .socket_activation(false)
            .budget(Duration::from_secs(20))
            .fallback(Fallback::Ephemeral),
    );
    let State::Retrying { last_error, .. } = binding.state() else {
        panic!("{:?}", binding.state())
    };
    let message = last_error.to_string();
    let diagnosis = last_error.diagnosis().unwrap();
    if kernel_lists_bound_only_sockets() {
        assert!(
            matches!(&diagnosis.holder, Holder::SameProgram(process) if process.pid == holder.pid()),
            "{message}"
        );
        assert_eq!(diagnosis.bound_not_listening, Some(addr), "{message}");
        assert!(
            message.contains(&format!("(bound to {addr} but not listening)")),
            "{message}"
        );
    } else {
        assert_eq!(
            diagnosis.holder,
            Holder::BoundNotListening { uid: None },
            "{message}"
        );
        assert!(
            message.contains("bound by some process but not listening"),
            "{message}"
        );
    }
    assert!(!message.contains("nothing listens"), "{message}");
    // Once the holder exits, the configured port is bound, not the fallback.
    let listener = binding.wait(Some(Duration::from_secs(20))).unwrap();
    assert_eq!(listener.local_addr().unwrap(), addr);
    assert!(
        matches!(
            binding.state(),
            State::Bound {
                source: Source::Configured,
                ..
            }
        ),
        "{:?}",
        binding.state()
    );
    holder.wait_exit(Duration::from_secs(10));
}

/// python3 binding without listening; `None` (after saying why) without python3.
fn spawn_python_bind_only(addr: SocketAddr) -> Option<ChildGuard> {
    let script = "import socket, sys, time\n\
                  s = socket.socket()\n\
                  s.bind((sys.argv[1], int(sys.argv[2])))\n\
                  print('HELPER READY bound', flush=True)\n\
                  time.sleep(60)\n";
    let mut command = Command::new("python3");
    command
        .args([
            "-c",
            script,
            &addr.ip().to_string(),
            &addr.port().to_string(),
        ])
        .stdin(Stdio::null());
    if Command::new("python3").arg("-V").output().is_err() {
        assert!(
            !tools_required(),
            "python3 is required (PROMSTATIC_REQUIRE_TOOLS=1)"
        );
        println!("skipped: python3 is not available");
        return None;
    }
    let mut child = ChildGuard::spawn(command);
    child.expect("READY", Duration::from_secs(10));
    Some(child)
}

#[test]
fn a_foreign_program_bound_without_listening_means_the_fallback_at_once() {
    if !kernel_lists_bound_only_sockets() {
        println!("skipped: the kernel does not list bound-only sockets (Linux 6.8+)");
        return;
    }
    let addr = loopback(free_port());
    let Some(python) = spawn_python_bind_only(addr) else {
        return;
    };
    let started = Instant::now();
    let binding = listener::open(
        BindPolicy::new(addr)
            .socket_activation(false)
            .fallback(Fallback::Ephemeral),
    );
    let State::Bound {
        addr: bound,
        source: Source::Fallback { reason },
        attempts: 1,
    } = binding.state()
    else {
        panic!("{:?}", binding.state())
    };
    assert!(started.elapsed() < Duration::from_secs(5));
    assert_ne!(bound.port(), addr.port());
    let message = reason.to_string();
    let Some(Holder::OtherProgram(process)) = reason.diagnosis().map(|d| &d.holder) else {
        panic!("{message}")
    };
    assert_eq!(process.pid, python.pid());
    assert!(
        message.contains(&format!("(bound to {addr} but not listening)")),
        "{message}"
    );
    eprintln!("observed: {message}");
}
