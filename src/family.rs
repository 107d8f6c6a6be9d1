//! Label families: one metric per combination of typed label values, in a dense array.
//!
//! A [`MetricFamily`] holds `N` metrics, where `N` is the number of combinations of its labels
//! ([`LabelSet::COUNT`]); the `#[metric(labels(…))]` attribute computes `N` and writes the
//! array, so a family is a plain `static` with every series allocated at compile time.
//! [`with`](MetricFamily::with) turns the label values into a position (see [`crate::label`]):
//! no allocation, hashing, lock or panic. Every series is exported, zero-valued ones
//! included, in a fixed order: by the first label's values in declaration order, then the
//! second's, and so on. Label values were escaped by the derive, so a scrape copies bytes.
//!
//! ```
//! use promstatic::{metric, CounterFamily, HistogramFamily, LabelValue};
//!
//! #[derive(LabelValue, Clone, Copy)]
//! enum Method { Get, Post }
//!
//! #[derive(LabelValue, Clone, Copy)]
//! enum Class {
//!     #[label(rename = "2xx")] Success,
//!     #[label(rename = "5xx")] ServerError,
//! }
//!
//! /// Responses by method and status class.
//! #[metric(labels(method: Method, class: Class))]
//! static RESPONSES_TOTAL: CounterFamily = CounterFamily::new();
//!
//! /// Latency by method.
//! #[metric(labels(method: Method), buckets = [0.01, 0.1, 1.0])]
//! static LATENCY_SECONDS: HistogramFamily = HistogramFamily::new();
//!
//! RESPONSES_TOTAL.with(Method::Get, Class::Success).inc();
//! LATENCY_SECONDS.with(Method::Post).observe(0.05);
//! assert_eq!(RESPONSES_TOTAL.with(Method::Get, Class::Success).get(), 1);
//! assert_eq!(RESPONSES_TOTAL.with(Method::Post, Class::Success).get(), 0);
//! ```

use std::marker::PhantomData;

use crate::counter::Counter;
use crate::encode::plan::{PlanBuilder, PlanFamily, ValueCell};
use crate::encode::{
    Encoder, EscapedLabelValue, FamilyEncoder, Format, Label, Suffix, Text, Value,
};
use crate::exemplar::{ExemplarStorage, NoExemplars};
use crate::gauge::{FloatGauge, Gauge};
use crate::histogram::Histogram;
use crate::label::{LabelSet, LabelValue, MAX_LABELS};
use crate::native::{NativeHistogram, OutOfRange};
use crate::table::{Descriptor, Metric};

/// A family of `N` metrics of type `M`, one per combination of the labels `L` (a tuple of
/// [`LabelValue`]s). Declare one through its aliases ([`CounterFamily`], [`GaugeFamily`],
/// [`FloatGaugeFamily`], [`HistogramFamily`]) and `#[metric(labels(…))]`.
#[derive(Debug)]
pub struct MetricFamily<L, M, const N: usize> {
    cells: [M; N],
    // `fn() -> L`: the family holds no `L`, so it is `Sync` whatever `L` is.
    labels: PhantomData<fn() -> L>,
}

/// Counters by label: `#[metric(labels(name: Type, …))] static X_TOTAL: CounterFamily = CounterFamily::new();`.
///
/// `X` is the series' [exemplar storage](crate::exemplar): [`NoExemplars`] (zero bytes)
/// unless declared with `#[metric(labels(…), exemplars)]`, which gives every series one
/// [`ExemplarSlot`](crate::exemplar::ExemplarSlot).
pub type CounterFamily<L, const N: usize, X = NoExemplars> = MetricFamily<L, Counter<X>, N>;
/// Integer gauges by label.
pub type GaugeFamily<L, const N: usize> = MetricFamily<L, Gauge, N>;
/// Float gauges by label.
pub type FloatGaugeFamily<L, const N: usize> = MetricFamily<L, FloatGauge, N>;
/// Histograms by label, each with the same `B` bounds (and, with `exemplars`, one exemplar
/// slot per bucket of every series).
pub type HistogramFamily<L, const N: usize, const B: usize = 11, X = NoExemplars> =
    MetricFamily<L, Histogram<B, X>, N>;
/// Native histograms by label, each with the same layout: `#[metric(labels(…), native(…))]`.
pub type NativeHistogramFamily<
    L,
    const N: usize,
    const S: i8 = 3,
    const K: usize = 240,
    const C: usize = 0,
    X = NoExemplars,
> = MetricFamily<L, NativeHistogram<S, K, C, X>, N>;

impl<L: LabelSet, M, const N: usize> MetricFamily<L, M, N> {
    /// A family from its series, in series order. Used by `#[metric]`, which writes
    /// `[const { … }; N]`; the build fails unless `N` is the number of label combinations.
    pub const fn from_cells(cells: [M; N]) -> Self {
        assert!(
            N == L::COUNT,
            "a family needs exactly one series per combination of its label values"
        );
        assert!(N > 0, "a family needs at least one series");
        // At compile time whatever the context: a hand-written `LabelValue` whose values are
        // not escaped text cannot be exported (see `crate::label`).
        const {
            assert!(
                L::ESCAPED,
                "a LabelValue's VALUES must be escaped label-value text (`\\\\`, `\\n`, `\\\"`): \
                 derive LabelValue, or escape them"
            )
        };
        MetricFamily {
            cells,
            labels: PhantomData,
        }
    }

    /// The series for the label values in `labels` (a tuple, in declaration order).
    #[inline]
    pub fn get(&self, labels: &L) -> &M {
        // `series` is below `N` by construction; `% N` (with `N > 0`, checked when the family
        // is built) costs a multiply and makes an out-of-range index impossible, not a panic.
        &self.cells[labels.series() % N]
    }

    /// Every series with its position, in exposition order.
    pub fn iter(&self) -> impl ExactSizeIterator<Item = (usize, &M)> {
        self.cells.iter().enumerate()
    }
}

macro_rules! with_arity {
    ($($name:ident $value:ident),+) => {
        impl<$($name: LabelValue),+, M, const N: usize> MetricFamily<($($name,)+), M, N> {
            /// The series for these label values, in the order the labels were declared.
            // One argument per label is the point of `with`; families have up to 8 labels.
            #[allow(clippy::too_many_arguments)]
            #[inline]
            pub fn with(&self, $($value: $name),+) -> &M {
                self.get(&($($value,)+))
            }
        }
    };
}

with_arity!(A a);
with_arity!(A a, B b);
with_arity!(A a, B b, C c);
with_arity!(A a, B b, C c, D d);
with_arity!(A a, B b, C c, D d, E e);
with_arity!(A a, B b, C c, D d, E e, F f);
with_arity!(A a, B b, C c, D d, E e, F f, G g);
with_arity!(A a, B b, C c, D d, E e, F f, G g, H h);

/// A metric type that can be one series of a family: [`Counter`], [`Gauge`], [`FloatGauge`]
/// or a [`Histogram`] (sealed, like [`Metric`]: it writes samples unchecked).
///
/// ```compile_fail,E0277
/// use promstatic::encode::{FamilyEncoder, Label};
/// struct Mine;
/// impl promstatic::family::Series for Mine {
///     fn encode_series(&self, _: &mut FamilyEncoder<'_, '_>, _: &[Label<'_>]) {}
/// }
/// ```
pub trait Series: Sync + crate::sealed::Sealed {
    /// Writes this series' samples with `labels`.
    fn encode_series(&self, writer: &mut FamilyEncoder<'_, '_>, labels: &[Label<'_>]);

    /// A native histogram's clamped and rejected counts; `None` for other types.
    #[doc(hidden)]
    fn native_out_of_range(&self) -> Option<OutOfRange> {
        None
    }

    /// The one value cell of this series, if an exposition plan can write it in `format`
    /// (see `encode::plan`); `None` for series of several samples (histograms).
    #[doc(hidden)]
    fn plan_cell(&'static self, _format: Format) -> Option<ValueCell> {
        None
    }

    /// Writes this series with `labels` into an exposition plan (see `encode::plan`);
    /// `false` if it cannot be planned in the family's format.
    #[doc(hidden)]
    fn plan_series(
        &'static self,
        family: &mut PlanFamily<'_, '_, '_>,
        labels: &[Label<'_>],
    ) -> bool {
        match self.plan_cell(family.format()) {
            Some(cell) => {
                family.sample(labels, cell);
                true
            }
            None => false,
        }
    }
}

impl<X: ExemplarStorage> Series for Counter<X> {
    fn encode_series(&self, writer: &mut FamilyEncoder<'_, '_>, labels: &[Label<'_>]) {
        Counter::encode_series(self, writer, labels);
    }

    fn plan_cell(&'static self, format: Format) -> Option<ValueCell> {
        Counter::plan_cell(self, format)
    }
}

impl Series for Gauge {
    fn encode_series(&self, writer: &mut FamilyEncoder<'_, '_>, labels: &[Label<'_>]) {
        writer.sample_trusted(Suffix::Bare, labels, Value::Signed(self.get()));
    }

    fn plan_cell(&'static self, _format: Format) -> Option<ValueCell> {
        Some(Gauge::plan_cell(self))
    }
}

impl Series for FloatGauge {
    fn encode_series(&self, writer: &mut FamilyEncoder<'_, '_>, labels: &[Label<'_>]) {
        writer.sample_trusted(Suffix::Bare, labels, Value::Float(self.get()));
    }

    fn plan_cell(&'static self, _format: Format) -> Option<ValueCell> {
        Some(FloatGauge::plan_cell(self))
    }
}

impl<const B: usize, X: ExemplarStorage> Series for Histogram<B, X> {
    fn encode_series(&self, writer: &mut FamilyEncoder<'_, '_>, labels: &[Label<'_>]) {
        Histogram::encode_series(self, writer, labels);
    }

    fn plan_series(
        &'static self,
        family: &mut PlanFamily<'_, '_, '_>,
        labels: &[Label<'_>],
    ) -> bool {
        Histogram::plan_series(self, family, labels)
    }
}

impl<const S: i8, const N: usize, const C: usize, X: ExemplarStorage> Series
    for NativeHistogram<S, N, C, X>
{
    fn encode_series(&self, writer: &mut FamilyEncoder<'_, '_>, labels: &[Label<'_>]) {
        NativeHistogram::encode_series(self, writer, labels);
    }

    fn native_out_of_range(&self) -> Option<OutOfRange> {
        Some(self.out_of_range())
    }
}

impl<L: LabelSet, M: Series, const N: usize> crate::sealed::Sealed for MetricFamily<L, M, N> {}

impl<L: LabelSet, M: Series, const N: usize> Metric for MetricFamily<L, M, N> {
    fn native_out_of_range(&self) -> Option<OutOfRange> {
        self.cells
            .iter()
            .try_fold(OutOfRange::default(), |total, cell| {
                Some(total.add(cell.native_out_of_range()?))
            })
    }

    fn encode(&self, descriptor: &Descriptor, encoder: &mut Encoder<'_>) {
        let mut writer = encoder.family_trusted(&descriptor.family());
        self.each_series(descriptor, |cell, labels| {
            cell.encode_series(&mut writer, labels)
        });
    }

    fn plan(&'static self, descriptor: &Descriptor, plan: &mut PlanBuilder<'_, '_>) -> bool {
        // Every cell has the same type: the first one refused ends the planning (what was
        // written is dropped, and the family encoded at every scrape).
        let mut planned = true;
        plan.family(descriptor, |family| {
            self.each_series(descriptor, |cell, labels| {
                planned = planned && cell.plan_series(family, labels);
            });
        });
        planned
    }
}

impl<L: LabelSet, M: Series, const N: usize> MetricFamily<L, M, N> {
    /// Calls `write` with each series and its labels, in series order.
    fn each_series<'s>(
        &'s self,
        descriptor: &Descriptor,
        mut write: impl FnMut(&'s M, &[Label<'_>]),
    ) {
        let names = descriptor.labels();
        let arity = names.len().min(L::ARITY).min(MAX_LABELS);
        let mut labels =
            [Label::prevalidated("", Text::Escaped(EscapedLabelValue::EMPTY)); MAX_LABELS];
        for (series, cell) in self.cells.iter().enumerate() {
            for (position, (slot, name)) in labels.iter_mut().zip(names).enumerate() {
                *slot = Label::prevalidated(
                    name,
                    Text::Escaped(EscapedLabelValue::trusted(L::value(series, position))),
                );
            }
            write(cell, &labels[..arity]);
        }
    }
}
