use promstatic::{metric, GaugeFamily, LabelValue};

#[derive(LabelValue)]
enum Level {
    Low,
    High,
}

/// Levels.
#[metric(labels(quantile: Level))]
static LEVELS: GaugeFamily = GaugeFamily::new();

fn main() {}
