//! The handle behind a `metrics::Counter`, `Gauge` or `Histogram` of the facade.
//!
//! One [`Handle`] per series, built on its first registration and kept for the life of the
//! process; every later registration clones its `Arc`. It points into the static arena, so an
//! update is the same relaxed atomic operations as a `#[metric]` static's: `fetch_add` for a
//! counter, a compare-exchange loop on the `f64` bits for a gauge's `increment`, and for a
//! histogram a binary search over the bounds, one `fetch_add` on the bucket and a
//! compare-exchange loop on the sum. Nothing here locks, allocates or panics.

use std::sync::atomic::{AtomicU64, Ordering};

use super::store::Buckets;

/// Where one series' values live; implements the three `metrics` handle traits, of which
/// each series uses one.
#[derive(Debug)]
pub(crate) struct Handle {
    value: &'static AtomicU64,
    buckets: &'static Buckets,
    bounds: &'static [f64],
}

impl Handle {
    pub(crate) fn new(
        value: &'static AtomicU64,
        buckets: &'static Buckets,
        bounds: &'static [f64],
    ) -> Self {
        Handle {
            value,
            buckets,
            bounds,
        }
    }

    /// Adds `delta` to the `f64` stored as bits in `value`.
    #[inline]
    fn add_f64(&self, delta: f64) {
        let mut current = self.value.load(Ordering::Relaxed);
        loop {
            let next = (f64::from_bits(current) + delta).to_bits();
            match self.value.compare_exchange_weak(
                current,
                next,
                Ordering::Relaxed,
                Ordering::Relaxed,
            ) {
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
        if let Some(cell) = self.buckets.get(bucket) {
            cell.fetch_add(count, Ordering::Relaxed);
        }
        self.add_f64(value * count as f64);
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
        self.add_f64(value);
    }

    #[inline]
    fn decrement(&self, value: f64) {
        self.add_f64(-value);
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
