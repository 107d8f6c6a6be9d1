//! Property tests a user writes with promstatic's conformance kit: every exposition of this
//! crate's own metrics is valid in both formats and says exactly what the code recorded, and
//! text the user passes through the run-time encoder comes back unchanged.
//!
//! Only the public API is used, and only the `conformance` feature is asked for.

use promstatic::conformance::proptest::prelude::*;
use promstatic::conformance::{Exposition, FamilyType, strategy};
use promstatic::encode::{Encoder, Family, Help, Kind, Label, Suffix, Value};
use promstatic::{Format, assert_valid_exposition};
use promstatic_conformance_user::{Outcome, job_finished, load};

const BOUNDS: [f64; 4] = [0.005, 0.05, 0.5, 5.0];

/// Renders the static table in both formats and parses each strictly.
fn scrape() -> [Exposition; 2] {
    [Format::Text, Format::OpenMetrics].map(|format| {
        let mut body = Vec::new();
        promstatic::render(&mut body, format);
        assert_valid_exposition!(format, body, "the table in {format:?}")
    })
}

/// The job counter of `outcome` and the histogram's buckets then `_count`, as scraped.
fn job_counts(exposition: &Exposition, outcome: Outcome) -> (f64, Vec<f64>) {
    let jobs = exposition
        .value("user_jobs_total", &[("outcome", outcome.label())])
        .expect("a series per outcome, zeros included");
    let mut histogram: Vec<f64> = BOUNDS
        .iter()
        .chain([&f64::INFINITY])
        .map(|&bound| {
            // Text 0.0.4 writes `le="1"`, OpenMetrics the canonical `1.0`: match by value
            // (Rust reads `+Inf` as infinity).
            exposition
                .samples()
                .find(|sample| {
                    sample.name == "user_job_seconds_bucket"
                        && sample.label("le").and_then(|le| le.parse().ok()) == Some(bound)
                })
                .map(|sample| sample.value.float)
                .expect("every bucket")
        })
        .collect();
    histogram.push(
        exposition
            .value("user_job_seconds_count", &[])
            .expect("_count"),
    );
    (jobs, histogram)
}

proptest! {
    // The only test in this binary that touches the statics, so deltas are exact even though
    // the tests run in parallel.
    #[test]
    fn every_scrape_is_valid_and_says_what_was_recorded(
        jobs in prop::collection::vec((0..3usize, strategy::observation()), 0..40),
        queued: i64,
        busy in strategy::float_value(),
    ) {
        let before = scrape();
        for &(outcome, seconds) in &jobs {
            job_finished(Outcome::ALL[outcome], seconds);
        }
        load(queued, busy);
        let after = scrape();
        for (before, after) in before.iter().zip(&after) {
            for (index, outcome) in Outcome::ALL.into_iter().enumerate() {
                let (jobs_before, _) = job_counts(before, outcome);
                let (jobs_after, _) = job_counts(after, outcome);
                let recorded = jobs.iter().filter(|(which, _)| *which == index).count();
                prop_assert_eq!(jobs_after - jobs_before, recorded as f64, "{:?}", outcome);
            }
            let (_, buckets_before) = job_counts(before, Outcome::Done);
            let (_, buckets_after) = job_counts(after, Outcome::Done);
            let mut expected: Vec<f64> = BOUNDS
                .iter()
                .map(|bound| jobs.iter().filter(|(_, seconds)| seconds <= bound).count() as f64)
                .collect();
            expected.push(jobs.len() as f64);
            expected.push(jobs.len() as f64);
            let delta: Vec<f64> =
                buckets_after.iter().zip(&buckets_before).map(|(a, b)| a - b).collect();
            prop_assert_eq!(delta, expected);
            prop_assert_eq!(after.value("user_queue_depth", &[]), Some(queued as f64));
            let ratio = after.value("user_workers_busy_ratio", &[]).expect("the ratio");
            prop_assert!(ratio.to_bits() == busy.to_bits() || (ratio.is_nan() && busy.is_nan()));
            let counter = after.families.iter().find(|family| family.name.starts_with("user_jobs"));
            prop_assert_eq!(counter.map(|family| family.kind), Some(FamilyType::Counter));
        }
    }

    #[test]
    fn hostile_text_survives_the_encoder(
        name in strategy::metric_name(),
        help in strategy::hostile_text(),
        label in strategy::label_name(),
        value in strategy::hostile_text(),
        number in strategy::float_value(),
    ) {
        for format in [Format::Text, Format::OpenMetrics] {
            let mut body = Vec::new();
            let mut encoder = Encoder::new(&mut body, format);
            let family = Family::new(&name, Kind::Gauge, Help::Raw(&help)).expect("a valid name");
            let labels = [Label::new(&label, &value).expect("a valid label name")];
            encoder
                .family(&family)
                .expect("a new family")
                .sample(Suffix::Bare, &labels, Value::Float(number))
                .expect("a valid sample");
            encoder.finish();
            let exposition = assert_valid_exposition!(format, body);
            let parsed = &exposition.families[0];
            let sample = &parsed.samples[0];
            // Text 0.0.4 cannot keep leading blanks of HELP (they separate tokens), and
            // OpenMetrics reads an empty HELP as none.
            let help = match format {
                Format::Text => Some(help.trim_start_matches([' ', '\t']).to_owned()),
                _ => Some(help.clone()).filter(|help| !help.is_empty()),
            };
            prop_assert_eq!(&parsed.help, &help);
            prop_assert_eq!(sample.label(&label), Some(value.as_str()));
            let read = sample.value.float;
            prop_assert!(read.to_bits() == number.to_bits() || (read.is_nan() && number.is_nan()));
        }
    }
}

#[test]
fn a_broken_exposition_is_reported_with_its_rule_and_place() {
    use promstatic::conformance::{Rule, parse};
    let violation = parse(Format::Text, b"user_queue_depth{x=\"a\\t\"} 1\n").unwrap_err();
    assert_eq!(
        (violation.rule, violation.line, violation.column),
        (Rule::Escape, 1, 22)
    );
}
