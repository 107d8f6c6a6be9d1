use promstatic::{metric, Histogram};

const BOUNDS: [f64; 3] = [1.0, 3.0, 2.0];

/// Latency.
#[metric(buckets = BOUNDS)]
static LATENCY_SECONDS: Histogram = Histogram::new();

fn main() {}
