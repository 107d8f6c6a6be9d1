use promstatic::{metric, Gauge};

/// A recording-rule style name.
#[metric(name = "job:latency")]
static LATENCY: Gauge = Gauge::new();

fn main() {}
