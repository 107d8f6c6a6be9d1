//! proptest strategies for the inputs that break expositions.
//!
//! These are the strategies promstatic's own round-trip tests draw from (`tests/roundtrip.rs`,
//! `tests/independent_parsers.rs`), so a property a user writes with them explores the same
//! corners: names at the edge of the grammar, text full of the characters that escaping and
//! line structure get wrong, and the float classes that number writers get wrong.

use proptest::prelude::*;

/// Valid metric names (`[a-zA-Z_][a-zA-Z0-9_]{0,10}`), never with the reserved `__` prefix.
///
/// Colons are left out: they are reserved for recording rules, and `#[metric]` rejects them.
pub fn metric_name() -> impl Strategy<Value = String> {
    "[a-zA-Z_][a-zA-Z0-9_]{0,10}".prop_filter("reserved prefix", |name| !name.starts_with("__"))
}

/// Valid label names, never `__`-prefixed and never `le` or `quantile` (which histograms and
/// summaries own).
pub fn label_name() -> impl Strategy<Value = String> {
    "[a-zA-Z_][a-zA-Z0-9_]{0,6}".prop_filter("reserved", |name| {
        !name.starts_with("__") && name != "le" && name != "quantile"
    })
}

/// Up to `max - 1` distinct label names for one family, drawn from [`label_name`] and
/// `accept`.
pub fn label_names(max: usize, accept: fn(&str) -> bool) -> impl Strategy<Value = Vec<String>> {
    prop::collection::vec(
        label_name().prop_filter("not accepted", move |name| accept(name)),
        0..max,
    )
    .prop_map(|names| {
        let mut seen = std::collections::HashSet::new();
        names
            .into_iter()
            .filter(|name| seen.insert(name.clone()))
            .collect()
    })
}

/// Characters that stress escaping and line structure, plus any Unicode scalar.
fn hostile_char() -> impl Strategy<Value = char> {
    prop_oneof![
        4 => prop::sample::select(vec![
            '\\', '"', '\n', '\0', ' ', '\t', '#', '{', '}', ',', '=', '\r', 'n', 'é', '\u{2028}',
            '\u{FEFF}', '\u{10FFFF}',
        ]),
        4 => any::<char>(),
        2 => prop::char::range('a', 'z'),
    ]
}

/// Hostile text for label values and HELP: backslashes, quotes, line feeds, NUL, `#`,
/// braces, line and paragraph separators, a byte-order mark, any Unicode scalar; 0 to 11
/// characters.
pub fn hostile_text() -> impl Strategy<Value = String> {
    prop::collection::vec(hostile_char(), 0..12).prop_map(|chars| chars.into_iter().collect())
}

/// Floats with the classes that break writers: NaN, ±Inf, -0.0, subnormals, the extremes,
/// the edges of exact integers, plus any bit pattern and ordinary magnitudes.
pub fn float_value() -> impl Strategy<Value = f64> {
    prop_oneof![
        prop::sample::select(vec![
            f64::NAN,
            f64::INFINITY,
            f64::NEG_INFINITY,
            0.0,
            -0.0,
            f64::MAX,
            f64::MIN,
            f64::MIN_POSITIVE,
            -f64::MIN_POSITIVE,
            5e-324,
            -5e-324,
            f64::EPSILON,
            1e21,
            1e-7,
            u64::MAX as f64,
        ]),
        any::<f64>(),
        -1e6..1e6f64,
    ]
}

/// One finite, non-negative histogram bucket bound: the usual latency bounds, the places
/// where float formatting switches notation, the smallest subnormal, `f64::MAX`, any finite
/// magnitude. (Negative bounds are left out: OpenMetrics forbids `_sum` next to negative
/// buckets, and histograms always write `_sum`.)
pub fn bucket_bound() -> impl Strategy<Value = f64> {
    prop_oneof![
        prop::sample::select(vec![
            0.0,
            1e-10,
            1e-5,
            1e-4,
            0.001,
            0.005,
            0.1,
            0.25,
            1.0,
            2.5,
            10.0,
            1e5,
            1e6,
            1e10,
            1e21,
            1e23,
            5e-324,
            f64::MAX
        ]),
        0.0..1e3f64,
        any::<f64>()
            .prop_filter("finite", |value| value.is_finite())
            .prop_map(f64::abs),
    ]
}

/// Up to `max - 1` bucket bounds, strictly increasing (sorted, duplicates removed); may be
/// empty (only `+Inf`).
pub fn bucket_bounds(max: usize) -> impl Strategy<Value = Vec<f64>> {
    prop::collection::vec(bucket_bound(), 0..max).prop_map(|mut bounds| {
        bounds.sort_by(f64::total_cmp);
        bounds.dedup_by(|a, b| a == b);
        bounds
    })
}

/// One observation: mostly small values, often exactly on a bound.
pub fn observation() -> impl Strategy<Value = f64> {
    prop_oneof![0.0..20.0f64, bucket_bound()]
}

/// A sequence of up to `max - 1` observations for one histogram.
pub fn observations(max: usize) -> impl Strategy<Value = Vec<f64>> {
    prop::collection::vec(observation(), 0..max)
}
