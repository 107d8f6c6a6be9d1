use promstatic::{metric, ShardedHistogram};

/// Request latency.
#[metric(exemplars)]
static REQUEST_SECONDS: ShardedHistogram = ShardedHistogram::new();

fn main() {}
