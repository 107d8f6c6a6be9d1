use promstatic::{metric, Histogram};

/// Latency.
#[metric(buckets = [0.1, 1.0])]
static LATENCY_SECONDS: Histogram<2> = Histogram::new();

fn main() {}
