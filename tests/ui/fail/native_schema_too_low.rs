use promstatic::{metric, NativeHistogram};

/// Request latency.
#[metric(native(schema = -5))]
static REQUEST_SECONDS: NativeHistogram = NativeHistogram::new();

fn main() {}
