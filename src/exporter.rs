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

mod bind;
mod gzip;
mod negotiate;
mod pool;
mod respond;
mod server;

use std::fmt;
use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::mpsc;
use std::thread::JoinHandle;
use std::time::Duration;

use crate::encode::Encoder;
use crate::listener::BindPolicy;
use crate::name::{self, NameError};

pub use self::pool::{Chunk, ExporterBody, Pooled};
pub use self::respond::MetricsService;

/// The most constant labels an exporter accepts (they are kept in a fixed array so a scrape
/// does not allocate a list of them).
pub const MAX_CONST_LABELS: usize = 16;

/// The port used when none is given (an unassigned port near the usual exporter range).
pub const DEFAULT_PORT: u16 = 9464;

/// Configures and runs the exporter; see the module docs.
///
/// ```no_run
/// use promstatic::exporter::Exporter;
///
/// let handle = Exporter::new()
///     .address("127.0.0.1:9464".parse().unwrap())
///     .namespace("myapp_")
///     .const_label("region", "eu-west")
///     .start()
///     .expect("valid configuration");
/// println!("metrics at http://{:?}/metrics", handle.local_addr());
/// handle.shutdown();
/// ```
#[derive(Debug)]
pub struct Exporter {
    config: Config,
    policy: BindPolicy,
}

#[derive(Debug, Clone)]
pub(crate) struct Config {
    pub(crate) namespace: String,
    pub(crate) const_labels: Vec<(String, String)>,
    pub(crate) process_metrics: bool,
    pub(crate) build_info: Option<(String, String)>,
    pub(crate) limits: Limits,
    pub(crate) gzip_min_bytes: usize,
    pub(crate) on_scrape: Option<ScrapeHook>,
}

/// The host's function that adds run-time families to each scrape; see
/// [`Exporter::on_scrape`].
#[derive(Clone)]
pub(crate) struct ScrapeHook(pub(crate) Arc<dyn Fn(&mut Encoder<'_>) + Send + Sync>);

impl fmt::Debug for ScrapeHook {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("ScrapeHook(..)")
    }
}

/// Connection limits; see the module docs.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Limits {
    pub(crate) header_read: Duration,
    pub(crate) idle: Duration,
    pub(crate) response: Duration,
    pub(crate) max_connections: usize,
    pub(crate) max_header_bytes: usize,
    pub(crate) shutdown_grace: Duration,
}

impl Default for Exporter {
    fn default() -> Self {
        Self::new()
    }
}

impl Exporter {
    /// An exporter on `127.0.0.1:9464` with the default limits, process metrics on.
    ///
    /// The default address is loopback on purpose: metrics reveal what a program does and
    /// how busy it is, and an exporter that silently listens on every interface exposes that
    /// (and an HTTP server) to the network. Listening beyond the host is a decision the
    /// operator makes explicitly with [`Exporter::address`] (`0.0.0.0:…` or a specific
    /// interface), for example when Prometheus runs on another machine.
    pub fn new() -> Self {
        Exporter {
            policy: BindPolicy::new(SocketAddr::new(
                IpAddr::V4(Ipv4Addr::LOCALHOST),
                DEFAULT_PORT,
            )),
            config: Config {
                namespace: String::new(),
                const_labels: Vec::new(),
                process_metrics: true,
                build_info: None,
                limits: Limits {
                    header_read: Duration::from_secs(5),
                    idle: Duration::from_secs(120),
                    response: Duration::from_secs(30),
                    max_connections: 256,
                    max_header_bytes: 8 * 1024,
                    shutdown_grace: Duration::from_secs(5),
                },
                gzip_min_bytes: 1024,
                on_scrape: None,
            },
        }
    }

    /// The address to listen on (port 0: any free port; see [`ExporterHandle::local_addr`]),
    /// with the listener's default server policy (retries within 10 s, no fallback). This
    /// replaces any [`Exporter::listener_policy`] given before.
    pub fn address(mut self, address: SocketAddr) -> Self {
        self.policy = BindPolicy::new(address);
        self
    }

    /// How to obtain the listening socket: address, retry budget, fallback, port file,
    /// file_sd target, socket activation, or a listener the host already has. See
    /// [`crate::listener`].
    pub fn listener_policy(mut self, policy: BindPolicy) -> Self {
        self.policy = policy;
        self
    }

    /// A prefix for the names of the application's metrics, e.g. `"myapp_"`. The standard
    /// `process_*` metrics and the exporter's own `promstatic_*` metrics keep their names, so
    /// stock dashboards and alerts find them.
    pub fn namespace(mut self, prefix: &str) -> Self {
        self.config.namespace = prefix.to_owned();
        self
    }

    /// A label added to every sample (at most [`MAX_CONST_LABELS`]).
    pub fn const_label(mut self, name: &str, value: &str) -> Self {
        self.config
            .const_labels
            .push((name.to_owned(), value.to_owned()));
        self
    }

    /// Whether to export the `process_*` metrics (Linux only; on by default).
    pub fn process_metrics(mut self, enabled: bool) -> Self {
        self.config.process_metrics = enabled;
        self
    }

    /// Exports `<application>_build_info{version="…"} 1`; without this call the gauge is
    /// `promstatic_build_info` with promstatic's own version.
    pub fn build_info(mut self, application: &str, version: &str) -> Self {
        self.config.build_info = Some((application.to_owned(), version.to_owned()));
        self
    }

    /// Time allowed for a request head to arrive (default 5 s): on a new connection, from
    /// when it is accepted; on a kept-alive one, from the next request's first byte. A
    /// scraper sends its head in one packet, so only slow or silent clients come near it.
    pub fn header_read_timeout(mut self, timeout: Duration) -> Self {
        self.config.limits.header_read = timeout;
        self
    }

    /// Time a kept-alive connection may sit idle between requests (default 120 s, longer
    /// than the usual scrape intervals so Prometheus reuses its connection).
    pub fn idle_timeout(mut self, timeout: Duration) -> Self {
        self.config.limits.idle = timeout;
        self
    }

    /// Time allowed to hand a response to a client that reads slowly (default 30 s).
    pub fn response_timeout(mut self, timeout: Duration) -> Self {
        self.config.limits.response = timeout;
        self
    }

    /// Connections served at once (default 256, at most 4096: the table of connection slots is
    /// allocated when the server starts).
    ///
    /// At the cap, a new connection takes the place of the one that has waited longest
    /// without a complete request head (still reading one, else idle between requests),
    /// which is closed; it is refused only when every connection is being answered. See the
    /// module docs.
    pub fn max_connections(mut self, connections: usize) -> Self {
        self.config.limits.max_connections = connections;
        self
    }

    /// The largest request head (request line and headers) accepted (default 8 KiB); a larger
    /// one is answered 431.
    pub fn max_header_bytes(mut self, bytes: usize) -> Self {
        self.config.limits.max_header_bytes = bytes;
        self
    }

    /// How long [`ExporterHandle::shutdown`] lets in-flight scrapes finish (default 5 s).
    pub fn shutdown_grace(mut self, grace: Duration) -> Self {
        self.config.limits.shutdown_grace = grace;
        self
    }

    /// Expositions smaller than this are sent uncompressed even to gzip clients (default
    /// 1 KiB: below that the gzip framing costs more than it saves).
    pub fn gzip_min_bytes(mut self, bytes: usize) -> Self {
        self.config.gzip_min_bytes = bytes;
        self
    }

    /// Calls `hook` on every scrape, after the statics, so the host can add families whose
    /// set is known only at run time (per-tenant gauges, values read from another system).
    /// The encoder applies the namespace and constant labels as for the statics; the hook
    /// must not repeat a family name already exposed. It runs on the exporter's thread
    /// while the scrape is rendered, so it should be quick and must not block; a later call
    /// replaces an earlier hook.
    ///
    /// A panic in the hook (or anywhere else while the exposition is rendered) is caught:
    /// that scrape is answered 500 and logged, the exporter keeps serving, and the next
    /// scrape is rendered afresh. (A program built with `panic = "abort"` aborts instead:
    /// there is nothing to catch.)
    ///
    /// ```
    /// use promstatic::encode::{Family, Help, Kind, Value};
    /// use promstatic::exporter::Exporter;
    ///
    /// let exporter = Exporter::new().on_scrape(|encoder| {
    ///     let family = Family::new("open_sessions", Kind::Gauge, Help::Raw("Sessions open now."))
    ///         .expect("a valid name");
    ///     encoder.family(&family).sample("", &[], None, Value::Unsigned(3));
    /// });
    /// # drop(exporter);
    /// ```
    pub fn on_scrape<F>(mut self, hook: F) -> Self
    where
        F: Fn(&mut Encoder<'_>) + Send + Sync + 'static,
    {
        self.config.on_scrape = Some(ScrapeHook(Arc::new(hook)));
        self
    }

    /// Checks the configuration and returns the handler, for mounting on the host's own
    /// server. It serves every endpoint; see [`MetricsService`].
    pub fn service(self) -> Result<MetricsService, ConfigError> {
        Ok(MetricsService::new(Arc::new(Shared::new(self.config)?)))
    }

    /// Obtains the listener (the first bind attempt runs here; retries, fallback and the
    /// port and file_sd files follow the listener policy, in the background) and serves on a
    /// dedicated OS thread with a current-thread tokio runtime. Bind failures are reported in
    /// [`ExporterHandle::state`], never returned: the host keeps running without metrics.
    ///
    /// Only a configuration mistake (bad namespace or label) is an error.
    pub fn start(self) -> Result<ExporterHandle, ConfigError> {
        let (mut handle, parts) = self.prepare()?;
        if matches!(handle.state(), ListenerState::Disabled { .. }) {
            // Nothing to serve, and nothing will change: no runtime, no thread.
            return Ok(handle);
        }
        // The runtime is created here, before `start` returns, so a failure (it needs file
        // descriptors, which a busy host may have run out of) is in the state at once.
        let runtime = match tokio::runtime::Builder::new_current_thread()
            .enable_io()
            .enable_time()
            .build()
        {
            Ok(runtime) => runtime,
            Err(error) => {
                parts.fail(format!("cannot create its tokio runtime: {error}"));
                return Ok(handle);
            }
        };
        let spawned = std::thread::Builder::new()
            .name("promstatic-exporter".into())
            .spawn(move || runtime.block_on(parts.run()));
        match spawned {
            Ok(thread) => handle.thread = Some(thread),
            Err(error) => {
                let reason = format!("metrics endpoint disabled: cannot start its thread: {error}");
                log::error!(target: "promstatic", "{reason}");
                handle.endpoint.set(ListenerState::Disabled { reason });
            }
        }
        Ok(handle)
    }

    /// Like [`Exporter::start`], but returns the server as a future to spawn on the host's
    /// tokio runtime (it needs tokio's IO and time drivers) instead of starting a thread. The
    /// future ends after [`ExporterHandle::signal_shutdown`] once in-flight scrapes have
    /// finished (or the grace period ran out); if the listener is disabled it ends at once.
    pub fn into_future(
        self,
    ) -> Result<
        (
            ExporterHandle,
            impl std::future::Future<Output = ()> + Send + 'static,
        ),
        ConfigError,
    > {
        let (handle, parts) = self.prepare()?;
        Ok((handle, parts.run()))
    }

    fn prepare(self) -> Result<(ExporterHandle, server::Parts), ConfigError> {
        let shared = Arc::new(Shared::new(self.config)?);
        let endpoint = Arc::new(bind::Endpoint::open(self.policy));
        let (closed_tx, closed_rx) = mpsc::sync_channel(1);
        let parts = server::Parts {
            shared: Arc::clone(&shared),
            endpoint: Arc::clone(&endpoint),
            closed: closed_tx,
        };
        let handle = ExporterHandle {
            endpoint,
            closed: closed_rx,
            thread: None,
            _shared: shared,
        };
        Ok((handle, parts))
    }
}

/// Whether the exporter is listening, and where or why not.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum ListenerState {
    /// Serving on this address.
    Bound {
        /// The address actually bound (the real port when port 0 was asked for).
        address: SocketAddr,
    },
    /// Serving on a fallback address because the configured one could not be bound.
    Fallback {
        /// The address actually bound.
        address: SocketAddr,
        /// Why the configured address was not used.
        reason: String,
    },
    /// Not bound yet; trying again in the background.
    Retrying {
        /// Why the last attempt failed.
        reason: String,
    },
    /// Not serving: the socket could not be bound or the server could not start, or it was
    /// shut down.
    Disabled {
        /// What failed and what to do about it.
        reason: String,
    },
}

/// Controls a running exporter. Dropping it leaves the exporter running for the rest of the
/// process; call [`ExporterHandle::shutdown`] to stop it.
#[derive(Debug)]
pub struct ExporterHandle {
    endpoint: Arc<bind::Endpoint>,
    closed: mpsc::Receiver<()>,
    thread: Option<JoinHandle<()>>,
    _shared: Arc<Shared>,
}

impl ExporterHandle {
    /// The address being served, if bound.
    pub fn local_addr(&self) -> Option<SocketAddr> {
        match self.endpoint.state() {
            ListenerState::Bound { address } | ListenerState::Fallback { address, .. } => {
                Some(address)
            }
            ListenerState::Retrying { .. } | ListenerState::Disabled { .. } => None,
        }
    }

    /// Whether the exporter is listening, and where or why not.
    pub fn state(&self) -> ListenerState {
        self.endpoint.state()
    }

    /// Asks the server to stop without waiting: the listening socket is closed promptly and
    /// in-flight scrapes finish. For the [`Exporter::into_future`] form, await the future's
    /// task after this.
    pub fn signal_shutdown(&self) {
        self._shared.shutdown.request();
    }

    /// Stops the server: closes the listening socket at once (the port can be bound again as
    /// soon as this returns), lets in-flight scrapes finish within the grace period, and for
    /// [`Exporter::start`] joins the exporter thread. Do not call it from inside the runtime
    /// that runs an [`Exporter::into_future`] server (it blocks); use
    /// [`ExporterHandle::signal_shutdown`] there.
    pub fn shutdown(mut self) {
        self.signal_shutdown();
        // The server sends once it has dropped the socket (at once: the accept loop watches
        // for shutdown); an error means it already ended. The bound keeps a future that was
        // never polled from hanging the caller.
        if let Err(mpsc::RecvTimeoutError::Timeout) =
            self.closed.recv_timeout(Duration::from_secs(10))
        {
            log::warn!(target: "promstatic", "the exporter did not confirm its shutdown in 10 s");
        }
        if let Some(thread) = self.thread.take()
            && thread.join().is_err()
        {
            log::error!(target: "promstatic", "the exporter thread panicked");
        }
    }
}

/// A configuration mistake found when the exporter is built.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum ConfigError {
    /// The namespace is not a valid metric-name prefix.
    Namespace {
        /// The namespace given.
        namespace: String,
        /// Why it is invalid.
        error: NameError,
    },
    /// A constant label's name is invalid.
    LabelName {
        /// The label name given.
        name: String,
        /// Why it is invalid.
        error: NameError,
    },
    /// The same constant label name was given twice.
    DuplicateLabel {
        /// The repeated name.
        name: String,
    },
    /// More than [`MAX_CONST_LABELS`] constant labels.
    TooManyLabels {
        /// How many were given.
        count: usize,
    },
    /// The build-info application name does not make a valid metric name.
    BuildInfoName {
        /// The metric name it would produce.
        name: String,
        /// Why it is invalid.
        error: NameError,
    },
}

impl fmt::Display for ConfigError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ConfigError::Namespace { namespace, error } => write!(
                f,
                "exporter namespace `{namespace}` is not a valid metric name prefix: {error}"
            ),
            ConfigError::LabelName { name, error } => {
                write!(f, "constant label name `{name}` is invalid: {error}")
            }
            ConfigError::DuplicateLabel { name } => write!(
                f,
                "constant label `{name}` is given twice; give each label once"
            ),
            ConfigError::TooManyLabels { count } => write!(
                f,
                "{count} constant labels given, at most {MAX_CONST_LABELS} are supported; \
                 move the rest into target labels in the Prometheus configuration"
            ),
            ConfigError::BuildInfoName { name, error } => {
                write!(f, "build-info metric name `{name}` is invalid: {error}")
            }
        }
    }
}

impl std::error::Error for ConfigError {}

/// Exporter self-metrics.
#[derive(Debug, Default)]
pub(crate) struct Stats {
    pub(crate) scrapes: AtomicU64,
    pub(crate) last_encode_nanos: AtomicU64,
    pub(crate) encode_nanos_total: AtomicU64,
    pub(crate) bind_attempts: AtomicU64,
    pub(crate) rejected_connections: AtomicU64,
    pub(crate) evicted_connections: AtomicU64,
    pub(crate) failed_scrapes: AtomicU64,
}

/// What the server, its connections and the service share.
#[derive(Debug)]
pub(crate) struct Shared {
    pub(crate) config: Config,
    pub(crate) build_info_name: String,
    pub(crate) stats: Stats,
    pub(crate) pool: pool::Pool,
    pub(crate) active_connections: std::sync::atomic::AtomicUsize,
    pub(crate) shutdown: Shutdown,
}

/// The shutdown request: a flag every connection checks with one atomic load whenever it
/// runs, and a `Notify` that wakes the ones waiting on their sockets. A connection registers
/// with the `Notify` once (tokio guards its waiter list with a mutex), not per request.
#[derive(Debug, Default)]
pub(crate) struct Shutdown {
    requested: std::sync::atomic::AtomicBool,
    wake: tokio::sync::Notify,
}

impl Shutdown {
    pub(crate) fn request(&self) {
        // Release pairs with the acquire in `is_requested`, before the wake-up it causes.
        self.requested.store(true, Ordering::Release);
        self.wake.notify_waiters();
    }

    pub(crate) fn is_requested(&self) -> bool {
        self.requested.load(Ordering::Acquire)
    }

    /// A future that completes on `request` (register it before checking the flag).
    pub(crate) fn notified(&self) -> tokio::sync::futures::Notified<'_> {
        self.wake.notified()
    }
}

impl pool::HasPool for Shared {
    fn pool(&self) -> &pool::Pool {
        &self.pool
    }
}

impl Shared {
    fn new(config: Config) -> Result<Self, ConfigError> {
        if !config.namespace.is_empty() {
            name::validate_metric_name(&config.namespace).map_err(|error| {
                ConfigError::Namespace {
                    namespace: config.namespace.clone(),
                    error,
                }
            })?;
        }
        if config.const_labels.len() > MAX_CONST_LABELS {
            return Err(ConfigError::TooManyLabels {
                count: config.const_labels.len(),
            });
        }
        for (index, (label, _)) in config.const_labels.iter().enumerate() {
            name::validate_label_name(label).map_err(|error| ConfigError::LabelName {
                name: label.clone(),
                error,
            })?;
            if config.const_labels[..index]
                .iter()
                .any(|(earlier, _)| earlier == label)
            {
                return Err(ConfigError::DuplicateLabel {
                    name: label.clone(),
                });
            }
        }
        let build_info_name = match &config.build_info {
            Some((application, _)) => format!("{application}_build_info"),
            None => const { name::assert_metric_name("promstatic_build_info") }.to_owned(),
        };
        name::validate_metric_name(&build_info_name).map_err(|error| {
            ConfigError::BuildInfoName {
                name: build_info_name.clone(),
                error,
            }
        })?;
        if let Err(error) = crate::check() {
            log::error!(target: "promstatic", "{error}");
        }
        Ok(Shared {
            config,
            build_info_name,
            stats: Stats::default(),
            pool: pool::Pool::new(),
            active_connections: std::sync::atomic::AtomicUsize::new(0),
            shutdown: Shutdown::default(),
        })
    }
}
