use promstatic::{metric, DynCounterFamily};

/// Requests by route.
#[metric(labels(route: &str), capacity = 0)]
static REQUESTS_TOTAL: DynCounterFamily = DynCounterFamily::new();

fn main() {}
