//! Dynamic label families: label values known only at run time, in fixed static storage.
//!
//! A [`DynFamily`] maps run-time label sets — a route template, a tenant id, a status code —
//! to series, with the typed families' guarantees: the storage is the static itself, a
//! lookup takes no lock and never allocates, and nothing unbounded can reach a scrape.
//!
//! ```
//! use promstatic::{metric, DynCounterFamily, DynHistogramFamily};
//!
//! /// Responses by route template and status code.
//! #[metric(labels(route: &str, code: u16), capacity = 512)]
//! static HTTP_RESPONSES_TOTAL: DynCounterFamily = DynCounterFamily::new();
//!
//! /// Latency by upstream.
//! #[metric(labels(upstream: &str), capacity = 64, buckets = [0.001, 0.01, 0.1, 1.0])]
//! static UPSTREAM_SECONDS: DynHistogramFamily = DynHistogramFamily::new();
//!
//! let route = "/users/:id";
//! HTTP_RESPONSES_TOTAL.with((route, 200)).inc();
//! // `with` returns a `&'static` series: keep it where the lookup matters.
//! let db = UPSTREAM_SECONDS.with(("db-1",));
//! db.observe(0.004);
//! assert_eq!(HTTP_RESPONSES_TOTAL.with(("/users/:id", 200)).get(), 1);
//! ```
//!
//! # Declaring one
//!
//! `#[metric(labels(name: Type, …), capacity = N)]` on a static of type [`DynCounterFamily`],
//! [`DynGaugeFamily`], [`DynFloatGaugeFamily`] or [`DynHistogramFamily`]. Label types are
//! `&str`, the integer types (`u8`…`u64`, `usize`, `i8`…`i64`, `isize`), `bool`, and enums
//! deriving [`LabelValue`](crate::LabelValue), mixed freely; label names are checked as for
//! typed families. Optional arguments:
//!
//! * `label_bytes = B`: the bytes all label values of the family may take, escaped, plus two
//!   per value; default `capacity × labels × 32`;
//! * `max_value_len = V`: the longest value accepted, in bytes as passed (before escaping),
//!   `1..=4096`; default 128.
//!
//! # Memory
//!
//! Everything is inside the static, sized by the declaration; nothing is ever allocated:
//!
//! ```text
//! size = 8 × TABLE + 12 × capacity + label_bytes + 32  (the index, see `SeriesIndex`)
//!      + (capacity + 1) × size_of(series)            (every series and the overflow series)
//!      + 64                                          (counters, limits, name)
//! TABLE = the power of two ≥ 2 × capacity
//! ```
//!
//! For `HTTP_RESPONSES_TOTAL` above (capacity 512, two labels, so `label_bytes` = 32 768,
//! and a counter is 8 bytes): 8 192 + 6 144 + 32 768 + 32 + 4 104 + 64 = 51 304 bytes,
//! about 50 KiB — checked by a test (`tests/dynamic_family.rs`). A histogram series with `B` bounds is `8 × (B + 3)` bytes.
//!
//! # Overflow, never loss
//!
//! A lookup lands in the family's *overflow series*, whose every label is `__overflow__`
//! ([`OVERFLOW_VALUE`]), when its label set has no series and cannot get one: the family is
//! full (all `capacity` series taken, or `label_bytes` used up), a value is longer than
//! `max_value_len`, or the label set *is* the overflow series' own (every value
//! `__overflow__`, which would otherwise export the same series twice). Every update lands
//! somewhere, so the series and the overflow series always add up to all updates.
//!
//! Each such lookup adds one to `promstatic_label_overflows_total{metric, reason}` (reason
//! `capacity`, `label_bytes`, `value_length` or `reserved`), a family written after the
//! table whenever the binary has a dynamic family; [`DynFamily::overflows`] reads them. The
//! first overflow of a family logs one warning (through `log`), never more.
//!
//! # Exposition
//!
//! Series are exported in insertion order (the order their inserts claimed storage; see
//! [`SeriesIndex`](crate::dynamic::index#order)), zero-valued ones included, then the
//! overflow series, always, through the same encoder as every other metric, in both
//! formats. Label values were escaped once, when their series was created, so a scrape only
//! copies bytes. Series are never removed: there is no `clear()`, because a lock-free clear
//! would race with threads still holding a series returned by `with`.
//!
//! # Concurrency
//!
//! Lookups and inserts are lock-free and never wait for each other or for a scrape; two
//! threads inserting the same new label set end with one series. The protocol is described
//! in [`index`], checked by a loom model of that code (`tests/loom_dynamic.rs`) and by stress
//! tests with exact totals (`tests/dynamic_stress.rs`).

pub mod index;
pub mod key;
pub mod value;

use std::marker::PhantomData;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};

use crate::counter::Counter;
use crate::encode::plan::{OverflowCounts, PlanBuilder, ValueCell};
use crate::encode::{
    Encoder, EscapedLabelValue, Family, FamilyEncoder, Format, Help, Kind, Label, Suffix, Text,
    Value,
};
use crate::exemplar::NoExemplars;
use crate::family::Series;
use crate::gauge::{FloatGauge, Gauge};
use crate::histogram::Histogram;
use crate::label::MAX_LABELS;
use crate::table::{Descriptor, Metric};

pub use self::index::{Found, Full, SeriesIndex, table_size};
pub use self::key::LabelText;
pub use self::value::{DynLabel, DynLabelSet};

/// The value of every label of a family's overflow series.
pub const OVERFLOW_VALUE: &str = "__overflow__";

/// The longest `max_value_len` a family may declare.
pub const MAX_VALUE_LEN_LIMIT: usize = 4096;

/// The `max_value_len` of a family that does not declare one.
pub const DEFAULT_MAX_VALUE_LEN: usize = 128;

/// A family of series of type `M` keyed by run-time label values `L` (a tuple of
/// [`DynLabel`]s), with room for `CAPACITY` series; see the [module docs](self).
///
/// `TABLE` and `BYTES` are the index's table size and label bytes ([`SeriesIndex`]); the
/// `#[metric]` attribute writes all the generic arguments.
pub struct DynFamily<L, M, const CAPACITY: usize, const TABLE: usize, const BYTES: usize> {
    index: SeriesIndex<CAPACITY, TABLE, BYTES>,
    cells: [M; CAPACITY],
    overflow: M,
    max_value_len: usize,
    name: &'static str,
    /// Overflowed lookups by reason, in `Reason` order.
    overflowed: [AtomicU64; 4],
    warned: AtomicBool,
    // `fn() -> L`: the family holds no `L`, so it is `Sync` whatever `L` is.
    labels: PhantomData<fn() -> L>,
}

/// Counters by run-time labels; `X` is the series' [exemplar storage](crate::exemplar)
/// ([`NoExemplars`], zero bytes, unless declared with `exemplars`).
pub type DynCounterFamily<
    L,
    const CAPACITY: usize,
    const TABLE: usize,
    const BYTES: usize,
    X = NoExemplars,
> = DynFamily<L, Counter<X>, CAPACITY, TABLE, BYTES>;
/// Integer gauges by run-time labels.
pub type DynGaugeFamily<L, const CAPACITY: usize, const TABLE: usize, const BYTES: usize> =
    DynFamily<L, Gauge, CAPACITY, TABLE, BYTES>;
/// Float gauges by run-time labels.
pub type DynFloatGaugeFamily<L, const CAPACITY: usize, const TABLE: usize, const BYTES: usize> =
    DynFamily<L, FloatGauge, CAPACITY, TABLE, BYTES>;
/// Histograms by run-time labels, each with the same `BOUNDS` bounds.
pub type DynHistogramFamily<
    L,
    const CAPACITY: usize,
    const TABLE: usize,
    const BYTES: usize,
    const BOUNDS: usize = 11,
    X = NoExemplars,
> = DynFamily<L, Histogram<BOUNDS, X>, CAPACITY, TABLE, BYTES>;

/// Lookups that landed in a family's overflow series, by reason.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Overflows {
    /// All `capacity` series were taken.
    pub capacity: u64,
    /// The family's label bytes were used up.
    pub label_bytes: u64,
    /// A value was longer than the family's `max_value_len`.
    pub value_length: u64,
    /// Every value was [`OVERFLOW_VALUE`]: the overflow series' own label set.
    pub reserved: u64,
}

impl Overflows {
    /// All overflowed lookups.
    pub fn total(&self) -> u64 {
        self.capacity + self.label_bytes + self.value_length + self.reserved
    }
}

/// Why a lookup overflowed; the position in `DynFamily::overflowed`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Reason {
    Capacity = 0,
    LabelBytes = 1,
    ValueLength = 2,
    Reserved = 3,
}

impl Reason {
    const ALL: [Reason; 4] = [
        Reason::Capacity,
        Reason::LabelBytes,
        Reason::ValueLength,
        Reason::Reserved,
    ];

    const fn label(self) -> &'static str {
        match self {
            Reason::Capacity => "capacity",
            Reason::LabelBytes => "label_bytes",
            Reason::ValueLength => "value_length",
            Reason::Reserved => "reserved",
        }
    }

    const fn from_full(full: Full) -> Self {
        match full {
            Full::Capacity => Reason::Capacity,
            Full::LabelBytes => Reason::LabelBytes,
            Full::ValueLength => Reason::ValueLength,
            Full::Refused => Reason::Reserved,
        }
    }
}

macro_rules! family_constructor {
    ($($const:ident)?) => {
        /// A family from its series' storage, the overflow series, the per-value limit and
        /// the metric name (for the one-time warning). Used by `#[metric]`, which writes
        /// `[const { … }; CAPACITY]`.
        pub $($const)? fn from_cells(
            cells: [M; CAPACITY],
            overflow: M,
            max_value_len: usize,
            name: &'static str,
        ) -> Self {
            assert!(
                max_value_len > 0 && max_value_len <= MAX_VALUE_LEN_LIMIT,
                "max_value_len must be in 1..=4096"
            );
            DynFamily {
                index: SeriesIndex::new(),
                cells,
                overflow,
                max_value_len,
                name,
                overflowed: [const { AtomicU64::new(0) }; 4],
                warned: AtomicBool::new(false),
                labels: PhantomData,
            }
        }
    };
}

// The constructor asks nothing of `L`, so a bad label type is reported once, by `Metric`.
impl<L, M, const CAPACITY: usize, const TABLE: usize, const BYTES: usize>
    DynFamily<L, M, CAPACITY, TABLE, BYTES>
{
    // loom's atomics have no `const fn new` (see `crate::sync`).
    #[cfg(not(promstatic_loom))]
    family_constructor!(const);
    #[cfg(promstatic_loom)]
    family_constructor!();
}

impl<L: DynLabelSet, M, const CAPACITY: usize, const TABLE: usize, const BYTES: usize>
    DynFamily<L, M, CAPACITY, TABLE, BYTES>
{
    /// The series for these label values (a tuple, in declaration order), created on first
    /// use; the overflow series if it cannot be created (see the [module
    /// docs](self#overflow-never-loss)).
    ///
    /// The result lives as long as the family: keep it to skip the lookup next time.
    #[inline]
    pub fn with(&self, values: L::Values<'_>) -> &M {
        // The hit path: hash, probe, compare, inlined here. Anything else (a new label set,
        // an overflow) takes the out-of-line `insert`, which looks up once more itself.
        let found = L::with_parts(&values, |parts| self.index.find(parts));
        match found.and_then(|series| self.cells.get(series)) {
            Some(cell) => cell,
            None => self.insert(values),
        }
    }

    /// [`with`](Self::with) for a label set that had no series at its lookup: inserts it, or
    /// finds it if another thread just did, or lands in the overflow series.
    #[cold]
    #[inline(never)]
    fn insert(&self, values: L::Values<'_>) -> &M {
        L::with_parts(&values, |parts| {
            match self
                .index
                .find_or_insert_checked(parts, |parts| self.admit(parts))
            {
                Ok(series) => self.cells.get(series).unwrap_or(&self.overflow),
                Err(full) => self.overflowed(Reason::from_full(full)),
            }
        })
    }

    /// Whether a new label set may get a series: its values fit the per-value limit and it
    /// is not the overflow series' own label set.
    fn admit(&self, parts: &[LabelText<'_>]) -> Result<(), Full> {
        if parts.iter().any(|part| part.len() > self.max_value_len) {
            return Err(Full::ValueLength);
        }
        let reserved = parts
            .iter()
            .all(|part| matches!(part, LabelText::Raw(text) | LabelText::Escaped(text) if *text == OVERFLOW_VALUE));
        if reserved {
            return Err(Full::Refused);
        }
        Ok(())
    }

    #[cold]
    #[inline(never)]
    fn overflowed(&self, reason: Reason) -> &M {
        if let Some(count) = self.overflowed.get(reason as usize) {
            count.fetch_add(1, Ordering::Relaxed);
        }
        // One warning per family: the load keeps the common case a read of a shared line.
        if !self.warned.load(Ordering::Relaxed) && !self.warned.swap(true, Ordering::Relaxed) {
            log::warn!(
                "metric `{}`: a label set has no series ({}); its updates go to the overflow \
                 series (every label \"{OVERFLOW_VALUE}\"). Raise `capacity`/`label_bytes`/\
                 `max_value_len` or use fewer distinct values. Logged once per family; \
                 promstatic_label_overflows_total counts every overflow.",
                self.name,
                reason.label(),
            );
        }
        &self.overflow
    }

    /// The overflow series.
    pub fn overflow(&self) -> &M {
        &self.overflow
    }

    /// The lookups that landed in the overflow series so far, by reason.
    pub fn overflows(&self) -> Overflows {
        let count = |reason: Reason| {
            self.overflowed
                .get(reason as usize)
                .map_or(0, |count| count.load(Ordering::Relaxed))
        };
        Overflows {
            capacity: count(Reason::Capacity),
            label_bytes: count(Reason::LabelBytes),
            value_length: count(Reason::ValueLength),
            reserved: count(Reason::Reserved),
        }
    }

    /// The number of series created (the overflow series not counted), at most `CAPACITY`.
    pub fn len(&self) -> usize {
        self.index.len()
    }

    /// Whether no series was created yet.
    pub fn is_empty(&self) -> bool {
        self.index.is_empty()
    }

    /// Calls `visit` with each series' escaped label values and the series, in exposition
    /// order (the overflow series not included).
    pub fn for_each(&self, mut visit: impl FnMut(&mut dyn Iterator<Item = &str>, &M)) {
        self.index.for_each(|series, mut parts| {
            if let Some(cell) = self.cells.get(series) {
                visit(&mut parts, cell);
            }
        });
    }
}

impl<L, M, const CAPACITY: usize, const TABLE: usize, const BYTES: usize> std::fmt::Debug
    for DynFamily<L, M, CAPACITY, TABLE, BYTES>
{
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("DynFamily")
            .field("name", &self.name)
            .field("index", &self.index)
            .finish_non_exhaustive()
    }
}

/// A label whose name was validated (by `#[metric]`) and whose value is escaped text: the one
/// place this module builds encoder values from prepared text.
fn prepared_label<'a>(name: &'a str, escaped_value: &'a str) -> Label<'a> {
    Label::prevalidated(
        name,
        Text::Escaped(EscapedLabelValue::trusted(escaped_value)),
    )
}

impl<L, M, const CAPACITY: usize, const TABLE: usize, const BYTES: usize> crate::sealed::Sealed
    for DynFamily<L, M, CAPACITY, TABLE, BYTES>
{
}

impl<L, M, const CAPACITY: usize, const TABLE: usize, const BYTES: usize> Metric
    for DynFamily<L, M, CAPACITY, TABLE, BYTES>
where
    L: DynLabelSet,
    M: Series,
{
    fn encode(&self, descriptor: &Descriptor, encoder: &mut Encoder<'_>) {
        // The descriptor was validated by `#[metric]`, and the table's duplicate check already
        // ran over every name, so the trusted path applies (as for typed families).
        let mut writer = encoder.family_trusted(&descriptor.family());
        self.encode_created(descriptor, &mut writer);
        self.overflow
            .encode_series(&mut writer, &self.overflow_labels(descriptor));
    }

    fn encode_runtime_series(&self, descriptor: &Descriptor, encoder: &mut Encoder<'_>) {
        self.encode_created(
            descriptor,
            &mut encoder.family_continued(&descriptor.family()),
        );
    }

    fn plan(&'static self, descriptor: &Descriptor, plan: &mut PlanBuilder<'_, '_>) -> bool {
        // The overflow counters are cells, which the self-metric's plan reads.
        plan.overflow_counts(descriptor.name(), &self.overflowed);
        // The series appear at run time: the plan holds the HELP and TYPE, a step that writes
        // the series created by then, and the overflow series, which always exists.
        if plan.format() == Format::Protobuf {
            return false;
        }
        let mut planned = false;
        plan.family(descriptor, |family| {
            family.runtime_series();
            planned = self
                .overflow
                .plan_series(family, &self.overflow_labels(descriptor));
        });
        planned
    }

    fn overflows(&self) -> Option<Overflows> {
        Some(DynFamily::overflows(self))
    }
}

impl<L, M, const CAPACITY: usize, const TABLE: usize, const BYTES: usize>
    DynFamily<L, M, CAPACITY, TABLE, BYTES>
where
    L: DynLabelSet,
    M: Series,
{
    /// Writes the series created so far (not the overflow series), in exposition order.
    fn encode_created(&self, descriptor: &Descriptor, writer: &mut FamilyEncoder<'_, '_>) {
        let names = descriptor.labels();
        let arity = names.len().min(L::ARITY).min(MAX_LABELS);
        self.index.for_each(|series, parts| {
            let Some(cell) = self.cells.get(series) else {
                return;
            };
            let mut labels = [prepared_label("", ""); MAX_LABELS];
            for ((slot, name), value) in labels.iter_mut().zip(names).zip(parts) {
                *slot = prepared_label(name, value);
            }
            cell.encode_series(writer, &labels[..arity]);
        });
    }

    /// The overflow series' labels: every one `__overflow__` (`arity` of them are used).
    fn overflow_labels(&self, descriptor: &Descriptor) -> OverflowLabels {
        let names = descriptor.labels();
        let mut labels = [prepared_label("", ""); MAX_LABELS];
        for (slot, name) in labels.iter_mut().zip(names) {
            *slot = prepared_label(name, OVERFLOW_VALUE);
        }
        OverflowLabels {
            labels,
            arity: names.len().min(L::ARITY).min(MAX_LABELS),
        }
    }
}

/// A dynamic family's overflow labels, as a slice through `Deref`.
struct OverflowLabels {
    labels: [Label<'static>; MAX_LABELS],
    arity: usize,
}

impl std::ops::Deref for OverflowLabels {
    type Target = [Label<'static>];

    fn deref(&self) -> &[Label<'static>] {
        self.labels.get(..self.arity).unwrap_or_default()
    }
}

/// The self-metric's name; see the [module docs](self#overflow-never-loss).
pub const OVERFLOWS_METRIC: &str = "promstatic_label_overflows_total";

/// The family of `promstatic_label_overflows_total`.
const OVERFLOWS_FAMILY: Family<'static> = Family::prevalidated(
    OVERFLOWS_METRIC,
    Kind::Counter,
    Help::Raw(
        "Lookups of dynamic label families that found no series and landed in the \
         overflow series, by family and reason.",
    ),
);

/// Plans `promstatic_label_overflows_total` for the dynamic families `counts` (names and
/// overflow counters, in exposition order): the same lines as [`encode_overflows`] writes,
/// each value read from its counter at scrape time.
pub(crate) fn plan_overflows(plan: &mut PlanBuilder<'_, '_>, counts: &[OverflowCounts]) {
    plan.family_of(&OVERFLOWS_FAMILY, |family| {
        for &(name, cells) in counts {
            for reason in Reason::ALL {
                let labels = [
                    prepared_label("metric", name),
                    prepared_label("reason", reason.label()),
                ];
                if let Some(cell) = cells.get(reason as usize) {
                    family.sample(&labels, ValueCell::Unsigned(cell));
                }
            }
        }
    });
}

/// Writes `promstatic_label_overflows_total` for the dynamic families among `metrics`, or
/// nothing if there are none.
pub(crate) fn encode_overflows<'m>(
    encoder: &mut Encoder<'_>,
    metrics: impl Iterator<Item = (&'m Descriptor, &'m dyn Metric)>,
) {
    let mut dynamic =
        metrics.filter_map(|(descriptor, metric)| Some((descriptor, metric.overflows()?)));
    let Some(first) = dynamic.next() else {
        return;
    };
    let mut writer = encoder.family_trusted(&OVERFLOWS_FAMILY);
    for (descriptor, overflows) in std::iter::once(first).chain(dynamic) {
        for reason in Reason::ALL {
            let count = match reason {
                Reason::Capacity => overflows.capacity,
                Reason::LabelBytes => overflows.label_bytes,
                Reason::ValueLength => overflows.value_length,
                Reason::Reserved => overflows.reserved,
            };
            // Metric names need no escaping: they are `[a-zA-Z_:][a-zA-Z0-9_:]*`.
            let labels = [
                prepared_label("metric", descriptor.name()),
                prepared_label("reason", reason.label()),
            ];
            writer.sample_trusted(Suffix::Bare, &labels, Value::Unsigned(count));
        }
    }
}
