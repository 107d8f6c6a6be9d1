use promstatic::{metric, NativeHistogram};

/// Request latency.
#[metric(native(range = 1e-3..1e3, zero_threshold = -1e-9))]
static REQUEST_SECONDS: NativeHistogram = NativeHistogram::new();

fn main() {}
