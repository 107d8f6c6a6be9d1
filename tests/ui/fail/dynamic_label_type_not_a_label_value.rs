use promstatic::{metric, DynCounterFamily};

enum Method {
    Get,
}

/// Requests by route and method.
#[metric(labels(route: &str, method: Method), capacity = 8)]
static REQUESTS_TOTAL: DynCounterFamily = DynCounterFamily::new();

fn main() {}
