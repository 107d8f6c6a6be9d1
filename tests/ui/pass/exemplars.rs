//! Every metric type `exemplars` applies to; each one's exemplar method is called, so the
//! generated type really has exemplar slots.
use promstatic::exemplar::{ExemplarName, Stored};
use promstatic::{
    metric, Counter, CounterFamily, DynCounterFamily, DynHistogramFamily, Histogram,
    HistogramFamily, LabelValue, NativeHistogram, NativeHistogramFamily,
};

const TRACE_ID: ExemplarName = ExemplarName::new("trace_id");

#[derive(LabelValue, Clone, Copy)]
enum Method {
    Get,
    Post,
}

/// A counter.
#[metric(exemplars)]
static ORDERS_TOTAL: Counter = Counter::new();

/// A histogram with the default bounds.
#[metric(exemplars)]
static DEFAULT_SECONDS: Histogram = Histogram::new();

/// A histogram with its own bounds.
#[metric(buckets = [0.1, 1.0], exemplars)]
static CHECKOUT_SECONDS: Histogram = Histogram::new();

/// A native histogram, native only.
#[metric(native, exemplars)]
static NATIVE_SECONDS: NativeHistogram = NativeHistogram::new();

/// A native histogram with classic buckets.
#[metric(exemplars, native(schema = 2, range = 1e-3..10.0), buckets = [0.1])]
static BOTH_SECONDS: NativeHistogram = NativeHistogram::new();

/// Counters by method.
#[metric(labels(method: Method), exemplars)]
static BY_METHOD_TOTAL: CounterFamily = CounterFamily::new();

/// Histograms by method.
#[metric(labels(method: Method), buckets = [0.5], exemplars)]
static BY_METHOD_SECONDS: HistogramFamily = HistogramFamily::new();

/// Histograms by method, default bounds.
#[metric(labels(method: Method), exemplars)]
static BY_METHOD_DEFAULT_SECONDS: HistogramFamily = HistogramFamily::new();

/// Native histograms by method.
#[metric(labels(method: Method), native(schema = 1, range = 0.001..100.0), exemplars)]
static BY_METHOD_NATIVE_SECONDS: NativeHistogramFamily = NativeHistogramFamily::new();

/// Counters by route.
#[metric(labels(route: &str), capacity = 4, exemplars)]
static BY_ROUTE_TOTAL: DynCounterFamily = DynCounterFamily::new();

/// Histograms by route.
#[metric(labels(route: &str, code: u16), capacity = 4, buckets = [0.1], exemplars)]
static BY_ROUTE_SECONDS: DynHistogramFamily = DynHistogramFamily::new();

fn stored(result: Result<Stored, promstatic::exemplar::ExemplarError>) {
    assert_eq!(result, Ok(Stored::Stored));
}

fn main() {
    let id = [(TRACE_ID, "4bf92f3577b34da6")];
    stored(ORDERS_TOTAL.inc_with_exemplar(&id));
    stored(DEFAULT_SECONDS.observe_with_exemplar(0.2, &id));
    stored(CHECKOUT_SECONDS.observe_with_exemplar(0.2, &id));
    stored(NATIVE_SECONDS.observe_with_exemplar(0.2, &id));
    stored(BOTH_SECONDS.observe_with_exemplar(0.2, &id));
    stored(BY_METHOD_TOTAL.with(Method::Get).inc_with_exemplar(&id));
    stored(BY_METHOD_SECONDS.with(Method::Post).observe_with_exemplar(0.2, &id));
    stored(BY_METHOD_DEFAULT_SECONDS.with(Method::Post).observe_with_exemplar(0.2, &id));
    stored(BY_METHOD_NATIVE_SECONDS.with(Method::Get).observe_with_exemplar(0.2, &id));
    stored(BY_ROUTE_TOTAL.with(("/a",)).inc_by_with_exemplar(2, &id));
    stored(BY_ROUTE_SECONDS.with(("/a", 200)).observe_with_exemplar(0.05, &id));
    assert_eq!(DEFAULT_SECONDS.bounds().len(), 11);
    assert_eq!(BOTH_SECONDS.exemplar(1).map(|e| e.value()), Some(0.2));
    assert!(BY_METHOD_TOTAL.with(Method::Post).exemplar().is_none());
}
