use promstatic::{metric, DynCounterFamily};

/// Requests by route.
#[metric(labels(route: &str))]
static REQUESTS_TOTAL: DynCounterFamily = DynCounterFamily::new();

fn main() {}
