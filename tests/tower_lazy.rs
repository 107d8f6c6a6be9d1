//! The `tower` feature's families wait for the first layer: a binary with the feature on
//! but no layer exports no `http_server_*` family (nor their lines of the overflow
//! self-metric) in any format; once a layer wraps a service, every exposition has them, a
//! plan built before is replaced, and the planned bytes equal the unplanned ones. Their names
//! are seen by the duplicate check all along.
//!
//! Its own test binary: a layer built by any test activates the families for every test of
//! the binary, so the "before" and "after" halves run in one test, in that order.

#[path = "support/counting_alloc.rs"]
mod counting_alloc;

use counting_alloc::{CountingAllocator, allocations_in};
use promstatic::encode::Encoder;
use promstatic::table::{PlanCache, Table};
use promstatic::tower::HttpMetricsLayer;
use promstatic::{Counter, Format, metric};
use tower_layer::Layer;

#[global_allocator]
static GLOBAL: CountingAllocator = CountingAllocator;

const FORMATS: [Format; 3] = [Format::Text, Format::OpenMetrics, Format::Protobuf];

/// Work done, so the table has a family of its own beside the tower ones.
#[metric]
static LAZY_WORK_TOTAL: Counter = Counter::new();

/// A user static with the name of a tower family: a collision, reported either way.
#[metric]
static HTTP_SERVER_REQUESTS_TOTAL: Counter = Counter::new();

/// One exposition through `plans` and one without a plan, in `format`.
fn planned_and_unplanned(plans: &PlanCache, format: Format) -> (Vec<u8>, Vec<u8>) {
    let mut planned = Vec::new();
    let mut encoder = Encoder::new(&mut planned, format);
    Table::linked().render_into_planned(&mut encoder, plans);
    encoder.finish();
    let mut unplanned = Vec::new();
    let mut encoder = Encoder::new(&mut unplanned, format);
    Table::linked().render_into_unplanned(&mut encoder);
    encoder.finish();
    (planned, unplanned)
}

/// The table's own rendering (its plans), in `format`.
fn rendered(format: Format) -> Vec<u8> {
    let mut out = Vec::new();
    promstatic::render(&mut out, format);
    out
}

fn has(exposition: &[u8], needle: &str) -> bool {
    exposition
        .windows(needle.len())
        .any(|window| window == needle.as_bytes())
}

/// Whether `exposition` holds each of the three tower families and the overflow self-metric
/// (by name: protobuf carries the names as bytes too).
fn tower_families(exposition: &[u8]) -> [bool; 4] {
    [
        has(exposition, "http_server_request_duration_seconds"),
        has(exposition, "http_server_active_requests"),
        // The user's static of this name is left out as a duplicate, so this is the layer's.
        has(exposition, "http_server_requests_total"),
        has(exposition, "promstatic_label_overflows_total"),
    ]
}

fn collides_with_tower() -> bool {
    promstatic::check().is_err_and(|error| {
        error.collisions.iter().any(|collision| {
            collision.kept_name == "http_server_requests_total"
                && collision.kept.module_path == "promstatic::tower"
                && collision.dropped.module_path == module_path!()
        })
    })
}

#[test]
fn the_families_appear_with_the_first_layer() {
    LAZY_WORK_TOTAL.inc_by(7);
    let exporter_plans = PlanCache::new();

    // Before any layer: nothing of the tower families, planned or not, in any format; the
    // duplicate check still sees their names. These scrapes build plans (the table's and
    // `exporter_plans`) before the activation.
    assert!(collides_with_tower());
    for format in FORMATS {
        let table = rendered(format);
        let (planned, unplanned) = planned_and_unplanned(&exporter_plans, format);
        for exposition in [&table, &planned, &unplanned] {
            assert!(has(exposition, "lazy_work_total"), "{format:?}");
            assert_eq!(tower_families(exposition), [false; 4], "{format:?}");
            assert!(!has(exposition, "http_server_"), "{format:?}");
        }
        assert_eq!(planned, unplanned, "{format:?}");
        // Warm: a scrape allocates nothing (the buffer kept its capacity).
        let mut out = Vec::with_capacity(table.len() * 2);
        assert_eq!(
            allocations_in(|| {
                out.clear();
                promstatic::render(&mut out, format);
            }),
            0,
            "{format:?}"
        );
    }

    // The first layer wraps a service (any service: the layer asks nothing of it).
    let _service = HttpMetricsLayer::new().layer(());

    for format in FORMATS {
        // The first scrape after the activation replaces the plan (its one allocation);
        // the next allocates nothing again.
        let mut out = Vec::with_capacity(1 << 16);
        let first = allocations_in(|| promstatic::render(&mut out, format));
        assert!(
            first > 0,
            "{format:?}: the plan built before was not replaced"
        );
        assert_eq!(
            allocations_in(|| {
                out.clear();
                promstatic::render(&mut out, format);
            }),
            0,
            "{format:?}"
        );
        let (planned, unplanned) = planned_and_unplanned(&exporter_plans, format);
        for exposition in [&out, &planned, &unplanned] {
            assert!(has(exposition, "lazy_work_total"), "{format:?}");
            assert_eq!(tower_families(exposition), [true; 4], "{format:?}");
        }
        assert_eq!(planned, unplanned, "{format:?}");
        assert_eq!(out, unplanned, "{format:?}");
    }

    // In text, the whole families: the in-flight gauge's methods at zero, the overflow series
    // and the self-metric's lines for both dynamic families.
    let text = String::from_utf8(rendered(Format::Text)).unwrap_or_default();
    for line in [
        "# TYPE http_server_request_duration_seconds histogram\n",
        "# TYPE http_server_requests_total counter\n",
        "http_server_active_requests{http_request_method=\"GET\"} 0\n",
        "http_server_active_requests{http_request_method=\"_OTHER\"} 0\n",
        "promstatic_label_overflows_total{metric=\"http_server_requests_total\",reason=\"capacity\"} 0\n",
        "promstatic_label_overflows_total{metric=\"http_server_request_duration_seconds\",reason=\"capacity\"} 0\n",
    ] {
        assert!(text.contains(line), "missing {line:?} in:\n{text}");
    }
    assert!(collides_with_tower());
}
