use promstatic::{metric, NativeHistogram};

/// Request latency.
#[metric(native(range = 10.0..1.0))]
static REQUEST_SECONDS: NativeHistogram = NativeHistogram::new();

fn main() {}
