use promstatic::{metric, Counter};

/// Events.
#[metric(name = "_total")]
static EVENTS_TOTAL: Counter = Counter::new();

fn main() {}
