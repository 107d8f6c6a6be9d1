//! The example at the top of the `promstatic::conformance` docs, verbatim (`tests/docs.rs`
//! checks that it is): what a user pastes into their crate, run for real.

use promstatic::conformance::{proptest::prelude::*, strategy};
use promstatic::{Format, Gauge, Histogram, assert_valid_exposition, metric};

/// Jobs waiting.
#[metric]
static QUEUE_DEPTH: Gauge = Gauge::new();

/// Time to run a job.
#[metric(buckets = [0.01, 0.1, 1.0])]
static JOB_SECONDS: Histogram = Histogram::new();

proptest! {
    #[test]
    fn every_scrape_is_valid(depth: i64, jobs in strategy::observations(50)) {
        QUEUE_DEPTH.set(depth);
        jobs.iter().for_each(|&seconds| JOB_SECONDS.observe(seconds));
        for format in [Format::Text, Format::OpenMetrics] {
            let mut body = Vec::new();
            promstatic::render(&mut body, format);
            let exposition = assert_valid_exposition!(format, body);
            prop_assert_eq!(exposition.value("queue_depth", &[]), Some(depth as f64));
        }
    }
}
