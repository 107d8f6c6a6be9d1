//! A port held by another process: a foreign program (`python3 -m http.server`), another
//! instance of this program that exits mid-retry, and one that stays.

#![cfg(target_os = "linux")]

use crate::listener_support;

use std::io::Write;
use std::net::SocketAddr;
use std::process::Stdio;
use std::time::{Duration, Instant};

use listener_support::{
    ChildGuard, Scratch, assert_socket_options, free_port, greeting, helper_command,
    spawn_instance, spawn_python_http_server,
};
use promstatic::listener::{self, BindPolicy, Fallback, Holder, Source, State};

/// The helper side of this module's tests (see `helper_entry` in `main.rs`).
pub(crate) fn helper_entry() {
    match std::env::var(listener_support::ROLE).as_deref() {
        Ok("hold") => listener_support::hold_role(),
        Ok("crash") => crash_role(),
        _ => {}
    }
}

/// Size of the memory a crashing holder dumps at first: large enough that writing the core
/// takes a while (as a large process's crash does), small enough for CI. The test doubles it
/// when the dump finished before its bind attempt could see it (see the test).
const BALLAST: usize = 192 << 20;

/// Holds the port, fills memory, and aborts (dumping core) when a line arrives on stdin.
fn crash_role() {
    let addr: SocketAddr = std::env::var("PROMSTATIC_HOLD_ADDR")
        .unwrap()
        .parse()
        .unwrap();
    let binding = listener::open(BindPolicy::new(addr).socket_activation(false));
    let listener = binding.wait(Some(Duration::from_secs(5))).unwrap();
    assert_socket_options(&listener);
    let size = std::env::var("PROMSTATIC_BALLAST")
        .ok()
        .and_then(|value| value.parse().ok())
        .unwrap_or(BALLAST);
    let ballast = vec![0x5Au8; size];
    std::hint::black_box(&ballast);
    // SAFETY: getrlimit/setrlimit with a valid struct.
    unsafe {
        let mut limit = libc::rlimit {
            rlim_cur: 0,
            rlim_max: 0,
        };
        assert_eq!(libc::getrlimit(libc::RLIMIT_CORE, &mut limit), 0);
        limit.rlim_cur = limit.rlim_max;
        assert_eq!(libc::setrlimit(libc::RLIMIT_CORE, &limit), 0);
        println!("\nHELPER CORE_LIMIT {}", limit.rlim_cur);
    }
    println!("HELPER READY {addr}");
    let mut line = String::new();
    let _ = std::io::stdin().read_line(&mut line);
    std::process::abort();
}

/// Waits for the binding and checks it got the configured `addr` back (not the fallback),
/// with the right socket options; returns the attempts it took.
fn bound_again_on(binding: &listener::Binding, addr: SocketAddr, timeout: Duration) -> u32 {
    let listener = binding.wait(Some(timeout)).unwrap();
    assert_eq!(
        listener.local_addr().unwrap(),
        addr,
        "the same port, not the fallback"
    );
    assert_socket_options(&listener);
    match binding.state() {
        State::Bound {
            source: Source::Configured,
            attempts,
            ..
        } => attempts,
        other => panic!("{other:?}"),
    }
}

fn loopback(port: u16) -> SocketAddr {
    SocketAddr::from(([127, 0, 0, 1], port))
}

#[test]
fn foreign_holder_is_named_and_the_fallback_is_used_at_once() {
    let port = free_port();
    let Some(python) = spawn_python_http_server(port) else {
        return;
    };
    let started = Instant::now();
    let binding = listener::open(
        BindPolicy::new(loopback(port))
            .socket_activation(false)
            .fallback(Fallback::Ephemeral),
    );
    // Decided within `open`: no retry for a different program.
    let state = binding.state();
    let State::Bound {
        addr,
        source: Source::Fallback { reason },
        attempts: 1,
    } = state
    else {
        panic!("{state:?}")
    };
    assert!(
        started.elapsed() < Duration::from_secs(2),
        "no backoff happened: {:?}",
        started.elapsed()
    );
    assert_ne!(addr.port(), port);
    assert_eq!(addr.ip(), loopback(port).ip(), "fallback on the same IP");
    let Some(Holder::OtherProgram(process)) = reason.diagnosis().map(|diagnosis| &diagnosis.holder)
    else {
        panic!("{reason}")
    };
    assert_eq!(process.pid, python.pid());
    assert!(
        process.command.contains("-m http.server"),
        "{}",
        process.command
    );
    let message = reason.to_string();
    assert!(
        message.contains(&format!("pid {}", python.pid())),
        "{message}"
    );
    assert!(
        message.contains(&format!(
            "python3 -m http.server {port} --bind 127.0.0.1` (uid "
        )),
        "{message}"
    );
    assert!(message.contains("not retried"), "{message}");
    eprintln!("observed: {message}");
    assert_socket_options(&binding.wait(None).unwrap());
}

#[test]
fn foreign_holder_without_fallback_disables_with_a_readable_error() {
    let port = free_port();
    let Some(python) = spawn_python_http_server(port) else {
        return;
    };
    let binding = listener::open(BindPolicy::new(loopback(port)).socket_activation(false));
    let error = binding.wait(Some(Duration::from_secs(1))).unwrap_err();
    let message = error.to_string();
    assert!(
        message.starts_with(&format!(
            "cannot listen on 127.0.0.1:{port}: bind() failed: Address already in use"
        )),
        "{message}"
    );
    assert!(
        message.contains(&format!("held by another program: pid {} `", python.pid())),
        "{message}"
    );
    assert!(
        message.contains(&format!("stop pid {}", python.pid())),
        "{message}"
    );
    assert!(matches!(binding.state(), State::Disabled { .. }));
}

#[test]
fn instance_exiting_mid_retry_releases_the_same_port_within_the_budget() {
    let addr = loopback(free_port());
    let holder = spawn_instance(addr, Some(Duration::from_millis(800)));
    let binding = listener::open(
        BindPolicy::new(addr)
            .socket_activation(false)
            .budget(Duration::from_secs(8))
            .fallback(Fallback::Ephemeral),
    );
    // Retrying in the background; the caller was not blocked.
    let State::Retrying {
        attempt,
        last_error,
    } = binding.state()
    else {
        panic!("{:?}", binding.state())
    };
    assert!(attempt >= 1);
    let diagnosis = last_error.diagnosis().unwrap();
    assert!(
        matches!(&diagnosis.holder, Holder::SameProgram(process) if process.pid == holder.pid()),
        "{last_error}"
    );
    assert!(last_error.to_string().contains("retrying"), "{last_error}");
    let attempts = bound_again_on(&binding, addr, Duration::from_secs(10));
    assert!(attempts > 1, "{attempts}");
    eprintln!("observed: bound {addr} after {attempts} attempts");
}

#[test]
fn instance_that_stays_is_never_co_bound_and_the_fallback_is_reported() {
    let addr = loopback(free_port());
    let holder = spawn_instance(addr, None);
    let scratch = Scratch::new("stays");
    let targets = scratch.0.join("targets.json");
    let port_file = scratch.0.join("port");
    let binding = listener::open(
        BindPolicy::new(addr)
            .socket_activation(false)
            // Only the first attempt (a bind and a `/proc` diagnosis) must fit in it.
            .budget(Duration::from_secs(3))
            .fallback(Fallback::Ephemeral)
            .port_file(port_file.clone())
            .file_sd(targets.clone()),
    );
    // While we retry, every connection to the port reaches the holder. What is checked is
    // counted in events, not in wall-clock time (a loaded machine may let only a few
    // attempts into the budget): `open` returns after the first failed attempt, so the
    // state starts as `Retrying`, and each retry state seen is checked against the holder.
    let expected = format!("HOLDER {}", holder.pid());
    let mut checked = 0;
    let mut last_seen_attempt = 0;
    while let State::Retrying { attempt, .. } = binding.state() {
        assert!(
            attempt >= last_seen_attempt,
            "{attempt} after {last_seen_attempt}"
        );
        last_seen_attempt = attempt;
        assert_eq!(greeting(addr).as_deref(), Some(expected.as_str()));
        checked += 1;
    }
    assert!(
        checked >= 1 && last_seen_attempt >= 1,
        "the binding was never seen retrying"
    );
    let listener = binding.wait(Some(Duration::from_secs(5))).unwrap();
    let State::Bound {
        addr: bound,
        source: Source::Fallback { reason },
        attempts,
    } = binding.state()
    else {
        panic!()
    };
    assert_ne!(bound.port(), addr.port());
    // It retried (a same-program holder is waited for, unlike a foreign one), and at least
    // once more after the last retry state this test saw; how many retries fit into the
    // budget is the backoff schedule's business, proven with a fake clock by
    // `listener::engine::tests::same_program_that_stays_leads_to_the_fallback_at_the_budget`.
    assert!(
        attempts >= 2 && attempts > last_seen_attempt,
        "{attempts} attempts, last retry seen: {last_seen_attempt}"
    );
    assert!(
        reason
            .to_string()
            .contains(&format!("gave up after {attempts} attempts")),
        "{reason}"
    );
    assert_socket_options(&listener);
    for _ in 0..5 {
        assert_eq!(
            greeting(addr).as_deref(),
            Some(expected.as_str()),
            "the holder keeps its port"
        );
    }
    // The fallback is reported; without a name, `instance` is left to Prometheus (the
    // scraped address, unique among live instances), and `job` to the scrape config.
    assert_eq!(
        std::fs::read_to_string(&port_file).unwrap(),
        format!("{}\n", bound.port())
    );
    let json: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(&targets).unwrap()).unwrap();
    assert_eq!(json[0]["targets"][0], format!("127.0.0.1:{}", bound.port()));
    assert_eq!(json[0]["labels"], serde_json::json!({}));
    eprintln!("observed: {reason}");
}

#[test]
fn holder_writing_a_core_dump_is_waited_for_beyond_the_budget() {
    // The scenario needs the bind attempt to run while the kernel is still writing the core.
    // On a loaded machine this thread can be descheduled for longer than a small dump takes;
    // the dump then finishes first, the port is free, and the attempt simply binds — which
    // says nothing about dying holders. That case is detected (the holder is gone and the
    // first attempt bound) and the scenario is run again with twice the memory to dump, so
    // the assertions below always run against a holder that was really mid-dump.
    let mut ballast = BALLAST;
    for round in 1..=4 {
        match core_dump_scenario(ballast) {
            Scenario::Skipped => return,
            Scenario::DumpFinishedFirst => {
                eprintln!("round {round}: the {ballast}-byte dump ended before the first attempt");
                ballast *= 2;
            }
            Scenario::Observed => return,
        }
    }
    panic!("the holder's core dump always finished before the first bind attempt");
}

enum Scenario {
    Skipped,
    DumpFinishedFirst,
    Observed,
}

fn core_dump_scenario(ballast: usize) -> Scenario {
    let addr = loopback(free_port());
    // The core file lands in the child's working directory, removed with `scratch`.
    let scratch = Scratch::new("core");
    let mut command = helper_command("crash");
    command
        .env("PROMSTATIC_HOLD_ADDR", addr.to_string())
        .env("PROMSTATIC_BALLAST", ballast.to_string())
        .current_dir(&scratch.0)
        .stdin(Stdio::piped());
    let mut holder = ChildGuard::spawn(command);
    let core_limit = holder.expect("CORE_LIMIT", Duration::from_secs(10));
    holder.expect("READY", Duration::from_secs(10));
    if core_limit == "0" {
        println!("skipped: core dumps are disabled here (hard RLIMIT_CORE = 0)");
        return Scenario::Skipped;
    }
    let pid = holder.pid();
    holder
        .child
        .stdin
        .take()
        .unwrap()
        .write_all(b"crash\n")
        .unwrap();
    let status = format!("/proc/{pid}/status");
    let deadline = Instant::now() + Duration::from_secs(5);
    while !std::fs::read_to_string(&status).is_ok_and(|text| text.contains("CoreDumping:\t1")) {
        assert!(
            Instant::now() < deadline,
            "pid {pid} never showed CoreDumping: 1"
        );
        std::thread::sleep(Duration::from_micros(500));
    }
    // A budget far shorter than the dump: only the extension to 30 s lets us wait for it.
    let policy = BindPolicy::new(addr)
        .socket_activation(false)
        .budget(Duration::from_millis(50));
    let binding = listener::open(policy.fallback(Fallback::Ephemeral));
    let state = binding.state();
    if let State::Bound {
        source: Source::Configured,
        attempts: 1,
        ..
    } = state
    {
        // Bound at once: only possible if the dump (and the holder) had already ended.
        assert!(
            !std::fs::read_to_string(&status).is_ok_and(|text| text.contains("CoreDumping:\t1")),
            "bound on the first attempt while pid {pid} still held the port"
        );
        return Scenario::DumpFinishedFirst;
    }
    let State::Retrying { last_error, .. } = state else {
        panic!("{state:?}")
    };
    let Some(Holder::Dying(process)) = last_error.diagnosis().map(|diagnosis| &diagnosis.holder)
    else {
        panic!("{last_error}")
    };
    assert_eq!(process.pid, pid);
    assert!(process.core_dumping);
    eprintln!("observed: {last_error}");
    let attempts = bound_again_on(&binding, addr, Duration::from_secs(40));
    eprintln!("observed: bound {addr} after {attempts} attempts, once pid {pid} finished dumping");
    Scenario::Observed
}
