use promstatic::{metric, CounterFamily, LabelValue};

#[derive(LabelValue)]
enum Method {
    Get,
    Post,
}

/// Requests.
#[metric(labels(method: Method))]
static REQUESTS_TOTAL: CounterFamily = CounterFamily::from_cells([]);

fn main() {}
