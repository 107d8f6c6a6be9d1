use promstatic::{metric, Gauge};

/// Queue depth.
#[metric(name = "queue-depth")]
static DEPTH: Gauge = Gauge::new();

fn main() {}
