//! The built-in HTTP exporter, one module per behaviour, linked into one test binary.
//!
//! Every module starts its own exporter on a free loopback port and asserts on its own
//! families, the exporter's self-metrics (per exporter) or values it set itself, never on the
//! whole table: the `#[metric]` statics of all modules share this binary's table. Tests that
//! need a process to themselves have their own binaries: `exporter_allocations.rs` (a global
//! counting allocator), `exporter_emfile.rs` (lowers `RLIMIT_NOFILE`), `exporter_limits.rs`
//! (its responses carry 1 MB of constant labels per series of the table, and its timeouts are
//! set for the size of its own table: more statics beside it make every response longer),
//! and `exporter_access/` (features `auth` and `tls`).

#![cfg(feature = "exporter")]

#[path = "../support/http.rs"]
mod support;

mod allowlist;
mod demo;
mod endpoints;
mod gzip;
mod impossible_limits;
mod lifecycle;
mod negotiation;
mod panic;
mod protobuf;
mod python_client;
mod shutdown_states;
