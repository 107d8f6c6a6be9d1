use promstatic::{metric, Counter, LabelValue};

#[derive(LabelValue)]
enum Method {
    Get,
    Post,
}

/// Requests.
#[metric(labels(method: Method))]
static REQUESTS_TOTAL: Counter = Counter::new();

fn main() {}
