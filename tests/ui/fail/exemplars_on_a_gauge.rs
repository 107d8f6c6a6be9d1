use promstatic::{metric, Gauge};

/// Connections open.
#[metric(exemplars)]
static OPEN_CONNECTIONS: Gauge = Gauge::new();

fn main() {}
