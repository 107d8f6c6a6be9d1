//! The exporter's state never lies about shutdown or about a runtime it cannot run on:
//! `signal_shutdown()` right after `start()`, or before the first poll of `into_future()`,
//! leaves the state at "shut down", the port released and a connecting client refused; a
//! future driven without tokio's IO or time driver (or outside tokio) ends with a clear
//! reason, never a `Bound` state. Real loopback sockets; every wait is bounded polling.

#![cfg(feature = "exporter")]

use std::future::Future;
use std::io::ErrorKind;
use std::net::{SocketAddr, TcpStream};
use std::pin::pin;
use std::task::{Context, Poll, Waker};
use std::time::{Duration, Instant};

use promstatic::exporter::{Exporter, ExporterHandle, ListenerState};

const DEADLINE: Duration = Duration::from_secs(10);

fn local() -> Exporter {
    Exporter::new().address("127.0.0.1:0".parse().unwrap())
}

fn refused(address: SocketAddr) -> bool {
    matches!(
        TcpStream::connect_timeout(&address, Duration::from_secs(1)),
        Err(error) if error.kind() == ErrorKind::ConnectionRefused
    )
}

/// Polls until the handle says shut down, has no address, and `address` refuses
/// connections; panics with what was last seen after the deadline.
fn assert_shut_down(handle: &ExporterHandle, address: SocketAddr) {
    let started = Instant::now();
    loop {
        let state = handle.state();
        let said = matches!(&state, ListenerState::Disabled { reason } if reason.to_string().contains("shut down"));
        if said && handle.local_addr().is_none() && refused(address) {
            return;
        }
        assert!(
            started.elapsed() < DEADLINE,
            "after {DEADLINE:?}: state {state:?}, local_addr {:?}, refused {}",
            handle.local_addr(),
            refused(address)
        );
        std::thread::sleep(Duration::from_millis(10));
    }
}

#[test]
fn signal_shutdown_right_after_start() {
    for _ in 0..5 {
        let handle = local().start().unwrap();
        let address = handle.local_addr().unwrap();
        handle.signal_shutdown();
        assert_shut_down(&handle, address);
        handle.shutdown();
    }
}

#[test]
fn signal_shutdown_before_the_future_is_polled() {
    let (handle, future) = local().into_future().unwrap();
    let address = handle.local_addr().unwrap();
    handle.signal_shutdown();
    // Not polled yet: the handle alone must release the port and say so.
    assert_shut_down(&handle, address);
    // Driven afterwards, the future ends at once.
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    runtime.block_on(future);
    assert_shut_down(&handle, address);
}

#[test]
fn shutdown_of_a_future_never_polled_does_not_wait_for_it() {
    let (handle, future) = local().into_future().unwrap();
    let address = handle.local_addr().unwrap();
    let started = Instant::now();
    handle.shutdown();
    // Nothing runs the future, so there is nothing to wait for (before, 10 s).
    assert!(
        started.elapsed() < Duration::from_secs(5),
        "{:?}",
        started.elapsed()
    );
    assert!(refused(address));
    drop(future);
}

/// Runs the exporter's future on `runtime` and returns the handle's state afterwards; the
/// future must end by itself (bounded by `block_on` returning) and not panic.
fn state_on(runtime: tokio::runtime::Runtime) -> (ListenerState, SocketAddr) {
    let (handle, future) = local().into_future().unwrap();
    let address = handle.local_addr().unwrap();
    // On its own thread, so a future that never ends fails the test instead of hanging it.
    let (done, ended) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        let outcome =
            std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| runtime.block_on(future)));
        let _ = done.send(outcome.is_ok());
    });
    match ended.recv_timeout(DEADLINE) {
        Ok(true) => {}
        Ok(false) => panic!("the exporter's future panicked"),
        Err(_) => {
            let state = handle.state();
            handle.signal_shutdown();
            panic!("the exporter's future did not end within {DEADLINE:?}; state {state:?}")
        }
    }
    assert_eq!(handle.local_addr(), None);
    assert!(refused(address), "the port is still held");
    (handle.state(), address)
}

#[test]
fn a_runtime_without_the_io_driver_is_a_clear_error() {
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_time()
        .build()
        .unwrap();
    let (state, _) = state_on(runtime);
    assert!(
        matches!(&state, ListenerState::Disabled { reason } if reason.to_string().contains("IO driver")),
        "{state:?}"
    );
}

#[test]
fn a_runtime_without_the_time_driver_is_a_clear_error() {
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_io()
        .build()
        .unwrap();
    let (state, _) = state_on(runtime);
    assert!(
        matches!(&state, ListenerState::Disabled { reason } if reason.to_string().contains("time driver")),
        "{state:?}"
    );
}

#[test]
fn a_future_polled_outside_tokio_is_a_clear_error() {
    let (handle, future) = local().into_future().unwrap();
    let address = handle.local_addr().unwrap();
    let mut future = pin!(future);
    let mut context = Context::from_waker(Waker::noop());
    let outcome = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
        future.as_mut().poll(&mut context)
    }));
    assert!(
        matches!(outcome, Ok(Poll::Ready(()))),
        "the future must end at once outside a tokio runtime"
    );
    let state = handle.state();
    assert!(
        matches!(&state, ListenerState::Disabled { reason } if reason.to_string().contains("tokio runtime")),
        "{state:?}"
    );
    assert!(refused(address));
}
