//! Every dynamic family type, every label type, mixed with enum labels, with and without
//! the optional limits.

use promstatic::{
    DynCounterFamily, DynFloatGaugeFamily, DynGaugeFamily, DynHistogramFamily, LabelValue, metric,
};

#[derive(LabelValue, Clone, Copy)]
enum Method {
    Get,
    Post,
}

/// Responses by route, code and method.
#[metric(labels(route: &str, code: u16, method: Method), capacity = 512)]
static HTTP_RESPONSES_TOTAL: DynCounterFamily = DynCounterFamily::new();

/// Every integer type and bool.
#[metric(
    labels(a: u8, b: u16, c: u32, d: u64, e: usize, f: i8, g: i64, h: bool),
    capacity = 4,
    label_bytes = 1024,
    max_value_len = 4096
)]
static EVERYTHING: DynGaugeFamily = DynGaugeFamily::new();

/// A float gauge by shard.
#[metric(labels(shard: i32), capacity = 1)]
static SHARD_FILL_RATIO: DynFloatGaugeFamily = DynFloatGaugeFamily::new();

/// Latency by upstream.
#[metric(labels(upstream: &str), capacity = 64, buckets = [0.001, 0.01, 0.1, 1.0])]
static UPSTREAM_SECONDS: DynHistogramFamily = DynHistogramFamily::new();

/// Default buckets, a path to the type, a raw identifier.
#[metric(labels(r#type: &'static str), capacity = 2)]
static BY_TYPE_SECONDS: promstatic::DynHistogramFamily = promstatic::DynHistogramFamily::new();

fn main() {
    let route = String::from("/users/:id");
    HTTP_RESPONSES_TOTAL.with((&route, 200, Method::Get)).inc();
    HTTP_RESPONSES_TOTAL.with(("/", 404, Method::Post)).inc_by(2);
    EVERYTHING.with((1, 2, 3, 4, 5, -6, -7, true)).set(-1);
    SHARD_FILL_RATIO.with((-3,)).set(0.5);
    let upstream = UPSTREAM_SECONDS.with(("db-1",));
    upstream.observe(0.004);
    BY_TYPE_SECONDS.with(("x",)).observe(1.0);
}
