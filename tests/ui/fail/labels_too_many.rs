use promstatic::{metric, CounterFamily, LabelValue};

#[derive(LabelValue)]
enum Bit {
    Zero,
    One,
}

/// Requests.
#[metric(labels(a: Bit, b: Bit, c: Bit, d: Bit, e: Bit, f: Bit, g: Bit, h: Bit, i: Bit))]
static REQUESTS_TOTAL: CounterFamily = CounterFamily::new();

fn main() {}
