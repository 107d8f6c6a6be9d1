use promstatic::{metric, LabelValue, NativeHistogram, NativeHistogramFamily};

#[derive(LabelValue, Clone, Copy)]
enum Method {
    Get,
    Post,
}

/// Defaults: schema 3 over 1e-6..1e3.
#[metric]
static DEFAULT_SECONDS: NativeHistogram = NativeHistogram::new();

/// An explicit layout.
#[metric(native(schema = -2, range = 1..1_000_000, zero_threshold = 0.5))]
static SIZES_BYTES: NativeHistogram = NativeHistogram::new();

/// Native and classic buckets.
#[metric(native(schema = 8, range = 1e-4..10.0), buckets = [0.01, 0.1, 1])]
static BOTH_SECONDS: NativeHistogram = NativeHistogram::new();

/// A family.
#[metric(labels(method: Method), native(schema = 1, range = 0.001..100.0))]
static BY_METHOD_SECONDS: NativeHistogramFamily = NativeHistogramFamily::new();

fn main() {
    DEFAULT_SECONDS.observe(0.1);
    SIZES_BYTES.observe(1500.0);
    BOTH_SECONDS.observe(0.05);
    BY_METHOD_SECONDS.with(Method::Post).observe(0.2);
    assert_eq!(BY_METHOD_SECONDS.with(Method::Get).count(), 0);
}
