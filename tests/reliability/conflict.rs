//! Live conflicts: another program or another instance holds the port.

use std::io::{BufRead, BufReader};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use crate::support::{self, Demo};

/// `python3 -m http.server` holding a port; killed and reaped on drop.
struct ForeignHolder(Child);

impl ForeignHolder {
    fn start(port: u16) -> Option<ForeignHolder> {
        // python3 plays the foreign port holder.
        let python = support::require_tool("python3")?;
        let mut child = Command::new(python)
            .args([
                "-u",
                "-m",
                "http.server",
                &port.to_string(),
                "--bind",
                "127.0.0.1",
            ])
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .expect("start python3 -m http.server");
        let holder_output = child.stdout.take().expect("piped stdout");
        let holder = ForeignHolder(child);
        // It prints "Serving HTTP on …" once it listens.
        let mut line = String::new();
        BufReader::new(holder_output)
            .read_line(&mut line)
            .expect("python3 banner");
        assert!(line.contains("Serving HTTP"), "unexpected banner {line:?}");
        assert_eq!(support::listen_sockets_on(port), 1);
        Some(holder)
    }

    fn pid(&self) -> u32 {
        self.0.id()
    }
}

impl Drop for ForeignHolder {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

#[test]
fn foreign_holder_with_ephemeral_fallback_serves_elsewhere_at_once() {
    let _serial = support::serial();
    let port = support::free_port();
    let Some(holder) = ForeignHolder::start(port) else {
        return;
    };
    let started = Instant::now();
    let demo = Demo::start(&[
        "--bind",
        &format!("127.0.0.1:{port}"),
        "--fallback",
        "ephemeral",
    ]);
    let address = demo
        .wait_url(Duration::from_secs(10))
        .unwrap_or_else(|| panic!("no URL line; stderr:\n{}", demo.stderr()));
    let elapsed = started.elapsed();
    assert_ne!(address.port(), port, "must not share the held port");
    // A foreign holder means no retry: said by the listener's own verdict on stderr (the
    // reason says "not retried"; a retry would print "; retrying" and "gave up after"),
    // not by the elapsed time, which a loaded machine stretches.
    assert!(
        demo.wait_stderr("not retried", Duration::from_secs(5)),
        "the fallback is not reported as taken without retrying:\n{}",
        demo.stderr()
    );
    assert!(
        !demo.stderr().contains("; retrying") && !demo.stderr().contains("gave up after"),
        "a foreign holder was retried (fallback after {elapsed:?}):\n{}",
        demo.stderr()
    );
    let response = support::get(address, "/metrics", Duration::from_secs(2)).expect("scrape");
    assert_eq!(response.status, 200);
    // The diagnosis names the holder.
    assert!(
        demo.wait_stderr(&holder.pid().to_string(), Duration::from_secs(2)),
        "stderr does not name pid {}:\n{}",
        holder.pid(),
        demo.stderr()
    );
    assert!(
        demo.stderr().contains("python3"),
        "stderr:\n{}",
        demo.stderr()
    );
    assert_eq!(
        support::listen_sockets_on(port),
        1,
        "the holder keeps its port alone"
    );
    eprintln!(
        "foreign holder pid {}: fallback to port {} after {elapsed:?}",
        holder.pid(),
        address.port()
    );
}

#[test]
fn foreign_holder_without_fallback_keeps_running_disabled() {
    let _serial = support::serial();
    let port = support::free_port();
    let Some(holder) = ForeignHolder::start(port) else {
        return;
    };
    let mut demo = Demo::start(&["--bind", &format!("127.0.0.1:{port}"), "--fallback", "none"]);
    assert!(
        demo.wait_stderr("disabled", Duration::from_secs(5)),
        "the demo must say metrics are disabled; stderr:\n{}",
        demo.stderr()
    );
    assert!(demo.stderr().contains(&holder.pid().to_string()));
    std::thread::sleep(Duration::from_millis(500));
    assert!(
        demo.alive(),
        "a bind failure must not take the program down"
    );
    assert_eq!(support::listen_sockets_on(port), 1);
}

#[test]
fn a_second_instance_never_shares_the_port() {
    let _serial = support::serial();
    let port = support::free_port();
    let bind = format!("127.0.0.1:{port}");
    let first = Demo::start(&["--bind", &bind, "--fallback", "none"]);
    let first_address = first
        .wait_url(Duration::from_secs(10))
        .unwrap_or_else(|| panic!("first demo: stderr:\n{}", first.stderr()));
    assert_eq!(first_address.port(), port);

    // Without a fallback the second instance retries within its budget, then disables
    // itself; at no point is there a second listener on the port.
    let mut second = Demo::start(&["--bind", &bind, "--fallback", "none"]);
    let deadline = Instant::now() + Duration::from_secs(3);
    while Instant::now() < deadline {
        assert_eq!(support::listen_sockets_on(port), 1, "co-bound!");
        std::thread::sleep(Duration::from_millis(50));
    }
    assert!(second.alive(), "stderr:\n{}", second.stderr());
    assert!(
        second.stderr().contains(&first.pid().to_string()),
        "the second instance must name the first as holder:\n{}",
        second.stderr()
    );
    drop(second);

    // With an ephemeral fallback it serves elsewhere; the first keeps its port.
    let third = Demo::start(&["--bind", &bind, "--fallback", "ephemeral"]);
    let third_address = third
        .wait_url(Duration::from_secs(20))
        .unwrap_or_else(|| panic!("third demo: stderr:\n{}", third.stderr()));
    assert_ne!(third_address.port(), port);
    assert_eq!(support::listen_sockets_on(port), 1);
    let response = support::get(first_address, "/metrics", Duration::from_secs(2)).unwrap();
    assert_eq!(response.status, 200);
}
