use promstatic::{metric, Histogram};

/// Latency.
#[metric(buckets = [0.1, 1e400])]
static LATENCY_SECONDS: Histogram = Histogram::new();

fn main() {}
