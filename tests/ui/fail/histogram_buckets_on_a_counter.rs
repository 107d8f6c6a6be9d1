use promstatic::{metric, Counter};

/// Requests.
#[metric(buckets = [0.1, 1.0])]
static REQUESTS_TOTAL: Counter = Counter::new();

fn main() {}
