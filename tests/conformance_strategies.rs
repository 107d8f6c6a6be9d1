//! The conformance kit's strategies generate what their docs promise: names the one name
//! validator accepts, bounds a histogram can have, and, over a fixed number of draws from a
//! deterministic runner, every hard float class and every hostile character at least once.

use promstatic::conformance::proptest::prelude::*;
use promstatic::conformance::proptest::strategy::ValueTree;
use promstatic::conformance::proptest::test_runner::TestRunner;
use promstatic::conformance::strategy;
use promstatic::name::{validate_label_name, validate_metric_name};

/// `count` values of `strategy` from a runner with a fixed seed (never flaky).
fn draws<T>(strategy: impl Strategy<Value = T>, count: usize) -> Vec<T> {
    let mut runner = TestRunner::deterministic();
    (0..count)
        .map(|_| {
            strategy
                .new_tree(&mut runner)
                .expect("the strategy generates")
                .current()
        })
        .collect()
}

proptest! {
    #[test]
    fn metric_names_are_valid(name in strategy::metric_name()) {
        prop_assert!(validate_metric_name(&name).is_ok(), "{name:?}");
        prop_assert!(!name.starts_with("__"));
    }

    #[test]
    fn label_names_are_valid_and_not_reserved(name in strategy::label_name()) {
        prop_assert!(validate_label_name(&name).is_ok(), "{name:?}");
        prop_assert!(name != "le" && name != "quantile" && !name.starts_with("__"));
    }

    #[test]
    fn label_name_sets_are_distinct_and_filtered(
        names in strategy::label_names(6, |name| !name.starts_with('a')),
    ) {
        prop_assert!(names.len() < 6);
        let mut sorted = names.clone();
        sorted.sort();
        sorted.dedup();
        prop_assert_eq!(sorted.len(), names.len());
        prop_assert!(names.iter().all(|name| !name.starts_with('a')));
    }

    #[test]
    fn bucket_bounds_increase_strictly_and_are_finite(bounds in strategy::bucket_bounds(10)) {
        prop_assert!(bounds.iter().all(|bound| bound.is_finite() && *bound >= 0.0));
        prop_assert!(bounds.windows(2).all(|pair| pair[0] < pair[1]), "{bounds:?}");
    }

    #[test]
    fn observations_are_finite_and_not_negative(observations in strategy::observations(30)) {
        prop_assert!(observations.len() < 30);
        prop_assert!(observations.iter().all(|value| value.is_finite() && *value >= 0.0));
    }
}

/// A float class: its name and its test.
type FloatClass = (&'static str, fn(f64) -> bool);

#[test]
fn floats_cover_every_hard_class() {
    let values = draws(strategy::float_value(), 2000);
    let classes: [FloatClass; 6] = [
        ("NaN", f64::is_nan),
        ("+Inf", |value| value == f64::INFINITY),
        ("-Inf", |value| value == f64::NEG_INFINITY),
        ("-0", |value| value == 0.0 && value.is_sign_negative()),
        ("subnormal", f64::is_subnormal),
        ("beyond 2^53", |value| {
            value.is_finite() && value.abs() > 9_007_199_254_740_992.0
        }),
    ];
    for (class, is) in classes {
        assert!(
            values.iter().any(|&value| is(value)),
            "no {class} in 2000 draws"
        );
    }
}

#[test]
fn hostile_text_covers_every_character_that_escaping_gets_wrong() {
    let texts = draws(strategy::hostile_text(), 2000);
    for ch in [
        '\\', '"', '\n', '\0', '\t', '\r', '#', '{', '}', '\u{2028}', '\u{FEFF}',
    ] {
        assert!(
            texts.iter().any(|text| text.contains(ch)),
            "no {ch:?} in 2000 draws"
        );
    }
    assert!(
        texts.iter().any(String::is_empty),
        "no empty text in 2000 draws"
    );
}
