//! [`Counter`]: a monotonically increasing `u64`.
//!
//! One relaxed `fetch_add` per update. Relaxed is enough: a counter publishes no other data,
//! and a scrape only needs some recent value, never an ordering against other metrics.
//! The count wraps at `u64::MAX` rather than panicking (at a billion increments a second that
//! takes 584 years).

use std::sync::atomic::{AtomicU64, Ordering};

use crate::encode::{Encoder, Suffix, Value};
use crate::table::{Descriptor, Metric};

/// A monotonically increasing count, exported as a Prometheus counter.
///
/// ```
/// use promstatic::{metric, Counter};
///
/// /// Jobs finished since start.
/// #[metric]
/// static JOBS_DONE_TOTAL: Counter = Counter::new();
///
/// JOBS_DONE_TOTAL.inc();
/// JOBS_DONE_TOTAL.inc_by(2);
/// assert_eq!(JOBS_DONE_TOTAL.get(), 3);
/// ```
#[derive(Debug, Default)]
pub struct Counter {
    value: AtomicU64,
}

impl Counter {
    /// A counter at zero.
    pub const fn new() -> Self {
        Counter {
            value: AtomicU64::new(0),
        }
    }

    /// Adds one.
    #[inline]
    pub fn inc(&self) {
        self.value.fetch_add(1, Ordering::Relaxed);
    }

    /// Adds `amount`.
    #[inline]
    pub fn inc_by(&self, amount: u64) {
        self.value.fetch_add(amount, Ordering::Relaxed);
    }

    /// The current count.
    #[inline]
    pub fn get(&self) -> u64 {
        self.value.load(Ordering::Relaxed)
    }
}

impl crate::sealed::Sealed for Counter {}

impl Metric for Counter {
    fn encode(&self, descriptor: &Descriptor, encoder: &mut Encoder<'_>) {
        encoder.family_trusted(&descriptor.family()).sample_trusted(
            Suffix::Bare,
            &[],
            Value::Unsigned(self.get()),
        );
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn exact_total_across_threads() {
        static COUNTER: Counter = Counter::new();
        const THREADS: u64 = 8;
        const INCREMENTS: u64 = 100_000;
        std::thread::scope(|scope| {
            for thread in 0..THREADS {
                scope.spawn(move || {
                    for i in 0..INCREMENTS {
                        if (i + thread) % 2 == 0 {
                            COUNTER.inc();
                        } else {
                            COUNTER.inc_by(1);
                        }
                    }
                });
            }
        });
        assert_eq!(COUNTER.get(), THREADS * INCREMENTS);
    }

    #[test]
    fn wraps_instead_of_panicking() {
        let counter = Counter::new();
        counter.inc_by(u64::MAX);
        counter.inc_by(2);
        assert_eq!(counter.get(), 1);
    }
}
