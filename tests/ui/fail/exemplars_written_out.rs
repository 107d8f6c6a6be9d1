use promstatic::exemplar::ExemplarSlot;
use promstatic::{metric, Counter};

/// Orders placed.
#[metric(exemplars)]
static ORDERS_TOTAL: Counter<ExemplarSlot> = Counter::with_exemplars();

fn main() {}
