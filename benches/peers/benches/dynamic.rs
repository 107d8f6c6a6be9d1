//! Dynamic label families (issue #13): the hit path of `with(…).inc()` for 1, 2 and 3 string
//! labels against every peer's run-time label API, a cached series against a plain
//! `Counter::inc`, the cost of inserting a new label set, and the scrape cost per series of a
//! dynamic family against a typed family of the same size.
//!
//! Hit path: every library resolves label values that are already known to it (the series
//! exists), cycling through 8 label sets, the values given as `&str` at the call site.
//! `prometheus-client` needs an owned label set to look up; it gets pre-built ones (its best
//! case: no `String` is built per call). `metrics` resolves through its `counter!` macro with
//! `&'static str` values (no allocation). `measured` uses its dynamic label set
//! (`dynamic_with = lasso::ThreadedRodeo`).

use std::hint::black_box;
use std::time::{Duration, Instant};

use criterion::{BatchSize, Criterion, criterion_group, criterion_main};
use promstatic::encode::Encoder;
use promstatic::{Counter, CounterFamily, DynCounterFamily, Format, LabelValue, Metric, metric};
use promstatic_bench_peers::peers;

/// The label sets of the hit path: 8 routes, codes and methods.
const ROUTES: [&str; 8] = [
    "/users/:id",
    "/users/:id/orders",
    "/orders/:id",
    "/health",
    "/login",
    "/logout",
    "/search",
    "/items/:id/reviews",
];
const CODES: [&str; 8] = ["200", "201", "204", "301", "404", "500", "503", "200"];
const METHODS: [&str; 8] = ["GET", "POST", "GET", "PUT", "GET", "DELETE", "GET", "PATCH"];

/// Requests by route.
#[metric(labels(route: &str), capacity = 64)]
static DYN1_TOTAL: DynCounterFamily = DynCounterFamily::new();

/// Requests by route and code.
#[metric(labels(route: &str, code: &str), capacity = 64)]
static DYN2_TOTAL: DynCounterFamily = DynCounterFamily::new();

/// Requests by route, code and method.
#[metric(labels(route: &str, code: &str, method: &str), capacity = 64)]
static DYN3_TOTAL: DynCounterFamily = DynCounterFamily::new();

/// One counter, for the cached-series comparison.
#[metric]
static PLAIN_TOTAL: Counter = Counter::new();

/// 32 values of a typed label, used for both labels (constructed only through the family's
/// series).
#[allow(dead_code)]
#[derive(LabelValue, Clone, Copy)]
enum Row {
    V0,
    V1,
    V2,
    V3,
    V4,
    V5,
    V6,
    V7,
    V8,
    V9,
    V10,
    V11,
    V12,
    V13,
    V14,
    V15,
    V16,
    V17,
    V18,
    V19,
    V20,
    V21,
    V22,
    V23,
    V24,
    V25,
    V26,
    V27,
    V28,
    V29,
    V30,
    V31,
}

/// 1,024 typed series, two labels.
#[metric(labels(row: Row, column: Row))]
static TYPED_SCRAPE_TOTAL: CounterFamily = CounterFamily::new();

/// 1,024 dynamic series, two labels, the same values as text.
#[metric(labels(row: &str, column: &str), capacity = 1024)]
static DYNAMIC_SCRAPE_TOTAL: DynCounterFamily = DynCounterFamily::new();

mod measured_routes {
    #![allow(missing_docs)]
    use measured::lasso::ThreadedRodeo;

    #[derive(Clone, Copy, Debug, measured::LabelGroup)]
    #[label(set = Route1Set)]
    pub(crate) struct Route1<'a> {
        #[label(dynamic_with = ThreadedRodeo, default)]
        pub(crate) route: &'a str,
    }

    #[derive(Clone, Copy, Debug, measured::LabelGroup)]
    #[label(set = Route2Set)]
    pub(crate) struct Route2<'a> {
        #[label(dynamic_with = ThreadedRodeo, default)]
        pub(crate) route: &'a str,
        #[label(dynamic_with = ThreadedRodeo, default)]
        pub(crate) code: &'a str,
    }

    #[derive(Clone, Copy, Debug, measured::LabelGroup)]
    #[label(set = Route3Set)]
    pub(crate) struct Route3<'a> {
        #[label(dynamic_with = ThreadedRodeo, default)]
        pub(crate) route: &'a str,
        #[label(dynamic_with = ThreadedRodeo, default)]
        pub(crate) code: &'a str,
        #[label(dynamic_with = ThreadedRodeo, default)]
        pub(crate) method: &'a str,
    }
}
use measured_routes::{Route1, Route1Set, Route2, Route2Set, Route3, Route3Set};

type ClientLabels = Vec<(String, String)>;

fn client_labels(names: &[&str], index: usize) -> ClientLabels {
    let values = [ROUTES[index], CODES[index], METHODS[index]];
    names
        .iter()
        .zip(values)
        .map(|(name, value)| ((*name).to_owned(), value.to_owned()))
        .collect()
}

fn hit_path(c: &mut Criterion) {
    peers::metrics_global();
    let mut group = c.benchmark_group("dynamic_hit");
    for arity in [1usize, 2, 3] {
        let names = &["route", "code", "method"][..arity];
        let prometheus = prometheus::IntCounterVec::new(
            prometheus::Opts::new(format!("prom_dyn{arity}_total"), "Requests."),
            names,
        )
        .unwrap();
        let client = prometheus_client::metrics::family::Family::<
            ClientLabels,
            prometheus_client::metrics::counter::Counter,
        >::default();
        let client_keys: Vec<ClientLabels> = (0..8).map(|i| client_labels(names, i)).collect();
        let measured1 = measured::CounterVec::<Route1Set>::new();
        let measured2 = measured::CounterVec::<Route2Set>::new();
        let measured3 = measured::CounterVec::<Route3Set>::new();
        // Every library knows every label set before the measurement: the hit path.
        for i in 0..8 {
            let values = [ROUTES[i], CODES[i], METHODS[i]];
            prometheus.with_label_values(&values[..arity]).inc();
            client.get_or_create(&client_keys[i]).inc();
            match arity {
                1 => {
                    DYN1_TOTAL.with((ROUTES[i],)).inc();
                    measured1.inc(Route1 { route: ROUTES[i] });
                }
                2 => {
                    DYN2_TOTAL.with((ROUTES[i], CODES[i])).inc();
                    measured2.inc(Route2 {
                        route: ROUTES[i],
                        code: CODES[i],
                    });
                }
                _ => {
                    DYN3_TOTAL.with((ROUTES[i], CODES[i], METHODS[i])).inc();
                    measured3.inc(Route3 {
                        route: ROUTES[i],
                        code: CODES[i],
                        method: METHODS[i],
                    });
                }
            }
        }
        let mut turn = 0usize;
        let mut next = move || {
            turn = turn.wrapping_add(1);
            turn % 8
        };
        group.bench_function(format!("promstatic/{arity}"), |b| match arity {
            1 => b.iter(|| {
                let i = next();
                DYN1_TOTAL.with((black_box(ROUTES[i]),)).inc()
            }),
            2 => b.iter(|| {
                let i = next();
                DYN2_TOTAL
                    .with((black_box(ROUTES[i]), black_box(CODES[i])))
                    .inc()
            }),
            _ => b.iter(|| {
                let i = next();
                DYN3_TOTAL
                    .with((
                        black_box(ROUTES[i]),
                        black_box(CODES[i]),
                        black_box(METHODS[i]),
                    ))
                    .inc()
            }),
        });
        group.bench_function(format!("prometheus/{arity}"), |b| {
            b.iter(|| {
                let i = next();
                let values = [ROUTES[i], CODES[i], METHODS[i]];
                prometheus
                    .with_label_values(black_box(&values[..arity]))
                    .inc()
            })
        });
        group.bench_function(format!("prometheus-client/{arity}"), |b| {
            b.iter(|| {
                client.get_or_create(black_box(&client_keys[next()])).inc();
            })
        });
        group.bench_function(
            format!("metrics (counter! macro)/{arity}"),
            |b| {
                match arity {
            1 => b.iter(|| {
                let i = next();
                metrics::counter!("metrics_dyn1_total", "route" => ROUTES[i]).increment(1)
            }),
            2 => b.iter(|| {
                let i = next();
                metrics::counter!("metrics_dyn2_total", "route" => ROUTES[i], "code" => CODES[i])
                    .increment(1)
            }),
            _ => b.iter(|| {
                let i = next();
                metrics::counter!(
                    "metrics_dyn3_total",
                    "route" => ROUTES[i],
                    "code" => CODES[i],
                    "method" => METHODS[i]
                )
                .increment(1)
            }),
        }
            },
        );
        group.bench_function(format!("measured/{arity}"), |b| match arity {
            1 => b.iter(|| {
                measured1.inc(Route1 {
                    route: black_box(ROUTES[next()]),
                })
            }),
            2 => b.iter(|| {
                let i = next();
                measured2.inc(Route2 {
                    route: black_box(ROUTES[i]),
                    code: black_box(CODES[i]),
                })
            }),
            _ => b.iter(|| {
                let i = next();
                measured3.inc(Route3 {
                    route: black_box(ROUTES[i]),
                    code: black_box(CODES[i]),
                    method: black_box(METHODS[i]),
                })
            }),
        });
    }
    group.finish();
}

fn cached(c: &mut Criterion) {
    let mut group = c.benchmark_group("dynamic_cached");
    let series = DYN2_TOTAL.with(("/users/:id", "200"));
    group.bench_function("promstatic: plain Counter::inc", |b| {
        b.iter(|| PLAIN_TOTAL.inc())
    });
    group.bench_function("promstatic: cached dynamic series inc", |b| {
        b.iter(|| black_box(series).inc())
    });
    group.finish();
}

type InsertFamily = DynCounterFamily<(&'static str, &'static str), 4096, 8192, 262_144>;

fn insert(c: &mut Criterion) {
    let values: Vec<String> = (0..4096).map(|i| format!("/tenant/{i}")).collect();
    let mut group = c.benchmark_group("dynamic_insert");
    group.bench_function("promstatic: new label set (2 labels)", |b| {
        b.iter_custom(|iterations| {
            let mut total = Duration::ZERO;
            let mut done = 0;
            while done < iterations {
                let family: Box<InsertFamily> = Box::new(InsertFamily::from_cells(
                    [const { Counter::new() }; 4096],
                    Counter::new(),
                    128,
                    "insert_total",
                ));
                let batch = (iterations - done).min(4096);
                let start = Instant::now();
                for value in &values[..batch as usize] {
                    family.with((value, "200")).inc();
                }
                total += start.elapsed();
                done += batch;
                drop(black_box(family));
            }
            total
        })
    });
    group.finish();
}

fn scrape(c: &mut Criterion) {
    let names: Vec<String> = (0..32).map(|i| format!("v{i}")).collect();
    for row in 0..32 {
        for column in 0..32 {
            DYNAMIC_SCRAPE_TOTAL
                .with((&names[row], &names[column]))
                .inc_by((row * 32 + column) as u64);
        }
    }
    let descriptor = |name: &str| {
        promstatic::table::declarations()
            .find(|descriptor| descriptor.name() == name)
            .unwrap()
    };
    let typed = descriptor("typed_scrape_total");
    let dynamic = descriptor("dynamic_scrape_total");
    let mut buffer = Vec::with_capacity(1 << 20);
    let mut group = c.benchmark_group("dynamic_scrape_1024_series");
    for format in [Format::Text, Format::OpenMetrics] {
        group.bench_function(format!("typed family/{format:?}"), |b| {
            b.iter_batched_ref(
                || (),
                |_| {
                    buffer.clear();
                    let mut encoder = Encoder::new(&mut buffer, format);
                    TYPED_SCRAPE_TOTAL.encode(typed, &mut encoder);
                },
                BatchSize::SmallInput,
            )
        });
        group.bench_function(format!("dynamic family/{format:?}"), |b| {
            b.iter_batched_ref(
                || (),
                |_| {
                    buffer.clear();
                    let mut encoder = Encoder::new(&mut buffer, format);
                    DYNAMIC_SCRAPE_TOTAL.encode(dynamic, &mut encoder);
                },
                BatchSize::SmallInput,
            )
        });
    }
    group.finish();
}

criterion_group!(benches, hit_path, cached, insert, scrape);
criterion_main!(benches);
