use promstatic::{metric, Gauge};

/// Reserved for Prometheus.
#[metric(name = "__internal")]
static INTERNAL: Gauge = Gauge::new();

fn main() {}
