use promstatic::{metric, DynCounterFamily};

/// Requests by route.
#[metric(labels(route: &str), capacity = 8, max_value_len = 5000)]
static REQUESTS_TOTAL: DynCounterFamily = DynCounterFamily::new();

/// Requests by tenant.
#[metric(labels(tenant: &str), capacity = 8, max_value_len = 0, label_bytes = 0)]
static TENANT_REQUESTS_TOTAL: DynCounterFamily = DynCounterFamily::new();

fn main() {}
