//! A small instrumented workload: a few threads doing fake requests.
//!
//! Run with `cargo run --release --example demo`. It prints the Prometheus text exposition
//! of every metric in the binary after the workload finishes.

use std::thread;
use std::time::Duration;

use promstatic::{Counter, FloatGauge, Gauge, metric};

/// Fake requests served since start.
#[metric]
static DEMO_REQUESTS_TOTAL: Counter = Counter::new();

/// Fake requests that failed.
#[metric]
static DEMO_ERRORS_TOTAL: Counter = Counter::new();

/// Workers currently busy.
#[metric]
static DEMO_BUSY_WORKERS: Gauge = Gauge::new();

/// Seconds spent on the last fake request.
#[metric]
static DEMO_LAST_REQUEST_SECONDS: FloatGauge = FloatGauge::new();

fn main() {
    let workers: Vec<_> = (0..4u64)
        .map(|worker| {
            thread::spawn(move || {
                for request in 0..1_000u64 {
                    DEMO_BUSY_WORKERS.inc();
                    DEMO_REQUESTS_TOTAL.inc();
                    if (request + worker) % 97 == 0 {
                        DEMO_ERRORS_TOTAL.inc();
                    }
                    DEMO_LAST_REQUEST_SECONDS.set((request % 10) as f64 * 0.001);
                    DEMO_BUSY_WORKERS.dec();
                }
                thread::sleep(Duration::from_millis(1));
            })
        })
        .collect();
    for worker in workers {
        // A worker that panicked has already printed its message; the totals show the rest.
        let _ = worker.join();
    }

    let mut out = Vec::new();
    promstatic::render_text(&mut out);
    print!("{}", String::from_utf8_lossy(&out));
}
