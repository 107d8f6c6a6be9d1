use promstatic::metric;

/// Not a metric at all.
#[metric]
fn requests_total() -> u64 {
    0
}

fn main() {}
