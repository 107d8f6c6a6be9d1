use promstatic::{metric, HistogramFamily, LabelValue};

#[derive(LabelValue)]
enum Bound {
    Low,
    High,
}

/// Latency.
#[metric(labels(le: Bound))]
static LATENCY_SECONDS: HistogramFamily = HistogramFamily::new();

fn main() {}
