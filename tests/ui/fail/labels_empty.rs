use promstatic::{metric, CounterFamily};

/// Requests.
#[metric(labels())]
static REQUESTS_TOTAL: CounterFamily = CounterFamily::new();

fn main() {}
