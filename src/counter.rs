//! [`Counter`]: a monotonically increasing `u64`.
//!
//! One relaxed `fetch_add` per update. Relaxed is enough: a counter publishes no other data,
//! and a scrape only needs some recent value, never an ordering against other metrics.
//! The count wraps at `u64::MAX` rather than panicking (at a billion increments a second that
//! takes 584 years).

use std::sync::atomic::{AtomicU64, Ordering};

use crate::encode::plan::{PlanBuilder, ValueCell};
use crate::encode::{Encoder, Format};
use crate::exemplar::{
    EncodedLabels, ExemplarError, ExemplarLabelName, ExemplarSlot, ExemplarStorage, NoExemplars,
    Stored,
};
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
///
/// With an [exemplar slot](crate::exemplar), an increment can carry a trace id:
///
/// ```
/// use promstatic::{metric, Counter};
/// use promstatic::exemplar::{ExemplarName, ExemplarSlot};
///
/// const TRACE_ID: ExemplarName = ExemplarName::new("trace_id");
///
/// /// Orders placed.
/// #[metric]
/// static ORDERS_TOTAL: Counter<ExemplarSlot> = Counter::with_exemplars();
///
/// ORDERS_TOTAL.inc(); // no exemplar: exactly the plain counter's cost
/// let stored = ORDERS_TOTAL.inc_with_exemplar(&[(TRACE_ID, "4bf92f3577b34da6")]);
/// assert!(stored.is_ok());
/// assert_eq!(ORDERS_TOTAL.get(), 2);
/// ```
#[derive(Debug, Default)]
pub struct Counter<X = NoExemplars> {
    value: AtomicU64,
    exemplar: X,
}

impl Counter {
    /// A counter at zero.
    pub const fn new() -> Self {
        Counter {
            value: AtomicU64::new(0),
            exemplar: NoExemplars::new(),
        }
    }
}

#[cfg(not(promstatic_loom))]
impl Counter<ExemplarSlot> {
    /// A counter at zero with one exemplar slot (168 bytes more than [`Counter::new`]).
    pub const fn with_exemplars() -> Self {
        Counter {
            value: AtomicU64::new(0),
            exemplar: ExemplarSlot::new(),
        }
    }
}

impl Counter<ExemplarSlot> {
    /// Adds one and stores an exemplar of value 1 with these labels and the current time.
    ///
    /// The count is always added. The exemplar is refused (and counted in
    /// `promstatic_exemplars_refused_total`) if a name is invalid or the labels exceed 128
    /// characters; it is skipped ([`Stored::Busy`]) if another thread is storing one.
    #[inline]
    pub fn inc_with_exemplar<N: ExemplarLabelName>(
        &self,
        labels: &[(N, &str)],
    ) -> Result<Stored, ExemplarError> {
        self.inc_by_with_exemplar(1, labels)
    }

    /// Adds `amount` and stores an exemplar of value `amount`; see
    /// [`inc_with_exemplar`](Counter::inc_with_exemplar).
    #[inline]
    pub fn inc_by_with_exemplar<N: ExemplarLabelName>(
        &self,
        amount: u64,
        labels: &[(N, &str)],
    ) -> Result<Stored, ExemplarError> {
        self.inc_by(amount);
        let labels = EncodedLabels::new(labels)?;
        Ok(self.exemplar.store(amount as f64, &labels))
    }

    /// The exemplar stored last, if a consistent copy can be read.
    pub fn exemplar(&self) -> Option<crate::exemplar::Snapshot> {
        self.exemplar.read()
    }
}

impl<X: ExemplarStorage> Counter<X> {
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

impl<X: ExemplarStorage> Counter<X> {
    /// Writes the sample with `labels` (a family's series, or none) and its exemplar.
    pub(crate) fn encode_series(
        &self,
        writer: &mut crate::encode::FamilyEncoder<'_, '_>,
        labels: &[crate::encode::Label<'_>],
    ) {
        let exemplar = self.exemplar.snapshot();
        writer.counter_trusted_with_exemplar(labels, self.get(), exemplar.as_ref());
    }
}

impl<X: ExemplarStorage> crate::sealed::Sealed for Counter<X> {}

impl<X: ExemplarStorage> Counter<X> {
    /// The cell an exposition plan reads (see `encode::plan`), where the plan can write this
    /// counter: always without exemplar storage (zero bytes: [`NoExemplars`]), and in text
    /// 0.0.4, which never shows exemplars; elsewhere the counter is encoded at each scrape.
    pub(crate) fn plan_cell(&'static self, format: Format) -> Option<ValueCell> {
        let without_exemplars = std::mem::size_of::<X>() == 0 || format == Format::Text;
        without_exemplars.then_some(ValueCell::Unsigned(&self.value))
    }
}

impl<X: ExemplarStorage> Metric for Counter<X> {
    fn encode(&self, descriptor: &Descriptor, encoder: &mut Encoder<'_>) {
        self.encode_series(&mut encoder.family_trusted(&descriptor.family()), &[]);
    }

    fn plan(&'static self, descriptor: &Descriptor, plan: &mut PlanBuilder<'_, '_>) -> bool {
        let Some(cell) = self.plan_cell(plan.format()) else {
            return false;
        };
        plan.family(descriptor, |family| family.sample(&[], cell));
        true
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
