//! [`ShardedHistogram`]: a histogram whose observers each write their own cells.
//!
//! A plain [`Histogram`](crate::Histogram) is one set of atomics: when two cores observe it,
//! the line holding the bucket and the line holding `_sum` move between them on every
//! observation, and the sum's compare-exchange fails and retries whenever the other core
//! changed it in between. A sharded histogram gives every [shard](super) its own copy of the
//! cells (each bucket, the `+Inf` cell and the sum), padded to whole cache lines; the
//! thread holding shard `i` is the only writer of copy `i`, so an observation is plain
//! loads and stores on lines no other core writes: no locked instruction, no retry, no
//! shared line. A scrape adds the copies up.
//!
//! # Why every scrape is still consistent
//!
//! The argument of the [`histogram`](crate::histogram#scraping-and-why-every-scrape-is-consistent)
//! module holds cell by cell, and sharding only adds cells:
//!
//! * every cell only grows: a shard's holder is its only writer, and a new holder starts
//!   from the last value of the thread before it (the hand-over of [`super`]: released by
//!   the exiting thread, acquired by the claim), so no increment is lost and none is undone;
//!   threads without a shard use the shared copy with atomic read-modify-writes;
//! * a scrape loads each cell once and derives every number it writes from those loads:
//!   bucket `i`'s count is the sum of copy `i` of every shard, the cumulative buckets are
//!   running sums of those, and `_count` *is* the `+Inf` bucket's number, so `+Inf ==
//!   _count` and cumulative counts never decrease within a scrape;
//! * nothing goes backwards across scrapes: each loaded cell is at least what the previous
//!   scrape loaded from it, so each sum of them is too.
//!
//! `_sum` tears against the counts exactly as in a plain histogram (the sum is stored after
//! the count), and the "observed a negative value" flag is published the same way: set
//! before the sum changes, and the sum's store releases it to the scrape's acquire load.
//! `loom` checks the hand-over on this code (the `loom_models` test at the end of the file).

use std::time::Duration;

use crossbeam_utils::CachePadded;

use super::{SHARDS, shard};
use crate::encode::{Encoder, FamilyEncoder, Label};
use crate::histogram::{DEFAULT_BUCKETS, bucket_index, check_bounds, write_series};
use crate::sync::{AtomicBool, AtomicU64, Ordering, ordering};
use crate::table::{Descriptor, Metric};

/// A histogram for hot paths that many threads share: per-thread cells, summed at scrape.
///
/// It is a [`Histogram`](crate::Histogram) in every way a scrape can see (the same buckets,
/// `NaN`, infinity and negative-value rules, the same consistency), and is declared the
/// same way, `buckets` included:
///
/// ```
/// use promstatic::{metric, ShardedHistogram};
///
/// /// Time to serve a request, observed by every worker thread.
/// #[metric(buckets = [0.001, 0.01, 0.1, 1])]
/// static SERVE_SECONDS: ShardedHistogram = ShardedHistogram::new();
///
/// std::thread::scope(|scope| {
///     for _ in 0..4 {
///         scope.spawn(|| {
///             for i in 0..1000 {
///                 SERVE_SECONDS.observe(f64::from(i) * 1e-4);
///             }
///         });
///     }
/// });
/// assert_eq!(SERVE_SECONDS.count(), 4000);
/// ```
///
/// # When to use it
///
/// When several threads observe one histogram at a high rate. An observation is a
/// thread-local read, the bucket search, and a load and a store each of the bucket and the
/// sum, all on lines this thread alone writes: it costs the same on 1 thread and on many,
/// and is cheaper than a plain histogram even on one (no locked instruction), where the
/// plain one slows down as soon as two cores share its lines.
///
/// # Cost
///
/// Memory: [`ShardedCounter::SHARDS`](crate::ShardedCounter::SHARDS) (64) copies of the
/// cells plus one shared copy, each `(B + 2) × 8` bytes rounded up to 128 (the padding of
/// `CachePadded` on x86-64 and aarch64), plus 128 for the rest: **8.25 KiB for up to 14
/// bounds** (the default 11 included), 16.4 KiB for 15 to 30, against about 120 bytes for a
/// plain histogram. That is
/// why it is a type of its own and not the default, and why there are no sharded families.
/// A scrape loads all 65 copies. More than 64 threads at once, and observations made while a
/// thread's thread-locals are being destroyed, use the shared copy (atomic read-modify-writes,
/// as a plain histogram): slower, never wrong.
#[derive(Debug)]
pub struct ShardedHistogram<const B: usize = 11> {
    bounds: &'static [f64; B],
    /// Copy `i` is written only by the thread holding shard `i`.
    shards: [CachePadded<Cells<B>>; SHARDS],
    /// The copy of threads that hold no shard, updated with read-modify-writes.
    shared: CachePadded<Cells<B>>,
    /// Set once a value below zero has been observed: `_sum` is no longer a counter.
    below_zero: AtomicBool,
}

/// One copy of a histogram's cells.
#[derive(Debug)]
struct Cells<const B: usize> {
    /// `buckets[i]` counts observations in `(bounds[i - 1], bounds[i]]`.
    buckets: [AtomicU64; B],
    /// Observations above the last bound, and `NaN`.
    overflow: AtomicU64,
    /// The sum of this copy's finite observations, as `f64` bits.
    sum: AtomicU64,
}

impl<const B: usize> Cells<B> {
    #[cfg(not(promstatic_loom))]
    const fn new() -> Self {
        Cells {
            buckets: [const { AtomicU64::new(0) }; B],
            overflow: AtomicU64::new(0),
            sum: AtomicU64::new(0),
        }
    }

    #[cfg(promstatic_loom)]
    fn new() -> Self {
        Cells {
            buckets: std::array::from_fn(|_| AtomicU64::new(0)),
            overflow: AtomicU64::new(0),
            sum: AtomicU64::new(0),
        }
    }

    #[inline]
    fn cell(&self, index: usize) -> &AtomicU64 {
        self.buckets.get(index).unwrap_or(&self.overflow)
    }
}

impl ShardedHistogram<11> {
    /// An empty histogram with Prometheus' [default bounds](DEFAULT_BUCKETS).
    #[cfg(not(promstatic_loom))]
    pub const fn new() -> Self {
        ShardedHistogram::with_bounds(&DEFAULT_BUCKETS)
    }

    /// An empty histogram with the default bounds (not `const` under the loom model).
    #[cfg(promstatic_loom)]
    pub fn new() -> Self {
        ShardedHistogram::with_bounds(&DEFAULT_BUCKETS)
    }
}

impl Default for ShardedHistogram<11> {
    fn default() -> Self {
        ShardedHistogram::new()
    }
}

impl<const B: usize> ShardedHistogram<B> {
    /// An empty histogram with these bounds, which must be finite and strictly increasing
    /// (checked when evaluated: in a `static`, at compile time).
    #[cfg(not(promstatic_loom))]
    pub const fn with_bounds(bounds: &'static [f64; B]) -> Self {
        check_bounds(bounds);
        ShardedHistogram {
            bounds,
            shards: [const { CachePadded::new(Cells::new()) }; SHARDS],
            shared: CachePadded::new(Cells::new()),
            below_zero: AtomicBool::new(false),
        }
    }

    /// An empty histogram with these bounds (not `const` under the loom model).
    #[cfg(promstatic_loom)]
    pub fn with_bounds(bounds: &'static [f64; B]) -> Self {
        check_bounds(bounds);
        ShardedHistogram {
            bounds,
            shards: std::array::from_fn(|_| CachePadded::new(Cells::new())),
            shared: CachePadded::new(Cells::new()),
            below_zero: AtomicBool::new(false),
        }
    }

    /// The finite bucket bounds, increasing (`+Inf` is implicit).
    pub fn bounds(&self) -> &'static [f64] {
        self.bounds
    }

    /// Counts `value` in its bucket and, if it is finite, adds it to the sum, as
    /// [`Histogram::observe`](crate::Histogram::observe) does.
    #[inline]
    pub fn observe(&self, value: f64) {
        let index = bucket_index(self.bounds, value);
        // The load first keeps a histogram that sees many negative values from writing the
        // flag's line on every one of them.
        if value < 0.0 && !self.below_zero.load(Ordering::Relaxed) {
            self.below_zero.store(true, Ordering::Relaxed);
        }
        match self.shards.get(shard()) {
            Some(cells) => {
                // This thread is the only writer of these cells (see the module docs), so a
                // load and a store lose nothing and need no locked instruction.
                let cell = cells.cell(index);
                cell.store(
                    cell.load(Ordering::Relaxed).wrapping_add(1),
                    Ordering::Relaxed,
                );
                if value.is_finite() {
                    let sum = f64::from_bits(cells.sum.load(Ordering::Relaxed)) + value;
                    // Release orders the `below_zero` store above before this change of the
                    // sum, for the scrape's acquire load of it.
                    cells.sum.store(sum.to_bits(), ordering(Ordering::Release));
                }
            }
            None => self.observe_shared(index, value),
        }
    }

    /// [`observe`](Self::observe) for a thread that holds no shard.
    #[cold]
    #[inline(never)]
    fn observe_shared(&self, index: usize, value: f64) {
        self.shared.cell(index).fetch_add(1, Ordering::Relaxed);
        if value.is_finite() {
            let mut current = self.shared.sum.load(Ordering::Relaxed);
            loop {
                let next = (f64::from_bits(current) + value).to_bits();
                // Release: as for a shard's sum, in `observe`.
                match self.shared.sum.compare_exchange_weak(
                    current,
                    next,
                    ordering(Ordering::Release),
                    Ordering::Relaxed,
                ) {
                    Ok(_) => break,
                    Err(actual) => current = actual,
                }
            }
        }
    }

    /// Observes a duration in seconds.
    #[inline]
    pub fn observe_duration(&self, duration: Duration) {
        self.observe(duration.as_secs_f64());
    }

    /// Every copy of the cells, the shared one last.
    fn copies(&self) -> impl Iterator<Item = &Cells<B>> {
        self.shards
            .iter()
            .map(|cells| &**cells)
            .chain(std::iter::once(&*self.shared))
    }

    /// Each bucket's own count (not cumulative), in bound order, then the `+Inf` cell's:
    /// every cell loaded once.
    fn counts(&self) -> ([u64; B], u64) {
        let mut buckets = [0u64; B];
        let mut overflow = 0u64;
        for cells in self.copies() {
            for (total, cell) in buckets.iter_mut().zip(&cells.buckets) {
                *total = total.wrapping_add(cell.load(Ordering::Relaxed));
            }
            overflow = overflow.wrapping_add(cells.overflow.load(Ordering::Relaxed));
        }
        (buckets, overflow)
    }

    /// The number of observations, summed from the buckets.
    pub fn count(&self) -> u64 {
        let (buckets, overflow) = self.counts();
        buckets
            .iter()
            .fold(overflow, |total, &count| total.wrapping_add(count))
    }

    /// The sum of the finite observations (the copies' sums, added in shard order).
    pub fn sum(&self) -> f64 {
        self.copies()
            // Acquire pairs with the observers' release: see the module docs.
            .map(|cells| f64::from_bits(cells.sum.load(ordering(Ordering::Acquire))))
            .sum()
    }

    /// Writes this histogram's samples with `labels`.
    fn encode_series(&self, writer: &mut FamilyEncoder<'_, '_>, labels: &[Label<'_>]) {
        let (buckets, overflow) = self.counts();
        let counts = buckets.into_iter().chain(std::iter::once(overflow));
        write_series(
            writer,
            labels,
            self.bounds,
            counts,
            |_| None,
            || {
                let sum = self.sum();
                // Loaded after the sums: a sum lowered by a negative value comes with the flag.
                let is_counter = self.bounds.first().is_none_or(|&lowest| lowest >= 0.0)
                    && !self.below_zero.load(Ordering::Relaxed);
                (sum, is_counter)
            },
        );
    }
}

impl<const B: usize> crate::sealed::Sealed for ShardedHistogram<B> {}

impl<const B: usize> Metric for ShardedHistogram<B> {
    fn encode(&self, descriptor: &Descriptor, encoder: &mut Encoder<'_>) {
        let mut writer = encoder.family_trusted(&descriptor.family());
        self.encode_series(&mut writer, &[]);
    }
}

#[cfg(all(test, not(promstatic_loom)))]
mod tests {
    use super::*;
    use crate::Histogram;

    static BOUNDS: [f64; 3] = [1.0, 2.0, 5.0];

    /// Every value that `Histogram`'s own tests use, in both: the same cells and sum.
    #[test]
    fn counts_like_a_plain_histogram() {
        let sharded = ShardedHistogram::with_bounds(&BOUNDS);
        let plain = Histogram::with_bounds(&BOUNDS);
        let values = [
            -3.0,
            0.5,
            1.0,
            1.0000001,
            2.0,
            4.9,
            5.0,
            5.1,
            f64::INFINITY,
            f64::NEG_INFINITY,
            f64::NAN,
        ];
        for value in values {
            sharded.observe(value);
            plain.observe(value);
        }
        let (buckets, overflow) = sharded.counts();
        assert_eq!(buckets, [4, 2, 2]);
        assert_eq!(overflow, 3);
        assert_eq!(sharded.count(), plain.count());
        assert_eq!(sharded.sum(), plain.sum());
        assert!(sharded.below_zero.load(Ordering::Relaxed));
    }

    #[test]
    fn the_shared_copy_counts_too() {
        let histogram = ShardedHistogram::with_bounds(&BOUNDS);
        histogram.observe(1.5);
        histogram.observe_shared(bucket_index(&BOUNDS, 7.0), 7.0);
        histogram.observe_shared(bucket_index(&BOUNDS, f64::NAN), f64::NAN);
        assert_eq!(histogram.counts(), ([0, 1, 0], 2));
        assert_eq!(histogram.sum(), 8.5);
    }

    #[test]
    fn exact_totals_across_threads() {
        static HISTOGRAM: ShardedHistogram<3> = ShardedHistogram::with_bounds(&BOUNDS);
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
        assert_eq!(HISTOGRAM.counts(), ([10_000, 5_000, 15_000], 10_000));
        assert_eq!(HISTOGRAM.sum(), 4.0 * 10_000.0 * 3.5);
    }

    #[test]
    fn memory_is_what_the_docs_say() {
        assert_eq!(std::mem::size_of::<Cells<14>>(), 128);
        assert_eq!(std::mem::size_of::<CachePadded<Cells<14>>>(), 128);
        assert_eq!(std::mem::size_of::<CachePadded<Cells<15>>>(), 256);
        // 65 padded copies, the bounds pointer and the flag (padded to the alignment).
        assert_eq!(std::mem::size_of::<ShardedHistogram>(), 65 * 128 + 128);
    }
}

/// A loom model of the shard hand-over on the real [`ShardedHistogram`] (one shard under
/// the model; see [`super`]). It runs once as written and once with the hand-over and the
/// sum's publication weakened to `Relaxed` ([`crate::sync::ordering`]), which must fail.
#[cfg(all(test, promstatic_loom))]
mod loom_models {
    use super::*;
    use crate::sync::model::strong_passes_weakened_fails;
    use loom::sync::Arc;
    use loom::thread;

    static BOUNDS: [f64; 1] = [1.0];

    /// Two threads observe twice each (one value per bucket); one holds the shard, the other
    /// uses the shared copy or, once the first has exited and freed the shard, takes it over
    /// and adds to the same cells. Two scrapes run meanwhile, each checked as a scraper
    /// would: `+Inf` is the count, buckets are cumulative, and nothing goes backwards.
    fn two_threads_share_one_shard() {
        crate::sharded::loom_table::install();
        let histogram = Arc::new(ShardedHistogram::with_bounds(&BOUNDS));
        let spawn = |value: f64| {
            let histogram = Arc::clone(&histogram);
            thread::spawn(move || {
                histogram.observe(value);
                histogram.observe(value + 2.0);
            })
        };
        let first = spawn(0.5);
        let second = spawn(0.25);
        let early = histogram.counts();
        let later = histogram.counts();
        assert!(
            early.0[0] <= later.0[0] && early.1 <= later.1,
            "a bucket went back from {early:?} to {later:?}"
        );
        assert!(later.0[0] <= 2 && later.1 <= 2, "{later:?} counts too much");
        first.join().unwrap();
        second.join().unwrap();
        assert_eq!(histogram.counts(), ([2], 2), "an observation was lost");
        assert_eq!(histogram.count(), 4);
        assert_eq!(histogram.sum(), 0.5 + 2.5 + 0.25 + 2.25, "a sum was lost");
    }

    #[test]
    fn loom_the_shard_hand_over_loses_no_observation() {
        strong_passes_weakened_fails(two_threads_share_one_shard);
    }
}
