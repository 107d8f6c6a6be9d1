use promstatic::{metric, Counter};

/// Requests served.
#[metric]
static mut REQUESTS_TOTAL: Counter = Counter::new();

fn main() {}
