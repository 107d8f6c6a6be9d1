//! Exemplars on the kinds added after counters and classic histograms: native histograms
//! (native only, and with classic buckets), typed families and dynamic families, all declared
//! with `#[metric(…, exemplars)]`. Each is checked against golden OpenMetrics lines, the
//! strict parser, the Python client's OpenMetrics parser and the independent protobuf
//! decoder; text 0.0.4 carries none, and families without exemplars cost nothing.

mod support;

use std::io::Write;
use std::process::{Command, Stdio};
use std::sync::OnceLock;
use std::time::{SystemTime, UNIX_EPOCH};

use promstatic::exemplar::{ExemplarName, Stored};
use promstatic::{
    CounterFamily, DynCounterFamily, DynHistogramFamily, Format, HistogramFamily, LabelValue,
    NativeHistogram, conformance, metric,
};
use support::protobuf::{self, Exemplar, MetricFamily};

const TRACE_ID: ExemplarName = ExemplarName::new("trace_id");

#[derive(LabelValue, Clone, Copy)]
enum Method {
    #[label(rename = "GET")]
    Get,
    #[label(rename = "POST")]
    Post,
}

/// A native-only histogram: one slot, shown on `+Inf`.
#[metric(native(schema = 3, range = 1e-3..100.0), exemplars)]
static EK_NATIVE_SECONDS: NativeHistogram = NativeHistogram::new();

/// A native histogram with classic buckets: one slot per classic bucket.
#[metric(native(schema = 2, range = 1e-3..100.0), buckets = [0.1, 1.0], exemplars)]
static EK_BOTH_SECONDS: NativeHistogram = NativeHistogram::new();

/// Requests by method.
#[metric(labels(method: Method), exemplars)]
static EK_BY_METHOD_TOTAL: CounterFamily = CounterFamily::new();

/// Latency by method.
#[metric(labels(method: Method), buckets = [0.1], exemplars)]
static EK_BY_METHOD_SECONDS: HistogramFamily = HistogramFamily::new();

/// Requests by route.
#[metric(labels(route: &str), capacity = 4, exemplars)]
static EK_ROUTES_TOTAL: DynCounterFamily = DynCounterFamily::new();

/// Latency by route.
#[metric(labels(route: &str), capacity = 4, buckets = [1.0], exemplars)]
static EK_ROUTES_SECONDS: DynHistogramFamily = DynHistogramFamily::new();

/// The same family without exemplars, for the size comparison.
#[metric(labels(method: Method))]
static EK_PLAIN_BY_METHOD_TOTAL: CounterFamily = CounterFamily::new();

fn now_seconds() -> f64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap()
        .as_secs_f64()
}

fn stored(result: Result<Stored, promstatic::exemplar::ExemplarError>) {
    assert_eq!(result, Ok(Stored::Stored));
}

/// Stores every exemplar once (the tests of this binary share the statics), returning the
/// time window they were stored in.
fn setup() -> (f64, f64) {
    static WINDOW: OnceLock<(f64, f64)> = OnceLock::new();
    *WINDOW.get_or_init(|| {
        let before = now_seconds();
        stored(EK_NATIVE_SECONDS.observe_with_exemplar(0.25, &[(TRACE_ID, "n1")]));
        stored(EK_BOTH_SECONDS.observe_with_exemplar(0.05, &[(TRACE_ID, "b1")]));
        EK_BOTH_SECONDS.observe(0.5); // no exemplar in the second classic bucket
        stored(EK_BOTH_SECONDS.observe_with_exemplar(5.0, &[(TRACE_ID, "b3")]));
        // A rejected value is not counted, so it gets no exemplar either.
        assert_eq!(
            EK_BOTH_SECONDS.observe_with_exemplar(-1.0, &[(TRACE_ID, "no")]),
            Ok(Stored::NotCounted)
        );
        stored(
            EK_BY_METHOD_TOTAL
                .with(Method::Get)
                .inc_with_exemplar(&[(TRACE_ID, "c1")]),
        );
        stored(
            EK_BY_METHOD_SECONDS
                .with(Method::Post)
                .observe_with_exemplar(0.05, &[("trace_id", "h1"), ("span_id", "s")]),
        );
        stored(
            EK_ROUTES_TOTAL
                .with(("/a",))
                .inc_by_with_exemplar(3, &[(TRACE_ID, "d1")]),
        );
        EK_ROUTES_TOTAL.with(("/b",)).inc();
        stored(
            EK_ROUTES_SECONDS
                .with(("/a",))
                .observe_with_exemplar(2.0, &[(TRACE_ID, "d2")]),
        );
        EK_PLAIN_BY_METHOD_TOTAL.with(Method::Get).inc();
        (before, now_seconds())
    })
}

fn render(format: Format) -> Vec<u8> {
    let mut out = Vec::new();
    promstatic::render(&mut out, format);
    out
}

/// The golden lines: every `ek_` line that carries an exemplar, its timestamp removed.
const GOLDEN: &[&str] = &[
    // Sorted: `+` before digits.
    "ek_both_seconds_bucket{le=\"+Inf\"} 3 # {trace_id=\"b3\"} 5",
    "ek_both_seconds_bucket{le=\"0.1\"} 1 # {trace_id=\"b1\"} 0.05",
    "ek_by_method_seconds_bucket{method=\"POST\",le=\"0.1\"} 1 # {trace_id=\"h1\",span_id=\"s\"} 0.05",
    "ek_by_method_total{method=\"GET\"} 1 # {trace_id=\"c1\"} 1",
    "ek_native_seconds_bucket{le=\"+Inf\"} 1 # {trace_id=\"n1\"} 0.25",
    "ek_routes_seconds_bucket{route=\"/a\",le=\"+Inf\"} 1 # {trace_id=\"d2\"} 2",
    "ek_routes_total{route=\"/a\"} 3 # {trace_id=\"d1\"} 3",
];

#[test]
fn openmetrics_golden_lines_and_strict_parser() {
    let (before, after) = setup();
    let text = String::from_utf8(render(Format::OpenMetrics)).unwrap();
    let mut lines = Vec::new();
    for line in text.lines().filter(|line| line.starts_with("ek_")) {
        if !line.contains(" # {") {
            continue;
        }
        let (head, timestamp) = line.rsplit_once(' ').unwrap();
        let timestamp: f64 = timestamp.parse().unwrap();
        assert!(
            (before - 1e-6..=after + 1e-6).contains(&timestamp),
            "{line}: timestamp outside [{before}, {after}]"
        );
        lines.push(head.to_owned());
    }
    lines.sort();
    assert_eq!(lines, GOLDEN, "\n{text}");
    // Series without an exemplar print none.
    for plain in [
        "ek_both_seconds_bucket{le=\"1.0\"} 2\n",
        "ek_by_method_total{method=\"POST\"} 0\n",
        "ek_routes_total{route=\"/b\"} 1\n",
        "ek_plain_by_method_total{method=\"GET\"} 1\n",
    ] {
        assert!(text.contains(plain), "missing {plain:?} in\n{text}");
    }
    let model = conformance::parse(Format::OpenMetrics, text.as_bytes())
        .unwrap_or_else(|violation| panic!("{violation}\n{text}"));
    let with_exemplars = model
        .families
        .iter()
        .filter(|family| family.name.starts_with("ek_"))
        .flat_map(|family| family.samples.iter())
        .filter(|sample| sample.exemplar.is_some())
        .count();
    assert_eq!(with_exemplars, GOLDEN.len());
}

#[test]
fn text_0_0_4_has_none() {
    setup();
    let text = String::from_utf8(render(Format::Text)).unwrap();
    assert!(!text.contains("trace_id"), "{text}");
    conformance::parse(Format::Text, text.as_bytes())
        .unwrap_or_else(|violation| panic!("{violation}\n{text}"));
}

fn labels(exemplar: &Exemplar) -> Vec<(&str, &str)> {
    exemplar
        .labels
        .iter()
        .map(|(name, value)| (name.as_str(), value.as_str()))
        .collect()
}

fn family<'f>(families: &'f [MetricFamily], name: &str) -> &'f MetricFamily {
    families
        .iter()
        .find(|family| family.name == name)
        .unwrap_or_else(|| panic!("no {name}"))
}

#[test]
fn protobuf_carries_them_on_buckets_and_in_native_exemplars() {
    let (before, after) = setup();
    let families = protobuf::decode_delimited(&render(Format::Protobuf)).unwrap();
    let in_window = |exemplar: &Exemplar| {
        let (seconds, nanos) = exemplar.timestamp.expect("a timestamp");
        let at = seconds as f64 + f64::from(nanos) / 1e9;
        assert!((before - 1e-6..=after + 1e-6).contains(&at), "{at}");
    };

    // Native with classic buckets: each classic bucket's exemplar on the bucket, `+Inf`
    // sent to carry one, and all of them again in `Histogram.exemplars`.
    let both = family(&families, "ek_both_seconds").metrics[0]
        .histogram
        .clone()
        .unwrap();
    assert_eq!(both.schema, Some(2));
    assert_eq!(both.sample_count, 3);
    let bounds: Vec<f64> = both.buckets.iter().map(|&(_, bound)| bound).collect();
    assert_eq!(bounds, [0.1, 1.0, f64::INFINITY]);
    let on_buckets: Vec<Option<f64>> = both
        .bucket_exemplars
        .iter()
        .map(|exemplar| exemplar.as_ref().map(|exemplar| exemplar.value))
        .collect();
    assert_eq!(on_buckets, [Some(0.05), None, Some(5.0)]);
    let native: Vec<(f64, Vec<(&str, &str)>)> = both
        .exemplars
        .iter()
        .map(|exemplar| (exemplar.value, labels(exemplar)))
        .collect();
    assert_eq!(
        native,
        [
            (0.05, vec![("trace_id", "b1")]),
            (5.0, vec![("trace_id", "b3")])
        ]
    );
    both.exemplars.iter().for_each(in_window);

    // Native only: the one slot, in `Histogram.exemplars` and on an explicit `+Inf`.
    let native_only = family(&families, "ek_native_seconds").metrics[0]
        .histogram
        .clone()
        .unwrap();
    assert_eq!(native_only.sample_count, 1);
    assert_eq!(native_only.positive_buckets().unwrap().len(), 1);
    assert_eq!(native_only.exemplars.len(), 1);
    assert_eq!(native_only.exemplars[0].value, 0.25);
    assert_eq!(labels(&native_only.exemplars[0]), [("trace_id", "n1")]);
    assert_eq!(native_only.buckets, [(1, f64::INFINITY)]);
    in_window(&native_only.exemplars[0]);

    // Families: the exemplar on its own series only.
    let by_method = &family(&families, "ek_by_method_total").metrics;
    let get = by_method[0]
        .counter_exemplar
        .as_ref()
        .expect("GET exemplar");
    assert_eq!(labels(get), [("trace_id", "c1")]);
    in_window(get);
    assert!(by_method[1].counter_exemplar.is_none());
    let latency = &family(&families, "ek_by_method_seconds").metrics;
    assert!(latency[0].histogram.as_ref().unwrap().bucket_exemplars[0].is_none());
    let post = latency[1].histogram.as_ref().unwrap().bucket_exemplars[0]
        .as_ref()
        .expect("POST bucket exemplar");
    assert_eq!(labels(post), [("trace_id", "h1"), ("span_id", "s")]);
    let routes = &family(&families, "ek_routes_total").metrics;
    assert_eq!(routes[0].labels, [("route".to_owned(), "/a".to_owned())]);
    assert_eq!(routes[0].counter_exemplar.as_ref().unwrap().value, 3.0);
    assert!(routes[1].counter_exemplar.is_none());
    let route_latency = family(&families, "ek_routes_seconds").metrics[0]
        .histogram
        .clone()
        .unwrap();
    // `1.0`, then `+Inf` sent for its exemplar.
    assert_eq!(route_latency.buckets, [(0, 1.0), (1, f64::INFINITY)]);
    assert_eq!(
        route_latency.bucket_exemplars[1].as_ref().unwrap().value,
        2.0
    );
    // Classic histograms never use the native-only field.
    assert!(route_latency.exemplars.is_empty());
}

const PYTHON: &str = r#"
import sys
from prometheus_client.openmetrics.parser import text_string_to_metric_families
for family in text_string_to_metric_families(sys.stdin.read()):
    for sample in family.samples:
        if sample.name.startswith("ek_") and sample.exemplar is not None:
            labels = ",".join(k + "=" + v for k, v in sorted(sample.exemplar.labels.items()))
            print(sample.name, labels, float(sample.exemplar.value), sample.exemplar.timestamp is not None)
"#;

#[test]
fn python_openmetrics_parser_reads_them() {
    setup();
    let Some(python) = support::require_python_module("prometheus_client") else {
        return;
    };
    let body = render(Format::OpenMetrics);
    let mut child = Command::new(python)
        .args(["-c", PYTHON])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    child.stdin.take().unwrap().write_all(&body).unwrap();
    let output = child.wait_with_output().unwrap();
    assert!(
        output.status.success(),
        "the Python parser rejected the exposition: {}\n{}",
        String::from_utf8_lossy(&output.stderr),
        String::from_utf8_lossy(&body)
    );
    let mut printed: Vec<&str> = std::str::from_utf8(&output.stdout)
        .unwrap()
        .lines()
        .collect();
    printed.sort();
    assert_eq!(
        printed,
        [
            "ek_both_seconds_bucket trace_id=b1 0.05 True",
            "ek_both_seconds_bucket trace_id=b3 5.0 True",
            "ek_by_method_seconds_bucket span_id=s,trace_id=h1 0.05 True",
            "ek_by_method_total trace_id=c1 1.0 True",
            "ek_native_seconds_bucket trace_id=n1 0.25 True",
            "ek_routes_seconds_bucket trace_id=d2 2.0 True",
            "ek_routes_total trace_id=d1 3.0 True",
        ]
    );
}

#[test]
fn families_without_exemplars_cost_nothing() {
    use std::mem::{size_of, size_of_val};
    let slot = size_of::<promstatic::exemplar::ExemplarSlot>();
    // Two plain counters: 8 bytes each, no slot.
    // The size the docs quote.
    assert_eq!(slot, 168);
    assert_eq!(size_of_val(&EK_PLAIN_BY_METHOD_TOTAL), 2 * 8);
    // With exemplars: one slot per series, inline.
    assert_eq!(size_of_val(&EK_BY_METHOD_TOTAL), 2 * (8 + slot));
    // A native histogram's slots: one per classic bucket (2 bounds, so 3).
    let plain: NativeHistogram<2, { promstatic::native::bucket_count(2, 1e-3, 100.0) }, 2> =
        NativeHistogram::with_range_and_bounds(1e-3, 100.0, 0.0, &[0.1, 1.0]);
    assert_eq!(
        size_of_val(&EK_BOTH_SECONDS),
        size_of_val(&plain) + 3 * slot
    );
}
