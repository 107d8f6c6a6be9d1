//! Histograms and families (typed and dynamic) as real parsers read them: `promtool check metrics` on text 0.0.4,
//! and the Python client's OpenMetrics parser. Each check is skipped, with the reason printed,
//! when its tool is missing, unless `PROMSTATIC_REQUIRE_TOOLS=1`, which makes that a failure.

#[path = "support/tools.rs"]
mod tools;

use promstatic::{
    CounterFamily, DynCounterFamily, DynHistogramFamily, Format, Histogram, HistogramFamily,
    LabelValue, metric,
};

#[derive(LabelValue, Clone, Copy)]
enum Stage {
    Parse,
    #[label(rename = "plan \"fast\"\\path\nnext")]
    Plan,
    Execute,
}

#[derive(LabelValue, Clone, Copy)]
enum Verdict {
    Accepted,
    Rejected,
}

/// Query latency by stage.
#[metric(labels(stage: Stage), buckets = [0.001, 0.01, 1, 100])]
static QUERY_STAGE_SECONDS: HistogramFamily = HistogramFamily::new();

/// Queries by stage and verdict.
#[metric(labels(stage: Stage, verdict: Verdict))]
static QUERIES_TOTAL: CounterFamily = CounterFamily::new();

/// Queue wait, "quoted" \ help.
#[metric]
static QUEUE_WAIT_SECONDS: Histogram = Histogram::new();

/// Upstream latency by run-time host and stage: full, so it has an overflow series.
#[metric(labels(host: &str, stage: Stage), capacity = 2, buckets = [0.01, 1])]
static UPSTREAM_SECONDS: DynHistogramFamily = DynHistogramFamily::new();

/// Jobs by run-time queue name and shard.
#[metric(labels(queue: &str, shard: u16), capacity = 8)]
static JOBS_TOTAL: DynCounterFamily = DynCounterFamily::new();

/// Records the workload once per process: both tests call it, and run on two threads at once.
/// Recorded twice concurrently, two threads inserting the same new label set may each claim a
/// slot (merged at scrape, as documented in `dynamic`), which fills the small family early and
/// sends the later label sets to the overflow series: the assertions below count exact series.
fn record() {
    static ONCE: std::sync::Once = std::sync::Once::new();
    ONCE.call_once(record_workload);
}

fn record_workload() {
    for (index, stage) in [Stage::Parse, Stage::Plan, Stage::Execute]
        .into_iter()
        .enumerate()
    {
        QUERY_STAGE_SECONDS
            .with(stage)
            .observe(0.005 * (index as f64 + 1.0));
        QUERIES_TOTAL.with(stage, Verdict::Accepted).inc();
    }
    QUERY_STAGE_SECONDS.with(Stage::Execute).observe(1e9);
    QUERIES_TOTAL.with(Stage::Plan, Verdict::Rejected).inc_by(4);
    QUEUE_WAIT_SECONDS.observe(0.3);
    UPSTREAM_SECONDS.with(("db-1", Stage::Parse)).observe(0.005);
    UPSTREAM_SECONDS
        .with(("q\"uo\\te\nd", Stage::Plan))
        .observe(0.5);
    UPSTREAM_SECONDS.with(("db-3", Stage::Execute)).observe(5.0);
    JOBS_TOTAL.with(("", 0)).inc();
    JOBS_TOTAL.with(("mail \"bulk\"", 65535)).inc_by(3);
}

fn render(format: Format) -> Vec<u8> {
    let mut out = Vec::new();
    promstatic::render(&mut out, format);
    out
}

#[test]
fn promtool_accepts_the_text_format() {
    record();
    match tools::run_with_input("promtool", &["check", "metrics"], &render(Format::Text)) {
        None => tools::skip("promtool is not installed (apt package `prometheus`)"),
        Some((ok, output)) => assert!(ok, "promtool rejected the exposition:\n{output}"),
    }
}

const PARSE_OPENMETRICS: &str = r#"
import sys
from prometheus_client.openmetrics.parser import text_string_to_metric_families
families = {f.name: f for f in text_string_to_metric_families(sys.stdin.read())}
stage = families["query_stage_seconds"]
assert stage.type == "histogram", stage.type
plan = [s for s in stage.samples if s.labels.get("stage") == 'plan "fast"\\path\nnext']
assert len(plan) == 7, plan
assert families["queries"].type == "counter"
upstream = families["upstream_seconds"]
assert upstream.type == "histogram", upstream.type
quoted = [s for s in upstream.samples if s.labels.get("host") == 'q"uo\\te\nd']
assert len(quoted) == 5, quoted
overflow = [s for s in upstream.samples if s.labels.get("host") == "__overflow__"]
assert len(overflow) == 5, overflow
jobs = families["jobs"]
assert jobs.type == "counter"
assert any(s.labels == {"queue": 'mail "bulk"', "shard": "65535"} and s.value >= 3 for s in jobs.samples)
assert families["promstatic_label_overflows"].type == "counter"
print(len(families))
"#;

#[test]
fn python_client_parses_openmetrics() {
    record();
    if tools::require_python_module("prometheus_client").is_none() {
        return;
    }
    let (ok, output) = tools::run_with_input(
        "python3",
        &["-c", PARSE_OPENMETRICS],
        &render(Format::OpenMetrics),
    )
    .unwrap();
    assert!(
        ok,
        "the OpenMetrics parser rejected the exposition:\n{output}"
    );
    assert_eq!(output.trim(), "6");
}
