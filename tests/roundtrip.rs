//! Property tests: arbitrary metric sets rendered through the public run-time encoder API in
//! both formats must parse under the strict parser of the conformance kit
//! (`promstatic::conformance`) into exactly the set they came from.
//!
//! `PROPTEST_CASES` sets the number of cases per format (default 2000, about thirty seconds
//! in a debug build); failures are saved under `proptest-regressions/` and replayed first.

mod support;

use promstatic::conformance::proptest::prelude::*;
use promstatic::conformance::proptest::test_runner::FileFailurePersistence;
use promstatic::conformance::{self, strategy};
use promstatic::encode::{Encoder, Family, Format, Help, Kind, Suffix, Value, number};
use support::metric_set::{self, MetricSet, go_canonical};

fn round_trip(set: &MetricSet, format: Format) -> Result<(), String> {
    let bytes = metric_set::encode(set, format);
    let shown = || String::from_utf8_lossy(&bytes).into_owned();
    let model = conformance::parse(format, &bytes).map_err(|error| {
        format!(
            "{format:?}: the strict parser rejected it: {error}\n{}\n{}",
            error.excerpt(&bytes),
            shown()
        )
    })?;
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
    fn a_corrupted_exposition_is_rejected_at_a_place_inside_it(
        set in metric_set::metric_set(4),
        at in any::<prop::sample::Index>(),
        byte in any::<u8>(),
        openmetrics in any::<bool>(),
    ) {
        // One byte changed anywhere: the parser may accept (a digit for a digit) or reject,
        // but never panics, and a violation points at a line and column that exist.
        let format = if openmetrics { Format::OpenMetrics } else { Format::Text };
        let mut bytes = metric_set::encode(&set, format);
        if !bytes.is_empty() {
            let index = at.index(bytes.len());
            bytes[index] = byte;
        }
        if let Err(violation) = conformance::parse(format, &bytes) {
            let text = String::from_utf8_lossy(&bytes);
            let lines: Vec<&str> = text.split_terminator('\n').collect();
            prop_assert!((1..=lines.len() + 1).contains(&violation.line), "{violation}");
            let width = lines.get(violation.line - 1).map_or(0, |line| line.chars().count());
            prop_assert!((1..=width + 1).contains(&violation.column), "{violation}");
        }
    }

    #[test]
    fn canonical_le_follows_go_g_formatting(bound in strategy::float_value()) {
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
        promstatic::assert_valid_exposition!(format, out);
    }
}
