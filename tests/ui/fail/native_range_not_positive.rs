use promstatic::{metric, NativeHistogram};

/// Request latency.
#[metric(native(range = 0.0..1.0))]
static REQUEST_SECONDS: NativeHistogram = NativeHistogram::new();

fn main() {}
