use promstatic::{metric, FloatGaugeFamily, LabelValue};

#[derive(LabelValue, Clone, Copy)]
enum Pool {
    Main,
}

/// Pool temperature.
#[metric(labels(pool: Pool), exemplars)]
static POOL_CELSIUS: FloatGaugeFamily = FloatGaugeFamily::new();

fn main() {}
