//! [`NativeHistogram`]: Prometheus native (exponential, sparse) histograms in static storage.
//!
//! # Buckets
//!
//! A native histogram of schema `s` (−4 to 8) has bucket boundaries at the powers of
//! `base = 2^(2^-s)`: bucket `i` counts observations in `(base^(i-1), base^i]`, so every power
//! of two is a boundary and each octave is split into `2^s` buckets (schema 3: 8 buckets per
//! octave, each about 9% wide). Values `x` with `|x| <= zero_threshold` go to the *zero
//! bucket*.
//!
//! # Storage: dense, fixed at compile time
//!
//! Prometheus' clients allocate buckets as they are first hit (a map behind a lock, or
//! behind a hot/cold swap). Here the declaration fixes the *covered range* `low..high`: the
//! histogram holds one `AtomicU64` per bucket index from `index(low)` to `index(high)`,
//! inline, so it lives in a `static` with no heap and no lock. `#[metric(native(...))]`
//! computes the number of buckets; schema 3 over `1e-6..1e3` is 240 buckets (1.9 KiB).
//! Sparse spans and deltas are computed from the dense array at scrape time, skipping empty
//! buckets, so Prometheus receives and stores only the populated ones.
//!
//! # Observing: no `log()`
//!
//! [`NativeHistogram::observe`] finds the bucket from the bits of the `f64`: the exponent
//! field gives the octave, and for schemas above 0 the 52-bit mantissa is placed within the
//! octave by a table of the `2^s` boundary mantissas. The table lookup is one load and one
//! comparison, not a search: the top `s + 1` mantissa bits select a slot that holds the
//! number of boundaries below that slot's start, and since slots (`2^-(s+1)` of an octave)
//! are narrower than the gap between two boundaries (at least `ln 2 · 2^-s`), at most one
//! more boundary can lie inside the slot, which one comparison settles. For schemas 0 and
//! below the index is the exponent itself, shifted. Subnormal values are normalised first, so
//! every positive finite value has its exact bucket. The boundary tables are computed at
//! compile time in 64-bit fixed point (square roots of 2, then products) and rounded to the
//! nearest `f64`; Prometheus' own table rounds a few entries the other way, so a value
//! within one ulp of a boundary may land in the neighbouring bucket there and here.
//!
//! Then one relaxed `fetch_add` on the bucket and a relaxed compare-exchange loop on the sum,
//! exactly as for the classic [`Histogram`](crate::Histogram): observers never wait.
//!
//! # Values outside the covered range, negative values, `NaN`
//!
//! * Positive values above `high`, or below `low` but above the zero threshold, are counted
//!   in the first or last covered bucket (*clamped*), and a per-histogram counter records
//!   them: the self-metric `promstatic_native_observations_out_of_range_total{histogram="…",
//!   reason="clamped"}`. Quantiles stay usable; the counter says when the range is too
//!   narrow.
//! * Negative values, `NaN` and `±Inf` are *rejected*: not counted, not added to the sum,
//!   counted in the same self-metric with `reason="rejected"`. Native histograms here are for
//!   magnitudes (latencies, sizes), which is what a range with `low > 0` declares; storing
//!   negative buckets would double every histogram for values that are bugs. This also means
//!   `_sum` is never `NaN`, infinite or negative (issue #19's rule for OpenMetrics), and
//!   `-0.0` counts as zero.
//!
//! # Consistency
//!
//! As for the classic histogram: a scrape loads every cell once and derives the count from
//! those loads (`count == zero bucket + sum of the buckets written`), and no count goes
//! backwards between scrapes, because each cell only increases. `_sum` may tear against the
//! counts by in-flight observations (see the [`histogram`](crate::histogram) module docs).
//!
//! # Text formats
//!
//! Text 0.0.4 and OpenMetrics 1.0 cannot carry native buckets. A native-only histogram is
//! written there as a histogram with only `le="+Inf"`, `_sum` and `_count` (what `rate`
//! and averages need); declare classic bounds as well (`buckets = [...]`) to give text
//! scrapers real buckets: those are stored in their own cells, observed by the same call,
//! and sent in protobuf too, where Prometheus picks the native view.

//!
//! # Exemplars
//!
//! Opt-in, as for the classic histogram: `#[metric(native(…), exemplars)]` (or the type
//! argument `X = ExemplarSlot` and [`NativeHistogram::with_range_bounds_and_exemplars`])
//! gives the histogram **one [`ExemplarSlot`] per classic bucket: `C + 1` slots**, the last
//! for values above the last classic bound; a native-only histogram (`C = 0`) therefore
//! keeps exactly one, the most recent exemplar. [`observe_with_exemplar`] stores into the
//! slot of the classic bucket the value was counted in.
//!
//! Why per classic bucket and not per native bucket: a slot is 168 bytes, and one per native
//! bucket would be 39 KiB for the default 240 buckets, almost all of it never read; the
//! number of slots must also be fixed at compile time (static storage). The classic bounds
//! are the value ranges the user chose to tell apart, so they are the natural groups, and
//! they are where every consumer looks: OpenMetrics text has no native histograms, so there
//! the exemplars appear on the classic `_bucket` lines; in protobuf each classic
//! `Bucket.exemplar` (field 3) carries its slot's exemplar (where Prometheus up to 2.46 reads
//! a native histogram's exemplars) and `Histogram.exemplars` (field 16, "only used for
//! native histograms", read by later Prometheus versions) carries all of them again, each
//! with its timestamp as `metrics.proto` requires (one stored without a usable clock is left
//! out there). To keep a tail exemplar apart from the common case in a native-only
//! histogram, declare a classic bound or two (`buckets = [0.1]`).
//!
//! Without exemplars (`X = NoExemplars`, the default) the slots are zero-sized and
//! [`observe`](NativeHistogram::observe) is unchanged.
//!
//! [`ExemplarSlot`]: crate::exemplar::ExemplarSlot
//! [`observe_with_exemplar`]: NativeHistogram::observe_with_exemplar

use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use crate::encode::protobuf::{self, field};
use crate::encode::{Encoder, FamilyEncoder, Label, Suffix, Value};
use crate::exemplar::{
    EncodedLabels, ExemplarError, ExemplarLabelName, ExemplarSlot, ExemplarStorage, NoExemplars,
    Snapshot, Stored,
};
use crate::gauge::FloatGauge;
use crate::histogram::check_bounds;
use crate::table::{Descriptor, Metric};

/// The smallest schema Prometheus accepts (buckets 2^16 wide).
pub const MIN_SCHEMA: i8 = -4;
/// The largest schema Prometheus accepts (256 buckets per octave).
pub const MAX_SCHEMA: i8 = 8;
/// client_golang's default zero threshold, `2^-128`.
pub const DEFAULT_ZERO_THRESHOLD: f64 = 2.938735877055719e-39;

const MANTISSA_MASK: u64 = (1 << 52) - 1;

/// The longest run of empty buckets written as zeros inside a span rather than as a gap.
const MAX_GAP: u32 = 2;

/// One schema's boundary table; see the module docs.
struct Table {
    /// The mantissa bits of `2^(j / 2^s)` for `j < 2^s`; `u64::MAX` after them.
    bounds: [u64; 512],
    /// For each slot of the top `s + 1` mantissa bits: how many `bounds` are below its start.
    slots: [u16; 512],
}

/// 2^(2^-(k+1)) for k in 0..8, in fixed point with 63 fractional bits.
const fn roots_of_two() -> [u128; 8] {
    let mut roots = [0u128; 8];
    // 2.0 in Q63 is 2^64; sqrt(x) in Q63 is isqrt(X << 63).
    let mut previous: u128 = 1 << 64;
    let mut k = 0;
    while k < 8 {
        previous = (previous << 63).isqrt();
        roots[k] = previous;
        k += 1;
    }
    roots
}

const fn table(schema: u32) -> Table {
    let roots = roots_of_two();
    let mut bounds = [u64::MAX; 512];
    let count = 1usize << schema;
    let mut j = 0;
    while j < count {
        // 2^(j / 2^s) = product of 2^(2^b / 2^s) = roots[s - b - 1] over the set bits b of j.
        let mut value: u128 = 1 << 63;
        let mut bit = 0;
        while bit < schema {
            if j & (1 << bit) != 0 {
                let root = roots[(schema - bit - 1) as usize];
                value = (value * root + (1 << 62)) >> 63;
            }
            bit += 1;
        }
        // Round Q63 to 52 fraction bits; values are in [1, 2), so the integer bit is 1.
        let rounded = ((value + (1 << 10)) >> 11) as u64;
        bounds[j] = rounded & MANTISSA_MASK;
        j += 1;
    }
    let mut slots = [0u16; 512];
    let shift = 51 - schema;
    let mut slot = 0;
    let mut below = 0usize;
    while slot < (2usize << schema) {
        let start = (slot as u64) << shift;
        while below < count && bounds[below] < start {
            below += 1;
        }
        slots[slot] = below as u16;
        slot += 1;
    }
    Table { bounds, slots }
}

/// Tables for schemas 1 to 8 (index 0 unused: schemas 0 and below need none).
static TABLES: [Table; 9] = [
    table(0),
    table(1),
    table(2),
    table(3),
    table(4),
    table(5),
    table(6),
    table(7),
    table(8),
];

/// The index of the bucket that holds `value`, a positive finite number: `i` such that
/// `value` is in `(base^(i-1), base^i]` with `base = 2^(2^-schema)`.
///
/// Usable in const context. The result is unspecified (but no panic) for zero, negative or
/// non-finite values and for a schema outside −4..=8, which callers rule out.
///
/// ```
/// use promstatic::native::bucket_index;
///
/// assert_eq!(bucket_index(0, 1.0), 0); // (0.5, 1]
/// assert_eq!(bucket_index(0, 1.5), 1); // (1, 2]
/// assert_eq!(bucket_index(3, 2.0), 8); // 8 buckets per octave
/// assert_eq!(bucket_index(-1, 5.0), 2); // (4, 16]
/// ```
#[inline]
pub const fn bucket_index(schema: i8, value: f64) -> i32 {
    let bits = value.to_bits();
    let mut exponent = ((bits >> 52) & 0x7ff) as i32;
    let mut mantissa = bits & MANTISSA_MASK;
    if exponent == 0 {
        // Subnormal: move the leading one to bit 52 and lower the exponent to match.
        let shift = mantissa.leading_zeros().saturating_sub(11);
        mantissa = (mantissa << (shift & 63)) & MANTISSA_MASK;
        exponent = 1 - shift as i32;
    }
    // value = 1.mantissa * 2^octave.
    let octave = exponent - 1023;
    if schema > 0 {
        let schema = if schema > MAX_SCHEMA {
            8
        } else {
            schema as u32
        };
        let table = &TABLES[(schema as usize) % 9];
        let below = table.slots[((mantissa >> (51 - schema)) as usize) & 511] as usize;
        let inside = (table.bounds[below & 511] < mantissa) as usize;
        (below + inside) as i32 + (octave << schema)
    } else {
        // frexp's exponent is octave + 1; an exact power of two is the top of the bucket below.
        let key = octave + 1 - (mantissa == 0) as i32;
        let shift = ((-(schema as i32)) & 7) as u32;
        (key + (1 << shift) - 1) >> shift
    }
}

/// The upper bound `base^index` of bucket `index` in `schema` (−4..=8).
///
/// ```
/// use promstatic::native::bucket_upper_bound;
///
/// assert_eq!(bucket_upper_bound(3, 8), 2.0);
/// assert_eq!(bucket_upper_bound(-2, 1), 16.0);
/// ```
pub fn bucket_upper_bound(schema: i8, index: i32) -> f64 {
    if schema > 0 {
        let per_octave = 1i32 << schema;
        let octave = index.div_euclid(per_octave);
        let within = index.rem_euclid(per_octave) as usize;
        let mantissa = TABLES[schema as usize % 9].bounds[within % 512];
        let bound = f64::from_bits(1023 << 52 | mantissa);
        bound * power_of_two(octave)
    } else {
        power_of_two(index.saturating_mul(1 << ((-(schema as i32)) & 7)))
    }
}

/// `2^exponent`, exactly (from the bits; `powi` loses subnormals), 0 or `+Inf` beyond range.
fn power_of_two(exponent: i32) -> f64 {
    if exponent > 1023 {
        f64::INFINITY
    } else if exponent >= -1022 {
        f64::from_bits(((exponent + 1023) as u64) << 52)
    } else if exponent >= -1074 {
        f64::from_bits(1 << (exponent + 1074))
    } else {
        0.0
    }
}

/// The number of buckets that cover `low..=high` in `schema`; fails the build in const
/// context unless `0 < low < high`, both finite, and the schema is valid.
///
/// ```
/// use promstatic::native::bucket_count;
///
/// assert_eq!(bucket_count(0, 1.0, 1024.0), 11);
/// assert_eq!(bucket_count(3, 1e-6, 1e3), 240);
/// ```
pub const fn bucket_count(schema: i8, low: f64, high: f64) -> usize {
    check_layout(schema, low, high, 0.0);
    (bucket_index(schema, high) - bucket_index(schema, low) + 1) as usize
}

const fn check_layout(schema: i8, low: f64, high: f64, zero_threshold: f64) {
    assert!(
        schema >= MIN_SCHEMA && schema <= MAX_SCHEMA,
        "native histogram: the schema must be between -4 and 8"
    );
    assert!(
        low >= f64::MIN_POSITIVE && low.is_finite(),
        "native histogram: the range must start above zero (and be a normal, finite f64)"
    );
    assert!(
        high.is_finite() && low < high,
        "native histogram: the range must be finite and not empty"
    );
    assert!(
        zero_threshold >= 0.0 && zero_threshold.is_finite() && zero_threshold < low,
        "native histogram: the zero threshold must be finite, at least 0, and below the range"
    );
}

/// Observations counted into exponential buckets, exported as a Prometheus native histogram.
///
/// `S` is the schema, `N` the number of buckets covering the declared range, `C` the number
/// of classic bounds kept as well (0: none). Declare one with `#[metric(native(...))]`,
/// which writes the generic arguments and the initializer:
///
/// ```
/// use promstatic::{metric, NativeHistogram};
///
/// /// Request latency.
/// #[metric(native(schema = 3, range = 1e-6..1e3))]
/// static REQUEST_SECONDS: NativeHistogram = NativeHistogram::new();
///
/// /// Response sizes, also with classic buckets for text scrapers.
/// #[metric(native(schema = 2, range = 1.0..1e9), buckets = [1e3, 1e6])]
/// static RESPONSE_BYTES: NativeHistogram = NativeHistogram::new();
///
/// REQUEST_SECONDS.observe(0.004);
/// RESPONSE_BYTES.observe(1500.0);
/// assert_eq!(REQUEST_SECONDS.count(), 1);
/// ```
///
/// See the [module docs](self) for the bucket layout, the out-of-range rules and what text
/// scrapers see.
#[derive(Debug)]
pub struct NativeHistogram<
    const S: i8 = 3,
    const N: usize = 240,
    const C: usize = 0,
    X = NoExemplars,
> {
    /// The bucket index of `buckets[0]`.
    offset: i32,
    zero_threshold: f64,
    buckets: [AtomicU64; N],
    zero: AtomicU64,
    sum: FloatGauge,
    /// Observations counted in an edge bucket because they were outside the range.
    clamped: AtomicU64,
    /// Observations not counted: negative, `NaN`, infinite.
    rejected: AtomicU64,
    classic_bounds: &'static [f64; C],
    /// `classic[i]` counts accepted observations in `(bounds[i - 1], bounds[i]]`.
    classic: [AtomicU64; C],
    /// Accepted observations above the last classic bound.
    classic_overflow: AtomicU64,
    /// One exemplar per classic bucket (zero-sized without exemplars); see the module docs.
    exemplars: [X; C],
    /// The exemplar of values above the last classic bound (of every value when `C = 0`).
    overflow_exemplar: X,
}

impl NativeHistogram {
    /// Schema 3 over `1e-6..1e3` (a microsecond to about 17 minutes, in seconds) with the
    /// default zero threshold: what `#[metric(native)]` with no arguments declares.
    pub const fn new() -> Self {
        NativeHistogram::with_range(1e-6, 1e3, DEFAULT_ZERO_THRESHOLD)
    }
}

impl Default for NativeHistogram {
    fn default() -> Self {
        NativeHistogram::new()
    }
}

impl<const S: i8, const N: usize> NativeHistogram<S, N, 0> {
    /// An empty histogram covering `low..=high` with zero threshold `zero_threshold`. The
    /// build fails (in a `static`) unless the layout is valid and `N` is
    /// [`bucket_count(S, low, high)`](bucket_count).
    pub const fn with_range(low: f64, high: f64, zero_threshold: f64) -> Self {
        NativeHistogram::with_range_and_bounds(low, high, zero_threshold, &[])
    }
}

impl<const S: i8, const N: usize, const C: usize> NativeHistogram<S, N, C> {
    /// As [`with_range`](NativeHistogram::with_range), also counting into the classic
    /// `bounds` (finite, strictly increasing) for the text formats.
    pub const fn with_range_and_bounds(
        low: f64,
        high: f64,
        zero_threshold: f64,
        bounds: &'static [f64; C],
    ) -> Self {
        NativeHistogram::build(
            low,
            high,
            zero_threshold,
            bounds,
            [NoExemplars::new(); C],
            NoExemplars::new(),
        )
    }
}

#[cfg(not(promstatic_loom))]
impl<const S: i8, const N: usize, const C: usize> NativeHistogram<S, N, C, ExemplarSlot> {
    /// As [`with_range_and_bounds`](NativeHistogram::with_range_and_bounds), with one
    /// exemplar slot per classic bucket (`C + 1` slots of 168 bytes; see the [module
    /// docs](self#exemplars)).
    pub const fn with_range_bounds_and_exemplars(
        low: f64,
        high: f64,
        zero_threshold: f64,
        bounds: &'static [f64; C],
    ) -> Self {
        NativeHistogram::build(
            low,
            high,
            zero_threshold,
            bounds,
            [const { ExemplarSlot::new() }; C],
            ExemplarSlot::new(),
        )
    }
}

impl<const S: i8, const N: usize, const C: usize> NativeHistogram<S, N, C, ExemplarSlot> {
    /// Observes `value` as [`observe`](NativeHistogram::observe) does, and stores it with
    /// these labels and the current time as the exemplar of its classic bucket (the only slot
    /// when there are no classic bounds).
    ///
    /// The observation is counted as by `observe`. The exemplar is refused (and counted in
    /// `promstatic_exemplars_refused_total`) if a name is invalid or the labels exceed 128
    /// characters; it is skipped ([`Stored::Busy`]) if another thread is storing one in the
    /// same slot, and not stored ([`Stored::NotCounted`]) for a value `observe` rejects
    /// (negative, `NaN`, infinite), which no bucket holds.
    #[inline]
    pub fn observe_with_exemplar<L: ExemplarLabelName>(
        &self,
        value: f64,
        labels: &[(L, &str)],
    ) -> Result<Stored, ExemplarError> {
        let Some(index) = self.observe_classic_index(value) else {
            return Ok(Stored::NotCounted);
        };
        let labels = EncodedLabels::new(labels)?;
        let slot = self.exemplars.get(index).unwrap_or(&self.overflow_exemplar);
        Ok(slot.store(value, &labels))
    }

    /// The exemplar of classic bucket `index` (`C`, the number of classic bounds, is the
    /// slot for values above the last one, and the only slot when there are none), if it holds
    /// a consistent one.
    pub fn exemplar(&self, index: usize) -> Option<Snapshot> {
        match self.exemplars.get(index) {
            Some(slot) => slot.read(),
            None if index == C => self.overflow_exemplar.read(),
            None => None,
        }
    }
}

impl<const S: i8, const N: usize, const C: usize, X: ExemplarStorage> NativeHistogram<S, N, C, X> {
    /// The one constructor body, whatever the exemplar storage.
    const fn build(
        low: f64,
        high: f64,
        zero_threshold: f64,
        bounds: &'static [f64; C],
        exemplars: [X; C],
        overflow_exemplar: X,
    ) -> Self {
        check_layout(S, low, high, zero_threshold);
        if C > 0 {
            check_bounds(bounds);
        }
        let offset = bucket_index(S, low);
        assert!(
            N == (bucket_index(S, high) - offset + 1) as usize,
            "native histogram: N must be bucket_count(S, low, high)"
        );
        NativeHistogram {
            offset,
            zero_threshold,
            buckets: [const { AtomicU64::new(0) }; N],
            zero: AtomicU64::new(0),
            sum: FloatGauge::new(),
            clamped: AtomicU64::new(0),
            rejected: AtomicU64::new(0),
            classic_bounds: bounds,
            classic: [const { AtomicU64::new(0) }; C],
            classic_overflow: AtomicU64::new(0),
            exemplars,
            overflow_exemplar,
        }
    }

    /// Counts `value` in its bucket and adds it to the sum; see the module docs for values
    /// outside the range.
    #[inline]
    pub fn observe(&self, value: f64) {
        // NaN fails every comparison, so this also rejects it; -0.0 passes (>= 0.0).
        if !(0.0..f64::INFINITY).contains(&value) {
            self.rejected.fetch_add(1, Ordering::Relaxed);
            return;
        }
        self.count_accepted(value);
    }

    /// [`observe`](Self::observe), returning the classic bucket the value was counted in
    /// (`C` above the last bound, and always when `C = 0`), or `None` if it was rejected.
    #[inline]
    fn observe_classic_index(&self, value: f64) -> Option<usize> {
        if !(0.0..f64::INFINITY).contains(&value) {
            self.rejected.fetch_add(1, Ordering::Relaxed);
            return None;
        }
        Some(self.count_accepted(value))
    }

    /// Counts an accepted value (`0 <= value < +Inf`) in its native bucket and its classic
    /// bucket, adds it to the sum, and returns the classic bucket's index.
    #[inline(always)]
    fn count_accepted(&self, value: f64) -> usize {
        if value <= self.zero_threshold {
            self.zero.fetch_add(1, Ordering::Relaxed);
        } else {
            let position = bucket_index(S, value).wrapping_sub(self.offset);
            let last = N as i32 - 1;
            let cell = if position < 0 || position > last {
                self.clamped.fetch_add(1, Ordering::Relaxed);
                position.clamp(0, last.max(0))
            } else {
                position
            };
            if let Some(cell) = self.buckets.get(cell as usize) {
                cell.fetch_add(1, Ordering::Relaxed);
            }
        }
        let mut index = 0;
        if C > 0 {
            index = self.classic_bounds.partition_point(|&bound| bound < value);
            self.classic
                .get(index)
                .unwrap_or(&self.classic_overflow)
                .fetch_add(1, Ordering::Relaxed);
        }
        self.sum.add(value);
        index
    }

    /// Observes a duration in seconds.
    #[inline]
    pub fn observe_duration(&self, duration: Duration) {
        self.observe(duration.as_secs_f64());
    }

    /// The schema.
    pub const fn schema(&self) -> i8 {
        S
    }

    /// The zero threshold.
    pub const fn zero_threshold(&self) -> f64 {
        self.zero_threshold
    }

    /// The indices of the first and last covered buckets.
    pub const fn covered_indices(&self) -> (i32, i32) {
        (self.offset, self.offset + N as i32 - 1)
    }

    /// The number of counted observations (zero bucket plus every bucket).
    pub fn count(&self) -> u64 {
        self.buckets
            .iter()
            .fold(self.zero.load(Ordering::Relaxed), |total, cell| {
                total.wrapping_add(cell.load(Ordering::Relaxed))
            })
    }

    /// The sum of counted observations.
    pub fn sum(&self) -> f64 {
        self.sum.get()
    }

    /// The count in bucket `index`, or in the zero bucket for `None`; 0 outside the range.
    pub fn bucket(&self, index: Option<i32>) -> u64 {
        let Some(index) = index else {
            return self.zero.load(Ordering::Relaxed);
        };
        usize::try_from(index.wrapping_sub(self.offset))
            .ok()
            .and_then(|position| self.buckets.get(position))
            .map_or(0, |cell| cell.load(Ordering::Relaxed))
    }

    /// Observations clamped into an edge bucket, and observations rejected.
    pub fn out_of_range(&self) -> OutOfRange {
        OutOfRange {
            clamped: self.clamped.load(Ordering::Relaxed),
            rejected: self.rejected.load(Ordering::Relaxed),
        }
    }

    /// Writes this histogram's series with `labels`: native in protobuf, the classic view in
    /// the text formats.
    pub(crate) fn encode_series(&self, writer: &mut FamilyEncoder<'_, '_>, labels: &[Label<'_>]) {
        if writer.protobuf_histogram(labels, |out| self.write_protobuf(out)) {
            return;
        }
        let mut cumulative = 0u64;
        if C == 0 {
            cumulative = self.count();
        } else {
            // As for the classic histogram, an exemplar is read after its bucket's count.
            for ((cell, &bound), slot) in self
                .classic
                .iter()
                .zip(self.classic_bounds.iter())
                .zip(self.exemplars.iter())
            {
                cumulative = cumulative.wrapping_add(cell.load(Ordering::Relaxed));
                writer.bucket_trusted_with_exemplar(
                    labels,
                    bound,
                    cumulative,
                    slot.snapshot().as_ref(),
                );
            }
            cumulative = cumulative.wrapping_add(self.classic_overflow.load(Ordering::Relaxed));
        }
        let overflow = self.overflow_exemplar.snapshot();
        writer.bucket_trusted_with_exemplar(labels, f64::INFINITY, cumulative, overflow.as_ref());
        writer.sample_trusted(Suffix::Sum, labels, Value::Float(self.sum()));
        writer.sample_trusted(Suffix::Count, labels, Value::Unsigned(cumulative));
    }

    /// The body of a protobuf `Histogram` message. Each cell is loaded once: runs of
    /// non-empty buckets become one `BucketSpan` each, preceded by a packed chunk of their
    /// deltas (repeated fields may be split into several chunks; decoders concatenate them),
    /// and `sample_count` is the zero bucket plus exactly the counts written.
    fn write_protobuf(&self, out: &mut Vec<u8>) {
        protobuf::sint_field(out, field::HISTOGRAM_SCHEMA, i64::from(S));
        protobuf::double_field(out, field::HISTOGRAM_ZERO_THRESHOLD, self.zero_threshold);
        let zero = self.zero.load(Ordering::Relaxed);
        protobuf::uint_field(out, field::HISTOGRAM_ZERO_COUNT, zero);
        let mut count = zero;
        let mut previous = 0u64;
        // The index after the last span's end (for the next span's gap), and the open run.
        let mut next_index: Option<i32> = None;
        let mut run: Option<(usize, i32, u32)> = None; // (delta chunk, first index, length)
        let mut spans = 0usize;
        // Empty buckets seen since the run's last non-empty one: up to `MAX_GAP` of them are
        // sent as zero counts inside the run (cheaper than a new span, as client_golang does).
        let mut gap = 0u32;
        for (position, cell) in self.buckets.iter().enumerate() {
            let value = cell.load(Ordering::Relaxed);
            let index = self.offset + position as i32;
            if value == 0 {
                if run.is_some() {
                    gap += 1;
                    if gap > MAX_GAP
                        && let Some((chunk, first, length)) = run.take()
                    {
                        end_run(out, chunk, first, length, &mut next_index);
                        spans += 1;
                    }
                }
                continue;
            }
            let (chunk, first, mut length) = match run {
                Some(open) => open,
                None => {
                    gap = 0;
                    (
                        protobuf::open(out, field::HISTOGRAM_POSITIVE_DELTA),
                        index,
                        0,
                    )
                }
            };
            for _ in 0..gap {
                protobuf::varint(out, protobuf::zigzag(0i64.wrapping_sub(previous as i64)));
                previous = 0;
                length += 1;
            }
            gap = 0;
            // Deltas are signed differences between neighbouring written counts.
            let delta = value.wrapping_sub(previous) as i64;
            protobuf::varint(out, protobuf::zigzag(delta));
            previous = value;
            count = count.wrapping_add(value);
            run = Some((chunk, first, length + 1));
        }
        if let Some((chunk, first, length)) = run {
            end_run(out, chunk, first, length, &mut next_index);
            spans += 1;
        }
        if spans == 0 {
            // The "no-op span" that marks an empty histogram as native (metrics.proto).
            let at = protobuf::open(out, field::HISTOGRAM_POSITIVE_SPAN);
            protobuf::close(out, at);
        }
        protobuf::uint_field(out, field::HISTOGRAM_SAMPLE_COUNT, count);
        protobuf::double_field(out, field::HISTOGRAM_SAMPLE_SUM, self.sum());
        // Classic buckets, if declared; `+Inf` is implied by `sample_count`. Their cells are
        // separate from the native ones, so an in-flight observation could make them exceed
        // `count` for one scrape: they are capped at it so buckets never exceed the total.
        //
        // Each slot is read once: the same copy goes into its classic bucket (where Prometheus
        // up to 2.46 reads a native histogram's exemplars) and into `Histogram.exemplars`.
        let mut cumulative = 0u64;
        for ((cell, &bound), slot) in self
            .classic
            .iter()
            .zip(self.classic_bounds.iter())
            .zip(self.exemplars.iter())
        {
            cumulative = cumulative.wrapping_add(cell.load(Ordering::Relaxed));
            let exemplar = slot.snapshot();
            write_bucket(out, cumulative.min(count), bound, exemplar.as_ref());
            native_exemplar(out, exemplar.as_ref());
        }
        // `+Inf` is implied by `sample_count`; it is written only to carry an exemplar, as
        // for the classic histogram (and as client_golang does).
        let overflow = self.overflow_exemplar.snapshot();
        if overflow.is_some() {
            write_bucket(out, count, f64::INFINITY, overflow.as_ref());
            native_exemplar(out, overflow.as_ref());
        }
    }
}

/// A classic `Bucket` of a native histogram's protobuf message, with its exemplar if any.
fn write_bucket(out: &mut Vec<u8>, cumulative: u64, bound: f64, exemplar: Option<&Snapshot>) {
    let at = protobuf::open(out, field::HISTOGRAM_BUCKET);
    protobuf::uint_field(out, field::BUCKET_CUMULATIVE_COUNT, cumulative);
    protobuf::double_field(out, field::BUCKET_UPPER_BOUND, bound);
    if let Some(exemplar) = exemplar {
        protobuf::exemplar_field(out, field::BUCKET_EXEMPLAR, exemplar);
    }
    protobuf::close(out, at);
}

/// One of `Histogram.exemplars`, which `metrics.proto` requires to have a timestamp: an
/// exemplar stored while the clock was unusable is left out here (it stays on its bucket).
fn native_exemplar(out: &mut Vec<u8>, exemplar: Option<&Snapshot>) {
    if let Some(exemplar) = exemplar.filter(|exemplar| exemplar.timestamp_nanos().is_some()) {
        protobuf::exemplar_field(out, field::HISTOGRAM_EXEMPLARS, exemplar);
    }
}

/// Closes a run's delta chunk and writes its span: the first span's offset is its absolute
/// starting index, later ones the gap since the previous span's end.
fn end_run(out: &mut Vec<u8>, chunk: usize, first: i32, length: u32, next: &mut Option<i32>) {
    protobuf::close(out, chunk);
    let offset = match *next {
        None => first,
        Some(next) => first - next,
    };
    let at = protobuf::open(out, field::HISTOGRAM_POSITIVE_SPAN);
    protobuf::sint_field(out, field::SPAN_OFFSET, i64::from(offset));
    protobuf::uint_field(out, field::SPAN_LENGTH, u64::from(length));
    protobuf::close(out, at);
    *next = Some(first + length as i32);
}

/// What a native histogram did not count normally; see the module docs.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct OutOfRange {
    /// Counted in the first or last covered bucket because outside the range.
    pub clamped: u64,
    /// Not counted: negative, `NaN` or infinite.
    pub rejected: u64,
}

impl OutOfRange {
    pub(crate) fn add(self, other: OutOfRange) -> OutOfRange {
        OutOfRange {
            clamped: self.clamped.wrapping_add(other.clamped),
            rejected: self.rejected.wrapping_add(other.rejected),
        }
    }
}

impl<const S: i8, const N: usize, const C: usize, X: ExemplarStorage> crate::sealed::Sealed
    for NativeHistogram<S, N, C, X>
{
}

impl<const S: i8, const N: usize, const C: usize, X: ExemplarStorage> Metric
    for NativeHistogram<S, N, C, X>
{
    fn encode(&self, descriptor: &Descriptor, encoder: &mut Encoder<'_>) {
        let mut writer = encoder.family_trusted(&descriptor.family());
        self.encode_series(&mut writer, &[]);
    }

    fn native_out_of_range(&self) -> Option<OutOfRange> {
        Some(self.out_of_range())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The slow reference: `ceil(log2(value) * 2^schema)`, from the definition of the
    /// buckets, in floating point (only trusted away from boundaries).
    fn reference(schema: i8, value: f64) -> f64 {
        (value.log2() * 2f64.powi(i32::from(schema))).ceil()
    }

    /// A small deterministic generator (xorshift), so failures reproduce.
    struct Random(u64);
    impl Random {
        fn next(&mut self) -> u64 {
            self.0 ^= self.0 << 13;
            self.0 ^= self.0 >> 7;
            self.0 ^= self.0 << 17;
            self.0
        }
    }

    fn check(schema: i8, value: f64) {
        let index = bucket_index(schema, value);
        let expected = reference(schema, value);
        if f64::from(index) == expected {
            return;
        }
        // Disagreement is only allowed when `value` is within a few ulps of a boundary,
        // where `log2` cannot decide; then the index must be one of the two neighbours and
        // agree with our own boundary: value <= upper bound of `index`, > that of `index-1`.
        assert!(
            (f64::from(index) - expected).abs() <= 1.0,
            "schema {schema} value {value:e}: index {index}, reference {expected}"
        );
        let upper = bucket_upper_bound(schema, index);
        let lower = bucket_upper_bound(schema, index - 1);
        let scale = value * 4.0 * f64::EPSILON;
        assert!(
            (value - upper).abs() <= scale || (value - lower).abs() <= scale,
            "schema {schema} value {value:e}: index {index}, reference {expected}, not near a \
             boundary ({lower:e}, {upper:e}]"
        );
    }

    #[test]
    fn index_matches_the_log2_reference_on_random_values() {
        let mut random = Random(0x9e37_79b9_7f4a_7c15);
        for schema in MIN_SCHEMA..=MAX_SCHEMA {
            for _ in 0..40_000 {
                // Random positive finite f64 of any magnitude, subnormals included.
                let bits = random.next() & !(1 << 63);
                let value = f64::from_bits(bits);
                if !value.is_finite() || value == 0.0 {
                    continue;
                }
                check(schema, value);
            }
            for _ in 0..20_000 {
                // Values of ordinary magnitudes, densely.
                let value = (random.next() >> 11) as f64 / (1u64 << 53) as f64 * 100.0;
                if value > 0.0 {
                    check(schema, value);
                }
            }
        }
    }

    #[test]
    fn exact_boundaries_belong_to_the_bucket_below() {
        for schema in MIN_SCHEMA..=MAX_SCHEMA {
            for index in -200..200 {
                let bound = bucket_upper_bound(schema, index);
                if bound == 0.0 || !bound.is_finite() {
                    continue;
                }
                assert_eq!(
                    bucket_index(schema, bound),
                    index,
                    "schema {schema} {bound:e}"
                );
                let above = f64::from_bits(bound.to_bits() + 1);
                assert_eq!(
                    bucket_index(schema, above),
                    index + 1,
                    "schema {schema} {above:e}"
                );
                let below = f64::from_bits(bound.to_bits() - 1);
                assert_eq!(
                    bucket_index(schema, below),
                    index,
                    "schema {schema} {below:e}"
                );
            }
            // Powers of two are boundaries in every schema: 2^k is the top of bucket k·2^s.
            for k in [-1074, -1050, -1022, -1, 0, 1, 10, 1023] {
                let value = power_of_two(k);
                let expected = if schema >= 0 {
                    k << schema
                } else {
                    // ceil(k / 2^-schema)
                    (k + (1 << -schema) - 1) >> -schema
                };
                assert_eq!(
                    bucket_index(schema, value),
                    expected,
                    "schema {schema} 2^{k}"
                );
            }
        }
    }

    #[test]
    fn table_matches_powers_of_two_to_one_ulp() {
        for schema in 1..=MAX_SCHEMA {
            for j in 0..(1 << schema) {
                let ours = bucket_upper_bound(schema, j);
                let libm = 2f64.powf(f64::from(j) / f64::from(1 << schema));
                let ulps = ours.to_bits().abs_diff(libm.to_bits());
                assert!(ulps <= 1, "schema {schema} j {j}: {ours} vs {libm}");
            }
        }
    }

    #[test]
    fn extremes() {
        assert_eq!(bucket_index(0, f64::MAX), 1024);
        // Powers of two are the top of their bucket.
        assert_eq!(bucket_index(0, f64::MIN_POSITIVE), -1022);
        assert_eq!(bucket_index(0, f64::from_bits(1)), -1074);
        assert_eq!(bucket_index(0, f64::from_bits(3)), -1072);
        assert_eq!(bucket_index(8, f64::MAX), 1024 << 8);
        assert_eq!(bucket_index(-4, f64::MAX), 64);
    }

    #[test]
    fn observe_counts_clamps_and_rejects() {
        static H: NativeHistogram<0, 4> = NativeHistogram::with_range(1.0, 8.0, 0.001);
        assert_eq!(H.covered_indices(), (0, 3));
        for value in [0.0, -0.0, 0.001, 1.0, 1.5, 2.0, 3.0, 8.0, 9.0, 0.5, 1e300] {
            H.observe(value);
        }
        for value in [-1.0, f64::NAN, f64::INFINITY, f64::NEG_INFINITY] {
            H.observe(value);
        }
        assert_eq!(H.bucket(None), 3);
        // 0.5 clamped to bucket 0 with 1.0; 9 and 1e300 clamped to bucket 3 with 8.
        assert_eq!(
            (0..4).map(|i| H.bucket(Some(i))).collect::<Vec<_>>(),
            [2, 2, 1, 3]
        );
        assert_eq!(H.count(), 11);
        assert_eq!(
            H.out_of_range(),
            OutOfRange {
                clamped: 3,
                rejected: 4
            }
        );
        assert_eq!(
            H.sum(),
            0.001 + 1.0 + 1.5 + 2.0 + 3.0 + 8.0 + 9.0 + 0.5 + 1e300
        );
    }

    // The exemplar constructors are `const` over real atomics: not built under loom.
    #[cfg(not(promstatic_loom))]
    #[test]
    fn exemplars_go_to_the_classic_bucket_the_value_was_counted_in() {
        static H: NativeHistogram<0, 4, 2, ExemplarSlot> =
            NativeHistogram::with_range_bounds_and_exemplars(1.0, 8.0, 0.001, &[2.0, 4.0]);
        let id = [("trace_id", "a")];
        assert_eq!(H.observe_with_exemplar(1.5, &id), Ok(Stored::Stored));
        assert_eq!(H.observe_with_exemplar(3.0, &id), Ok(Stored::Stored));
        // Clamped into the last native bucket, and above every classic bound.
        assert_eq!(H.observe_with_exemplar(1e6, &id), Ok(Stored::Stored));
        assert_eq!(
            H.observe_with_exemplar(f64::NAN, &id),
            Ok(Stored::NotCounted)
        );
        let values: Vec<Option<f64>> = (0..4)
            .map(|index| H.exemplar(index).map(|exemplar| exemplar.value()))
            .collect();
        assert_eq!(values, [Some(1.5), Some(3.0), Some(1e6), None]);
        assert_eq!(H.count(), 3);
        assert_eq!(
            H.out_of_range(),
            OutOfRange {
                clamped: 1,
                rejected: 1
            }
        );
    }

    #[test]
    fn counts_are_exact_across_threads() {
        static H: NativeHistogram<2, { bucket_count(2, 0.01, 100.0) }, 2> =
            NativeHistogram::with_range_and_bounds(0.01, 100.0, 0.0, &[1.0, 10.0]);
        std::thread::scope(|scope| {
            for thread in 0..4 {
                scope.spawn(move || {
                    for i in 0..10_000 {
                        H.observe(f64::from((i + thread) % 20) * 0.5);
                    }
                });
            }
        });
        assert_eq!(H.count(), 40_000);
        // 0.0 goes to the zero bucket (threshold 0): 1/20 of the values.
        assert_eq!(H.bucket(None), 2_000);
        let classic: Vec<u64> = H
            .classic
            .iter()
            .map(|c| c.load(Ordering::Relaxed))
            .collect();
        // 0, 0.5, 1.0 → le 1; 1.5..=9.5 (17 values) → le 10; none above.
        assert_eq!(classic, [6_000, 34_000]);
        assert_eq!(H.classic_overflow.load(Ordering::Relaxed), 0);
    }
}
