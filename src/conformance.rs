//! A conformance kit (feature `conformance`): the strict exposition parser promstatic proves
//! its own output with, and the proptest strategies its own property tests draw from, for
//! property tests of *your* metrics.
//!
//! Paste this into a test of your crate (with `promstatic = { version = "…", features =
//! ["conformance"] }` in `[dev-dependencies]`; proptest comes re-exported):
//!
//! ```
//! use promstatic::conformance::{proptest::prelude::*, strategy};
//! use promstatic::{Format, Gauge, Histogram, assert_valid_exposition, metric};
//!
//! /// Jobs waiting.
//! #[metric]
//! static QUEUE_DEPTH: Gauge = Gauge::new();
//!
//! /// Time to run a job.
//! #[metric(buckets = [0.01, 0.1, 1.0])]
//! static JOB_SECONDS: Histogram = Histogram::new();
//!
//! proptest! {
//!     #[test]
//!     fn every_scrape_is_valid(depth: i64, jobs in strategy::observations(50)) {
//!         QUEUE_DEPTH.set(depth);
//!         jobs.iter().for_each(|&seconds| JOB_SECONDS.observe(seconds));
//!         for format in [Format::Text, Format::OpenMetrics] {
//!             let mut body = Vec::new();
//!             promstatic::render(&mut body, format);
//!             let exposition = assert_valid_exposition!(format, body);
//!             prop_assert_eq!(exposition.value("queue_depth", &[]), Some(depth as f64));
//!         }
//!     }
//! }
//! # fn main() {}
//! ```
//!
//! A doctest compiles this but does not run `#[test]` functions; the workspace crate
//! `tests/conformance-user` runs it as `tests/doc_example.rs` (a test there checks that the two
//! stay the same), next to more properties through the public API.
//!
//! # What is in the kit
//!
//! * [`parse`]: the strict parser for Prometheus text 0.0.4 and OpenMetrics 1.0. It returns
//!   an [`Exposition`] (families with type, HELP, unit, samples with labels, values,
//!   timestamps and exemplars, as written) or a [`Violation`] naming the [`Rule`] broken, the
//!   line and column, and what to write instead. It agrees with all 211 cases of the official
//!   OpenMetrics parser corpus (`tests/oracle_corpus.rs`) and with a table of text 0.0.4 rule
//!   cases (`tests/oracle_text_rules.rs`).
//! * [`check_scrape`]: the same, with the format read from the `Content-Type` a scrape
//!   returned.
//! * [`assert_valid_exposition!`](crate::assert_valid_exposition): parses or panics with the
//!   violation and the offending line; returns the [`Exposition`].
//! * [`strategy`]: proptest strategies for valid metric and label names, hostile label values
//!   and HELP text, floats with NaN, ±Inf, -0 and subnormals, histogram bounds and
//!   observation sequences.
//! * `scrape` and `scrape_service` (with the `exporter` feature too): scrape a running
//!   `ExporterHandle` over loopback or a mounted `MetricsService` in-process, and check the
//!   body.
// (Not links: they would break in docs built without the exporter.)
//!
//! # How strict
//!
//! Written from the specifications (Prometheus' `exposition_formats.md` and OpenMetrics 1.0's
//! `OpenMetrics.md`), not from promstatic's encoder. Where a specification is loose the parser
//! takes the strict side whenever real expositions (and the corpus) allow it: label names
//! starting with `__` are rejected; text 0.0.4 counters must be named `…_total` and be
//! neither NaN nor negative; text 0.0.4 histograms need `_count` (equal to the `+Inf` bucket)
//! and `_sum`; a series may not repeat (in OpenMetrics: unless it carries timestamps); the
//! samples of one label set may not be interleaved with another's.
//!
//! # Cost
//!
//! The feature adds proptest (without its default features) to the build and nothing to the
//! metrics themselves; enable it in `[dev-dependencies]`. The parser allocates freely: it is
//! for tests, never for the scrape path.

// The example above is for pasting into a test file, so it keeps its `#[test]`; it runs in
// `tests/conformance-user/tests/doc_example.rs`.
#![allow(clippy::test_attr_in_doctest)]

mod model;
mod parse;
#[cfg(feature = "exporter")]
mod scrape;
pub mod strategy;
mod syntax;
mod violation;

pub use self::model::{Exemplar, Exposition, Family, FamilyType, Labels, Number, Sample};
#[cfg(feature = "exporter")]
#[cfg_attr(docsrs, doc(cfg(feature = "exporter")))]
pub use self::scrape::{ScrapeError, Scraped, scrape, scrape_service};
pub use self::violation::{Rule, Violation};
pub use crate::encode::Format;
/// The proptest version the [`strategy`] functions are built on, so a user's `proptest!`
/// matches them without a dependency of its own.
pub use proptest;

/// Parses `bytes` strictly as `format`.
///
/// ```
/// use promstatic::conformance::{self, Format, Rule};
///
/// let exposition = conformance::parse(Format::Text, b"# TYPE up gauge\nup 1\n").unwrap();
/// assert_eq!(exposition.value("up", &[]), Some(1.0));
///
/// let violation = conformance::parse(Format::OpenMetrics, b"up 1\n").unwrap_err();
/// assert_eq!(violation.rule, Rule::MissingEof);
/// ```
pub fn parse(format: Format, bytes: &[u8]) -> Result<Exposition, Violation> {
    // The seam for binary formats: a protobuf `Format` gets its own decoder here, producing
    // the same `Exposition` and reporting rule breaks as the same `Violation`s (with the
    // message index as the "line"), so every test above this function stays as it is.
    match format {
        Format::Text | Format::OpenMetrics => parse::text(bytes, format),
        Format::Protobuf => Err(Violation::new(
            Rule::ContentType,
            1,
            1,
            "this parser reads the text formats; a protobuf exposition needs a protobuf \
             decoder"
                .to_owned(),
        )),
    }
}

/// The format a `Content-Type` names: `text/plain` with `version=0.0.4` (or no version) or
/// `application/openmetrics-text` with `version=1.0.0` (or none), in UTF-8.
pub fn format_of(content_type: &str) -> Result<Format, Violation> {
    let unknown = |why: String| Violation::new(Rule::ContentType, 0, 0, why);
    let mut parts = content_type.split(';').map(str::trim);
    let media_type = parts.next().unwrap_or_default();
    let (format, version) = if media_type.eq_ignore_ascii_case("text/plain") {
        (Format::Text, "0.0.4")
    } else if media_type.eq_ignore_ascii_case("application/openmetrics-text") {
        (Format::OpenMetrics, "1.0.0")
    } else {
        return Err(unknown(format!(
            "{content_type:?} is neither `text/plain` (text 0.0.4) nor \
             `application/openmetrics-text` (OpenMetrics 1.0)"
        )));
    };
    for parameter in parts {
        let (name, value) = parameter.split_once('=').unwrap_or((parameter, ""));
        let value = value.trim().trim_matches('"');
        let name = name.trim();
        if name.eq_ignore_ascii_case("version") && value != version {
            return Err(unknown(format!(
                "{content_type:?}: version {value:?} of {media_type} is not one this parser \
                 knows (only {version})"
            )));
        }
        if name.eq_ignore_ascii_case("charset") && !value.eq_ignore_ascii_case("utf-8") {
            return Err(unknown(format!(
                "{content_type:?}: expositions are UTF-8, not {value:?}"
            )));
        }
    }
    Ok(format)
}

/// Parses a scraped body with the parser its `Content-Type` names (see [`format_of`]).
///
/// ```
/// use promstatic::conformance::check_scrape;
///
/// let body = b"# TYPE up gauge\nup 1\n# EOF\n";
/// let content_type = "application/openmetrics-text; version=1.0.0; charset=utf-8";
/// assert!(check_scrape(body, content_type).is_ok());
/// // Without `# EOF` the body is valid text 0.0.4, but not OpenMetrics.
/// assert!(check_scrape(b"up 1\n", "text/plain; version=0.0.4").is_ok());
/// assert!(check_scrape(b"up 1\n", content_type).is_err());
/// assert!(check_scrape(body, "application/json").is_err());
/// ```
pub fn check_scrape(bytes: &[u8], content_type: &str) -> Result<Exposition, Violation> {
    parse(format_of(content_type)?, bytes)
}

/// Parses an exposition strictly (feature `conformance`) and returns its
/// [`Exposition`](crate::conformance::Exposition), or panics with the rule broken, the line
/// and column, the offending line with a caret, and the whole exposition.
///
/// `assert_valid_exposition!(format, bytes)` or with a context message like `assert!`'s:
/// `assert_valid_exposition!(format, bytes, "after {} scrapes", n)`. `bytes` is anything that
/// is `AsRef<[u8]>` (a `Vec<u8>`, a `&[u8]`, a `String`). Inside `proptest!` the panic fails
/// the case and proptest shrinks it.
///
/// ```should_panic
/// use promstatic::{assert_valid_exposition, Format};
///
/// // A histogram without its `+Inf` bucket:
/// let body = "# TYPE h histogram\nh_bucket{le=\"1\"} 0\nh_sum 0\nh_count 0\n";
/// assert_valid_exposition!(Format::Text, body, "a hand-written histogram");
/// ```
#[macro_export]
#[cfg_attr(docsrs, doc(cfg(feature = "conformance")))]
macro_rules! assert_valid_exposition {
    ($format:expr, $bytes:expr $(,)?) => {
        $crate::__private::assert_valid(
            $format,
            ::core::convert::AsRef::<[u8]>::as_ref(&$bytes),
            ::core::option::Option::None,
        )
    };
    ($format:expr, $bytes:expr, $($context:tt)+) => {
        $crate::__private::assert_valid(
            $format,
            ::core::convert::AsRef::<[u8]>::as_ref(&$bytes),
            ::core::option::Option::Some(::std::format!($($context)+)),
        )
    };
}
