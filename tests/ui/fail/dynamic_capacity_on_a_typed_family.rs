use promstatic::{metric, CounterFamily, LabelValue};

#[derive(LabelValue, Clone, Copy)]
enum Method {
    Get,
}

/// Requests by method.
#[metric(labels(method: Method), capacity = 8, max_value_len = 16)]
static REQUESTS_TOTAL: CounterFamily = CounterFamily::new();

fn main() {}
