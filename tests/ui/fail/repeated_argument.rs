use promstatic::{metric, Counter};

/// Requests served.
#[metric(name = "requests_total", name = "served_total")]
static REQUESTS_TOTAL: Counter = Counter::new();

fn main() {}
