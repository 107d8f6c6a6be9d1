use promstatic::{metric, Counter};

/// Orders placed.
#[metric(exemplars, exemplars)]
static ORDERS_TOTAL: Counter = Counter::new();

fn main() {}
