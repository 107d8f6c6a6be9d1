//! Property test over configuration *and* declarations: random namespaces, constant labels,
//! build-info settings and process-metric switches, and random declarations (names built from
//! reserved suffixes and the exporter's own family names, label names, histogram bounds and
//! observations including `NaN`, `±Inf` and negative values) served through the exporter's
//! handler. For every set-up, either building the exporter reports the problem (a
//! `ConfigError`), or the scrape in both formats passes the strict parser
//! (`promstatic::conformance`) and holds every exported declaration.
//!
//! Declarations are generated as `#[metric]` would accept them (a valid name; counters and
//! only counters end in `_total`; no `le` label on a histogram, no `quantile`, no repeated
//! label; finite, strictly increasing bounds): anything else is a compile error, tested in
//! `tests/ui/fail/`. They are served from a generated table (`Table::leak`) through the real
//! `MetricsService`, so the table's own collision rule and the exporter's checks both apply.
//!
//! `PROPTEST_CASES` sets the number of cases (default 1000, about two seconds); failures are saved under
//! `proptest-regressions/config_properties.txt` and replayed first.

#![cfg(feature = "exporter")]

use std::sync::atomic::{AtomicUsize, Ordering};

use promstatic::__private::{Entry, Kind, Metric, Table};
use promstatic::conformance;
use promstatic::encode::Format;
use promstatic::exporter::Exporter;
use promstatic::family::MetricFamily;
use promstatic::{Counter, Gauge, Histogram, LabelValue};
use proptest::prelude::*;
use proptest::test_runner::{FileFailurePersistence, TestRunner};

/// The label values of generated families; only their positions are used (families are
/// filled through `iter`), so the variants are never named.
#[allow(dead_code)]
#[derive(LabelValue, Clone, Copy, Debug)]
enum Side {
    Left,
    Right,
}

/// What a generated declaration holds, and the values it has been given.
#[derive(Debug, Clone)]
enum Body {
    Counter(u64),
    Gauge(i64),
    Histogram {
        bounds: Vec<f64>,
        observations: Vec<f64>,
    },
}

#[derive(Debug, Clone)]
struct Declaration {
    name: String,
    labels: Vec<&'static str>,
    body: Body,
}

#[derive(Debug, Clone)]
struct Setup {
    namespace: &'static str,
    const_labels: Vec<(&'static str, &'static str)>,
    build_info: Option<(&'static str, &'static str)>,
    process_metrics: bool,
    declarations: Vec<Declaration>,
}

/// Stems and suffixes that make names of the exporter's own families and reserved names.
const STEMS: &[&str] = &[
    "jobs",
    "x",
    "_",
    "open_fds",
    "scrapes",
    "shop",
    "build_info",
    "shop_build_info",
    "process_open_fds",
    "process_cpu_seconds",
    "promstatic_build_info",
    "promstatic_scrapes",
    "promstatic_last_scrape_encode_seconds",
    "latency_seconds",
];
const SUFFIXES: &[&str] = &[
    "", "", "_bucket", "_count", "_sum", "_created", "_info", "_gsum", "_gcount",
];
const LABELS: &[&str] = &[
    "method",
    "code",
    "le",
    "quantile",
    "version",
    "promstatic_version",
    "env",
];
const NAMESPACES: &[&str] = &[
    "",
    "",
    "app_",
    "process_",
    "promstatic_",
    "shop_",
    "x",
    "9x",
    "a:b",
    "__n",
];
const CONST_LABELS: &[&str] = &[
    "env",
    "region",
    "le",
    "quantile",
    "version",
    "promstatic_version",
    "method",
    "code",
    "__r",
    "bad name",
    "",
];
const VALUES: &[&str] = &["prod", "", "a\"b", "back\\slash", "new\nline", "é ✓", "}"];
const APPLICATIONS: &[&str] = &["shop", "promstatic", "process", "app", "9bad", "a:b", ""];

fn observation() -> impl Strategy<Value = f64> {
    prop_oneof![
        4 => -100.0..100.0f64,
        1 => Just(f64::NAN),
        1 => Just(f64::INFINITY),
        1 => Just(f64::NEG_INFINITY),
        1 => Just(0.0),
        1 => Just(-0.0),
        1 => Just(f64::MAX),
    ]
}

fn bounds() -> impl Strategy<Value = Vec<f64>> {
    prop::collection::vec(prop_oneof![-20i32..20, Just(0)], 1..4).prop_map(|values| {
        let mut bounds: Vec<f64> = values.into_iter().map(|v| f64::from(v) / 4.0).collect();
        bounds.sort_by(f64::total_cmp);
        bounds.dedup();
        bounds
    })
}

fn body() -> impl Strategy<Value = Body> {
    prop_oneof![
        any::<u64>().prop_map(Body::Counter),
        any::<i64>().prop_map(Body::Gauge),
        (bounds(), prop::collection::vec(observation(), 0..6)).prop_map(
            |(bounds, observations)| Body::Histogram {
                bounds,
                observations
            }
        ),
    ]
}

fn declaration() -> impl Strategy<Value = Declaration> {
    (
        prop::sample::select(STEMS),
        prop::sample::select(SUFFIXES),
        prop::collection::vec(prop::sample::select(LABELS), 0..3),
        body(),
    )
        .prop_map(|(stem, suffix, labels, body)| {
            let mut name = format!("{stem}{suffix}");
            if matches!(body, Body::Counter(_)) {
                name.push_str("_total");
            }
            Declaration { name, labels, body }
        })
        .prop_filter("as #[metric] accepts it", |declaration| {
            let histogram = matches!(declaration.body, Body::Histogram { .. });
            let labels_ok = declaration.labels.iter().enumerate().all(|(index, label)| {
                *label != "quantile"
                    && !(histogram && *label == "le")
                    && !declaration.labels[..index].contains(label)
            });
            promstatic::name::validate_metric_name(&declaration.name).is_ok() && labels_ok
        })
}

fn setup() -> impl Strategy<Value = Setup> {
    (
        prop::sample::select(NAMESPACES),
        prop::collection::vec(
            (
                prop::sample::select(CONST_LABELS),
                prop::sample::select(VALUES),
            ),
            0..3,
        ),
        prop::option::of((
            prop::sample::select(APPLICATIONS),
            prop::sample::select(VALUES),
        )),
        any::<bool>(),
        prop::collection::vec(declaration(), 0..6),
    )
        .prop_map(
            |(namespace, const_labels, build_info, process_metrics, declarations)| Setup {
                namespace,
                const_labels,
                build_info,
                process_metrics,
                declarations,
            },
        )
}

fn leak<T>(value: T) -> &'static T {
    Box::leak(Box::new(value))
}

fn histogram<const B: usize>(bounds: &[f64]) -> Histogram<B> {
    let bounds: [f64; B] = bounds.try_into().expect("B is the number of bounds");
    Histogram::with_bounds(leak(bounds))
}

/// The metric for `body` with `labels.len()` labels of two values each, values applied.
fn metric(body: &Body, labels: usize) -> &'static dyn Metric {
    fn family<M: promstatic::family::Series + 'static>(
        labels: usize,
        make: impl Fn() -> M,
        apply: impl Fn(&M),
    ) -> &'static dyn Metric {
        // `labels` is 1 or more: plain metrics are built by the caller.
        if labels == 1 {
            let family = leak(MetricFamily::<(Side,), M, 2>::from_cells([make(), make()]));
            family.iter().for_each(|(_, cell)| apply(cell));
            family
        } else {
            let family = leak(MetricFamily::<(Side, Side), M, 4>::from_cells([
                make(),
                make(),
                make(),
                make(),
            ]));
            // Only the first series receives values, so series differ.
            if let Some((_, cell)) = family.iter().next() {
                apply(cell);
            }
            family
        }
    }
    fn observe<const B: usize>(histogram: &Histogram<B>, observations: &[f64]) {
        observations
            .iter()
            .for_each(|&value| histogram.observe(value));
    }
    macro_rules! histogram_metric {
        ($b:literal, $bounds:expr, $observations:expr) => {
            if labels == 0 {
                let plain = leak(histogram::<$b>($bounds));
                observe(plain, $observations);
                plain as &'static dyn Metric
            } else {
                family(
                    labels,
                    || histogram::<$b>($bounds),
                    |cell| observe(cell, $observations),
                )
            }
        };
    }
    match body {
        Body::Counter(value) if labels == 0 => {
            let counter = leak(Counter::new());
            counter.inc_by(*value);
            counter
        }
        Body::Counter(value) => family(labels, Counter::new, |cell| cell.inc_by(*value)),
        Body::Gauge(value) if labels == 0 => {
            let gauge = leak(Gauge::new());
            gauge.set(*value);
            gauge
        }
        Body::Gauge(value) => family(labels, Gauge::new, |cell| cell.set(*value)),
        Body::Histogram {
            bounds,
            observations,
        } => match bounds.len() {
            1 => histogram_metric!(1, bounds, observations),
            2 => histogram_metric!(2, bounds, observations),
            _ => histogram_metric!(3, bounds, observations),
        },
    }
}

fn table(declarations: &[Declaration]) -> &'static Table {
    let entries = declarations
        .iter()
        .enumerate()
        .map(|(line, declaration)| {
            let kind = match declaration.body {
                Body::Counter(_) => Kind::Counter,
                Body::Gauge(_) => Kind::Gauge,
                Body::Histogram { .. } => Kind::Histogram,
            };
            let name: &'static str = Box::leak(declaration.name.clone().into_boxed_str());
            let labels: &'static [&'static str] = Box::leak(declaration.labels.clone().into());
            let descriptor = promstatic::__private::descriptor(
                name,
                kind,
                "Generated.",
                "Generated.",
                labels,
                "config_properties",
                "tests/config_properties.rs",
                line as u32 + 1,
            );
            Entry::new(descriptor, metric(&declaration.body, labels.len()))
        })
        .collect();
    Table::leak(entries)
}

static SERVED: AtomicUsize = AtomicUsize::new(0);
static REFUSED: AtomicUsize = AtomicUsize::new(0);

/// `Ok` when the set-up is refused with a readable error or serves valid expositions.
fn check(setup: &Setup) -> Result<(), String> {
    let table = table(&setup.declarations);
    let mut exporter = Exporter::new()
        .namespace(setup.namespace)
        .process_metrics(setup.process_metrics)
        .table(table);
    for (name, value) in &setup.const_labels {
        exporter = exporter.const_label(name, value);
    }
    if let Some((application, version)) = setup.build_info {
        exporter = exporter.build_info(application, version);
    }
    let service = match exporter.service() {
        Ok(service) => service,
        Err(error) if !error.to_string().is_empty() => {
            REFUSED.fetch_add(1, Ordering::Relaxed);
            return Ok(());
        }
        Err(error) => return Err(format!("an error without a message: {error:?}")),
    };
    for format in [Format::Text, Format::OpenMetrics] {
        let model = match conformance::scrape_service(&service, format) {
            Ok(scraped) => scraped.exposition,
            Err(error) => return Err(format!("{format:?}: {error}")),
        };
        let shown = || format!("{:#?}", model.families);
        // Every exported declaration is in the scrape, under its namespaced family name.
        for descriptor in table.exported() {
            let name = descriptor.name();
            let family = match (descriptor.kind(), format) {
                (Kind::Counter, Format::OpenMetrics) => name
                    .strip_suffix("_total")
                    .filter(|base| !base.is_empty())
                    .unwrap_or(name),
                _ => name,
            };
            let family = format!("{}{family}", setup.namespace);
            if !model.families.iter().any(|f| f.name == family) {
                return Err(format!("{format:?}: {family} is missing\n{}", shown()));
            }
        }
    }
    SERVED.fetch_add(1, Ordering::Relaxed);
    Ok(())
}

fn config() -> ProptestConfig {
    let cases = std::env::var("PROPTEST_CASES")
        .ok()
        .and_then(|cases| cases.parse().ok())
        .unwrap_or(1000);
    ProptestConfig {
        cases,
        failure_persistence: Some(Box::new(FileFailurePersistence::Direct(
            "proptest-regressions/config_properties.txt",
        ))),
        ..ProptestConfig::default()
    }
}

#[test]
fn every_setup_is_refused_or_serves_valid_expositions() {
    let mut runner = TestRunner::new(config());
    let result = runner.run(&setup(), |setup| {
        check(&setup).map_err(TestCaseError::fail)?;
        Ok(())
    });
    if let Err(error) = result {
        panic!("{error}");
    }
    let served = SERVED.load(Ordering::Relaxed);
    let refused = REFUSED.load(Ordering::Relaxed);
    println!("{served} set-ups served, {refused} refused");
    // The generator is meant to reach both outcomes often; if one of them became rare, the
    // property would be checked on too little.
    assert!(
        served * 5 >= served + refused && refused * 10 >= served + refused,
        "{served} served, {refused} refused"
    );
}
