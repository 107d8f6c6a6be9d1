//! [`Histogram`]: observations counted into buckets fixed at compile time.
//!
//! # Layout
//!
//! A histogram with `B` finite bounds holds `B + 1` counters, one per bucket (not cumulative:
//! the last one counts what exceeds every bound, and `NaN`), the sum of the finite
//! observations as the bits of an `f64`, and a flag saying whether a value below zero was
//! observed. The bounds are a `&'static [f64; B]`; `B` is a const parameter, so
//! the counters are an inline array and a histogram is a plain `static` with no allocation.
//!
//! # Observing
//!
//! [`Histogram::observe`] finds the bucket by binary search over the bounds, adds one to that
//! bucket's counter (one relaxed `fetch_add`), and adds a finite value to the sum (a
//! compare-exchange loop on the `f64` bits: it retries only when another *observer* changed
//! the sum in between, never because of a scrape, since a scrape only loads). Relaxed is
//! enough for the counts; the sum's release publishes only the "below zero" flag (see
//! [below](#nan-infinities-and-negative-values)).
//!
//! Under contention those shared cells are the cost: when two cores observe one histogram,
//! the lines of the bucket and of the sum move between them on every observation and the
//! sum's compare-exchange retries. [`ShardedHistogram`](crate::ShardedHistogram) gives every
//! thread its own copy of the cells (8.25 KiB per histogram instead of about 120 bytes), so
//! observers share no line and use no locked instruction; choose it for a histogram that
//! several threads observe at a high rate.
//!
//! # Scraping, and why every scrape is consistent
//!
//! A scrape loads each bucket counter exactly once, then derives everything it writes from
//! those loads: the cumulative `_bucket` counts are running sums of them, `le="+Inf"` is the
//! sum of all of them, and `_count` is that same number. So, whatever observers do meanwhile:
//!
//! * cumulative buckets never decrease within a scrape (they are running sums of `u64`s);
//! * `le="+Inf"` equals `_count` (they are the same variable);
//! * no count goes backwards from one scrape to a later one: each bucket counter only ever
//!   increases, and a later load of an atomic never returns a value older than one an
//!   earlier load (that happens before it) returned, so every running sum is at least what
//!   the previous scrape wrote.
//!
//! Observers never wait for a scrape, and a scrape never waits for anything. There is no
//! multi-step protocol (no hot/cold swap, no sequence lock) whose interleavings could go
//! wrong: each cell is independently monotonic and is read once, which is why this module
//! has no `loom` model — the properties above follow from the per-location coherence of
//! single atomics, which is what `loom` would assume rather than check.
//!
//! # What can tear, and why that is acceptable
//!
//! * `_sum` against the counts: an observation is two separate atomic updates (bucket, then
//!   sum), so a scrape may include an observation in the counts but not yet in `_sum`, or (if
//!   it loads the sum after the buckets) in `_sum` but not in the counts. The next scrape
//!   includes it in both. Prometheus only ever uses `_sum` through `rate(_sum) /
//!   rate(_count)` over many scrapes, where one in-flight observation is noise; making the
//!   two agree exactly would need observers to coordinate with the scraper (a lock or a
//!   hot/cold swap in which the scraper waits), which costs every observation.
//! * Across buckets, a scrape is not a snapshot of one instant: it may include a late
//!   observation in one bucket and miss an earlier one in another bucket that was loaded
//!   first. Every count it writes is still one that was actually reached, and the next
//!   scrape catches up.
//!
//! # NaN, infinities and negative values
//!
//! OpenMetrics 1.0 treats a histogram's `_sum` as a counter: it may not be NaN or negative,
//! and a histogram with a negative bucket bound may not carry a sum at all. Text 0.0.4 has
//! no such rule. So that both formats are valid whatever is observed, and mean the same:
//!
//! * **Buckets count every observation.** `NaN` is counted in the `+Inf` bucket only (it is
//!   not `<=` any finite bound), `+Inf` in the `+Inf` bucket, `-Inf` and any value at or
//!   below the first bound in the first bucket. `_count` is therefore every `observe` call.
//! * **`_sum` is the sum of the finite observations.** `NaN`, `+Inf` and `-Inf` are counted
//!   but not added, so the sum is never `NaN` (a finite sum that overflows stays `+Inf`).
//!   Other clients let one `NaN` poison `_sum` forever, which breaks `rate(_sum)` for the
//!   rest of the process and makes every OpenMetrics scrape invalid.
//! * **Negative values and bounds are allowed** (a temperature, a clock offset): they are
//!   counted and summed. In text 0.0.4 every series always has `_sum` and `_count`. In
//!   OpenMetrics a series whose bounds include a negative one, or which has observed a value
//!   below zero (`-Inf` included), is written with its buckets only: no `_sum`, and no
//!   `_count` either, since the spec's parsers want the two together (the `+Inf` bucket is
//!   the count). A series with non-negative bounds that receives its first negative value
//!   drops `_sum`/`_count` from OpenMetrics scrapes from then on: from that moment its sum
//!   can decrease and is no longer a counter.
//!
//! The "observed a negative value" flag is set *before* the value is added to the sum
//! (release), and a scrape loads the sum (acquire) *before* the flag, so a scrape that sees
//! a sum lowered by a negative value also sees the flag. The golden cases, in both formats
//! and checked by promtool, Python's parsers and the strict oracle, are in
//! `tests/golden_histogram_semantics.rs`.

use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::{Duration, Instant};

use crate::encode::plan::{HistogramCells, PlanBuilder, PlanFamily};
use crate::encode::{Encoder, FamilyEncoder, Format, Label, SeriesLabels, Suffix, Value};
use crate::exemplar::{
    EncodedLabels, ExemplarError, ExemplarLabelName, ExemplarSlot, ExemplarStorage, NoExemplars,
    Snapshot, Stored,
};
use crate::gauge::FloatGauge;
use crate::table::{Descriptor, Metric};

/// The default bounds of Prometheus' client libraries, in seconds: 5 ms to 10 s.
pub const DEFAULT_BUCKETS: [f64; 11] = [
    0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0,
];

/// `N` bounds starting at `start`, each `factor` times the previous one.
///
/// Usable in const context; an invalid argument fails the build there (`start` must be
/// positive and finite, `factor` greater than 1, `N` at least 1, every bound finite).
///
/// ```
/// use promstatic::histogram::exponential_buckets;
///
/// const BOUNDS: [f64; 4] = exponential_buckets(0.001, 10.0);
/// assert_eq!(BOUNDS, [0.001, 0.01, 0.1, 1.0]);
/// ```
pub const fn exponential_buckets<const N: usize>(start: f64, factor: f64) -> [f64; N] {
    assert!(N > 0, "exponential_buckets: ask for at least one bound");
    assert!(
        start > 0.0 && start.is_finite(),
        "exponential_buckets: `start` must be positive and finite"
    );
    assert!(
        factor > 1.0 && factor.is_finite(),
        "exponential_buckets: `factor` must be greater than 1 and finite"
    );
    let mut bounds = [0.0; N];
    let mut bound = start;
    let mut index = 0;
    while index < N {
        bounds[index] = bound;
        bound *= factor;
        index += 1;
    }
    check_bounds(&bounds);
    bounds
}

/// `N` bounds starting at `start`, `width` apart.
///
/// Usable in const context; an invalid argument fails the build there (`start` finite,
/// `width` positive and finite, `N` at least 1, every bound finite).
///
/// ```
/// use promstatic::histogram::linear_buckets;
///
/// const BOUNDS: [f64; 3] = linear_buckets(10.0, 5.0);
/// assert_eq!(BOUNDS, [10.0, 15.0, 20.0]);
/// ```
pub const fn linear_buckets<const N: usize>(start: f64, width: f64) -> [f64; N] {
    assert!(N > 0, "linear_buckets: ask for at least one bound");
    assert!(start.is_finite(), "linear_buckets: `start` must be finite");
    assert!(
        width > 0.0 && width.is_finite(),
        "linear_buckets: `width` must be positive and finite"
    );
    let mut bounds = [0.0; N];
    let mut index = 0;
    while index < N {
        bounds[index] = start + width * index as f64;
        index += 1;
    }
    check_bounds(&bounds);
    bounds
}

/// Fails (at compile time, in const context) unless `bounds` is non-empty, finite and
/// strictly increasing. The `#[metric(buckets = [...])]` attribute checks literal bounds
/// itself, with errors on the offending literal; this covers bounds computed in const.
pub const fn check_bounds(bounds: &[f64]) {
    assert!(
        !bounds.is_empty(),
        "histogram bounds: give at least one bound (`+Inf` is implicit)"
    );
    let mut index = 0;
    while index < bounds.len() {
        assert!(
            bounds[index].is_finite(),
            "histogram bounds: every bound must be finite (`+Inf` is implicit)"
        );
        if index > 0 {
            assert!(
                bounds[index - 1] < bounds[index],
                "histogram bounds: bounds must be strictly increasing"
            );
        }
        index += 1;
    }
}

/// Observations counted into buckets, exported as a Prometheus histogram.
///
/// `Histogram` alone has the [default bounds](DEFAULT_BUCKETS). Give others with
/// `#[metric(buckets = [...])]` (the attribute writes the type and initializer for you), or
/// with [`Histogram::with_bounds`] and a const array:
///
/// ```
/// use promstatic::{metric, Histogram};
/// use promstatic::histogram::exponential_buckets;
///
/// /// Request latency.
/// #[metric(buckets = [0.001, 0.01, 0.1, 1.0])]
/// static REQUEST_SECONDS: Histogram = Histogram::new();
///
/// const SIZES: [f64; 6] = exponential_buckets(64.0, 4.0);
///
/// /// Response sizes.
/// #[metric]
/// static RESPONSE_BYTES: Histogram<6> = Histogram::with_bounds(&SIZES);
///
/// REQUEST_SECONDS.observe(0.004);
/// RESPONSE_BYTES.observe(1500.0);
/// {
///     let _timer = REQUEST_SECONDS.start_timer(); // observes the elapsed time on drop
/// }
/// assert_eq!(REQUEST_SECONDS.count(), 2);
/// ```
///
/// With [exemplar slots](crate::exemplar) (`X = ExemplarSlot`, one per bucket), an
/// observation can carry a trace id that the OpenMetrics and protobuf expositions show on its
/// bucket:
///
/// ```
/// use promstatic::{metric, Histogram};
/// use promstatic::exemplar::ExemplarSlot;
/// use promstatic::histogram::DEFAULT_BUCKETS;
///
/// /// Checkout latency.
/// #[metric]
/// static CHECKOUT_SECONDS: Histogram<11, ExemplarSlot> =
///     Histogram::with_bounds_and_exemplars(&DEFAULT_BUCKETS);
///
/// CHECKOUT_SECONDS.observe(0.2); // no exemplar: the plain histogram's cost
/// let _ = CHECKOUT_SECONDS.observe_with_exemplar(0.07, &[("trace_id", "4bf92f3577b34da6")]);
/// assert_eq!(CHECKOUT_SECONDS.count(), 2);
/// ```
#[derive(Debug)]
pub struct Histogram<const B: usize = 11, X = NoExemplars> {
    bounds: &'static [f64; B],
    /// `buckets[i]` counts observations in `(bounds[i - 1], bounds[i]]`.
    buckets: [AtomicU64; B],
    /// Observations above the last bound, and `NaN`.
    overflow: AtomicU64,
    /// The sum of the finite observations (see the module docs).
    sum: FloatGauge,
    /// Set once a value below zero has been observed: `_sum` is no longer a counter.
    below_zero: AtomicBool,
    /// One exemplar per finite bucket (zero-sized without exemplars).
    exemplars: [X; B],
    /// The exemplar of the overflow bucket.
    overflow_exemplar: X,
}

impl Histogram<11> {
    /// An empty histogram with Prometheus' [default bounds](DEFAULT_BUCKETS).
    pub const fn new() -> Self {
        Histogram::with_bounds(&DEFAULT_BUCKETS)
    }
}

impl Default for Histogram<11> {
    fn default() -> Self {
        Histogram::new()
    }
}

impl<const B: usize> Histogram<B> {
    /// An empty histogram with these bounds, which must be finite and strictly increasing
    /// (checked when evaluated: in a `static`, at compile time).
    pub const fn with_bounds(bounds: &'static [f64; B]) -> Self {
        check_bounds(bounds);
        Histogram {
            bounds,
            buckets: [const { AtomicU64::new(0) }; B],
            overflow: AtomicU64::new(0),
            sum: FloatGauge::new(),
            below_zero: AtomicBool::new(false),
            exemplars: [NoExemplars::new(); B],
            overflow_exemplar: NoExemplars::new(),
        }
    }
}

#[cfg(not(promstatic_loom))]
impl<const B: usize> Histogram<B, ExemplarSlot> {
    /// An empty histogram with these bounds and one exemplar slot per bucket (168 bytes
    /// each); the bounds are checked as in [`Histogram::with_bounds`].
    pub const fn with_bounds_and_exemplars(bounds: &'static [f64; B]) -> Self {
        check_bounds(bounds);
        Histogram {
            bounds,
            buckets: [const { AtomicU64::new(0) }; B],
            overflow: AtomicU64::new(0),
            sum: FloatGauge::new(),
            below_zero: AtomicBool::new(false),
            exemplars: [const { ExemplarSlot::new() }; B],
            overflow_exemplar: ExemplarSlot::new(),
        }
    }
}

impl<const B: usize> Histogram<B, ExemplarSlot> {
    /// Observes `value` as [`observe`](Histogram::observe) does, and stores it with these
    /// labels and the current time as its bucket's exemplar.
    ///
    /// The observation is always counted. The exemplar is refused (and counted in
    /// `promstatic_exemplars_refused_total`) if a name is invalid or the labels exceed 128
    /// characters; it is skipped ([`Stored::Busy`]) if another thread is storing one in the
    /// same bucket.
    #[inline]
    pub fn observe_with_exemplar<N: ExemplarLabelName>(
        &self,
        value: f64,
        labels: &[(N, &str)],
    ) -> Result<Stored, ExemplarError> {
        let index = self.observe_index(value);
        let labels = EncodedLabels::new(labels)?;
        let slot = self.exemplars.get(index).unwrap_or(&self.overflow_exemplar);
        Ok(slot.store(value, &labels))
    }

    /// The exemplar of bucket `index` (`bounds().len()` is the `+Inf` bucket), if it holds
    /// a consistent one.
    pub fn exemplar(&self, index: usize) -> Option<Snapshot> {
        match self.exemplars.get(index) {
            Some(slot) => slot.read(),
            None if index == B => self.overflow_exemplar.read(),
            None => None,
        }
    }
}

impl<const B: usize, X: ExemplarStorage> Histogram<B, X> {
    /// The finite bucket bounds, increasing (`+Inf` is implicit).
    pub fn bounds(&self) -> &'static [f64] {
        self.bounds
    }

    /// Counts `value` in its bucket and, if it is finite, adds it to the sum (see the
    /// [module docs](crate::histogram#nan-infinities-and-negative-values) for `NaN`, the
    /// infinities and negative values).
    #[inline]
    pub fn observe(&self, value: f64) {
        self.observe_index(value);
    }

    /// Observes `value` and returns the index of its bucket (`B`: the overflow bucket).
    #[inline]
    fn observe_index(&self, value: f64) -> usize {
        let index = bucket_index(self.bounds, value);
        self.buckets
            .get(index)
            .unwrap_or(&self.overflow)
            .fetch_add(1, Ordering::Relaxed);
        // The load first keeps a histogram that sees many negative values from writing the
        // flag's cache line on every one of them.
        if value < 0.0 && !self.below_zero.load(Ordering::Relaxed) {
            self.below_zero.store(true, Ordering::Relaxed);
        }
        if value.is_finite() {
            // Release orders the `below_zero` store above before this change of the sum,
            // for the scrape's acquire load of the sum (see the module docs).
            self.sum.add_ordered(value, Ordering::Release);
        }
        index
    }

    /// Observes a duration in seconds.
    #[inline]
    pub fn observe_duration(&self, duration: Duration) {
        self.observe(duration.as_secs_f64());
    }

    /// Starts a timer that observes the time elapsed, in seconds, when it is dropped.
    #[inline]
    pub fn start_timer(&self) -> HistogramTimer<'_, B, X> {
        HistogramTimer {
            histogram: self,
            start: Instant::now(),
            armed: true,
        }
    }

    /// The number of observations, summed from the buckets.
    pub fn count(&self) -> u64 {
        self.buckets
            .iter()
            .chain(std::iter::once(&self.overflow))
            .fold(0u64, |total, cell| {
                total.wrapping_add(cell.load(Ordering::Relaxed))
            })
    }

    /// The sum of the finite observations.
    pub fn sum(&self) -> f64 {
        self.sum.get()
    }

    /// Each bucket's own count (not cumulative), in bound order, then the `+Inf` cell's.
    pub(crate) fn cell_counts(&self) -> impl Iterator<Item = u64> + '_ {
        self.buckets
            .iter()
            .chain(std::iter::once(&self.overflow))
            .map(|cell| cell.load(Ordering::Relaxed))
    }

    /// Whether `_sum` is still a counter: no bound and no observed value below zero.
    /// Call after loading the sum (acquire), so a lowered sum comes with the flag.
    fn sum_is_counter(&self) -> bool {
        self.bounds.first().is_none_or(|&lowest| lowest >= 0.0)
            && !self.below_zero.load(Ordering::Relaxed)
    }

    /// Writes this histogram's samples with `labels` (a family's series, or none).
    pub(crate) fn encode_series(&self, writer: &mut FamilyEncoder<'_, '_>, labels: &[Label<'_>]) {
        // An exemplar is read after its bucket's count, so a scrape may show an exemplar
        // newer than that count; OpenMetrics asks only that its value lie in the bucket.
        let exemplar = |index: usize| match self.exemplars.get(index) {
            Some(slot) => slot.snapshot(),
            None => self.overflow_exemplar.snapshot(),
        };
        write_series(
            writer,
            labels,
            self.bounds,
            self.cell_counts(),
            exemplar,
            || {
                // Acquire pairs with the observers' release: see the module docs.
                let sum = self.sum.load(Ordering::Acquire);
                (sum, self.sum_is_counter())
            },
        );
    }
}

/// The index of `value`'s bucket: the number of bounds below it, so `B` (the overflow
/// bucket) for a value above every bound, and for `NaN` (which compares false with
/// everything, so it is sent there explicitly).
///
/// A binary search: measured with callgrind on the peers' workload (11 bounds, 64 latencies
/// in turn), it runs 47 instructions per observation against 71 for a branch-free count over
/// every bound, with no more mispredicted branches in callgrind's model, and was not slower
/// in wall time either.
#[inline]
pub(crate) fn bucket_index<const B: usize>(bounds: &[f64; B], value: f64) -> usize {
    if value.is_nan() {
        B
    } else {
        bounds.partition_point(|&bound| bound < value)
    }
}

/// Writes one classic histogram series from its per-bucket (not cumulative) `counts`, in
/// bound order then the `+Inf` cell's, each loaded once by the caller's iterator; then
/// calls `sum` for the sum and whether it is still a counter (see the [module
/// docs](crate::histogram#nan-infinities-and-negative-values)).
///
/// Every count written derives from those loads: the cumulative buckets are running sums
/// of them, and `_count` is the `+Inf` bucket's number itself (see the [module
/// docs](crate::histogram#scraping-and-why-every-scrape-is-consistent)).
pub(crate) fn write_series(
    writer: &mut FamilyEncoder<'_, '_>,
    labels: &[Label<'_>],
    bounds: &[f64],
    counts: impl IntoIterator<Item = u64>,
    mut exemplar: impl FnMut(usize) -> Option<Snapshot>,
    sum: impl FnOnce() -> (f64, bool),
) {
    let mut cumulative = 0u64;
    // The label list is written (and escaped) once, by the first bucket's line.
    let mut series = SeriesLabels::default();
    let les = bounds.iter().chain(std::iter::once(&f64::INFINITY));
    for (index, (count, &le)) in counts.into_iter().zip(les).enumerate() {
        cumulative = cumulative.wrapping_add(count);
        // `+ 0.0` turns a `-0.0` bound into `0.0` (IEEE 754), so the `le` label is `0`
        // in both formats rather than `-0` and `-0.0`: another series to Prometheus.
        let exemplar = exemplar(index);
        writer.bucket_in_series(labels, le + 0.0, cumulative, exemplar.as_ref(), &mut series);
    }
    let (sum, sum_is_counter) = sum();
    if writer.format() == Format::Text || sum_is_counter {
        writer.sample_in_series(Suffix::Sum, labels, Value::Float(sum), &mut series);
        let count = Value::Unsigned(cumulative);
        writer.sample_in_series(Suffix::Count, labels, count, &mut series);
    }
}

impl<const B: usize, X: ExemplarStorage> crate::sealed::Sealed for Histogram<B, X> {}

impl<const B: usize, X: ExemplarStorage> Metric for Histogram<B, X> {
    fn encode(&self, descriptor: &Descriptor, encoder: &mut Encoder<'_>) {
        let mut writer = encoder.family_trusted(&descriptor.family());
        self.encode_series(&mut writer, &[]);
    }

    fn plan(&'static self, descriptor: &Descriptor, plan: &mut PlanBuilder<'_, '_>) -> bool {
        let mut planned = false;
        plan.family(descriptor, |family| planned = self.plan_series(family, &[]));
        planned
    }
}

impl<const B: usize, X: ExemplarStorage> Histogram<B, X> {
    /// Writes this series into an exposition plan (see `encode::plan`): every line up to
    /// its value, the values read from one snapshot per scrape; `false` where exemplars
    /// would be written (OpenMetrics and protobuf with exemplar slots) or in protobuf.
    pub(crate) fn plan_series(
        &'static self,
        family: &mut PlanFamily<'_, '_, '_>,
        labels: &[Label<'_>],
    ) -> bool {
        let without_exemplars = std::mem::size_of::<X>() == 0 || family.format() == Format::Text;
        without_exemplars && family.histogram(labels, self.bounds, self)
    }
}

impl<const B: usize, X: ExemplarStorage> HistogramCells for Histogram<B, X> {
    fn snapshot(&self, format: Format, cumulative: &mut [u64]) -> Option<f64> {
        // The same loads, in the same order, as `encode_series`: each cell once, then the sum.
        let mut running = 0u64;
        for (slot, count) in cumulative.iter_mut().zip(self.cell_counts()) {
            running = running.wrapping_add(count);
            *slot = running;
        }
        // Acquire pairs with the observers' release: see the module docs.
        let sum = self.sum.load(Ordering::Acquire);
        (format == Format::Text || self.sum_is_counter()).then_some(sum)
    }
}

/// Observes the time since [`Histogram::start_timer`] when dropped (or at [`stop`]).
///
/// [`stop`]: HistogramTimer::stop
#[derive(Debug)]
#[must_use = "the timer observes when dropped; binding it to `_` drops it at once"]
pub struct HistogramTimer<'h, const B: usize, X: ExemplarStorage = NoExemplars> {
    histogram: &'h Histogram<B, X>,
    start: Instant,
    armed: bool,
}

impl<const B: usize, X: ExemplarStorage> HistogramTimer<'_, B, X> {
    /// Observes now and returns the elapsed time.
    pub fn stop(mut self) -> Duration {
        self.armed = false;
        let elapsed = self.start.elapsed();
        self.histogram.observe_duration(elapsed);
        elapsed
    }

    /// Drops the timer without observing anything.
    pub fn discard(mut self) {
        self.armed = false;
    }
}

impl<const B: usize, X: ExemplarStorage> Drop for HistogramTimer<'_, B, X> {
    fn drop(&mut self) {
        if self.armed {
            self.histogram.observe_duration(self.start.elapsed());
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    static BOUNDS: [f64; 3] = [1.0, 2.0, 5.0];

    fn cells<const B: usize>(histogram: &Histogram<B>) -> Vec<u64> {
        histogram
            .buckets
            .iter()
            .chain(std::iter::once(&histogram.overflow))
            .map(|cell| cell.load(Ordering::Relaxed))
            .collect()
    }

    #[test]
    fn bounds_are_inclusive_upper_limits() {
        let histogram = Histogram::with_bounds(&BOUNDS);
        for value in [-3.0, 0.5, 1.0, 1.0000001, 2.0, 4.9, 5.0, 5.1, f64::INFINITY] {
            histogram.observe(value);
        }
        histogram.observe(f64::NAN);
        assert_eq!(cells(&histogram), [3, 2, 2, 3]);
        assert_eq!(histogram.count(), 10);
        // NaN and +Inf are counted, not summed.
        assert_eq!(
            histogram.sum(),
            -3.0 + 0.5 + 1.0 + 1.0000001 + 2.0 + 4.9 + 5.0 + 5.1
        );
        assert!(histogram.below_zero.load(Ordering::Relaxed));
    }

    #[test]
    fn a_negative_zero_bound_is_written_as_zero() {
        static SIGNED_ZERO: [f64; 2] = [-0.0, 1.0];
        let histogram = Histogram::with_bounds(&SIGNED_ZERO);
        let descriptor = Descriptor::new(
            "h",
            crate::encode::Kind::Histogram,
            "x",
            "x",
            &[],
            "m",
            "f",
            1,
        );
        for (format, zero) in [
            (Format::Text, "le=\"0\""),
            (Format::OpenMetrics, "le=\"0.0\""),
        ] {
            let mut out = Vec::new();
            let mut encoder = Encoder::new(&mut out, format);
            histogram.encode(&descriptor, &mut encoder);
            let text = String::from_utf8(out).unwrap();
            assert!(text.contains(&format!("h_bucket{{{zero}}} 0\n")), "{text}");
            assert!(!text.contains("-0"), "{text}");
        }
    }

    #[test]
    fn sum_and_durations() {
        let histogram = Histogram::with_bounds(&BOUNDS);
        histogram.observe(0.25);
        histogram.observe_duration(Duration::from_millis(1500));
        assert_eq!(histogram.sum(), 1.75);
        assert_eq!(cells(&histogram), [1, 1, 0, 0]);
    }

    #[test]
    fn timer_observes_once() {
        let histogram = Histogram::new();
        drop(histogram.start_timer());
        let elapsed = histogram.start_timer().stop();
        histogram.start_timer().discard();
        assert_eq!(histogram.count(), 2);
        assert!(histogram.sum() >= elapsed.as_secs_f64());
    }

    #[test]
    fn const_helpers() {
        const EXPONENTIAL: [f64; 5] = exponential_buckets(1.0, 2.0);
        const LINEAR: [f64; 4] = linear_buckets(-1.0, 0.5);
        assert_eq!(EXPONENTIAL, [1.0, 2.0, 4.0, 8.0, 16.0]);
        assert_eq!(LINEAR, [-1.0, -0.5, 0.0, 0.5]);
        assert_eq!(Histogram::new().bounds(), DEFAULT_BUCKETS);
    }

    #[test]
    #[should_panic(expected = "strictly increasing")]
    fn unordered_bounds_are_rejected() {
        check_bounds(&[1.0, 1.0]);
    }

    #[test]
    #[should_panic(expected = "finite")]
    fn infinite_bounds_are_rejected() {
        check_bounds(&[1.0, f64::INFINITY]);
    }

    #[test]
    #[should_panic(expected = "at least one")]
    fn empty_bounds_are_rejected() {
        check_bounds(&[]);
    }

    #[test]
    fn exact_totals_across_threads() {
        static HISTOGRAM: Histogram<3> = Histogram::with_bounds(&BOUNDS);
        std::thread::scope(|scope| {
            for thread in 0..4 {
                scope.spawn(move || {
                    for i in 0..10_000 {
                        HISTOGRAM.observe(f64::from((i + thread) % 8));
                    }
                });
            }
        });
        // Values 0..8 evenly: {0,1} → 1, {2} → 2, {3,4,5} → 5, {6,7} → +Inf.
        assert_eq!(cells(&HISTOGRAM), [10_000, 5_000, 15_000, 10_000]);
        assert_eq!(HISTOGRAM.sum(), 4.0 * 10_000.0 * 3.5);
    }
}
