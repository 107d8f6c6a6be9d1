//! The whole exposition of this test binary's statics — histograms, families and a sharded
//! counter — in both formats, byte for byte.

use promstatic::histogram::exponential_buckets;
use promstatic::{
    CounterFamily, FloatGaugeFamily, Format, GaugeFamily, Histogram, HistogramFamily, LabelValue,
    ShardedCounter, metric,
};

#[derive(LabelValue, Clone, Copy)]
enum Method {
    Get,
    Post,
}

#[derive(LabelValue, Clone, Copy)]
enum Class {
    #[label(rename = "2xx")]
    Success,
    #[label(rename = "5xx")]
    ServerError,
}

#[derive(LabelValue, Clone, Copy)]
enum Path {
    #[label(rename = "/a\"b\\c\nd")]
    Odd,
    HealthCheck,
}

/// Request latency.
#[metric(buckets = [0.005, 0.5, 1, 2.5])]
static REQUEST_SECONDS: Histogram = Histogram::new();

/// Default bounds, never observed.
#[metric]
static IDLE_SECONDS: Histogram = Histogram::new();

const SIZES: [f64; 3] = exponential_buckets(100.0, 10.0);

/// Response sizes by method.
#[metric(labels(method: Method), buckets = SIZES)]
static RESPONSE_BYTES: HistogramFamily = HistogramFamily::new();

/// Responses by method and status class.
#[metric(labels(method: Method, class: Class))]
static RESPONSES_TOTAL: CounterFamily = CounterFamily::new();

/// In-flight requests by path.
#[metric(labels(path: Path))]
static IN_FLIGHT: GaugeFamily = GaugeFamily::new();

/// Load by path.
#[metric(labels(path: Path))]
static LOAD_RATIO: FloatGaugeFamily = FloatGaugeFamily::new();

/// Packets from every thread.
#[metric]
static PACKETS_TOTAL: ShardedCounter = ShardedCounter::new();

fn render(format: Format) -> String {
    let mut out = Vec::new();
    promstatic::render(&mut out, format);
    String::from_utf8(out).unwrap()
}

#[test]
fn golden() {
    for value in [0.001, 0.005, 0.7, 3.0, -1.0] {
        REQUEST_SECONDS.observe(value);
    }
    RESPONSE_BYTES.with(Method::Post).observe(150.0);
    RESPONSE_BYTES.with(Method::Post).observe(1e6);
    RESPONSES_TOTAL.with(Method::Get, Class::Success).inc_by(3);
    RESPONSES_TOTAL.with(Method::Post, Class::ServerError).inc();
    IN_FLIGHT.with(Path::Odd).set(-2);
    LOAD_RATIO.with(Path::HealthCheck).set(0.25);
    PACKETS_TOTAL.inc_by(7);
    assert_eq!(render(Format::Text), TEXT);
    // `request_seconds` observed -1.0: its sum is no longer a counter, so OpenMetrics
    // writes its buckets only (see `tests/golden_histogram_semantics.rs`).
    assert_eq!(render(Format::OpenMetrics), OPENMETRICS);
    // A second scrape writes the same bytes: nothing is consumed or reset by scraping.
    assert_eq!(render(Format::Text), TEXT);
}

const TEXT: &str = r#"# HELP idle_seconds Default bounds, never observed.
# TYPE idle_seconds histogram
idle_seconds_bucket{le="0.005"} 0
idle_seconds_bucket{le="0.01"} 0
idle_seconds_bucket{le="0.025"} 0
idle_seconds_bucket{le="0.05"} 0
idle_seconds_bucket{le="0.1"} 0
idle_seconds_bucket{le="0.25"} 0
idle_seconds_bucket{le="0.5"} 0
idle_seconds_bucket{le="1"} 0
idle_seconds_bucket{le="2.5"} 0
idle_seconds_bucket{le="5"} 0
idle_seconds_bucket{le="10"} 0
idle_seconds_bucket{le="+Inf"} 0
idle_seconds_sum 0
idle_seconds_count 0
# HELP in_flight In-flight requests by path.
# TYPE in_flight gauge
in_flight{path="/a\"b\\c\nd"} -2
in_flight{path="health_check"} 0
# HELP load_ratio Load by path.
# TYPE load_ratio gauge
load_ratio{path="/a\"b\\c\nd"} 0
load_ratio{path="health_check"} 0.25
# HELP packets_total Packets from every thread.
# TYPE packets_total counter
packets_total 7
# HELP request_seconds Request latency.
# TYPE request_seconds histogram
request_seconds_bucket{le="0.005"} 3
request_seconds_bucket{le="0.5"} 3
request_seconds_bucket{le="1"} 4
request_seconds_bucket{le="2.5"} 4
request_seconds_bucket{le="+Inf"} 5
request_seconds_sum 2.706
request_seconds_count 5
# HELP response_bytes Response sizes by method.
# TYPE response_bytes histogram
response_bytes_bucket{method="get",le="100"} 0
response_bytes_bucket{method="get",le="1000"} 0
response_bytes_bucket{method="get",le="10000"} 0
response_bytes_bucket{method="get",le="+Inf"} 0
response_bytes_sum{method="get"} 0
response_bytes_count{method="get"} 0
response_bytes_bucket{method="post",le="100"} 0
response_bytes_bucket{method="post",le="1000"} 1
response_bytes_bucket{method="post",le="10000"} 1
response_bytes_bucket{method="post",le="+Inf"} 2
response_bytes_sum{method="post"} 1000150
response_bytes_count{method="post"} 2
# HELP responses_total Responses by method and status class.
# TYPE responses_total counter
responses_total{method="get",class="2xx"} 3
responses_total{method="get",class="5xx"} 0
responses_total{method="post",class="2xx"} 0
responses_total{method="post",class="5xx"} 1
"#;

const OPENMETRICS: &str = r#"# HELP idle_seconds Default bounds, never observed.
# TYPE idle_seconds histogram
idle_seconds_bucket{le="0.005"} 0
idle_seconds_bucket{le="0.01"} 0
idle_seconds_bucket{le="0.025"} 0
idle_seconds_bucket{le="0.05"} 0
idle_seconds_bucket{le="0.1"} 0
idle_seconds_bucket{le="0.25"} 0
idle_seconds_bucket{le="0.5"} 0
idle_seconds_bucket{le="1.0"} 0
idle_seconds_bucket{le="2.5"} 0
idle_seconds_bucket{le="5.0"} 0
idle_seconds_bucket{le="10.0"} 0
idle_seconds_bucket{le="+Inf"} 0
idle_seconds_sum 0
idle_seconds_count 0
# HELP in_flight In-flight requests by path.
# TYPE in_flight gauge
in_flight{path="/a\"b\\c\nd"} -2
in_flight{path="health_check"} 0
# HELP load_ratio Load by path.
# TYPE load_ratio gauge
load_ratio{path="/a\"b\\c\nd"} 0
load_ratio{path="health_check"} 0.25
# HELP packets Packets from every thread.
# TYPE packets counter
packets_total 7
# HELP request_seconds Request latency.
# TYPE request_seconds histogram
request_seconds_bucket{le="0.005"} 3
request_seconds_bucket{le="0.5"} 3
request_seconds_bucket{le="1.0"} 4
request_seconds_bucket{le="2.5"} 4
request_seconds_bucket{le="+Inf"} 5
# HELP response_bytes Response sizes by method.
# TYPE response_bytes histogram
response_bytes_bucket{method="get",le="100.0"} 0
response_bytes_bucket{method="get",le="1000.0"} 0
response_bytes_bucket{method="get",le="10000.0"} 0
response_bytes_bucket{method="get",le="+Inf"} 0
response_bytes_sum{method="get"} 0
response_bytes_count{method="get"} 0
response_bytes_bucket{method="post",le="100.0"} 0
response_bytes_bucket{method="post",le="1000.0"} 1
response_bytes_bucket{method="post",le="10000.0"} 1
response_bytes_bucket{method="post",le="+Inf"} 2
response_bytes_sum{method="post"} 1000150
response_bytes_count{method="post"} 2
# HELP responses Responses by method and status class.
# TYPE responses counter
responses_total{method="get",class="2xx"} 3
responses_total{method="get",class="5xx"} 0
responses_total{method="post",class="2xx"} 0
responses_total{method="post",class="5xx"} 1
# EOF
"#;
