use promstatic::{metric, Histogram};

/// Latency.
#[metric(buckets = [0.1, f64::MAX])]
static LATENCY_SECONDS: Histogram = Histogram::new();

fn main() {}
