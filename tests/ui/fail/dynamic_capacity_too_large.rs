use promstatic::{metric, DynCounterFamily};

/// Requests by route.
#[metric(labels(route: &str), capacity = 100000000)]
static REQUESTS_TOTAL: DynCounterFamily = DynCounterFamily::new();

fn main() {}
