//! Restart storm: kill -9 the demo while clients hold keep-alive connections, start it again
//! at once, 30 times. Every restart must serve on the same port quickly, without ever two
//! LISTEN sockets on it and without falling back to another port.

use std::time::{Duration, Instant};

use crate::support::{self, Demo};

const CYCLES: usize = 30;
const SERVE_WITHIN: Duration = Duration::from_millis(500);

#[test]
fn restart_storm_keeps_the_port() {
    let _serial = support::serial();
    let port = support::free_port();
    let bind = format!("127.0.0.1:{port}");
    let mut latencies = Vec::with_capacity(CYCLES);

    for cycle in 0..CYCLES {
        let started = Instant::now();
        let demo = Demo::start(&["--bind", &bind, "--fallback", "none"]);
        let address = demo.wait_url(Duration::from_secs(10)).unwrap_or_else(|| {
            panic!(
                "cycle {cycle}: no URL line within 10 s; stderr:\n{}",
                demo.stderr()
            )
        });
        assert_eq!(
            address.port(),
            port,
            "cycle {cycle}: the demo moved to another port"
        );
        // Serving means answering a scrape, not only printing the line.
        let mut held = Vec::new();
        loop {
            match support::connect(address, Duration::from_secs(2)).and_then(|mut stream| {
                support::get_on(&mut stream, "/metrics").map(|r| (stream, r))
            }) {
                Ok((stream, response)) if response.status == 200 => {
                    held.push(stream);
                    break;
                }
                _ if started.elapsed() < Duration::from_secs(10) => {
                    std::thread::sleep(Duration::from_millis(5))
                }
                other => panic!("cycle {cycle}: no scrape within 10 s: {other:?}"),
            }
        }
        let latency = started.elapsed();
        latencies.push(latency);
        assert!(
            latency <= SERVE_WITHIN,
            "cycle {cycle}: served after {latency:?} (limit {SERVE_WITHIN:?}); stderr:\n{}",
            demo.stderr()
        );
        // More keep-alive clients, each with a completed scrape, held across the kill.
        for _ in 0..3 {
            let mut stream = support::connect(address, Duration::from_secs(2)).expect("connect");
            let response = support::get_on(&mut stream, "/metrics").expect("scrape");
            assert_eq!(response.status, 200);
            held.push(stream);
        }
        assert_eq!(
            support::listen_sockets_on(port),
            1,
            "cycle {cycle}: LISTEN sockets on port {port}"
        );
        drop(demo); // SIGKILL, with the client connections still open
        drop(held);
    }
    latencies.sort();
    eprintln!(
        "restart storm: {CYCLES} cycles on port {port}, start-to-first-scrape median {:?}, max {:?}",
        latencies[CYCLES / 2],
        latencies[CYCLES - 1]
    );
}
