use promstatic::{metric, NativeHistogram};

/// Request latency.
#[metric(native(zero_threshold = 1e400))]
static REQUEST_SECONDS: NativeHistogram = NativeHistogram::new();

fn main() {}
