//! Errors other than a live listener on the port: an outgoing connection using the port,
//! a privileged port (EACCES), a holder of another uid (not visible), and running out of
//! file descriptors (EMFILE). Privilege and fd-limit cases run in child processes so that
//! this test process keeps its own uid and limits.

#![cfg(target_os = "linux")]

use crate::listener_support;

use std::net::{SocketAddr, TcpListener};
use std::time::Duration;

use listener_support::{
    ChildGuard, assert_socket_options, free_port, helper_command, spawn_instance,
};
use promstatic::listener::{self, BindPolicy, Fallback, Holder, ListenerError, Source, State};
use socket2::{Domain, Socket, Type};

const TIMEOUT: Duration = Duration::from_secs(15);

/// The helper side of this module's tests (see `helper_entry` in `main.rs`).
pub(crate) fn helper_entry() {
    match std::env::var(listener_support::ROLE).as_deref() {
        Ok("hold") => listener_support::hold_role(),
        Ok("privileged-port") => {
            drop_privileges();
            report(listener::open(
                policy(80).fallback(Fallback::Ports(1..=65535)),
            ));
        }
        Ok("hidden") => {
            let port = std::env::var("PROMSTATIC_PORT").unwrap().parse().unwrap();
            drop_privileges();
            let binding = listener::open(
                policy(port)
                    .budget(Duration::from_millis(300))
                    .fallback(Fallback::Ephemeral),
            );
            report(binding);
        }
        Ok("emfile") => emfile_role(),
        _ => {}
    }
}

fn policy(port: u16) -> BindPolicy {
    BindPolicy::new(SocketAddr::from(([127, 0, 0, 1], port))).socket_activation(false)
}

/// Becomes uid/gid 65534 (nobody); stays able to read its own /proc entries.
fn drop_privileges() {
    // SAFETY: plain system calls on this process's credentials; no memory is involved.
    unsafe {
        assert_eq!(libc::setgroups(0, std::ptr::null()), 0);
        assert_eq!(libc::setgid(65534), 0);
        assert_eq!(libc::setuid(65534), 0);
        assert_eq!(libc::prctl(libc::PR_SET_DUMPABLE, 1, 0, 0, 0), 0);
    }
}

/// Prints the final state as `HELPER STATE ...` lines for the parent.
fn report(binding: listener::Binding) {
    if let Ok(listener) = binding.wait(Some(Duration::from_secs(10))) {
        assert_socket_options(&listener);
    }
    match binding.state() {
        State::Bound {
            addr,
            source: Source::Fallback { reason },
            attempts,
        } => {
            let holder = reason
                .diagnosis()
                .map(|diagnosis| format!("{:?}", diagnosis.holder));
            println!(
                "\nHELPER STATE fallback port={} attempts={attempts} errno={:?}",
                addr.port(),
                reason.raw_os_error()
            );
            println!("HELPER HOLDER {}", holder.unwrap_or_else(|| "none".into()));
            println!("HELPER MESSAGE {reason}");
        }
        State::Bound { addr, attempts, .. } => println!(
            "\nHELPER STATE bound port={} attempts={attempts}",
            addr.port()
        ),
        State::Disabled { reason } => {
            println!(
                "\nHELPER STATE disabled errno={:?} {}",
                reason.raw_os_error(),
                attempts_of(&reason)
            );
            println!("HELPER MESSAGE {reason}");
        }
        other => println!("\nHELPER STATE other {other:?}"),
    }
}

fn attempts_of(error: &ListenerError) -> String {
    match error {
        ListenerError::Bind { attempts, .. } => format!("attempts={attempts}"),
        _ => "attempts=?".into(),
    }
}

fn is_root() -> bool {
    // SAFETY: geteuid has no preconditions.
    unsafe { libc::geteuid() == 0 }
}

/// Fills the fd table (under a low limit), opens the listener, and in the `release` mode
/// frees the fds mid-retry.
fn emfile_role() {
    let release = std::env::var("PROMSTATIC_RELEASE").as_deref() == Ok("1");
    // SAFETY: getrlimit/setrlimit with a valid struct; dup/close on fds this function owns.
    let held: Vec<i32> = unsafe {
        let mut limit = libc::rlimit {
            rlim_cur: 0,
            rlim_max: 0,
        };
        assert_eq!(libc::getrlimit(libc::RLIMIT_NOFILE, &mut limit), 0);
        limit.rlim_cur = 64.min(limit.rlim_max);
        assert_eq!(libc::setrlimit(libc::RLIMIT_NOFILE, &limit), 0);
        std::iter::from_fn(|| Some(libc::dup(2)))
            .take_while(|&fd| fd >= 0)
            .collect()
    };
    let budget = if release {
        Duration::from_secs(10)
    } else {
        Duration::from_millis(400)
    };
    let binding = listener::open(policy(0).budget(budget).fallback(Fallback::Ephemeral));
    let first = match binding.state() {
        State::Retrying { last_error, .. } => {
            format!("retrying errno={:?}", last_error.raw_os_error())
        }
        other => format!("{other:?}"),
    };
    println!("\nHELPER FIRST {first}");
    if release {
        std::thread::sleep(Duration::from_millis(200));
        for fd in held {
            // SAFETY: `fd` came from dup above and is closed once.
            unsafe { libc::close(fd) };
        }
    }
    report(binding);
}

fn run_child(role: &str, envs: &[(&str, String)]) -> ChildGuard {
    let mut command = helper_command(role);
    for (key, value) in envs {
        command.env(key, value);
    }
    ChildGuard::spawn(command)
}

#[test]
fn outgoing_connection_on_the_port_is_reported_and_waited_for() {
    let server = TcpListener::bind("127.0.0.1:0").unwrap();
    // A client whose source port is P, without SO_REUSEADDR: binding P to listen fails.
    let client = Socket::new(Domain::IPV4, Type::STREAM, None).unwrap();
    client
        .bind(&SocketAddr::from(([127, 0, 0, 1], 0)).into())
        .unwrap();
    let port = client.local_addr().unwrap().as_socket().unwrap().port();
    client
        .connect(&server.local_addr().unwrap().into())
        .unwrap();

    let binding = listener::open(policy(port).budget(Duration::from_secs(8)));
    let State::Retrying { last_error, .. } = binding.state() else {
        panic!("{:?}", binding.state())
    };
    let diagnosis = last_error.diagnosis().unwrap();
    assert!(
        matches!(diagnosis.holder, Holder::NoListener { connections, .. } if connections >= 1),
        "{last_error}"
    );
    let range = std::fs::read_to_string("/proc/sys/net/ipv4/ip_local_port_range").unwrap();
    let mut bounds = range
        .split_whitespace()
        .map(|number| number.parse::<u16>().unwrap());
    let (low, high) = (bounds.next().unwrap(), bounds.next().unwrap());
    let inside = (low..=high).contains(&port);
    assert_eq!(diagnosis.ephemeral_range.is_some(), inside);
    assert_eq!(
        last_error.to_string().contains("ip_local_port_range"),
        inside,
        "{last_error}"
    );
    eprintln!("observed: {last_error}");
    // The connection goes away mid-retry: the same port is bound. The server side closes
    // first so that the TIME_WAIT is on its side, not on port P (the client did not set
    // SO_REUSEADDR, so a TIME_WAIT on P would block P for a minute).
    std::thread::sleep(Duration::from_millis(150));
    let (accepted, _) = server.accept().unwrap();
    drop(accepted);
    std::thread::sleep(Duration::from_millis(50));
    drop(client);
    let listener = binding.wait(Some(TIMEOUT)).unwrap();
    assert_eq!(listener.local_addr().unwrap().port(), port);
    assert_socket_options(&listener);
}

#[test]
fn privileged_port_falls_back_at_once_to_an_unprivileged_port() {
    if !is_root() {
        let start = std::fs::read_to_string("/proc/sys/net/ipv4/ip_unprivileged_port_start")
            .unwrap_or_default();
        if start.trim().parse::<u16>().is_ok_and(|start| start <= 80) {
            println!(
                "skipped: port 80 is not privileged here (ip_unprivileged_port_start = {})",
                start.trim()
            );
            return;
        }
    }
    let mut child = run_child("privileged-port", &[]);
    let state = child.expect("STATE", TIMEOUT);
    let message = child.expect("MESSAGE", TIMEOUT);
    eprintln!("observed: {state}; {message}");
    let port: u16 = state
        .strip_prefix("fallback port=")
        .and_then(|rest| rest.split(' ').next())
        .and_then(|port| port.parse().ok())
        .unwrap_or_else(|| panic!("{state}"));
    assert!(port >= 1024, "{state}");
    assert!(
        state.ends_with(&format!("attempts=1 errno=Some({})", libc::EACCES)),
        "{state}"
    );
    assert!(message.contains("CAP_NET_BIND_SERVICE"), "{message}");
}

#[test]
fn holder_of_another_uid_is_hidden_and_its_uid_reported() {
    if !is_root() {
        println!("skipped: needs root to run the holder and the opener as different users");
        return;
    }
    let addr = SocketAddr::from(([127, 0, 0, 1], free_port()));
    let _holder = spawn_instance(addr, None);
    let mut child = run_child("hidden", &[("PROMSTATIC_PORT", addr.port().to_string())]);
    let state = child.expect("STATE", TIMEOUT);
    assert!(state.starts_with("fallback port="), "{state}");
    let attempts: u32 = state
        .split("attempts=")
        .nth(1)
        .unwrap()
        .split(' ')
        .next()
        .unwrap()
        .parse()
        .unwrap();
    assert!(attempts > 1, "retried before falling back: {state}");
    assert_eq!(child.expect("HOLDER", TIMEOUT), "Hidden { uid: 0 }");
    let message = child.expect("MESSAGE", TIMEOUT);
    assert!(
        message.contains("a socket owned by uid 0 listens on it, but its process is not visible"),
        "{message}"
    );
    eprintln!("observed: {message}");
}

#[test]
fn fd_exhaustion_retries_then_disables_without_fallback() {
    let mut child = run_child("emfile", &[]);
    assert_eq!(
        child.expect("FIRST", TIMEOUT),
        format!("retrying errno=Some({})", libc::EMFILE)
    );
    let state = child.expect("STATE", TIMEOUT);
    let prefix = format!("disabled errno=Some({}) attempts=", libc::EMFILE);
    let attempts: u32 = state
        .strip_prefix(&prefix)
        .unwrap_or_else(|| panic!("{state}"))
        .parse()
        .unwrap();
    assert!(attempts > 1, "{state}");
    let message = child.expect("MESSAGE", TIMEOUT);
    assert!(message.contains("ulimit -n"), "{message}");
    eprintln!("observed: {message}");
}

#[test]
fn fd_exhaustion_that_ends_mid_retry_binds() {
    let mut child = run_child("emfile", &[("PROMSTATIC_RELEASE", "1".into())]);
    assert_eq!(
        child.expect("FIRST", TIMEOUT),
        format!("retrying errno=Some({})", libc::EMFILE)
    );
    let state = child.expect("STATE", TIMEOUT);
    assert!(state.starts_with("bound port="), "{state}");
}
