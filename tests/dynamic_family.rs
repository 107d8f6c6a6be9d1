//! Dynamic label families: identity by value, overflow, limits, exact totals, and the exact
//! exposition in both formats.

mod support;

use std::sync::atomic::{AtomicUsize, Ordering};

use promstatic::dynamic::{OVERFLOW_VALUE, Overflows};
use promstatic::{
    Counter, DynCounterFamily, DynGaugeFamily, DynHistogramFamily, Format, LabelValue, metric,
};
use support::oracle::{self, Dialect};

#[derive(LabelValue, Clone, Copy)]
enum Method {
    Get,
    #[label(rename = "P\"OST")]
    Post,
}

/// Responses by route, code and method.
#[metric(labels(route: &str, code: u16, method: Method), capacity = 3)]
static GOLDEN_RESPONSES_TOTAL: DynCounterFamily = DynCounterFamily::new();

/// Pairs of strings.
#[metric(labels(first: &str, second: &str), capacity = 16)]
static PAIRS_TOTAL: DynCounterFamily = DynCounterFamily::new();

/// Only the oracle test updates this one.
#[metric(labels(first: &str, second: &str), capacity = 4)]
static PARSED_TOTAL: DynCounterFamily = DynCounterFamily::new();

/// Only the reserved-label-set test updates this one.
#[metric(labels(first: &str, second: &str), capacity = 4)]
static RESERVED_TOTAL: DynCounterFamily = DynCounterFamily::new();

/// Short values only.
#[metric(labels(tenant: &str), capacity = 8, max_value_len = 4)]
static SHORT_TOTAL: DynCounterFamily = DynCounterFamily::new();

/// Few label bytes: each value takes its length plus 2.
#[metric(labels(tenant: &str), capacity = 8, label_bytes = 10)]
static FEW_BYTES_TOTAL: DynCounterFamily = DynCounterFamily::new();

/// Signed and boolean labels.
#[metric(labels(offset: i64, ok: bool), capacity = 4)]
static OFFSETS: DynGaugeFamily = DynGaugeFamily::new();

/// Latency by upstream.
#[metric(labels(upstream: &str), capacity = 2, buckets = [0.1, 1.0])]
static UPSTREAM_SECONDS: DynHistogramFamily = DynHistogramFamily::new();

/// Always full: overflow, counted and warned once.
#[metric(labels(user: &str), capacity = 1)]
static WARNED_TOTAL: DynCounterFamily = DynCounterFamily::new();

fn render(format: Format) -> String {
    let mut out = Vec::new();
    promstatic::render(&mut out, format);
    String::from_utf8(out).unwrap()
}

/// The lines of family `name` (from its `# HELP` to the next family).
fn block(text: &str, name: &str) -> String {
    let start = text
        .find(&format!("# HELP {name} "))
        .unwrap_or_else(|| panic!("no family {name} in\n{text}"));
    let rest = &text[start..];
    let end = rest[1..].find("# HELP ").map_or(rest.len(), |end| end + 1);
    rest[..end].to_owned()
}

#[test]
fn golden_exposition_in_both_formats() {
    GOLDEN_RESPONSES_TOTAL
        .with(("/users/:id", 200, Method::Get))
        .inc();
    GOLDEN_RESPONSES_TOTAL
        .with(("/a\"b\\c\nd", 503, Method::Post))
        .inc_by(2);
    GOLDEN_RESPONSES_TOTAL.with(("", 0, Method::Get));
    // Full: these three land in the overflow series.
    GOLDEN_RESPONSES_TOTAL.with(("/x", 200, Method::Get)).inc();
    GOLDEN_RESPONSES_TOTAL
        .with(("/y", 200, Method::Get))
        .inc_by(3);
    GOLDEN_RESPONSES_TOTAL
        .with(("/users/:id", 201, Method::Get))
        .inc();
    // Known label sets still find their series.
    GOLDEN_RESPONSES_TOTAL
        .with(("/users/:id", 200, Method::Get))
        .inc();

    let text = render(Format::Text);
    assert_eq!(
        block(&text, "golden_responses_total"),
        "# HELP golden_responses_total Responses by route, code and method.\n\
         # TYPE golden_responses_total counter\n\
         golden_responses_total{route=\"/users/:id\",code=\"200\",method=\"get\"} 2\n\
         golden_responses_total{route=\"/a\\\"b\\\\c\\nd\",code=\"503\",method=\"P\\\"OST\"} 2\n\
         golden_responses_total{route=\"\",code=\"0\",method=\"get\"} 0\n\
         golden_responses_total{route=\"__overflow__\",code=\"__overflow__\",method=\"__overflow__\"} 5\n"
    );
    let openmetrics = render(Format::OpenMetrics);
    assert_eq!(
        block(&openmetrics, "golden_responses"),
        "# HELP golden_responses Responses by route, code and method.\n\
         # TYPE golden_responses counter\n\
         golden_responses_total{route=\"/users/:id\",code=\"200\",method=\"get\"} 2\n\
         golden_responses_total{route=\"/a\\\"b\\\\c\\nd\",code=\"503\",method=\"P\\\"OST\"} 2\n\
         golden_responses_total{route=\"\",code=\"0\",method=\"get\"} 0\n\
         golden_responses_total{route=\"__overflow__\",code=\"__overflow__\",method=\"__overflow__\"} 5\n"
    );
    assert!(
        text.contains(
            "promstatic_label_overflows_total{metric=\"golden_responses_total\",reason=\"capacity\"} 3\n"
        ),
        "{text}"
    );
    assert_eq!(
        GOLDEN_RESPONSES_TOTAL.overflows(),
        Overflows {
            capacity: 3,
            ..Overflows::default()
        }
    );
    assert_eq!(GOLDEN_RESPONSES_TOTAL.len(), 3);
}

#[test]
fn identity_is_by_value_not_by_hash_or_concatenation() {
    let ab_c: *const Counter = PAIRS_TOTAL.with(("ab", "c"));
    let a_bc: *const Counter = PAIRS_TOTAL.with(("a", "bc"));
    let empty: *const Counter = PAIRS_TOTAL.with(("", ""));
    let empty_nul: *const Counter = PAIRS_TOTAL.with(("", "\0"));
    let nul_empty: *const Counter = PAIRS_TOTAL.with(("\0", ""));
    let owned = String::from("ab");
    let again: *const Counter = PAIRS_TOTAL.with((&owned, "c"));
    let all = [ab_c, a_bc, empty, empty_nul, nul_empty];
    for (position, series) in all.iter().enumerate() {
        assert!(
            !all[..position].contains(series),
            "two label sets share a series"
        );
    }
    assert_eq!(again, ab_c);
    assert_eq!(PAIRS_TOTAL.with(("", "")) as *const Counter, empty);
    assert_eq!(PAIRS_TOTAL.with(("\0", "")) as *const Counter, nul_empty);
    assert_eq!(PAIRS_TOTAL.overflows().total(), 0);
}

#[test]
fn long_values_overflow_and_short_ones_do_not() {
    SHORT_TOTAL.with(("abcd",)).inc();
    SHORT_TOTAL.with(("abcde",)).inc();
    // The limit is on the value as passed; escaping may make it longer when stored.
    SHORT_TOTAL.with(("\"\"\"\"",)).inc();
    assert_eq!(SHORT_TOTAL.len(), 2);
    assert_eq!(SHORT_TOTAL.overflow().get(), 1);
    assert_eq!(SHORT_TOTAL.overflows().value_length, 1);
}

#[test]
fn label_bytes_run_out_before_capacity() {
    // 10 bytes: "abc" takes 5, "defg" takes 6 (refused), "x" takes 3, "" takes 2.
    FEW_BYTES_TOTAL.with(("abc",)).inc();
    FEW_BYTES_TOTAL.with(("defg",)).inc();
    FEW_BYTES_TOTAL.with(("x",)).inc();
    FEW_BYTES_TOTAL.with(("",)).inc();
    FEW_BYTES_TOTAL.with(("y",)).inc();
    assert_eq!(FEW_BYTES_TOTAL.len(), 3);
    assert_eq!(FEW_BYTES_TOTAL.overflows().label_bytes, 2);
    assert_eq!(FEW_BYTES_TOTAL.overflow().get(), 2);
}

#[test]
fn the_overflow_label_set_itself_goes_to_the_overflow_series() {
    RESERVED_TOTAL.with((OVERFLOW_VALUE, OVERFLOW_VALUE)).inc();
    let family = &RESERVED_TOTAL;
    assert!(std::ptr::eq(
        family.with((OVERFLOW_VALUE, OVERFLOW_VALUE)),
        family.overflow()
    ));
    // Only all values at once are reserved.
    assert!(!std::ptr::eq(
        family.with((OVERFLOW_VALUE, "x")),
        family.overflow()
    ));
    assert_eq!(family.overflows().reserved, 2);
    assert_eq!(family.len(), 1);
    let text = render(Format::Text);
    let overflow_lines = block(&text, "reserved_total")
        .lines()
        .filter(|line| line.contains("first=\"__overflow__\",second=\"__overflow__\""))
        .count();
    assert_eq!(overflow_lines, 1);
}

#[test]
fn integers_and_bools_are_formatted_once_and_gauges_work() {
    OFFSETS.with((-5, true)).set(7);
    OFFSETS.with((i64::MIN, false)).dec();
    OFFSETS.with((-5, true)).inc();
    let text = render(Format::Text);
    let offsets = block(&text, "offsets");
    assert!(
        offsets.contains("offsets{offset=\"-5\",ok=\"true\"} 8\n"),
        "{offsets}"
    );
    assert!(
        offsets.contains("offsets{offset=\"-9223372036854775808\",ok=\"false\"} -1\n"),
        "{offsets}"
    );
}

#[test]
fn histograms_by_run_time_label() {
    UPSTREAM_SECONDS.with(("db-1",)).observe(0.05);
    UPSTREAM_SECONDS.with(("db-2",)).observe(5.0);
    UPSTREAM_SECONDS.with(("db-3",)).observe(0.5);
    let text = render(Format::Text);
    let family = block(&text, "upstream_seconds");
    assert_eq!(
        family,
        "# HELP upstream_seconds Latency by upstream.\n# TYPE upstream_seconds histogram\n\
         upstream_seconds_bucket{upstream=\"db-1\",le=\"0.1\"} 1\n\
         upstream_seconds_bucket{upstream=\"db-1\",le=\"1\"} 1\n\
         upstream_seconds_bucket{upstream=\"db-1\",le=\"+Inf\"} 1\n\
         upstream_seconds_sum{upstream=\"db-1\"} 0.05\n\
         upstream_seconds_count{upstream=\"db-1\"} 1\n\
         upstream_seconds_bucket{upstream=\"db-2\",le=\"0.1\"} 0\n\
         upstream_seconds_bucket{upstream=\"db-2\",le=\"1\"} 0\n\
         upstream_seconds_bucket{upstream=\"db-2\",le=\"+Inf\"} 1\n\
         upstream_seconds_sum{upstream=\"db-2\"} 5\n\
         upstream_seconds_count{upstream=\"db-2\"} 1\n\
         upstream_seconds_bucket{upstream=\"__overflow__\",le=\"0.1\"} 0\n\
         upstream_seconds_bucket{upstream=\"__overflow__\",le=\"1\"} 1\n\
         upstream_seconds_bucket{upstream=\"__overflow__\",le=\"+Inf\"} 1\n\
         upstream_seconds_sum{upstream=\"__overflow__\"} 0.5\n\
         upstream_seconds_count{upstream=\"__overflow__\"} 1\n"
    );
}

#[test]
fn the_strict_oracle_accepts_both_formats() {
    PARSED_TOTAL.with(("quote\"", "new\nline\\")).inc();
    for (format, dialect) in [
        (Format::Text, Dialect::Text),
        (Format::OpenMetrics, Dialect::OpenMetrics),
    ] {
        let text = render(format);
        let exposition = oracle::parse(text.as_bytes(), dialect)
            .unwrap_or_else(|error| panic!("{error} in\n{text}"));
        let pairs = exposition
            .families
            .iter()
            .find(|family| family.name.starts_with("parsed"))
            .unwrap();
        assert!(pairs.samples.iter().any(|sample| {
            sample.label("first") == Some("quote\"")
                && sample.label("second") == Some("new\nline\\")
        }));
    }
}

/// Records warnings: the one-time overflow warning.
struct CountingLogger;

static WARNINGS: AtomicUsize = AtomicUsize::new(0);

impl log::Log for CountingLogger {
    fn enabled(&self, _: &log::Metadata<'_>) -> bool {
        true
    }
    fn log(&self, record: &log::Record<'_>) {
        if record.level() == log::Level::Warn && record.args().to_string().contains("warned_total")
        {
            WARNINGS.fetch_add(1, Ordering::Relaxed);
        }
    }
    fn flush(&self) {}
}

#[test]
fn overflow_is_warned_once_per_family() {
    static LOGGER: CountingLogger = CountingLogger;
    log::set_logger(&LOGGER).unwrap();
    log::set_max_level(log::LevelFilter::Warn);
    WARNED_TOTAL.with(("first",)).inc();
    for user in 0..100 {
        WARNED_TOTAL.with((&user.to_string(),)).inc();
    }
    assert_eq!(WARNINGS.load(Ordering::Relaxed), 1);
    assert_eq!(WARNED_TOTAL.overflows().capacity, 100);
    assert_eq!(WARNED_TOTAL.overflow().get(), 100);
    assert_eq!(WARNED_TOTAL.with(("first",)).get(), 1);
}

#[test]
fn memory_is_the_documented_formula() {
    // The module docs' example: capacity 512, two labels, so 32 768 label bytes.
    type Example = DynCounterFamily<(&'static str, u16), 512, 1024, 32768>;
    let formula = 8 * 1024 + 12 * 512 + 32768 + 32 + (512 + 1) * 8 + 64;
    assert_eq!(std::mem::size_of::<Example>(), formula);
    assert_eq!(formula, 51_304);
}
