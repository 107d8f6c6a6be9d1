use promstatic::{metric, DynGaugeFamily};

/// Temperatures by sensor and reading.
#[metric(labels(sensor: String, reading: f64, tag: &[u8]), capacity = 8)]
static TEMPERATURES: DynGaugeFamily = DynGaugeFamily::new();

fn main() {}
