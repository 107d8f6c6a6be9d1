use promstatic::{metric, NativeHistogram};

/// Request latency.
#[metric(native(schema = 8, range = 1e-300..1e300))]
static REQUEST_SECONDS: NativeHistogram = NativeHistogram::new();

fn main() {}
