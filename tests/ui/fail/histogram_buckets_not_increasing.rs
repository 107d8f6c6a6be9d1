use promstatic::{metric, Histogram};

/// Latency.
#[metric(buckets = [0.1, 0.5, 0.5, 1.0])]
static LATENCY_SECONDS: Histogram = Histogram::new();

fn main() {}
