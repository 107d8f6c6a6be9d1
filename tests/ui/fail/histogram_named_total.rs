use promstatic::{metric, Histogram};

/// Latency.
#[metric]
static LATENCY_TOTAL: Histogram = Histogram::new();

fn main() {}
