//! The embedded HTTP exporter: `/metrics` over HTTP/1.1 on hyper and tokio.
//!
//! # Three ways to run it
//!
//! * [`Exporter::start`]: its own OS thread running a current-thread tokio runtime, so it
//!   works in programs without async and never takes threads from the host's runtime;
//! * [`Exporter::into_future`]: a future to `spawn` on the host's own tokio runtime;
//! * [`Exporter::service`]: a [`MetricsService`] a host mounts at `/metrics` on its own hyper
//!   or axum server, on the port it already has.
//!
//! # Endpoints
//!
//! `GET`/`HEAD /metrics` (the exposition), `/health` (200, `ok`), `/` (a small index linking
//! to `/metrics`); any other path is 404 and any other method 405 with an `Allow` header.
//! The format is negotiated from `Accept` (OpenMetrics 1.0.0 when asked for, text 0.0.4
//! otherwise) and the body is gzipped when `Accept-Encoding` allows it and the exposition is
//! larger than a threshold.
//!
//! # The scrape path takes no lock
//!
//! A scrape reads atomics from the static table, formats them into buffers taken from a
//! lock-free pool (one atomic swap), and hands the buffers to hyper as the body; they return
//! to the pool when written. Writers never wait for a scrape, a scrape never waits for
//! another, and once the pool is warm a scrape allocates nothing but the two tables of the
//! response's `HeaderMap` (`tests/exporter_allocations.rs` counts them). The connection's
//! own bookkeeping (timeouts, shutdown) is atomics too; what tokio does underneath (its timer
//! wheel, waking tasks) uses tokio's internal short mutexes, never held across our code.
//!
//! # Limits
//!
//! One slow or hostile client cannot hold the exporter: a request head must arrive within
//! [`Exporter::header_read_timeout`], an idle kept-alive connection is closed after
//! [`Exporter::idle_timeout`], a response must be taken within
//! [`Exporter::response_timeout`], request heads are capped at
//! [`Exporter::max_header_bytes`] (431) and requests announcing a body get 413. When the
//! process runs out of file descriptors the accept loop backs off instead of spinning.
//!
//! At most [`Exporter::max_connections`] connections are served at once. When a new one
//! arrives at the cap, the exporter makes room for it by closing the connection that has
//! waited longest without sending a complete request head: one still reading a head (a slow
//! or silent client) first, else one idle between requests (a kept-alive client loses
//! nothing: it reconnects for its next scrape). The newcomer is refused (closed at once) only
//! when every connection is busy being answered. So hundreds of connections that trickle
//! header bytes (slowloris) cannot lock out a scraper: each new scrape takes the place of the
//! oldest of them, and the header timeout closes the rest. The connections are kept in a fixed
//! table of slots claimed and released with atomic operations;
//! `promstatic_evicted_connections_total` and `promstatic_rejected_connections_total` count
//! both outcomes.
//!
//! # Failure never takes the host down
//!
//! Nothing here panics on input, the OS or the network. The listening socket comes from
//! [`crate::listener`] ([`Exporter::listener_policy`]): it retries in the background, names
//! whoever holds the port, falls back if told to, and writes the port file and file_sd target.
//! If no socket can be had, [`ExporterHandle::state`] says why ([`ListenerState::Disabled`])
//! and the host keeps running without metrics.
//!
//! A panic is contained too. Rendering (which runs the host's [`Exporter::on_scrape`] hook)
//! is wrapped in `catch_unwind`: that scrape is answered 500, logged and counted in
//! `promstatic_failed_scrapes_total`, and the next one is rendered afresh. Anything else on a
//! connection runs in that connection's own tokio task, which a panic ends alone (tokio
//! catches it); the connection's slot and count are released by guards as it unwinds, so
//! neither the accept loop, nor the exporter thread, nor the host is affected.

//! # Where things are
//!
//! * [`Exporter`] (`builder.rs`): the configuration and the three ways to run;
//! * [`ExporterHandle`] (`handle.rs`): state, address and shutdown, for the host;
//! * [`ListenerState`] (`state.rs`) and [`ConfigError`] (`error.rs`);
//! * [`MetricsService`] (`respond.rs`): routing and rendering one request;
//! * `core.rs`: the validated configuration and state every part shares;
//! * `self_metrics.rs`: the one list of the `promstatic_*` metrics;
//! * `shutdown.rs`: the stop request and the drain that follows it;
//! * `bind.rs`: the listening socket, from [`crate::listener`];
//! * `server.rs`: the accept loop; `connection.rs`: one connection's task;
//! * `slots.rs`: the connection cap, eviction and the lock-free slot hand-over;
//! * `watchdog.rs` and `watched_stream.rs`: the per-phase timeouts and the stream that
//!   reports each phase;
//! * `pool.rs`, `gzip.rs`, `negotiate.rs`: scrape buffers and the response body, gzip, and
//!   content negotiation.

mod bind;
mod builder;
mod connection;
mod core;
mod error;
mod gzip;
mod handle;
mod negotiate;
mod pool;
mod respond;
mod self_metrics;
mod server;
mod shutdown;
mod slots;
mod state;
mod watchdog;
mod watched_stream;

pub use self::builder::{DEFAULT_PORT, Exporter, MAX_CONST_LABELS, ScrapeHookOutput};
pub use self::error::ConfigError;
pub use self::handle::ExporterHandle;
pub use self::pool::ExporterBody;
pub use self::respond::MetricsService;
pub use self::state::{ListenerState, Reason};
