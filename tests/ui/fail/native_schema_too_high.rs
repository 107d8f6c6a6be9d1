use promstatic::{metric, NativeHistogram};

/// Request latency.
#[metric(native(schema = 9, range = 1e-3..1e3))]
static REQUEST_SECONDS: NativeHistogram = NativeHistogram::new();

fn main() {}
