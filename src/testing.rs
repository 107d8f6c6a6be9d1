//! Helpers for testing code that records metrics into statics.
//!
//! Statics are process-wide and `cargo test` runs tests in parallel threads, so a test that
//! asserts a counter's absolute value sees every other test's increments too. These helpers
//! read a metric's current value ([`value`]), take a [`snapshot`] so a test asserts only on
//! what happened *since* (its [`Snapshot::delta`]), and render one metric's exposition
//! ([`render`]) for golden tests.
//!
//! A handler and its unit test:
//!
//! ```
//! use promstatic::{metric, Counter, DynCounterFamily, Histogram};
//! use promstatic::testing::{self, Format};
//!
//! /// Orders accepted.
//! #[metric]
//! static ORDERS_TOTAL: Counter = Counter::new();
//!
//! /// Orders by customer tier.
//! #[metric(labels(tier: &str), capacity = 8)]
//! static ORDERS_BY_TIER_TOTAL: DynCounterFamily = DynCounterFamily::new();
//!
//! /// Order sizes, in items.
//! #[metric(buckets = [1.0, 5.0, 10.0])]
//! static ORDER_ITEMS: Histogram = Histogram::new();
//!
//! fn accept_order(tier: &str, items: usize) {
//!     ORDERS_TOTAL.inc();
//!     ORDERS_BY_TIER_TOTAL.with((tier,)).inc();
//!     ORDER_ITEMS.observe(items as f64);
//! }
//!
//! // The test: other tests may accept orders at the same time, so it asserts on deltas.
//! let orders = testing::snapshot(&ORDERS_TOTAL);
//! let by_tier = testing::snapshot(&ORDERS_BY_TIER_TOTAL);
//! let items = testing::snapshot(&ORDER_ITEMS);
//!
//! accept_order("gold", 3);
//! accept_order("gold", 12);
//!
//! assert_eq!(orders.delta(), 2);
//! assert_eq!(by_tier.delta().get(&["gold"]), Some(&2));
//! let items = items.delta();
//! assert_eq!((items.count, items.sum), (2, 15.0));
//! // Per bucket (not cumulative): `le="5"` got one, `+Inf` the other.
//! assert_eq!(items.buckets, [(1.0, 0), (5.0, 1), (10.0, 0), (f64::INFINITY, 1)]);
//!
//! // A golden test of one metric's exposition (only sound where no other test touches it).
//! let text = testing::render(&ORDER_ITEMS, Format::Text).unwrap();
//! assert!(text.starts_with("# HELP order_items Order sizes, in items.\n# TYPE order_items histogram\n"));
//! ```
//!
//! # Which tests a delta isolates
//!
//! A delta subtracts whatever the metric held when the snapshot was taken, so what earlier
//! tests did no longer matters. What a test running *at the same time* does to the same
//! series still shows in the delta: give each test its own series (its own label value in
//! a dynamic family, as above with a tier per test) or its own static, or run those tests
//! one after another. A family's delta has every series of the family, those the test did
//! not touch at zero; [`FamilyValue::get`] is `None` only for a label set the family does
//! not have (yet).
//!
//! Reading allocates (the family and histogram values are `Vec`s): these helpers are for
//! tests, never for the hot path.

use std::fmt;

use crate::counter::Counter;
use crate::dynamic::{DynFamily, DynLabelSet, OVERFLOW_VALUE};
use crate::encode::Encoder;
pub use crate::encode::Format;
use crate::family::MetricFamily;
use crate::gauge::{FloatGauge, Gauge};
use crate::histogram::Histogram;
use crate::label::LabelSet;
use crate::sharded::ShardedCounter;
use crate::table::{Descriptor, Metric};

/// A metric whose current value a test can read.
pub trait Readable {
    /// What a reading holds.
    type Value: Delta + fmt::Debug + Clone + PartialEq;

    /// The current value.
    fn read(&self) -> Self::Value;
}

/// A reading that can be compared with an earlier one of the same metric.
pub trait Delta {
    /// What was added between `earlier` and `self` (for a gauge: the change, which may be
    /// negative).
    fn delta(&self, earlier: &Self) -> Self;
}

/// The current value of `metric`.
pub fn value<M: Readable + ?Sized>(metric: &M) -> M::Value {
    metric.read()
}

/// Remembers `metric`'s value now, to assert later on what changed since.
pub fn snapshot<M: Readable + ?Sized>(metric: &M) -> Snapshot<'_, M> {
    Snapshot {
        metric,
        before: metric.read(),
    }
}

/// A metric's value at one moment; see [`snapshot`].
pub struct Snapshot<'m, M: Readable + ?Sized> {
    metric: &'m M,
    before: M::Value,
}

impl<M: Readable + ?Sized> Snapshot<'_, M> {
    /// What changed between the snapshot and now.
    pub fn delta(&self) -> M::Value {
        self.metric.read().delta(&self.before)
    }

    /// The value when the snapshot was taken.
    pub fn before(&self) -> &M::Value {
        &self.before
    }
}

impl<M: Readable + ?Sized> fmt::Debug for Snapshot<'_, M> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Snapshot")
            .field("before", &self.before)
            .finish_non_exhaustive()
    }
}

impl Delta for u64 {
    fn delta(&self, earlier: &u64) -> u64 {
        // Counters only grow; wrapping keeps a counter that wrapped around u64 exact.
        self.wrapping_sub(*earlier)
    }
}

impl Delta for i64 {
    fn delta(&self, earlier: &i64) -> i64 {
        self.wrapping_sub(*earlier)
    }
}

impl Delta for f64 {
    fn delta(&self, earlier: &f64) -> f64 {
        self - earlier
    }
}

impl Readable for Counter {
    type Value = u64;
    fn read(&self) -> u64 {
        self.get()
    }
}

impl Readable for ShardedCounter {
    type Value = u64;
    fn read(&self) -> u64 {
        self.get()
    }
}

impl Readable for Gauge {
    type Value = i64;
    fn read(&self) -> i64 {
        self.get()
    }
}

impl Readable for FloatGauge {
    type Value = f64;
    fn read(&self) -> f64 {
        self.get()
    }
}

/// A histogram's reading.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct HistogramValue {
    /// Observations (the sum of the buckets' counts).
    pub count: u64,
    /// The sum of observations.
    pub sum: f64,
    /// Each bucket's upper bound and its own count (not cumulative, unlike the exposition's
    /// `_bucket` lines), in increasing order, `+Inf` last.
    pub buckets: Vec<(f64, u64)>,
}

impl HistogramValue {
    /// The count of bucket `le = bound` as the exposition shows it: cumulative.
    pub fn cumulative(&self, bound: f64) -> Option<u64> {
        let position = self.buckets.iter().position(|&(le, _)| le == bound)?;
        Some(
            self.buckets
                .iter()
                .take(position + 1)
                .map(|&(_, n)| n)
                .sum(),
        )
    }
}

impl Delta for HistogramValue {
    fn delta(&self, earlier: &HistogramValue) -> HistogramValue {
        let buckets = self
            .buckets
            .iter()
            .enumerate()
            .map(|(position, &(bound, count))| {
                let before = earlier.buckets.get(position).map_or(0, |&(_, n)| n);
                (bound, count.wrapping_sub(before))
            })
            .collect::<Vec<_>>();
        HistogramValue {
            // Derived from the bucket deltas, as in the exposition (`+Inf` == `_count`).
            count: buckets.iter().map(|&(_, n)| n).sum(),
            sum: self.sum - earlier.sum,
            buckets,
        }
    }
}

impl<const B: usize> Readable for Histogram<B> {
    type Value = HistogramValue;
    fn read(&self) -> HistogramValue {
        let bounds = self.bounds().iter().copied().chain([f64::INFINITY]);
        let buckets: Vec<(f64, u64)> = bounds.zip(self.cell_counts()).collect();
        HistogramValue {
            count: buckets.iter().map(|&(_, n)| n).sum(),
            sum: self.sum(),
            buckets,
        }
    }
}

/// A family's reading: every series' label values (escaped as in the exposition, in the
/// order the labels were declared) and value, in exposition order.
#[derive(Debug, Clone, PartialEq)]
pub struct FamilyValue<V> {
    series: Vec<(Vec<String>, V)>,
}

impl<V> FamilyValue<V> {
    /// The value of the series with these label values, if the family has it.
    pub fn get(&self, labels: &[&str]) -> Option<&V> {
        self.series
            .iter()
            .find(|(values, _)| values.iter().map(String::as_str).eq(labels.iter().copied()))
            .map(|(_, value)| value)
    }

    /// Every series, in exposition order (a dynamic family's overflow series last, every
    /// label `__overflow__`).
    pub fn series(&self) -> &[(Vec<String>, V)] {
        &self.series
    }

    /// The value of a dynamic family's overflow series.
    pub fn overflow(&self) -> Option<&V> {
        self.series
            .iter()
            .find(|(values, _)| !values.is_empty() && values.iter().all(|v| v == OVERFLOW_VALUE))
            .map(|(_, value)| value)
    }
}

impl<V: Delta + Clone> Delta for FamilyValue<V> {
    fn delta(&self, earlier: &FamilyValue<V>) -> FamilyValue<V> {
        let series = self
            .series
            .iter()
            .map(|(labels, value)| {
                let labels_of = |(other, _): &&(Vec<String>, V)| other == labels;
                // A series created since the snapshot was all added since.
                let change = match earlier.series.iter().find(labels_of) {
                    Some((_, before)) => value.delta(before),
                    None => value.clone(),
                };
                (labels.clone(), change)
            })
            .collect();
        FamilyValue { series }
    }
}

impl<L: LabelSet, M: Readable, const N: usize> Readable for MetricFamily<L, M, N> {
    type Value = FamilyValue<M::Value>;
    fn read(&self) -> FamilyValue<M::Value> {
        let series = self
            .iter()
            .map(|(series, cell)| {
                let labels = (0..L::ARITY)
                    .map(|position| L::value(series, position).to_owned())
                    .collect();
                (labels, cell.read())
            })
            .collect();
        FamilyValue { series }
    }
}

impl<L, M, const CAPACITY: usize, const TABLE: usize, const BYTES: usize> Readable
    for DynFamily<L, M, CAPACITY, TABLE, BYTES>
where
    L: DynLabelSet,
    M: Readable,
{
    type Value = FamilyValue<M::Value>;
    fn read(&self) -> FamilyValue<M::Value> {
        let mut series = Vec::new();
        self.for_each(|labels, cell| {
            series.push((labels.map(str::to_owned).collect(), cell.read()));
        });
        let overflow = vec![OVERFLOW_VALUE.to_owned(); L::ARITY];
        series.push((overflow, self.overflow().read()));
        FamilyValue { series }
    }
}

/// `render` was given something that is not a `#[metric]` static in the table.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct NotInTable;

impl fmt::Display for NotInTable {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(
            "not a metric of the static table: pass a `#[metric]` static itself (not a copy or \
             a series of it); if it is one, the linker dropped its crate (see the `table` \
             module's linker caveats)",
        )
    }
}

impl std::error::Error for NotInTable {}

/// The exposition of `metric` alone, in `format` (with `# EOF` in OpenMetrics): its HELP,
/// TYPE and samples exactly as a scrape writes them.
///
/// `metric` is found in the static table by address, so it must be the static itself.
pub fn render<M: Metric>(metric: &M, format: Format) -> Result<String, NotInTable> {
    let (descriptor, entry) =
        crate::table::entry_of(std::ptr::from_ref(metric).cast()).ok_or(NotInTable)?;
    Ok(render_entry(descriptor, entry, format))
}

/// The exposition of the metric named `name` alone; see [`render`].
pub fn render_named(name: &str, format: Format) -> Result<String, NotInTable> {
    let (descriptor, entry) = crate::table::exported_entry(name).ok_or(NotInTable)?;
    Ok(render_entry(descriptor, entry, format))
}

fn render_entry(descriptor: &Descriptor, metric: &dyn Metric, format: Format) -> String {
    let mut out = Vec::new();
    let mut encoder = Encoder::new(&mut out, format);
    metric.encode(descriptor, &mut encoder);
    encoder.finish();
    // The encoder writes UTF-8 only (names are ASCII, HELP and label values valid text).
    String::from_utf8_lossy(&out).into_owned()
}
