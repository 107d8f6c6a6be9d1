//! Every family type, labels of several arities, custom and default bounds, raw identifiers
//! as label names, and a path to a const array of bounds.

use promstatic::histogram::linear_buckets;
use promstatic::{
    CounterFamily, FloatGaugeFamily, GaugeFamily, Histogram, HistogramFamily, LabelValue,
    ShardedCounter, metric,
};

#[derive(LabelValue, Clone, Copy)]
enum Method {
    Get,
    Post,
    #[label(rename = "PUT")]
    Put,
}

#[derive(LabelValue, Clone, Copy)]
enum Class {
    #[label(rename = "2xx")]
    Success,
    #[label(rename = "4xx")]
    ClientError,
    #[label(rename = "5xx")]
    ServerError,
}

#[derive(LabelValue, Clone, Copy)]
enum Kind {
    Static,
}

const BOUNDS: [f64; 4] = linear_buckets(-1.0, 0.5);

/// Responses.
#[metric(labels(method: Method, class: Class))]
static RESPONSES_TOTAL: CounterFamily = CounterFamily::new();

/// Levels.
#[metric(labels(r#type: Kind))]
static LEVELS: GaugeFamily = GaugeFamily::new();

/// Ratios.
#[metric(labels(method: Method, class: Class, kind: Kind))]
static RATIOS: FloatGaugeFamily = promstatic::FloatGaugeFamily::new();

/// Latency by method, default bounds.
#[metric(labels(method: Method))]
static LATENCY_SECONDS: HistogramFamily = HistogramFamily::new();

/// Offsets by class, const bounds.
#[metric(labels(class: Class), buckets = BOUNDS)]
static OFFSETS: HistogramFamily = HistogramFamily::new();

/// Sizes, negative and integer literal bounds.
#[metric(buckets = [-10, -0.5, 0, 1e3])]
static SIZES: Histogram = Histogram::new();

/// Hot.
#[metric]
static HOT_TOTAL: ShardedCounter = ShardedCounter::new();

fn main() {
    RESPONSES_TOTAL.with(Method::Put, Class::ServerError).inc();
    LEVELS.with(Kind::Static).set(1);
    RATIOS.with(Method::Get, Class::Success, Kind::Static).set(0.5);
    LATENCY_SECONDS.with(Method::Post).observe(0.2);
    OFFSETS.with(Class::Success).observe(-0.7);
    SIZES.observe(5.0);
    HOT_TOTAL.inc();
    assert_eq!(SIZES.bounds(), [-10.0, -0.5, 0.0, 1000.0]);
    let mut out = Vec::new();
    promstatic::render_text(&mut out);
    let text = String::from_utf8(out).unwrap();
    assert!(text.contains("responses_total{method=\"PUT\",class=\"5xx\"} 1\n"), "{text}");
    assert!(text.contains("levels{type=\"static\"} 1\n"), "{text}");
    assert!(text.contains("offsets_bucket{class=\"2xx\",le=\"-0.5\"} 1\n"), "{text}");
}
