//! [`Gauge`] (an `i64`) and [`FloatGauge`] (an `f64`): values that go up and down.
//!
//! `Gauge` updates are one relaxed atomic operation each; integer arithmetic wraps instead of
//! panicking. `FloatGauge` keeps the `f64` bits in an `AtomicU64`: `set` is one store, `add`
//! is a compare-and-swap loop (there is no hardware float add on memory), which retries only
//! while another thread changed the value in between — it never waits on a scrape, which
//! only loads.

use std::sync::atomic::{AtomicI64, AtomicU64, Ordering};

use crate::encode::plan::{PlanBuilder, ValueCell};
use crate::encode::{Encoder, Suffix, Value};
use crate::table::{Descriptor, Metric};

/// An integer value that goes up and down, exported as a Prometheus gauge.
///
/// ```
/// use promstatic::{metric, Gauge};
///
/// /// Sessions currently open.
/// #[metric(name = "open_sessions")]
/// static OPEN: Gauge = Gauge::new();
///
/// OPEN.inc();
/// OPEN.add(4);
/// OPEN.dec();
/// assert_eq!(OPEN.get(), 4);
/// ```
#[derive(Debug, Default)]
pub struct Gauge {
    value: AtomicI64,
}

impl Gauge {
    /// A gauge at zero.
    pub const fn new() -> Self {
        Gauge {
            value: AtomicI64::new(0),
        }
    }

    /// Sets the value.
    #[inline]
    pub fn set(&self, value: i64) {
        self.value.store(value, Ordering::Relaxed);
    }

    /// Adds one.
    #[inline]
    pub fn inc(&self) {
        self.value.fetch_add(1, Ordering::Relaxed);
    }

    /// Subtracts one.
    #[inline]
    pub fn dec(&self) {
        self.value.fetch_sub(1, Ordering::Relaxed);
    }

    /// Adds `amount` (wrapping).
    #[inline]
    pub fn add(&self, amount: i64) {
        self.value.fetch_add(amount, Ordering::Relaxed);
    }

    /// Subtracts `amount` (wrapping).
    #[inline]
    pub fn sub(&self, amount: i64) {
        self.value.fetch_sub(amount, Ordering::Relaxed);
    }

    /// The current value.
    #[inline]
    pub fn get(&self) -> i64 {
        self.value.load(Ordering::Relaxed)
    }
}

impl crate::sealed::Sealed for Gauge {}

impl Metric for Gauge {
    fn encode(&self, descriptor: &Descriptor, encoder: &mut Encoder<'_>) {
        encoder.family_trusted(&descriptor.family()).sample_trusted(
            Suffix::Bare,
            &[],
            Value::Signed(self.get()),
        );
    }

    fn plan(&'static self, descriptor: &Descriptor, plan: &mut PlanBuilder<'_, '_>) -> bool {
        plan.family(descriptor, |family| family.sample(&[], self.plan_cell()));
        true
    }
}

impl Gauge {
    /// The cell an exposition plan reads (see `encode::plan`).
    pub(crate) fn plan_cell(&'static self) -> ValueCell {
        ValueCell::Signed(&self.value)
    }
}

/// A floating-point value that goes up and down, exported as a Prometheus gauge.
///
/// ```
/// use promstatic::{metric, FloatGauge};
///
/// /// Temperature of the coolant in degrees Celsius.
/// #[metric]
/// static COOLANT_CELSIUS: FloatGauge = FloatGauge::new();
///
/// COOLANT_CELSIUS.set(20.5);
/// COOLANT_CELSIUS.add(-0.25);
/// assert_eq!(COOLANT_CELSIUS.get(), 20.25);
/// ```
#[derive(Debug, Default)]
pub struct FloatGauge {
    bits: AtomicU64,
}

impl FloatGauge {
    /// A gauge at `0.0`.
    pub const fn new() -> Self {
        FloatGauge {
            // 0u64 is the bit pattern of +0.0.
            bits: AtomicU64::new(0),
        }
    }

    /// Sets the value.
    #[inline]
    pub fn set(&self, value: f64) {
        self.bits.store(value.to_bits(), Ordering::Relaxed);
    }

    /// Adds `amount` (a compare-and-swap loop; see the module docs).
    #[inline]
    pub fn add(&self, amount: f64) {
        self.add_ordered(amount, Ordering::Relaxed);
    }

    /// [`FloatGauge::add`] whose successful exchange has the `success` ordering (a histogram's
    /// sum releases what it publishes with it).
    #[inline]
    pub(crate) fn add_ordered(&self, amount: f64, success: Ordering) {
        let mut current = self.bits.load(Ordering::Relaxed);
        loop {
            let next = (f64::from_bits(current) + amount).to_bits();
            match self
                .bits
                .compare_exchange_weak(current, next, success, Ordering::Relaxed)
            {
                Ok(_) => return,
                Err(actual) => current = actual,
            }
        }
    }

    /// The current value.
    #[inline]
    pub fn get(&self) -> f64 {
        self.load(Ordering::Relaxed)
    }

    /// The current value, loaded with `ordering`.
    #[inline]
    pub(crate) fn load(&self, ordering: Ordering) -> f64 {
        f64::from_bits(self.bits.load(ordering))
    }
}

impl crate::sealed::Sealed for FloatGauge {}

impl Metric for FloatGauge {
    fn encode(&self, descriptor: &Descriptor, encoder: &mut Encoder<'_>) {
        encoder.family_trusted(&descriptor.family()).sample_trusted(
            Suffix::Bare,
            &[],
            Value::Float(self.get()),
        );
    }

    fn plan(&'static self, descriptor: &Descriptor, plan: &mut PlanBuilder<'_, '_>) -> bool {
        plan.family(descriptor, |family| family.sample(&[], self.plan_cell()));
        true
    }
}

impl FloatGauge {
    /// The cell an exposition plan reads (see `encode::plan`).
    pub(crate) fn plan_cell(&'static self) -> ValueCell {
        ValueCell::FloatBits(&self.bits)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn gauge_arithmetic_wraps() {
        let gauge = Gauge::new();
        gauge.set(i64::MAX);
        gauge.inc();
        assert_eq!(gauge.get(), i64::MIN);
        gauge.sub(1);
        assert_eq!(gauge.get(), i64::MAX);
    }

    #[test]
    fn float_adds_are_not_lost_across_threads() {
        static GAUGE: FloatGauge = FloatGauge::new();
        // Sums of 0.5 are exact in f64 up to 2^53, so the total must be exact.
        std::thread::scope(|scope| {
            for _ in 0..4 {
                scope.spawn(|| {
                    for _ in 0..50_000 {
                        GAUGE.add(0.5);
                    }
                });
            }
        });
        assert_eq!(GAUGE.get(), 100_000.0);
    }

    #[test]
    fn float_keeps_special_values() {
        let gauge = FloatGauge::new();
        gauge.set(f64::NEG_INFINITY);
        assert_eq!(gauge.get(), f64::NEG_INFINITY);
        gauge.set(-0.0);
        assert!(gauge.get().is_sign_negative());
        gauge.set(f64::NAN);
        assert!(gauge.get().is_nan());
    }
}
