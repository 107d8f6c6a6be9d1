//! `promstatic::testing`: values, deltas and one-metric renders of every metric type, exactly.

use promstatic::testing::{self, Format, HistogramValue, NotInTable};
use promstatic::{
    Counter, CounterFamily, DynGaugeFamily, FloatGauge, Gauge, Histogram, LabelValue,
    ShardedCounter, metric,
};

/// Parcels sent.
#[metric]
static PARCELS_TOTAL: Counter = Counter::new();

/// Parcels sent, from many threads.
#[metric]
static SHARDED_PARCELS_TOTAL: ShardedCounter = ShardedCounter::new();

/// Vans on the road.
#[metric]
static VANS: Gauge = Gauge::new();

/// Fuel left, in litres.
#[metric]
static FUEL_LITRES: FloatGauge = FloatGauge::new();

/// Parcel weight, in kilograms.
#[metric(buckets = [1.0, 10.0])]
static PARCEL_KILOGRAMS: Histogram = Histogram::new();

#[derive(LabelValue, Clone, Copy)]
enum Size {
    Small,
    Large,
}

/// Parcels by size.
#[metric(labels(size: Size))]
static PARCELS_BY_SIZE_TOTAL: CounterFamily = CounterFamily::new();

/// Queue depth by depot.
#[metric(labels(depot: &str), capacity = 2)]
static DEPOT_QUEUE: DynGaugeFamily = DynGaugeFamily::new();

/// Never touched: rendered for a golden test.
#[metric]
static UNTOUCHED_TOTAL: Counter = Counter::new();

#[test]
fn scalar_values_and_deltas() {
    let parcels = testing::snapshot(&PARCELS_TOTAL);
    let sharded = testing::snapshot(&SHARDED_PARCELS_TOTAL);
    VANS.set(5);
    let vans = testing::snapshot(&VANS);
    let fuel = testing::snapshot(&FUEL_LITRES);
    PARCELS_TOTAL.inc_by(3);
    SHARDED_PARCELS_TOTAL.inc();
    VANS.sub(2);
    FUEL_LITRES.add(-1.5);
    assert_eq!(parcels.delta(), 3);
    assert_eq!(sharded.delta(), 1);
    // A gauge's delta is its change, negative here.
    assert_eq!((vans.delta(), *vans.before()), (-2, 5));
    assert_eq!(fuel.delta(), -1.5);
    assert_eq!(testing::value(&VANS), 3);
}

#[test]
fn histogram_buckets_are_per_bucket_and_cumulative_on_request() {
    let weights = testing::snapshot(&PARCEL_KILOGRAMS);
    for kilograms in [0.5, 1.0, 7.0, 30.0, 50.0] {
        PARCEL_KILOGRAMS.observe(kilograms);
    }
    let delta = weights.delta();
    assert_eq!(
        delta.buckets,
        [(1.0, 2), (10.0, 1), (f64::INFINITY, 2)],
        "30 and 50 land in +Inf"
    );
    assert_eq!(delta.count, 5);
    assert_eq!(delta.cumulative(10.0), Some(3));
    assert_eq!(delta.cumulative(f64::INFINITY), Some(5));
    assert_eq!(delta.cumulative(2.0), None);
    assert_eq!(delta.sum, 88.5);
    let empty = HistogramValue::default();
    assert_eq!(empty.count, 0);
}

#[test]
fn families_list_every_series_and_a_dynamic_one_its_overflow() {
    let sizes = testing::snapshot(&PARCELS_BY_SIZE_TOTAL);
    PARCELS_BY_SIZE_TOTAL.with(Size::Large).inc_by(2);
    PARCELS_BY_SIZE_TOTAL.with(Size::Small).inc();
    let delta = sizes.delta();
    assert_eq!(delta.get(&["large"]), Some(&2));
    assert_eq!(delta.get(&["small"]), Some(&1));
    assert_eq!(delta.get(&["medium"]), None);
    assert_eq!(delta.series().len(), 2);

    let depots = testing::snapshot(&DEPOT_QUEUE);
    DEPOT_QUEUE.with(("north",)).set(4);
    DEPOT_QUEUE.with(("south",)).set(1);
    // Capacity 2: the third depot's updates land in the overflow series.
    DEPOT_QUEUE.with(("east",)).add(7);
    let delta = depots.delta();
    assert_eq!(delta.get(&["north"]), Some(&4));
    assert_eq!(delta.get(&["south"]), Some(&1));
    assert_eq!(delta.get(&["east"]), None);
    assert_eq!(delta.overflow(), Some(&7));
    let labels: Vec<_> = delta
        .series()
        .iter()
        .map(|(labels, _)| labels.clone())
        .collect();
    assert_eq!(labels, [["north"], ["south"], ["__overflow__"]]);
}

#[test]
fn one_metric_renders_exactly_as_a_scrape_writes_it() {
    assert_eq!(
        testing::render(&UNTOUCHED_TOTAL, Format::Text).unwrap(),
        "# HELP untouched_total Never touched: rendered for a golden test.\n\
         # TYPE untouched_total counter\n\
         untouched_total 0\n"
    );
    assert_eq!(
        testing::render(&UNTOUCHED_TOTAL, Format::OpenMetrics).unwrap(),
        "# HELP untouched Never touched: rendered for a golden test.\n\
         # TYPE untouched counter\n\
         untouched_total 0\n\
         # EOF\n"
    );
    assert_eq!(
        testing::render_named("untouched_total", Format::Text),
        testing::render(&UNTOUCHED_TOTAL, Format::Text)
    );
}

#[test]
fn something_outside_the_table_is_a_typed_error() {
    // A copy of a metric is not the static: it is found by address.
    static NOT_DECLARED: Counter = Counter::new();
    assert_eq!(
        testing::render(&NOT_DECLARED, Format::Text),
        Err(NotInTable)
    );
    assert_eq!(
        testing::render_named("no_such_metric", Format::Text),
        Err(NotInTable)
    );
    let message = NotInTable.to_string();
    assert!(message.contains("`#[metric]` static"), "{message}");
}
