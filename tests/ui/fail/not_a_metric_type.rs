use promstatic::metric;
use std::sync::atomic::AtomicU64;

/// Requests served.
#[metric]
static REQUESTS_TOTAL: AtomicU64 = AtomicU64::new(0);

fn main() {}
