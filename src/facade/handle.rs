//! The handle behind a `metrics::Counter`, `Gauge` or `Histogram` of the facade.
//!
//! One [`Handle`] per series, built on its first registration and kept for the life of the
//! process; every later registration clones its `Arc`. It points into the static arena, so an
//! update is the same relaxed atomic operations as a `#[metric]` static's: `fetch_add` for a
//! counter, a compare-exchange loop on the `f64` bits for a gauge's `increment`, and for a
//! histogram a binary search over the bounds, one `fetch_add` on the bucket and a
//! compare-exchange loop on the sum. Nothing here locks, allocates or panics.
//!
//! A histogram follows [the rules of the `#[metric]`
//! histograms](crate::histogram#nan-infinities-and-negative-values): `NaN` and the infinities are
//! counted but not summed, and a value below zero sets the series' flag (before the sum
//! changes, with `Release`) that keeps `_sum`/`_count` out of OpenMetrics.

use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};

use super::store::Buckets;

/// Where one series' values live; implements the three `metrics` handle traits, of which
/// each series uses one.
#[derive(Debug)]
pub(crate) struct Handle {
    value: &'static AtomicU64,
    below_zero: &'static AtomicBool,
    buckets: &'static Buckets,
    bounds: &'static [f64],
}

impl Handle {
    pub(crate) fn new(
        value: &'static AtomicU64,
        below_zero: &'static AtomicBool,
        buckets: &'static Buckets,
        bounds: &'static [f64],
    ) -> Self {
        Handle {
            value,
            below_zero,
            buckets,
            bounds,
        }
    }

    /// Adds `delta` to the `f64` stored as bits in `value`, the successful exchange with
    /// `ordering`.
    #[inline]
    fn add_f64(&self, delta: f64, ordering: Ordering) {
        let mut current = self.value.load(Ordering::Relaxed);
        loop {
            let next = (f64::from_bits(current) + delta).to_bits();
            match self
                .value
                .compare_exchange_weak(current, next, ordering, Ordering::Relaxed)
            {
                Ok(_) => return,
                Err(now) => current = now,
            }
        }
    }

    #[inline]
    fn observe(&self, value: f64, count: u64) {
        // `le` is inclusive: the first bound ≥ the value. NaN goes past every bound (+Inf),
        // as in the other Prometheus clients.
        let bucket = if value.is_nan() {
            self.bounds.len()
        } else {
            self.bounds.partition_point(|&bound| bound < value)
        };
        if count == 0 {
            // Nothing observed: no bucket, no flag, and no `±Inf × 0` (`NaN`) in the sum.
            return;
        }
        if let Some(cell) = self.buckets.get(bucket) {
            cell.fetch_add(count, Ordering::Relaxed);
        }
        // The load first keeps a series that sees many negative values from writing the
        // flag's cache line on every one of them.
        if value < 0.0 && !self.below_zero.load(Ordering::Relaxed) {
            self.below_zero.store(true, Ordering::Relaxed);
        }
        if value.is_finite() {
            // Release orders the flag's store above before this change of the sum, for the
            // scrape's Acquire load of the sum (`expose::write_series`).
            self.add_f64(value * count as f64, Ordering::Release);
        }
    }
}

impl metrics::CounterFn for Handle {
    #[inline]
    fn increment(&self, value: u64) {
        self.value.fetch_add(value, Ordering::Relaxed);
    }

    /// "Sets the counter to at least the given amount" (the `metrics` contract): callers
    /// mirroring an external total may race, so a smaller, older value never wins.
    #[inline]
    fn absolute(&self, value: u64) {
        self.value.fetch_max(value, Ordering::Relaxed);
    }
}

impl metrics::GaugeFn for Handle {
    #[inline]
    fn increment(&self, value: f64) {
        self.add_f64(value, Ordering::Relaxed);
    }

    #[inline]
    fn decrement(&self, value: f64) {
        self.add_f64(-value, Ordering::Relaxed);
    }

    #[inline]
    fn set(&self, value: f64) {
        self.value.store(value.to_bits(), Ordering::Relaxed);
    }
}

impl metrics::HistogramFn for Handle {
    #[inline]
    fn record(&self, value: f64) {
        self.observe(value, 1);
    }

    #[inline]
    fn record_many(&self, value: f64, count: usize) {
        self.observe(value, count as u64);
    }
}
