//! Metrics declared in a second crate, for the test that the static table spans crates.

use promstatic::{Counter, Gauge, metric};

/// Events seen by the second crate.
#[metric]
pub static EXTERN_EVENTS_TOTAL: Counter = Counter::new();

/// Nested module in the second crate.
pub mod nested {
    use promstatic::{Gauge, metric};

    /// A gauge declared in a nested module of the second crate.
    #[metric(name = "extern_nested_level")]
    pub static LEVEL: Gauge = Gauge::new();
}

/// A gauge nobody ever touches: it must still be exported, at zero.
#[metric]
pub static EXTERN_UNTOUCHED: Gauge = Gauge::new();

/// Records one event; referencing this keeps the crate in the link.
pub fn record_event() {
    EXTERN_EVENTS_TOTAL.inc();
}
