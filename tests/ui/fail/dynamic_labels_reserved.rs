use promstatic::{metric, DynHistogramFamily};

/// Latency by upstream.
#[metric(labels(le: &str, upstream: &str, upstream: u16), capacity = 8)]
static UPSTREAM_SECONDS: DynHistogramFamily = DynHistogramFamily::new();

fn main() {}
