use promstatic::{metric, CounterFamily};

enum Method {
    Get,
    Post,
}

/// Requests.
#[metric(labels(method: Method))]
static REQUESTS_TOTAL: CounterFamily = CounterFamily::new();

fn main() {}
