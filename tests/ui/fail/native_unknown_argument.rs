use promstatic::{metric, NativeHistogram};

/// Request latency.
#[metric(native(scheme = 3))]
static REQUEST_SECONDS: NativeHistogram = NativeHistogram::new();

fn main() {}
