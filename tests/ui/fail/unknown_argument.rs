use promstatic::{metric, Counter};

/// Requests served.
#[metric(nmae = "requests_total")]
static REQUESTS_TOTAL: Counter = Counter::new();

fn main() {}
