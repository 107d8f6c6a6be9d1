//! Lock-free Prometheus metrics declared as statics and gathered by the linker.
//!
//! A metric is a `static` made of atomics. The [`metric`] attribute checks its name and HELP
//! at compile time and adds it to one table that the linker assembles, so there is no
//! registry, no registration call and no lock anywhere: updating a metric is one relaxed
//! atomic operation, and a scrape walks the static table and formats numbers into a reused
//! buffer without allocating.
//!
//! ```
//! use promstatic::{metric, Counter, Gauge, FloatGauge};
//!
//! /// Requests served since start.
//! #[metric]
//! static HTTP_REQUESTS_TOTAL: Counter = Counter::new();
//!
//! /// Connections currently open.
//! #[metric(name = "open_connections")]
//! static OPEN: Gauge = Gauge::new();
//!
//! /// Fraction of the cache in use.
//! #[metric]
//! static CACHE_FILL_RATIO: FloatGauge = FloatGauge::new();
//!
//! HTTP_REQUESTS_TOTAL.inc();
//! OPEN.set(3);
//! CACHE_FILL_RATIO.set(0.5);
//!
//! let mut buf = Vec::new();
//! promstatic::render_text(&mut buf);
//! let text = String::from_utf8(buf).unwrap();
//! let expected = "# HELP http_requests_total Requests served since start.\n# TYPE \
//!     http_requests_total counter\nhttp_requests_total 1\n";
//! assert!(text.contains(expected), "{text}");
//! assert!(text.contains("open_connections 3\n"));
//! assert!(text.contains("cache_fill_ratio 0.5\n"));
//! ```
//!
//! Mistakes in a declaration are compile errors on the offending token:
//!
//! ```compile_fail
//! use promstatic::{metric, Counter};
//!
//! /// Requests served.
//! #[metric] // error: a counter's name must end in `_total`: use `requests_total`
//! static REQUESTS: Counter = Counter::new();
//! ```
//!
//! # Modules
//!
//! * [`table`]: the link-time table ([how registration works](crate::table#how-registration-works),
//!   [linker caveats](crate::table#linker-caveats)), rendering, and
//!   [duplicate-name detection](crate::table#order-and-duplicate-names);
//! * [`histogram`]: [`Histogram`], bucket helpers, and
//!   [why scrapes are consistent](crate::histogram#scraping-and-why-every-scrape-is-consistent)
//!   ([NaN, infinities and negative values](crate::histogram#nan-infinities-and-negative-values));
//! * [`native`]: [`NativeHistogram`], exponential buckets
//!   [in static storage](crate::native#storage-dense-fixed-at-compile-time), and the bucket index;
//! * [`family`] and [`label`]: typed, fixed-cardinality label families;
//! * [`dynamic`]: families keyed by run-time label values, bounded
//!   ([overflow, never loss](crate::dynamic#overflow-never-loss)), in
//!   [static storage](crate::dynamic#memory);
//! * [`ShardedCounter`]: a counter for many threads, one cache line per shard, and
//!   [`ShardedHistogram`], a histogram whose observers each write their own cells;
//! * [`encode`]: the text 0.0.4 / OpenMetrics / protobuf encoder, usable without statics
//!   ([nothing public writes an invalid exposition](crate::encode#nothing-public-writes-an-invalid-exposition));
//!   its [`escape`](crate::encode::escape) rules are the ones the macro applies at compile time;
//! * [`exemplar`]: exemplar slots
//!   ([a sequence lock whose writers never wait](crate::exemplar#the-slot-protocol-a-sequence-lock-whose-writers-never-wait))
//!   and their labels;
//! * [`name`]: the one validator for metric and label names ([the rules](crate::name#the-rules),
//!   shared with the macro; [checked at compile time](crate::name#checked-at-compile-time)
//!   for names written in the source);
//! * [`listener`] (feature `listener`, implied by `exporter`): obtaining the metrics listener
//!   ([where it comes from](crate::listener#where-the-listener-comes-from-in-order),
//!   [what happens on each error](crate::listener#what-happens-on-each-error),
//!   [platforms](crate::listener#platforms));
//! * [`exporter`] (feature `exporter`, on by default): the embedded HTTP server for `/metrics`
//!   ([the scrape path takes no lock](crate::exporter#the-scrape-path-takes-no-lock),
//!   [limits](crate::exporter#limits), [who may scrape](crate::exporter#who-may-scrape),
//!   [failure never takes the host down](crate::exporter#failure-never-takes-the-host-down));
//! * `facade` (feature `facade`): a `metrics` 0.24 recorder whose series the exporter serves;
//! * `tower` (feature `tower`): a tower `Layer` recording the OpenTelemetry HTTP server
//!   metrics (requests, duration to the end of the body, in flight) by method, route, status;
//! * [`testing`]: reading a metric's value, deltas for tests that share a static
//!   ([which tests a delta isolates](crate::testing#which-tests-a-delta-isolates)), and the
//!   exposition of one metric for golden tests;
//! * `conformance` (feature `conformance`): the strict parser and proptest strategies, for
//!   property tests of your own metrics;
//! * `process` (Linux only): the standard `process_*` metrics, written by the exporter.
//!
//! The name validator and the escaping rules live in `promstatic-syntax`, a dependency-free
//! crate that `promstatic-macros` uses too; [`name`] and [`encode::escape`] re-export it. Every
//! call into the operating system is in the private `sys` module (`src/sys/`), compiled only
//! with the `listener` feature: without default features the crate depends on no `libc`.

#![cfg_attr(docsrs, feature(doc_cfg))]
#![deny(missing_docs)]
#![deny(unsafe_op_in_unsafe_fn)]
#![warn(missing_debug_implementations, rust_2018_idioms, unreachable_pub)]

mod claim;
#[cfg(feature = "conformance")]
#[cfg_attr(docsrs, doc(cfg(feature = "conformance")))]
pub mod conformance;
mod counter;
pub mod dynamic;
pub mod encode;
pub mod exemplar;
#[cfg(feature = "exporter")]
#[cfg_attr(docsrs, doc(cfg(feature = "exporter")))]
pub mod exporter;
#[cfg(all(feature = "facade", not(promstatic_loom)))]
pub mod facade;
// Under the loom model only the facade's registration protocol is built (its loom models
// run): the facade's static arena needs `const` atomics, which loom's are not.
#[cfg(all(feature = "facade", promstatic_loom))]
#[allow(dead_code)]
#[path = "facade/link.rs"]
mod facade_link;
pub mod family;
mod gauge;
pub mod histogram;
pub mod label;
#[cfg(feature = "listener")]
#[cfg_attr(docsrs, doc(cfg(feature = "listener")))]
pub mod listener;
#[doc(inline)]
pub use promstatic_syntax::name;
pub mod native;
#[cfg(all(target_os = "linux", feature = "exporter"))]
mod process;
mod sealed;
mod sharded;
mod sync;
#[cfg(feature = "listener")]
mod sys;
pub mod table;
pub mod testing;
#[cfg(feature = "tower")]
#[cfg_attr(docsrs, doc(cfg(feature = "tower")))]
pub mod tower;

/// The README's examples, compiled as doctests so they cannot rot.
#[cfg(doctest)]
#[doc = include_str!("../README.md")]
pub struct ReadmeDoctests;

#[doc(hidden)]
#[path = "private.rs"]
pub mod __private;

pub use crate::counter::Counter;
pub use crate::dynamic::{
    DynCounterFamily, DynFamily, DynFloatGaugeFamily, DynGaugeFamily, DynHistogramFamily,
};
pub use crate::encode::Format;
pub use crate::family::{
    CounterFamily, FloatGaugeFamily, GaugeFamily, HistogramFamily, MetricFamily,
    NativeHistogramFamily,
};
pub use crate::gauge::{FloatGauge, Gauge};
pub use crate::histogram::{Histogram, HistogramTimer};
pub use crate::label::{LabelSet, LabelValue};
pub use crate::native::NativeHistogram;
pub use crate::sharded::{ShardedCounter, ShardedHistogram};
pub use crate::table::{
    DuplicateMetricNames, Metric, check, render, render_into, render_native_out_of_range,
    render_text,
};

/// Declares a static as a metric and adds it to the static table.
///
/// ```text
/// #[metric]                               name = the static's identifier in lower case
/// #[metric(name = "open_connections")]    an explicit name
/// #[metric(help = "…")]                   HELP, instead of the doc comment
/// #[metric(buckets = [0.01, 0.1, 1])]     a histogram's bounds (number literals)
/// #[metric(buckets = MY_BOUNDS)]          … or a const `[f64; N]` (see `histogram`)
/// #[metric(labels(method: Method, …))]    a family's labels, each type a `LabelValue`
/// #[metric(native(schema = 3, range = 1e-6..1e3, zero_threshold = 0.0))]
///                                         a native histogram's layout (each part optional)
/// #[metric(labels(route: &str, code: u16), capacity = 512)]   a dynamic family (run-time values)
/// #[metric(…, label_bytes = 65536, max_value_len = 256)]       its optional limits
/// #[metric(crate = ::path::to::promstatic)]  where generated code finds this crate
/// ```
///
/// HELP is the doc comment (its lines trimmed and joined with spaces) unless `help` is
/// given; one of the two is required. A counter's name (a counter family's too) must end in
/// `_total` and no other metric's may. Names match `[a-zA-Z_][a-zA-Z0-9_]*` and do not start
/// with `__`.
///
/// Metric types: [`Counter`], [`ShardedCounter`], [`Gauge`], [`FloatGauge`], [`Histogram`],
/// [`ShardedHistogram`], [`NativeHistogram`], and the families [`CounterFamily`], [`GaugeFamily`],
/// [`FloatGaugeFamily`], [`HistogramFamily`], [`NativeHistogramFamily`]. A native histogram's
/// schema must be in −4..=8, its range `LOW..HIGH` with `0 < LOW < HIGH` (finite), its zero
/// threshold finite, at least 0 and below `LOW`; `buckets` on a native histogram adds classic
/// buckets for the text formats (see [`native`]). Dynamic families: /// [`DynCounterFamily`], [`DynGaugeFamily`],
/// [`DynFloatGaugeFamily`], [`DynHistogramFamily`] (see [`dynamic`]: label types `&str`,
/// integers, `bool` and `LabelValue` enums; `capacity` required, `1..=16777216`;
/// `max_value_len` in `1..=4096`). For a family, or a histogram with `buckets`, write the short form
/// `static X: CounterFamily = CounterFamily::new();` — the attribute writes the generic
/// arguments (label types, number of series, number of bounds) and the storage of every
/// series. Bounds must be non-empty, finite and strictly increasing; label names must be
/// valid, distinct, not `quantile`, and not `le` on a histogram family. Each mistake is a
/// compile error on the offending token.
pub use promstatic_macros::metric;

/// Makes a fieldless enum the values of one label of a family.
///
/// Each variant is a value: its name in snake_case (`ClientError` → `client_error`), or the
/// text of `#[label(rename = "…")]`. Values are escaped at compile time. The enum must have
/// at least one variant, only unit variants, no generics, and distinct non-empty values.
/// `#[label(crate = path)]` on the enum says where generated code finds this crate.
pub use promstatic_macros::LabelValue;
