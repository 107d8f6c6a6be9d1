//! A `metrics` 0.24 recorder: `counter!`, `gauge!` and `histogram!` code served by
//! promstatic (feature `facade`).
//!
//! Much of the ecosystem records through the [`metrics`] facade so that the application
//! picks the exporter. With this module the application's one line that installed
//! `metrics-exporter-prometheus` becomes:
//!
//! ```no_run
//! # fn main() -> Result<(), promstatic::facade::InstallError> {
//! // before: PrometheusBuilder::new().with_http_listener(([0, 0, 0, 0], 9000)).install().expect(..);
//! let metrics = promstatic::facade::Builder::new()
//!     .listen("0.0.0.0:9000")
//!     .fallback_ephemeral()
//!     .install()?; // Err only for a second install or a bad configuration
//! let scene = "intro";
//! metrics::counter!("frames_rendered_total", "scene" => scene).increment(1);
//! # drop(metrics);
//! # Ok(())
//! # }
//! ```
//!
//! The series are served by the [exporter](crate::exporter) with everything it has (content
//! negotiation, gzip, limits, process metrics) and bound by the [listener](crate::listener)
//! policy: a taken port is diagnosed (the holder's pid and command are logged), retried and
//! fallen back from, never a panic. `#[metric]` statics and facade metrics are one
//! exposition: [`crate::render`] and every exporter write the facade's families after the
//! static table's. [`Builder::install_recorder`] installs the recorder without an endpoint,
//! for a host that mounts [`Exporter::service`](crate::exporter::Exporter::service) itself.
//!
//! # Semantics
//!
//! * **Counters** are exported with `_total`, in both formats the same way as a `#[metric]`
//!   counter: `counter!("requests")` is exported as `requests_total` (in OpenMetrics the
//!   family is `requests` and its sample `requests_total`). Since `requests` and
//!   `requests_total` are then one name, a program uses one spelling: the first registered
//!   is kept, the other refused (`name_conflict`, logged once). `increment` adds; `absolute` sets the counter *to at least* the value
//!   (the `metrics` contract: callers mirroring an external total may race, so an older,
//!   smaller value never lowers it).
//! * **Gauges** are `f64`: `increment`, `decrement` and `set`.
//! * **Histograms** are Prometheus histograms with classic buckets: Prometheus' default
//!   bounds ([`crate::histogram::DEFAULT_BUCKETS`]) unless [`Builder::buckets`] or a pattern
//!   ([`Builder::buckets_for`]) says otherwise. Never a summary.
//! * **`describe_*`** sets HELP (the first description of a name wins) and the unit; a
//!   metric never described has the HELP [`DEFAULT_HELP`]. The unit is written as
//!   OpenMetrics' `# UNIT` when the name ends with it (`request_duration_seconds` with
//!   `Unit::Seconds`); OpenMetrics allows no other, and the name is never changed to fit.
//! * **Labels** are one series per distinct label set, whatever the order a call site lists
//!   them in.
//!
//! # Names are checked, never mangled
//!
//! A metric name must match `[a-zA-Z_][a-zA-Z0-9_]*` and not start with `__` (the rule of
//! [`crate::name`], the same as for `#[metric]`); so must every label name, and a key must
//! not repeat a label, use [`OVERFLOW_LABEL`], use `le` on a histogram, or have more than
//! [`MAX_KEY_LABELS`] labels. A registration that breaks the rule gets a no-op handle: the
//! name is logged once (an error through `log`) and every such registration is counted in
//! `promstatic_facade_refused_total{reason="invalid_name"|"invalid_label"}`. Nothing is
//! renamed, because renaming (`.` to `_`, as some exporters do) silently merges distinct
//! metrics into one series.
//!
//! Two facade metrics whose exposition names collide (a counter `x` and a gauge `x_total`, a
//! gauge and a histogram of one name) are decided by the first registration: the later name
//! is left out, logged once, counted (`name_conflict`). A facade name that a `#[metric]`
//! static also writes is left out (`static_duplicate`) and reported by
//! [`crate::check()`] like any other duplicate. A facade name that, with an exporter's
//! namespace, would occupy a name of that exporter's own families (a counter
//! `process_cpu_seconds_total` beside its process metrics, or a `promstatic_*` self-metric)
//! is left out of that exporter's scrapes, with an error logged once per exporter; exporters
//! without the clash, and [`crate::render`], still write it.
//!
//! # Storage
//!
//! Everything lives in one static arena, zero-initialised, so it costs address space, not
//! memory, until series are used; nothing is allocated per update or per scrape:
//!
//! * up to [`MAX_SERIES`] series (the cap is [`DEFAULT_MAX_SERIES`] unless
//!   [`Builder::max_series`] sets another up to that), keyed by kind, name and labels in a
//!   [`SeriesIndex`](crate::dynamic::SeriesIndex) — the lock-free, bounded label-set map of
//!   the dynamic families — with [`KEY_BYTES`] bytes for the keys;
//! * each series one 8-byte value and up to [`MAX_BOUNDS`]` + 1` bucket counters, used only
//!   by histograms;
//! * up to [`MAX_NAMES`] names, each with its HELP, unit and one overflow series.
//!
//! That is between 4 and 5 MiB of zero-initialised static memory (checked by a unit test):
//! address space, of which the pages are touched only as series are used, so a program with a
//! few hundred series pays for what it uses and a label flood cannot make it grow.
//!
//! A registration whose series exists is normally answered by the hit
//! cache (`src/facade/cache.rs`): one load of the entry its key's hash (computed by `metrics` at
//! compile time for the macros' static keys) chooses, a comparison of the key that for a
//! static key is two pointer checks, and one `Arc` clone of the series' handle, which
//! `metrics` requires. A key the cache cannot answer (its entry holds another key, or the
//! labels are listed in another order) is one lookup in the index (hash, probe, compare the
//! key bytes). The update itself is one relaxed atomic operation (a compare-exchange loop
//! for `f64` sums). Only a series' first registration does more: it checks the names, links
//! the series into its name's list and builds the handle (the registration
//! protocol of `src/facade/link.rs`, model-checked with loom), and fills the cache entry (one
//! allocation each, kept for the life of the process).
//!
//! # Overflow
//!
//! When the cap is reached (or the key bytes run out), a registration of a new label set gets
//! its name's *overflow series*, exported as `name{promstatic_overflow="true"}`: a label flood
//! from a library cannot grow memory or the scrape, and no update is lost. A warning is logged
//! once per name, and `promstatic_facade_refused_total{reason="series_cap"|"key_bytes"}`
//! counts every such registration. Only when all [`MAX_NAMES`] names are taken is a
//! registration of a new name dropped (`name_table_full`).
//!
//! # Order
//!
//! Facade families come after the static table's, in the order their names were first
//! registered; within a family the newest series comes first, then the overflow series.

mod cache;
mod expose;
mod handle;
mod link;
mod store;

use std::fmt;
use std::net::SocketAddr;
use std::sync::OnceLock;
use std::sync::atomic::{AtomicBool, Ordering};

use std::collections::HashMap;

use crate::encode::Encoder;
use crate::exporter::{ConfigError, Exporter, ExporterHandle, ListenerState};
use crate::histogram::DEFAULT_BUCKETS;
use crate::listener::{BindPolicy, Fallback};

pub use self::expose::{DEFAULT_HELP, FACADE_SITE, REFUSED_METRIC};
pub use self::store::{
    DEFAULT_MAX_SERIES, KEY_BYTES, MAX_BOUNDS, MAX_KEY_LABELS, MAX_NAMES, MAX_SERIES,
    OVERFLOW_LABEL,
};

use self::store::{Registered, SeriesKind};

/// Which histogram names a set of bounds applies to ([`Builder::buckets_for`]).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Matcher {
    /// Exactly this name.
    Full(String),
    /// Names starting with this.
    Prefix(String),
    /// Names ending with this.
    Suffix(String),
}

impl Matcher {
    fn matches(&self, name: &str) -> bool {
        match self {
            Matcher::Full(full) => name == full,
            Matcher::Prefix(prefix) => name.starts_with(prefix.as_str()),
            Matcher::Suffix(suffix) => name.ends_with(suffix.as_str()),
        }
    }
}

impl fmt::Display for Matcher {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Matcher::Full(full) => write!(f, "name `{full}`"),
            Matcher::Prefix(prefix) => write!(f, "prefix `{prefix}`"),
            Matcher::Suffix(suffix) => write!(f, "suffix `{suffix}`"),
        }
    }
}

/// The installed configuration, leaked once at install.
#[derive(Debug)]
pub(crate) struct Config {
    max_series: usize,
    default_bounds: Box<[f64]>,
    patterns: Vec<(Matcher, Box<[f64]>)>,
    /// Every family and sample name the `#[metric]` statics write, and their declaration.
    static_claims: HashMap<String, &'static crate::table::Descriptor>,
}

impl Config {
    /// A histogram's bounds: the first pattern that matches its name, else the default.
    fn bounds_for(&'static self, kind: SeriesKind, name: &str) -> &'static [f64] {
        if kind != SeriesKind::Histogram {
            return &[];
        }
        self.patterns
            .iter()
            .find(|(matcher, _)| matcher.matches(name))
            .map_or(&self.default_bounds, |(_, bounds)| bounds)
    }
}

/// The installed configuration; set once, by the first successful install.
static CONFIG: OnceLock<&'static Config> = OnceLock::new();
/// Taken by the first install that gets past its checks, so a second one fails at once.
static INSTALLING: AtomicBool = AtomicBool::new(false);

/// Configures and installs the facade recorder; see the [module docs](self).
#[derive(Debug)]
pub struct Builder {
    exporter: Exporter,
    address: Option<Result<SocketAddr, String>>,
    fallback: Option<Fallback>,
    policy: Option<BindPolicy>,
    max_series: usize,
    default_bounds: Vec<f64>,
    patterns: Vec<(Matcher, Vec<f64>)>,
}

impl Default for Builder {
    fn default() -> Self {
        Self::new()
    }
}

impl Builder {
    /// The facade with the exporter's defaults (`127.0.0.1:9464`, no fallback), a cap of
    /// [`DEFAULT_MAX_SERIES`] series and Prometheus' default histogram bounds.
    pub fn new() -> Self {
        Builder {
            exporter: Exporter::new(),
            address: None,
            fallback: None,
            policy: None,
            max_series: DEFAULT_MAX_SERIES,
            default_bounds: DEFAULT_BUCKETS.to_vec(),
            patterns: Vec::new(),
        }
    }

    /// The address to serve `/metrics` on, e.g. `"0.0.0.0:9000"` (a bad address is an error
    /// of [`Builder::install`]).
    pub fn listen(mut self, address: &str) -> Self {
        self.address = Some(
            address
                .parse::<SocketAddr>()
                .map_err(|error| format!("`{address}`: {error}")),
        );
        self
    }

    /// When the address is taken by another program (or stays taken by a previous instance
    /// beyond the retry budget), serve on a port the OS chooses, and report it (log line,
    /// [`Facade::local_addr`]).
    pub fn fallback_ephemeral(mut self) -> Self {
        self.fallback = Some(Fallback::Ephemeral);
        self
    }

    /// The whole listener policy (port file, file_sd, socket activation, retry budget, …);
    /// it takes the place of [`Builder::listen`]'s address, and [`Builder::fallback_ephemeral`]
    /// still applies on top.
    pub fn listener_policy(mut self, policy: BindPolicy) -> Self {
        self.policy = Some(policy);
        self
    }

    /// Configures the exporter (namespace, constant labels, limits, process metrics, …).
    ///
    /// ```
    /// let builder = promstatic::facade::Builder::new()
    ///     .exporter(|exporter| exporter.namespace("game_").process_metrics(false));
    /// # drop(builder);
    /// ```
    pub fn exporter(mut self, configure: impl FnOnce(Exporter) -> Exporter) -> Self {
        self.exporter = configure(self.exporter);
        self
    }

    /// The most series the facade creates (1 to [`MAX_SERIES`]; default
    /// [`DEFAULT_MAX_SERIES`]). Label sets beyond it go to their name's overflow series.
    pub fn max_series(mut self, series: usize) -> Self {
        self.max_series = series;
        self
    }

    /// The bounds of every histogram no pattern matches (default: Prometheus' defaults).
    pub fn buckets(mut self, bounds: &[f64]) -> Self {
        self.default_bounds = bounds.to_vec();
        self
    }

    /// The bounds of the histograms whose (exported) name `matcher` matches; the first
    /// pattern given that matches wins.
    pub fn buckets_for(mut self, matcher: Matcher, bounds: &[f64]) -> Self {
        self.patterns.push((matcher, bounds.to_vec()));
        self
    }

    /// Installs the recorder and starts the exporter on its own thread. The bind follows the
    /// listener policy in the background: a taken port is never an error here (see
    /// [`Facade::state`]).
    ///
    /// `Err` only for a second install (of this or any other `metrics` recorder) or a bad
    /// configuration; it never panics.
    pub fn install(self) -> Result<Facade, InstallError> {
        let policy = match (self.policy, self.address) {
            (Some(policy), _) => Some(policy),
            (None, Some(Ok(address))) => Some(BindPolicy::new(address)),
            (None, Some(Err(reason))) => return Err(InstallError::Address { reason }),
            (None, None) => None,
        };
        let mut exporter = self.exporter;
        if policy.is_some() || self.fallback.is_some() {
            let mut policy = policy.unwrap_or_else(|| {
                BindPolicy::new(SocketAddr::from((
                    [127, 0, 0, 1],
                    crate::exporter::DEFAULT_PORT,
                )))
            });
            if let Some(fallback) = self.fallback {
                policy = policy.fallback(fallback);
            }
            exporter = exporter.listener_policy(policy);
        }
        let config = checked_config(self.max_series, self.default_bounds, self.patterns)?;
        claim_install()?;
        let handle = match exporter.start() {
            Ok(handle) => handle,
            Err(error) => {
                INSTALLING.store(false, Ordering::Release);
                return Err(InstallError::Exporter(Box::new(error)));
            }
        };
        match set_recorder(config) {
            Ok(()) => Ok(Facade {
                exporter: Some(handle),
            }),
            Err(error) => {
                handle.shutdown();
                Err(error)
            }
        }
    }

    /// Installs the recorder without an endpoint: the host serves the exposition itself,
    /// e.g. by mounting [`Exporter::service`](crate::exporter::Exporter::service) in its own
    /// server, or with [`crate::render`]. The listener settings are ignored.
    pub fn install_recorder(self) -> Result<Facade, InstallError> {
        let config = checked_config(self.max_series, self.default_bounds, self.patterns)?;
        claim_install()?;
        set_recorder(config)?;
        Ok(Facade { exporter: None })
    }
}

impl Builder {
    /// Claims the facade for this process (a later install or build is
    /// [`InstallError::AlreadyInstalled`]) and returns its recorder *without* installing it as
    /// `metrics`' global one: to wrap it in `metrics-util` layers or a fan-out, or to use it
    /// with `metrics::set_default_local_recorder`. Its series are served as an installed
    /// recorder's are; there is no endpoint (see [`Builder::install_recorder`]).
    pub fn build_recorder(self) -> Result<FacadeRecorder, InstallError> {
        let config = checked_config(self.max_series, self.default_bounds, self.patterns)?;
        claim_install()?;
        let config: &'static Config = Box::leak(Box::new(config));
        let _ = CONFIG.set(config);
        Ok(FacadeRecorder { config })
    }
}

fn checked_config(
    max_series: usize,
    default_bounds: Vec<f64>,
    patterns: Vec<(Matcher, Vec<f64>)>,
) -> Result<Config, InstallError> {
    if max_series == 0 || max_series > MAX_SERIES {
        return Err(InstallError::MaxSeries { given: max_series });
    }
    check_bounds(&default_bounds).map_err(|reason| InstallError::Buckets {
        applies_to: "every histogram".to_owned(),
        reason,
    })?;
    for (matcher, bounds) in &patterns {
        check_bounds(bounds).map_err(|reason| InstallError::Buckets {
            applies_to: format!("histograms with {matcher}"),
            reason,
        })?;
    }
    let mut static_claims = HashMap::new();
    for descriptor in crate::table::Table::linked().exported() {
        for claim in crate::claim::claims("", descriptor.name(), descriptor.kind()) {
            static_claims.entry(claim).or_insert(descriptor);
        }
    }
    Ok(Config {
        max_series,
        default_bounds: default_bounds.into_boxed_slice(),
        patterns: patterns
            .into_iter()
            .map(|(matcher, bounds)| (matcher, bounds.into_boxed_slice()))
            .collect(),
        static_claims,
    })
}

fn check_bounds(bounds: &[f64]) -> Result<(), String> {
    if bounds.is_empty() {
        return Err("give at least one bound (`+Inf` is implicit)".to_owned());
    }
    if bounds.len() > MAX_BOUNDS {
        return Err(format!(
            "{} bounds given, at most {MAX_BOUNDS} are supported",
            bounds.len()
        ));
    }
    if let Some(bad) = bounds.iter().find(|bound| !bound.is_finite()) {
        return Err(format!(
            "every bound must be finite (`+Inf` is implicit), not {bad}"
        ));
    }
    if let Some(pair) = bounds.windows(2).find(|pair| pair[0] >= pair[1]) {
        return Err(format!(
            "bounds must increase strictly: {} is followed by {}",
            pair[0], pair[1]
        ));
    }
    Ok(())
}

fn claim_install() -> Result<(), InstallError> {
    if CONFIG.get().is_some()
        || INSTALLING
            .compare_exchange(false, true, Ordering::AcqRel, Ordering::Acquire)
            .is_err()
    {
        return Err(InstallError::AlreadyInstalled);
    }
    Ok(())
}

/// Makes `config` the facade's and installs the recorder as `metrics`' global one.
fn set_recorder(config: Config) -> Result<(), InstallError> {
    let config: &'static Config = Box::leak(Box::new(config));
    if metrics::set_global_recorder(FacadeRecorder { config }).is_err() {
        INSTALLING.store(false, Ordering::Release);
        return Err(InstallError::OtherRecorder);
    }
    // Only after `metrics` took the recorder: scrapes start writing the facade's families.
    let _ = CONFIG.set(config);
    Ok(())
}

/// The installed facade: the exporter's handle, if it has an endpoint. Dropping it leaves the
/// endpoint running for the rest of the process (as with [`ExporterHandle`]).
#[derive(Debug)]
pub struct Facade {
    exporter: Option<ExporterHandle>,
}

impl Facade {
    /// The exporter, unless installed with [`Builder::install_recorder`].
    pub fn exporter(&self) -> Option<&ExporterHandle> {
        self.exporter.as_ref()
    }

    /// The address being served, if bound.
    pub fn local_addr(&self) -> Option<SocketAddr> {
        self.exporter.as_ref()?.local_addr()
    }

    /// Whether the endpoint is listening, and where or why not (`None` without an endpoint).
    pub fn state(&self) -> Option<ListenerState> {
        Some(self.exporter.as_ref()?.state())
    }

    /// Stops the endpoint (see [`ExporterHandle::shutdown`]). The recorder stays installed —
    /// `metrics` has no way to remove a global recorder — and keeps recording.
    pub fn shutdown(self) {
        if let Some(exporter) = self.exporter {
            exporter.shutdown();
        }
    }
}

/// Why the facade could not be installed.
#[derive(Debug, Clone, PartialEq)]
#[non_exhaustive]
pub enum InstallError {
    /// The facade is already installed in this process.
    AlreadyInstalled,
    /// Another `metrics` recorder is already installed.
    OtherRecorder,
    /// The listen address does not parse.
    Address {
        /// The address and the parse error.
        reason: String,
    },
    /// The series cap is out of range.
    MaxSeries {
        /// The cap given.
        given: usize,
    },
    /// Histogram bounds are invalid.
    Buckets {
        /// Which histograms they were for.
        applies_to: String,
        /// What is wrong with them.
        reason: String,
    },
    /// The exporter's configuration is invalid.
    Exporter(Box<ConfigError>),
}

impl fmt::Display for InstallError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            InstallError::AlreadyInstalled => f.write_str(
                "the promstatic metrics facade is already installed in this process; install \
                 it once, at start-up, and keep the returned handle",
            ),
            InstallError::OtherRecorder => f.write_str(
                "another `metrics` recorder is already installed in this process; `metrics` \
                 allows one global recorder, so remove the other installation",
            ),
            InstallError::Address { reason } => {
                write!(f, "the facade's listen address is invalid: {reason}")
            }
            InstallError::MaxSeries { given } => write!(
                f,
                "max_series {given} is out of range: give 1 to {MAX_SERIES} (the arena's size)"
            ),
            InstallError::Buckets { applies_to, reason } => {
                write!(f, "histogram bounds for {applies_to} are invalid: {reason}")
            }
            InstallError::Exporter(error) => write!(f, "{error}"),
        }
    }
}

impl std::error::Error for InstallError {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match self {
            InstallError::Exporter(error) => Some(error.as_ref()),
            _ => None,
        }
    }
}

/// The `metrics::Recorder` of the facade: installed by [`Builder::install`] and
/// [`Builder::install_recorder`], or returned by [`Builder::build_recorder`] to compose.
#[derive(Debug, Clone, Copy)]
pub struct FacadeRecorder {
    config: &'static Config,
}

impl FacadeRecorder {
    #[inline]
    fn register(
        &self,
        kind: SeriesKind,
        key: &metrics::Key,
        metadata: &metrics::Metadata<'_>,
    ) -> Option<std::sync::Arc<handle::Handle>> {
        if let Some(handle) = cache::find(kind, key) {
            return Some(handle);
        }
        self.register_uncached(kind, key, metadata)
    }

    /// A registration the cache could not answer: the index, then the cache is filled.
    #[inline(never)]
    fn register_uncached(
        &self,
        kind: SeriesKind,
        key: &metrics::Key,
        metadata: &metrics::Metadata<'_>,
    ) -> Option<std::sync::Arc<handle::Handle>> {
        match store::register(
            self.config,
            kind,
            key.get_hash(),
            key.name(),
            key.labels().as_slice(),
            metadata.module_path(),
        ) {
            Registered::Handle(handle) => {
                cache::insert(kind, key, &handle);
                Some(handle)
            }
            Registered::Overflow(handle) => Some(handle),
            Registered::Refused => None,
        }
    }
}

impl metrics::Recorder for FacadeRecorder {
    fn describe_counter(
        &self,
        key: metrics::KeyName,
        unit: Option<metrics::Unit>,
        description: metrics::SharedString,
    ) {
        store::describe(
            self.config,
            SeriesKind::Counter,
            key.as_str(),
            unit,
            &description,
        );
    }

    fn describe_gauge(
        &self,
        key: metrics::KeyName,
        unit: Option<metrics::Unit>,
        description: metrics::SharedString,
    ) {
        store::describe(
            self.config,
            SeriesKind::Gauge,
            key.as_str(),
            unit,
            &description,
        );
    }

    fn describe_histogram(
        &self,
        key: metrics::KeyName,
        unit: Option<metrics::Unit>,
        description: metrics::SharedString,
    ) {
        store::describe(
            self.config,
            SeriesKind::Histogram,
            key.as_str(),
            unit,
            &description,
        );
    }

    #[inline]
    fn register_counter(
        &self,
        key: &metrics::Key,
        metadata: &metrics::Metadata<'_>,
    ) -> metrics::Counter {
        match self.register(SeriesKind::Counter, key, metadata) {
            Some(handle) => metrics::Counter::from_arc(handle),
            None => metrics::Counter::noop(),
        }
    }

    #[inline]
    fn register_gauge(
        &self,
        key: &metrics::Key,
        metadata: &metrics::Metadata<'_>,
    ) -> metrics::Gauge {
        match self.register(SeriesKind::Gauge, key, metadata) {
            Some(handle) => metrics::Gauge::from_arc(handle),
            None => metrics::Gauge::noop(),
        }
    }

    #[inline]
    fn register_histogram(
        &self,
        key: &metrics::Key,
        metadata: &metrics::Metadata<'_>,
    ) -> metrics::Histogram {
        match self.register(SeriesKind::Histogram, key, metadata) {
            Some(handle) => metrics::Histogram::from_arc(handle),
            None => metrics::Histogram::noop(),
        }
    }
}

/// Writes the facade's families (nothing until it is installed); called by
/// [`crate::render_into`] after the static table.
/// `keeps` (an exporter's) leaves out names that collide with its own families.
pub(crate) fn encode(encoder: &mut Encoder<'_>, keeps: crate::table::FacadeFilter<'_>) {
    if let Some(config) = CONFIG.get() {
        expose::encode(config, encoder, keeps);
    }
}

/// Facade names left out because a `#[metric]` static has the same name; for
/// [`crate::check()`].
pub(crate) fn static_collisions() -> Vec<crate::table::Collision> {
    if CONFIG.get().is_none() {
        return Vec::new();
    }
    expose::static_collisions()
}
