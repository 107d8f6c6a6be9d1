use promstatic::{metric, Counter};

#[metric(name = "bad name", colour = "red")]
static mut REQUESTS_TOTAL: Counter = Counter::new();

fn main() {}
