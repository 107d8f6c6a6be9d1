use promstatic::{metric, Counter};

#[metric]
static REQUESTS_TOTAL: Counter = Counter::new();

fn main() {}
