//! The one workload every library is measured on. The build script compiles this file too.

/// Series counts of the scrape benches (the build script, which compiles this file too,
/// generates promstatic statics for each).
pub const SERIES_COUNTS: [usize; 4] = [100, 1_000, 10_000, 100_000];

/// The counter every update bench increments.
pub const OPS_NAME: &str = "bench_ops_total";
/// HELP of [`OPS_NAME`].
pub const OPS_HELP: &str = "Operations done.";

/// The gauge of the gauge bench.
pub const LEVEL_NAME: &str = "bench_level";
/// HELP of [`LEVEL_NAME`].
pub const LEVEL_HELP: &str = "Current level.";

/// The histogram of the histogram bench.
pub const LATENCY_NAME: &str = "bench_latency_seconds";
/// HELP of [`LATENCY_NAME`].
pub const LATENCY_HELP: &str = "Request latency.";
/// Bucket upper bounds: the Prometheus client default, used by every library.
pub const LATENCY_BUCKETS: [f64; 11] = [
    0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0,
];

/// The labelled counter family of the family bench.
pub const REQUESTS_NAME: &str = "bench_requests_total";
/// HELP of [`REQUESTS_NAME`].
pub const REQUESTS_HELP: &str = "Requests by method.";
/// The family's one label.
pub const METHOD_LABEL: &str = "method";
/// The label's values; the bench cycles through them.
pub const METHODS: [&str; 4] = ["get", "post", "put", "delete"];

/// Observations of the histogram bench, cycled through: spread over every bucket and past the
/// last one, the same sequence for every library.
pub fn observations() -> [f64; 64] {
    let mut values = [0.0; 64];
    for (index, value) in values.iter_mut().enumerate() {
        // A geometric sweep from 1 ms to about 20 s.
        *value = 0.001 * 1.17f64.powi(index as i32);
    }
    values
}

/// Name of scrape series `index`: zero-padded so that sorting by name keeps index order.
pub fn series_name(index: usize) -> String {
    format!("bench_series_{index:05}_total")
}

/// Name of series `index` without `_total`, for libraries that append it themselves.
pub fn series_base_name(index: usize) -> String {
    format!("bench_series_{index:05}")
}

/// HELP of series `index`.
pub fn series_help(index: usize) -> String {
    format!("Series {index} of the benchmark workload.")
}

/// The value series `index` holds during every scrape bench: 4 to 8 digits, as real
/// counters have.
pub fn series_value(index: usize) -> u64 {
    (index as u64 + 1) * 7_919
}
