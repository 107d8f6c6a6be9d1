use promstatic::{metric, Gauge};

/// Connections open now.
#[metric]
static CONNECTIONS_TOTAL: Gauge = Gauge::new();

fn main() {}
