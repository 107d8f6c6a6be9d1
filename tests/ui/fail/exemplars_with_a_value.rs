use promstatic::{metric, Counter};

/// Orders placed.
#[metric(exemplars = true)]
static ORDERS_TOTAL: Counter = Counter::new();

fn main() {}
