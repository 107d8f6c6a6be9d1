use promstatic::{metric, Counter};

/// Requests served.
#[metric(name = "requests")]
static REQUESTS_TOTAL: Counter = Counter::new();

fn main() {}
