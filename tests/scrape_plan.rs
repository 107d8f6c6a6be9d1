//! The exposition plan (`encode::plan`) writes exactly what the unplanned path writes: every
//! metric type of the table, every format, arbitrary values, dynamic series added after the
//! plan was built, a namespace and constant labels, and first scrapes racing to publish it.
//!
//! `PROPTEST_CASES` sets the number of cases (default 64: each case renders the table six
//! times).

use std::sync::Mutex;

use promstatic::conformance::proptest::prelude::*;
use promstatic::encode::{Encoder, Label};
use promstatic::exemplar::ExemplarSlot;
use promstatic::table::{PlanCache, Table};
use promstatic::{
    Counter, CounterFamily, DynCounterFamily, DynGaugeFamily, DynHistogramFamily, FloatGauge,
    FloatGaugeFamily, Format, Gauge, GaugeFamily, Histogram, HistogramFamily, LabelValue,
    NativeHistogram, ShardedCounter, metric,
};

const FORMATS: [Format; 3] = [Format::Text, Format::OpenMetrics, Format::Protobuf];

/// The tests of this file change the same statics: one at a time, so that no value moves
/// between the planned and the unplanned render of one comparison.
static ONE_AT_A_TIME: Mutex<()> = Mutex::new(());

fn one_at_a_time() -> std::sync::MutexGuard<'static, ()> {
    ONE_AT_A_TIME
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner)
}

#[derive(LabelValue, Clone, Copy)]
enum Route {
    Home,
    #[label(rename = "/api/\"v1\"\\")]
    Api,
}

/// Requests, with a HELP that needs escaping: "quoted" \ and more.
#[metric]
static PLAN_REQUESTS_TOTAL: Counter = Counter::new();

/// A counter that carries exemplars (OpenMetrics and protobuf show them).
#[metric]
static PLAN_TRACED_TOTAL: Counter<ExemplarSlot> = Counter::with_exemplars();

/// Queue depth.
#[metric]
static PLAN_DEPTH: Gauge = Gauge::new();

/// Load.
#[metric]
static PLAN_LOAD: FloatGauge = FloatGauge::new();

/// Requests by route.
#[metric(labels(route: Route))]
static PLAN_ROUTES_TOTAL: CounterFamily = CounterFamily::new();

/// Open by route.
#[metric(labels(route: Route))]
static PLAN_OPEN: GaugeFamily = GaugeFamily::new();

/// Weight by route.
#[metric(labels(route: Route))]
static PLAN_WEIGHT: FloatGaugeFamily = FloatGaugeFamily::new();

/// Latency.
#[metric(buckets = [0.01, 0.1, 1.0])]
static PLAN_LATENCY_SECONDS: Histogram = Histogram::new();

/// Latency by route.
#[metric(labels(route: Route), buckets = [0.5])]
static PLAN_ROUTE_SECONDS: HistogramFamily = HistogramFamily::new();

/// Latency, native and classic.
#[metric(native(schema = 2, range = 1e-3..1e3), buckets = [0.1])]
static PLAN_NATIVE_SECONDS: NativeHistogram = NativeHistogram::new();

/// Hits by path, known at run time.
#[metric(labels(path: &str), capacity = 8)]
static PLAN_PATHS_TOTAL: DynCounterFamily = DynCounterFamily::new();

/// Sessions by user, known at run time.
#[metric(labels(user: &str, shard: u16), capacity = 4)]
static PLAN_SESSIONS: DynGaugeFamily = DynGaugeFamily::new();

/// Latency by upstream, known at run time (its overflow series is a planned histogram).
#[metric(labels(upstream: &str), capacity = 4, buckets = [0.1, 1.0])]
static PLAN_UPSTREAM_SECONDS: DynHistogramFamily = DynHistogramFamily::new();

/// A counter every thread hits.
#[metric]
static PLAN_HOT_TOTAL: ShardedCounter = ShardedCounter::new();

/// The planned render (`promstatic::render`, the table's own plans).
fn planned(format: Format) -> Vec<u8> {
    let mut out = Vec::new();
    promstatic::render(&mut out, format);
    out
}

/// The same exposition with every metric encoded one by one.
fn unplanned(format: Format) -> Vec<u8> {
    let mut out = Vec::new();
    let mut encoder = Encoder::new(&mut out, format);
    Table::linked().render_into_unplanned(&mut encoder);
    promstatic::table::render_native_out_of_range(&mut encoder);
    encoder.finish();
    out
}

fn assert_same(format: Format, planned: &[u8], unplanned: &[u8], context: &str) {
    if planned != unplanned {
        panic!(
            "{context}, {format:?}: the plan wrote other bytes\nplanned:\n{}\nunplanned:\n{}",
            String::from_utf8_lossy(planned),
            String::from_utf8_lossy(unplanned)
        );
    }
}

fn set_counter(counter: &Counter, value: u64) {
    counter.inc_by(value.wrapping_sub(counter.get()));
}

/// Floats that are hard to write: specials, signed zero, extremes, and any bit pattern.
fn float() -> impl Strategy<Value = f64> {
    prop_oneof![
        Just(f64::NAN),
        Just(f64::INFINITY),
        Just(f64::NEG_INFINITY),
        Just(-0.0),
        Just(f64::MIN_POSITIVE),
        Just(f64::MAX),
        Just(1e21),
        Just(1e-7),
        any::<f64>(),
        (-1e6..1e6f64),
    ]
}

#[derive(Debug, Clone)]
struct Values {
    counters: [u64; 4],
    gauges: [i64; 3],
    floats: [f64; 3],
    observations: Vec<f64>,
    /// Dynamic series to add before the comparison (after the plans exist).
    paths: Vec<String>,
    exemplar: bool,
}

fn values() -> impl Strategy<Value = Values> {
    (
        any::<[u64; 4]>(),
        any::<[i64; 3]>(),
        [float(), float(), float()],
        prop::collection::vec(float(), 0..4),
        prop::collection::vec("[a-z/\"\\\\\n]{0,6}", 0..3),
        any::<bool>(),
    )
        .prop_map(
            |(counters, gauges, floats, observations, paths, exemplar)| Values {
                counters,
                gauges,
                floats,
                observations,
                paths,
                exemplar,
            },
        )
}

fn apply(values: &Values) {
    set_counter(&PLAN_REQUESTS_TOTAL, values.counters[0]);
    PLAN_TRACED_TOTAL.inc_by(values.counters[1] % 1000);
    if values.exemplar {
        let _ = PLAN_TRACED_TOTAL.inc_with_exemplar(&[("trace_id", "4bf92f3577b34da6")]);
    }
    set_counter(PLAN_ROUTES_TOTAL.with(Route::Home), values.counters[2]);
    set_counter(PLAN_ROUTES_TOTAL.with(Route::Api), values.counters[3]);
    PLAN_DEPTH.set(values.gauges[0]);
    PLAN_OPEN.with(Route::Home).set(values.gauges[1]);
    PLAN_OPEN.with(Route::Api).set(values.gauges[2]);
    PLAN_LOAD.set(values.floats[0]);
    PLAN_WEIGHT.with(Route::Home).set(values.floats[1]);
    PLAN_WEIGHT.with(Route::Api).set(values.floats[2]);
    for &observation in &values.observations {
        PLAN_LATENCY_SECONDS.observe(observation);
        PLAN_ROUTE_SECONDS.with(Route::Api).observe(observation);
        PLAN_NATIVE_SECONDS.observe(observation);
        PLAN_UPSTREAM_SECONDS
            .with(("__overflow__",))
            .observe(observation);
    }
    for (shard, path) in values.paths.iter().enumerate() {
        PLAN_PATHS_TOTAL.with((path.as_str(),)).inc();
        PLAN_SESSIONS
            .with((path.as_str(), shard as u16))
            .set(values.gauges[0]);
        PLAN_UPSTREAM_SECONDS
            .with((path.as_str(),))
            .observe(values.floats[0]);
    }
    PLAN_HOT_TOTAL.inc_by(values.counters[0] % 7);
}

proptest! {
    #![proptest_config(ProptestConfig {
        cases: std::env::var("PROPTEST_CASES").ok().and_then(|n| n.parse().ok()).unwrap_or(64),
        ..ProptestConfig::default()
    })]

    #[test]
    fn the_plan_writes_the_unplanned_bytes(values in values()) {
        let _guard = one_at_a_time();
        apply(&values);
        for format in FORMATS {
            assert_same(format, &planned(format), &unplanned(format), "arbitrary values");
        }
    }
}

#[test]
fn dynamic_series_added_after_the_plan_appear_in_every_format() {
    let _guard = one_at_a_time();
    // The plans exist after these scrapes.
    for format in FORMATS {
        planned(format);
    }
    PLAN_PATHS_TOTAL.with(("/added/after/the/plan",)).inc_by(41);
    PLAN_SESSIONS.with(("late", 9)).set(-3);
    let text = String::from_utf8(planned(Format::Text)).unwrap();
    assert!(
        text.contains("plan_paths_total{path=\"/added/after/the/plan\"} "),
        "{text}"
    );
    assert!(
        text.contains("plan_sessions{user=\"late\",shard=\"9\"} -3\n"),
        "{text}"
    );
    let openmetrics = String::from_utf8(planned(Format::OpenMetrics)).unwrap();
    assert!(
        openmetrics.contains("plan_paths_total{path=\"/added/after/the/plan\"} "),
        "{openmetrics}"
    );
    let protobuf = planned(Format::Protobuf);
    assert!(
        protobuf
            .windows(b"/added/after/the/plan".len())
            .any(|window| window == b"/added/after/the/plan"),
        "protobuf lacks the new series"
    );
    for format in FORMATS {
        assert_same(
            format,
            &planned(format),
            &unplanned(format),
            "after new series",
        );
    }
}

#[test]
fn overflow_counts_after_the_plan_appear_in_every_format() {
    let _guard = one_at_a_time();
    for format in FORMATS {
        planned(format);
    }
    // The overflow series' own label set is reserved: the lookup counts as an overflow.
    PLAN_PATHS_TOTAL.with(("__overflow__",)).inc();
    let reserved = PLAN_PATHS_TOTAL.overflows().reserved;
    assert!(reserved > 0);
    let line = format!(
        "promstatic_label_overflows_total{{metric=\"plan_paths_total\",reason=\"reserved\"}} {reserved}\n"
    );
    let text = String::from_utf8(planned(Format::Text)).unwrap();
    assert!(text.contains(&line), "{text}");
    for format in FORMATS {
        assert_same(
            format,
            &planned(format),
            &unplanned(format),
            "after an overflow",
        );
    }
}

#[test]
fn a_namespace_and_constant_labels_are_planned_and_a_different_encoder_is_not_misserved() {
    let _guard = one_at_a_time();
    let cache = PlanCache::new();
    let first = [Label::new("env", "prod \"eu\"").unwrap()];
    let other = [
        Label::new("env", "dev").unwrap(),
        Label::new("zone", "b").unwrap(),
    ];
    let render = |labels: &[Label<'_>], namespace: &str, format: Format, planned: bool| {
        let mut out = Vec::new();
        let mut encoder = Encoder::new(&mut out, format)
            .checked_namespace(namespace)
            .unwrap()
            .with_const_labels(labels);
        if planned {
            Table::linked().render_into_planned(&mut encoder, &cache);
        } else {
            Table::linked().render_into_unplanned(&mut encoder);
        }
        encoder.finish();
        out
    };
    for format in FORMATS {
        // Twice: building the plan, then replaying it.
        for round in ["first", "replayed"] {
            assert_same(
                format,
                &render(&first, "app_", format, true),
                &render(&first, "app_", format, false),
                round,
            );
        }
        // The cache holds the plan of `first`: another configuration is encoded unplanned,
        // never written with the wrong namespace or labels.
        assert_same(
            format,
            &render(&other, "svc_", format, true),
            &render(&other, "svc_", format, false),
            "another configuration",
        );
    }
}

#[test]
fn scrapes_racing_to_publish_the_plan_all_write_the_same() {
    let _guard = one_at_a_time();
    for format in FORMATS {
        let cache = PlanCache::new();
        let expected = {
            let mut out = Vec::new();
            let mut encoder = Encoder::new(&mut out, format);
            Table::linked().render_into_unplanned(&mut encoder);
            encoder.finish();
            out
        };
        std::thread::scope(|scope| {
            let scrapers: Vec<_> = (0..4)
                .map(|_| {
                    scope.spawn(|| {
                        (0..3)
                            .map(|_| {
                                let mut out = Vec::new();
                                let mut encoder = Encoder::new(&mut out, format);
                                Table::linked().render_into_planned(&mut encoder, &cache);
                                encoder.finish();
                                out
                            })
                            .collect::<Vec<_>>()
                    })
                })
                .collect();
            for scraper in scrapers {
                for out in scraper.join().unwrap() {
                    assert_same(format, &out, &expected, "racing scrapers");
                }
            }
        });
    }
}
