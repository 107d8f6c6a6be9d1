//! Reliability of the demo server under restarts, port conflicts and hostile clients.
//!
//! Every test runs the real `examples/demo.rs` binary on loopback, bounds its own time and
//! request counts, and kills only the processes it started, by pid. The tests in this binary
//! run one at a time (they measure latency, RSS and fd counts of a child process, which a
//! concurrent test would disturb).

mod conflict;
mod hostile;
mod restart;
mod support;
