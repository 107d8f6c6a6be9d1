//! Dropping a retrying binding stops its background thread (its own binary, so no other
//! test's retry thread is counted).

#![cfg(target_os = "linux")]

mod listener_support;

use std::net::SocketAddr;
use std::time::{Duration, Instant};

use listener_support::{free_port, spawn_instance};
use promstatic::listener::{self, BindPolicy, State};

#[test]
fn helper_entry() {
    if std::env::var(listener_support::ROLE).as_deref() == Ok("hold") {
        listener_support::hold_role();
    }
}

#[test]
fn dropping_the_binding_stops_the_retry_thread() {
    let addr = SocketAddr::from(([127, 0, 0, 1], free_port()));
    let _holder = spawn_instance(addr, None);
    let retry_threads = || {
        std::fs::read_dir("/proc/self/task")
            .unwrap()
            .filter(|task| {
                let comm = std::fs::read_to_string(task.as_ref().unwrap().path().join("comm"))
                    .unwrap_or_default();
                comm.trim() == "promstatic-bind"
            })
            .count()
    };
    let binding = listener::open(
        BindPolicy::new(addr)
            .socket_activation(false)
            .budget(Duration::from_secs(20)),
    );
    assert!(matches!(binding.state(), State::Retrying { .. }));
    // The thread names itself once it runs.
    let deadline = Instant::now() + Duration::from_secs(3);
    while retry_threads() == 0 && Instant::now() < deadline {
        std::thread::sleep(Duration::from_millis(5));
    }
    assert_eq!(retry_threads(), 1);
    drop(binding);
    let deadline = Instant::now() + Duration::from_secs(3);
    // This binary holds no other test that retries, so the count must drop to zero.
    while retry_threads() > 0 && Instant::now() < deadline {
        std::thread::sleep(Duration::from_millis(20));
    }
    assert!(
        Instant::now() < deadline,
        "the retry thread kept running after the drop"
    );
}
