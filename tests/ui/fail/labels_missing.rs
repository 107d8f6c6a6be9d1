use promstatic::{metric, CounterFamily};

/// Requests.
#[metric]
static REQUESTS_TOTAL: CounterFamily = CounterFamily::new();

fn main() {}
