use promstatic::{metric, DynCounterFamily};

const SERIES: usize = 64;

/// Requests by route.
#[metric(labels(route: &str), capacity = SERIES)]
static REQUESTS_TOTAL: DynCounterFamily = DynCounterFamily::new();

fn main() {}
