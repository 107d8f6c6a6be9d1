use promstatic::{metric, NativeHistogramFamily};

/// Request latency.
#[metric(native(schema = 3))]
static REQUEST_SECONDS: NativeHistogramFamily = NativeHistogramFamily::new();

fn main() {}
