//! [`Exporter`]: the builder that configures the exporter and starts it.

use std::fmt;
use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::sync::Arc;
use std::sync::mpsc;
use std::time::Duration;

use super::bind::Endpoint;
use super::core::ExporterCore;
use super::error::ConfigError;
use super::handle::ExporterHandle;
use super::respond::MetricsService;
use super::server::ServerTask;
use super::state::{ListenerState, Reason};
use crate::encode::{EncodeError, Encoder};
use crate::listener::BindPolicy;

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
#[allow(clippy::type_complexity)]
pub(crate) struct ScrapeHook(
    pub(crate) Arc<dyn Fn(&mut Encoder<'_>) -> Result<(), EncodeError> + Send + Sync>,
);

/// What an [`Exporter::on_scrape`] hook returns: nothing, or the [`EncodeError`] that made it
/// stop (logged; what the hook wrote before it stays in the scrape, which is valid because
/// a refused family or sample writes nothing). Sealed: `()` and `Result<(), EncodeError>`.
pub trait ScrapeHookOutput {
    /// The outcome as a `Result` (the token seals the trait).
    #[doc(hidden)]
    fn into_result(self, _: crate::sealed::Token) -> Result<(), EncodeError>;
}

impl ScrapeHookOutput for () {
    fn into_result(self, _: crate::sealed::Token) -> Result<(), EncodeError> {
        Ok(())
    }
}

impl ScrapeHookOutput for Result<(), EncodeError> {
    fn into_result(self, _: crate::sealed::Token) -> Result<(), EncodeError> {
        self
    }
}

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

    /// Calls `hook` on every scrape, at the end of the exposition (after the statics and
    /// the `process_*`, build-info and `promstatic_*` families), so the host can add families
    /// whose set is known only at run time (per-tenant gauges, values read from another
    /// system). The encoder applies the namespace and constant labels as for the statics; a
    /// family name already in the exposition is refused ([`EncodeError::DuplicateFamily`]).
    /// It runs on the exporter's thread
    /// while the scrape is rendered, so it should be quick and must not block; a later call
    /// replaces an earlier hook.
    ///
    /// A panic in the hook (or anywhere else while the exposition is rendered) is caught:
    /// that scrape is answered 500 and logged, the exporter keeps serving, and the next
    /// scrape is rendered afresh. (A program built with `panic = "abort"` aborts instead:
    /// there is nothing to catch.)
    ///
    /// The hook writes through the checked encoder API, so a mistake (a family written
    /// twice, a repeated label, a negative OpenMetrics counter …) is an [`EncodeError`]
    /// instead of an invalid exposition; the hook may return it (`?`), and it is logged.
    ///
    /// ```
    /// use promstatic::encode::{Family, Help, Kind, Suffix, Value};
    /// use promstatic::exporter::Exporter;
    ///
    /// let exporter = Exporter::new().on_scrape(|encoder| {
    ///     let family = Family::new("open_sessions", Kind::Gauge, Help::Raw("Sessions open now."))
    ///         .expect("a valid name");
    ///     encoder.family(&family)?.sample(Suffix::Bare, &[], Value::Unsigned(3))
    /// });
    /// # drop(exporter);
    /// ```
    pub fn on_scrape<F, R>(mut self, hook: F) -> Self
    where
        F: Fn(&mut Encoder<'_>) -> R + Send + Sync + 'static,
        R: ScrapeHookOutput,
    {
        self.config.on_scrape = Some(ScrapeHook(Arc::new(move |encoder| {
            hook(encoder).into_result(crate::sealed::Token)
        })));
        self
    }

    /// Checks the configuration and returns the handler, for mounting on the host's own
    /// server. It serves every endpoint; see [`MetricsService`].
    pub fn service(self) -> Result<MetricsService, ConfigError> {
        Ok(MetricsService::new(Arc::new(ExporterCore::new(
            self.config,
        )?)))
    }

    /// Obtains the listener (the first bind attempt runs here; retries, fallback and the
    /// port and file_sd files follow the listener policy, in the background) and serves on a
    /// dedicated OS thread with a current-thread tokio runtime. Bind failures are reported in
    /// [`ExporterHandle::state`], never returned: the host keeps running without metrics.
    ///
    /// Only a configuration mistake (bad namespace or label) is an error.
    pub fn start(self) -> Result<ExporterHandle, ConfigError> {
        let (mut handle, task) = self.prepare()?;
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
                task.fail(Reason::server("cannot create its tokio runtime", error));
                return Ok(handle);
            }
        };
        let spawned = std::thread::Builder::new()
            .name("promstatic-exporter".into())
            .spawn(move || runtime.block_on(task.run()));
        match spawned {
            Ok(thread) => handle.thread = Some(thread),
            Err(error) => {
                let reason = Reason::server("cannot start its thread", error);
                log::error!(target: "promstatic", "{reason}");
                handle.disable(reason);
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
        let (handle, task) = self.prepare()?;
        Ok((handle, task.run()))
    }

    /// The configuration alone (for unit tests of the parts that take it).
    #[cfg(test)]
    pub(crate) fn into_config(self) -> Config {
        self.config
    }

    /// Validates the configuration, makes the first bind attempt, and splits the result into
    /// the host's handle and the server future's task.
    fn prepare(self) -> Result<(ExporterHandle, ServerTask), ConfigError> {
        let core = Arc::new(ExporterCore::new(self.config)?);
        let endpoint = Arc::new(Endpoint::open(self.policy));
        let (closed_tx, closed_rx) = mpsc::sync_channel(1);
        let task = ServerTask {
            core: Arc::clone(&core),
            endpoint: Arc::clone(&endpoint),
            closed: closed_tx,
        };
        Ok((ExporterHandle::new(endpoint, closed_rx, core), task))
    }
}
