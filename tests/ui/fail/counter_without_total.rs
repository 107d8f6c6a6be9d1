use promstatic::{metric, Counter};

/// Requests served.
#[metric]
static REQUESTS: Counter = Counter::new();

fn main() {}
