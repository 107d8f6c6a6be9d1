//! The decided semantics of `NaN`, `±Inf` and negative values in histograms (see the
//! `promstatic::histogram` module docs), byte for byte in both formats, and the same bytes
//! accepted by the strict oracle, `promtool check metrics` (text 0.0.4) and Python's text and
//! OpenMetrics parsers. Tools that are missing are skipped with the reason printed, unless
//! `PROMSTATIC_REQUIRE_TOOLS=1`.

mod support;

use std::sync::Once;

use promstatic::{Format, Histogram, HistogramFamily, LabelValue, metric};
use support::oracle::{self, Dialect};

#[derive(LabelValue, Clone, Copy)]
enum Probe {
    Steady,
    Broken,
}

/// Observes NaN and +Inf: counted, not summed.
#[metric(buckets = [1, 2])]
static NAN_SECONDS: Histogram = Histogram::new();

/// Negative bounds: OpenMetrics gets no sum.
#[metric(buckets = [-1, 0, 1])]
static OFFSET_SECONDS: Histogram = Histogram::new();

/// Non-negative bounds that received a negative value.
#[metric(buckets = [1, 2])]
static DRIFT_SECONDS: Histogram = Histogram::new();

/// Only infinities.
#[metric(buckets = [1])]
static EXTREME_SECONDS: Histogram = Histogram::new();

/// One series stays a counter, the other does not.
#[metric(labels(probe: Probe), buckets = [0.5])]
static PROBE_SECONDS: HistogramFamily = HistogramFamily::new();

fn record() {
    static ONCE: Once = Once::new();
    ONCE.call_once(|| {
        NAN_SECONDS.observe(f64::NAN);
        NAN_SECONDS.observe(0.5);
        NAN_SECONDS.observe(f64::INFINITY);
        OFFSET_SECONDS.observe(-0.5);
        OFFSET_SECONDS.observe(0.75);
        DRIFT_SECONDS.observe(1.5);
        DRIFT_SECONDS.observe(-5.0);
        EXTREME_SECONDS.observe(f64::NEG_INFINITY);
        EXTREME_SECONDS.observe(f64::INFINITY);
        PROBE_SECONDS.with(Probe::Steady).observe(0.25);
        PROBE_SECONDS.with(Probe::Broken).observe(-0.25);
    });
}

fn render(format: Format) -> String {
    record();
    let mut out = Vec::new();
    promstatic::render(&mut out, format);
    String::from_utf8(out).unwrap()
}

#[test]
fn text_golden() {
    assert_eq!(render(Format::Text), TEXT);
}

#[test]
fn openmetrics_golden() {
    assert_eq!(render(Format::OpenMetrics), OPENMETRICS);
}

#[test]
fn the_oracle_accepts_both_formats() {
    for (format, dialect) in [
        (Format::Text, Dialect::Text),
        (Format::OpenMetrics, Dialect::OpenMetrics),
    ] {
        let exposition = render(format);
        if let Err(error) = oracle::parse(exposition.as_bytes(), dialect) {
            panic!("{format:?}: {error}\n{exposition}");
        }
    }
}

#[test]
fn promtool_accepts_the_text_format() {
    match support::run_with_input(
        "promtool",
        &["check", "metrics"],
        render(Format::Text).as_bytes(),
    ) {
        None => support::skip("promtool is not installed (apt package `prometheus`)"),
        Some((ok, output)) => assert!(ok, "promtool rejected the exposition:\n{output}"),
    }
}

/// Parses stdin with the parser named by argv[1] and prints every sample, one a line.
const PARSE: &str = r#"
import sys
from prometheus_client.openmetrics.parser import text_string_to_metric_families as om
from prometheus_client.parser import text_string_to_metric_families as text
parse = om if sys.argv[1] == "openmetrics" else text
for family in parse(sys.stdin.read()):
    for sample in family.samples:
        print(family.type, sample.name, sorted(sample.labels.items()), sample.value)
"#;

#[test]
fn python_parsers_accept_both_formats() {
    if support::require_python_module("prometheus_client").is_none() {
        return;
    }
    for (format, parser) in [(Format::Text, "text"), (Format::OpenMetrics, "openmetrics")] {
        let exposition = render(format);
        let (ok, output) =
            support::run_with_input("python3", &["-c", PARSE, parser], exposition.as_bytes())
                .unwrap();
        assert!(ok, "the {parser} parser rejected:\n{output}\n{exposition}");
        // Every sample line was read back (nothing skipped as a comment or lost).
        let samples = exposition
            .lines()
            .filter(|line| !line.starts_with('#'))
            .count();
        assert_eq!(output.lines().count(), samples, "{output}");
    }
}

const TEXT: &str = r#"# HELP drift_seconds Non-negative bounds that received a negative value.
# TYPE drift_seconds histogram
drift_seconds_bucket{le="1"} 1
drift_seconds_bucket{le="2"} 2
drift_seconds_bucket{le="+Inf"} 2
drift_seconds_sum -3.5
drift_seconds_count 2
# HELP extreme_seconds Only infinities.
# TYPE extreme_seconds histogram
extreme_seconds_bucket{le="1"} 1
extreme_seconds_bucket{le="+Inf"} 2
extreme_seconds_sum 0
extreme_seconds_count 2
# HELP nan_seconds Observes NaN and +Inf: counted, not summed.
# TYPE nan_seconds histogram
nan_seconds_bucket{le="1"} 1
nan_seconds_bucket{le="2"} 1
nan_seconds_bucket{le="+Inf"} 3
nan_seconds_sum 0.5
nan_seconds_count 3
# HELP offset_seconds Negative bounds: OpenMetrics gets no sum.
# TYPE offset_seconds histogram
offset_seconds_bucket{le="-1"} 0
offset_seconds_bucket{le="0"} 1
offset_seconds_bucket{le="1"} 2
offset_seconds_bucket{le="+Inf"} 2
offset_seconds_sum 0.25
offset_seconds_count 2
# HELP probe_seconds One series stays a counter, the other does not.
# TYPE probe_seconds histogram
probe_seconds_bucket{probe="steady",le="0.5"} 1
probe_seconds_bucket{probe="steady",le="+Inf"} 1
probe_seconds_sum{probe="steady"} 0.25
probe_seconds_count{probe="steady"} 1
probe_seconds_bucket{probe="broken",le="0.5"} 1
probe_seconds_bucket{probe="broken",le="+Inf"} 1
probe_seconds_sum{probe="broken"} -0.25
probe_seconds_count{probe="broken"} 1
"#;

const OPENMETRICS: &str = r#"# HELP drift_seconds Non-negative bounds that received a negative value.
# TYPE drift_seconds histogram
drift_seconds_bucket{le="1.0"} 1
drift_seconds_bucket{le="2.0"} 2
drift_seconds_bucket{le="+Inf"} 2
# HELP extreme_seconds Only infinities.
# TYPE extreme_seconds histogram
extreme_seconds_bucket{le="1.0"} 1
extreme_seconds_bucket{le="+Inf"} 2
# HELP nan_seconds Observes NaN and +Inf: counted, not summed.
# TYPE nan_seconds histogram
nan_seconds_bucket{le="1.0"} 1
nan_seconds_bucket{le="2.0"} 1
nan_seconds_bucket{le="+Inf"} 3
nan_seconds_sum 0.5
nan_seconds_count 3
# HELP offset_seconds Negative bounds: OpenMetrics gets no sum.
# TYPE offset_seconds histogram
offset_seconds_bucket{le="-1.0"} 0
offset_seconds_bucket{le="0.0"} 1
offset_seconds_bucket{le="1.0"} 2
offset_seconds_bucket{le="+Inf"} 2
# HELP probe_seconds One series stays a counter, the other does not.
# TYPE probe_seconds histogram
probe_seconds_bucket{probe="steady",le="0.5"} 1
probe_seconds_bucket{probe="steady",le="+Inf"} 1
probe_seconds_sum{probe="steady"} 0.25
probe_seconds_count{probe="steady"} 1
probe_seconds_bucket{probe="broken",le="0.5"} 1
probe_seconds_bucket{probe="broken",le="+Inf"} 1
# EOF
"#;
