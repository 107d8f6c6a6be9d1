use promstatic::{metric, Histogram};

/// Request latency.
#[metric(native(schema = 3))]
static REQUEST_SECONDS: Histogram = Histogram::new();

fn main() {}
