use promstatic::{metric, ShardedCounter};

/// Requests served.
#[metric(exemplars)]
static REQUESTS_TOTAL: ShardedCounter = ShardedCounter::new();

fn main() {}
