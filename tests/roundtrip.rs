//! Property tests: arbitrary metric sets rendered through the public run-time encoder API in
//! both formats must parse under the strict oracle into exactly the set they came from.
//!
//! `PROPTEST_CASES` sets the number of cases per format (default 2000, about thirty seconds
//! in a debug build); failures are saved under `proptest-regressions/` and replayed first.

mod support;

use promstatic::encode::{Encoder, Family, Format, Help, Kind, Suffix, Value, number};
use proptest::prelude::*;
use proptest::test_runner::FileFailurePersistence;
use support::metric_set::{self, MetricSet, go_canonical};
use support::oracle::{self, Dialect};

fn dialect(format: Format) -> Dialect {
    match format {
        Format::Text => Dialect::Text,
        Format::OpenMetrics => Dialect::OpenMetrics,
    }
}

fn round_trip(set: &MetricSet, format: Format) -> Result<(), String> {
    let bytes = metric_set::encode(set, format);
    let shown = || String::from_utf8_lossy(&bytes).into_owned();
    let model = oracle::parse(&bytes, dialect(format))
        .map_err(|error| format!("{format:?}: the oracle rejected it: {error}\n{}", shown()))?;
    metric_set::check_invariants(&bytes, format, &model)
        .map_err(|error| format!("{format:?}: {error}\n{}", shown()))?;
    metric_set::compare(set, format, &model)
        .map_err(|error| format!("{format:?}: {error}\n{}", shown()))
}

fn config() -> ProptestConfig {
    let cases = std::env::var("PROPTEST_CASES")
        .ok()
        .and_then(|cases| cases.parse().ok())
        .unwrap_or(2000);
    ProptestConfig {
        cases,
        failure_persistence: Some(Box::new(FileFailurePersistence::Direct(
            "proptest-regressions/roundtrip.txt",
        ))),
        ..ProptestConfig::default()
    }
}

proptest! {
    #![proptest_config(config())]

    #[test]
    fn text_round_trips(set in metric_set::metric_set(8)) {
        round_trip(&set, Format::Text).map_err(TestCaseError::fail)?;
    }

    #[test]
    fn openmetrics_round_trips(set in metric_set::metric_set(8)) {
        round_trip(&set, Format::OpenMetrics).map_err(TestCaseError::fail)?;
    }

    #[test]
    fn canonical_le_follows_go_g_formatting(bound in metric_set::any_float()) {
        let mut out = Vec::new();
        number::write_f64_canonical(&mut out, bound);
        prop_assert_eq!(String::from_utf8(out).unwrap(), go_canonical(bound));
    }
}

#[test]
fn canonical_numbers_match_the_openmetrics_examples() {
    // OpenMetrics 1.0, "Considerations: Canonical Numbers".
    let examples = [
        (0.0, "0.0"),
        (0.001, "0.001"),
        (0.002, "0.002"),
        (0.01, "0.01"),
        (0.1, "0.1"),
        (0.9, "0.9"),
        (0.95, "0.95"),
        (0.99, "0.99"),
        (0.999, "0.999"),
        (1.0, "1.0"),
        (1.7, "1.7"),
        (10.0, "10.0"),
        (1e-10, "1e-10"),
        (1e-9, "1e-09"),
        (1e-5, "1e-05"),
        (0.0001, "0.0001"),
        (100000.0, "100000.0"),
        (1e6, "1e+06"),
        (1e10, "1e+10"),
        (f64::INFINITY, "+Inf"),
    ];
    for (value, spelled) in examples {
        assert_eq!(go_canonical(value), spelled, "reference for {value}");
        let mut out = Vec::new();
        number::write_f64_canonical(&mut out, value);
        assert_eq!(
            String::from_utf8(out).unwrap(),
            spelled,
            "encoder for {value}"
        );
    }
}

#[test]
fn a_counter_named_only_total_stays_valid_in_openmetrics() {
    // The OpenMetrics family name is the counter's name without `_total`; for a counter named
    // just `_total` that would leave an empty name.
    let family = Family::new("_total", Kind::Counter, Help::Raw("x")).unwrap();
    for format in [Format::Text, Format::OpenMetrics] {
        let mut out = Vec::new();
        let mut encoder = Encoder::new(&mut out, format);
        encoder
            .family(&family)
            .unwrap()
            .sample(Suffix::Bare, &[], Value::Unsigned(1))
            .unwrap();
        encoder.finish();
        if let Err(error) = oracle::parse(&out, dialect(format)) {
            panic!("{format:?}: {error}\n{}", String::from_utf8_lossy(&out));
        }
    }
}
