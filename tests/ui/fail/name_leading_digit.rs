use promstatic::{metric, Gauge};

/// Starts with a digit.
#[metric(name = "9lives")]
static LIVES: Gauge = Gauge::new();

fn main() {}
