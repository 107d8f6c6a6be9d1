//! Instruction counts of the dynamic-family operations (issue #13), for `valgrind
//! --tool=callgrind`: repeatable on a loaded machine, where wall-clock benches are not.
//!
//! Run one case `N` times and `0` times under callgrind; the difference of the two totals
//! divided by `N` is the cost of one operation (set-up, start-up and exit cancel out):
//!
//! ```sh
//! cargo build --release -p promstatic-bench-peers --example dynamic_instructions
//! for n in 0 100000; do
//!   valgrind --tool=callgrind --callgrind-out-file=/tmp/cg.%p \
//!     target/release/examples/dynamic_instructions hit2 $n 2>&1 | grep 'refs'
//! done
//! ```
//!
//! Cases: `hit1`, `hit2`, `hit3` (`with(…).inc()` on known label sets, cycling through 8 as
//! `benches/dynamic.rs` does), `prometheus1`..`prometheus3` (its `with_label_values`, the
//! same workload), `cached` (a kept series' `inc`), `plain` (`Counter::inc`), `insert` (a new
//! label set, two labels, at most 4,096), `scrape_typed` and `scrape_dynamic` (one text
//! scrape of a 1,024-series family each: divide by 1,024 for the cost per series).
//!
//! One case is timed, not counted: `ratio ROUNDS` runs ROUNDS rounds of one 20,000-call batch
//! of `hitN` and one of `prometheusN`, interleaved on one thread, and prints the fastest batch
//! of each and their ratio, for N = 1, 2, 3. A batch another process interrupted is slower,
//! so the minimum is the undisturbed cost: a ratio that holds on a loaded machine, where
//! criterion's means move with the load. The criterion bench stays the reference.

use std::hint::black_box;

use promstatic::encode::Encoder;
use promstatic::{Counter, CounterFamily, DynCounterFamily, Format, LabelValue, Metric, metric};

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

/// One counter.
#[metric]
static PLAIN_TOTAL: Counter = Counter::new();

/// New label sets.
#[metric(labels(tenant: &str, code: &str), capacity = 4096)]
static INSERT_TOTAL: DynCounterFamily = DynCounterFamily::new();

/// 32 values of a typed label (constructed only through the family's series).
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

/// 1,024 typed series.
#[metric(labels(row: Row, column: Row))]
static TYPED_SCRAPE_TOTAL: CounterFamily = CounterFamily::new();

/// 1,024 dynamic series, the same values as text.
#[metric(labels(row: &str, column: &str), capacity = 1024)]
static DYNAMIC_SCRAPE_TOTAL: DynCounterFamily = DynCounterFamily::new();

/// `with(…).inc()` on a known label set of the family with `arity` labels.
#[inline(always)]
fn hit_inlined(arity: usize, i: usize) {
    match arity {
        1 => DYN1_TOTAL.with((black_box(ROUTES[i]),)).inc(),
        2 => DYN2_TOTAL
            .with((black_box(ROUTES[i]), black_box(CODES[i])))
            .inc(),
        _ => DYN3_TOTAL
            .with((
                black_box(ROUTES[i]),
                black_box(CODES[i]),
                black_box(METHODS[i]),
            ))
            .inc(),
    }
}

/// [`hit_inlined`] behind a call, as the counted cases run it.
#[inline(never)]
fn hit(arity: usize, i: usize) {
    hit_inlined(arity, i)
}

/// Calls per timed batch of the `ratio` case.
const BATCH: usize = 20_000;

/// Nanoseconds per call of `call` over one batch.
fn batch(mut call: impl FnMut(usize)) -> f64 {
    let start = std::time::Instant::now();
    for turn in 0..BATCH {
        call(turn % 8);
    }
    start.elapsed().as_nanos() as f64 / BATCH as f64
}

/// One batch of `with(…).inc()` with `arity` labels: one closure per arity, as in the bench,
/// so the arity is a constant there and not decided per call.
fn hit_batch(arity: usize) -> f64 {
    match arity {
        1 => batch(|i| hit_inlined(1, i)),
        2 => batch(|i| hit_inlined(2, i)),
        _ => batch(|i| hit_inlined(3, i)),
    }
}

/// The `ratio` case (see the file's docs).
fn ratio(rounds: usize, prometheus: &[prometheus::IntCounterVec]) {
    for (arity, peer) in (1..=3).zip(prometheus) {
        let (mut ours, mut theirs) = (f64::MAX, f64::MAX);
        for _ in 0..rounds {
            ours = ours.min(hit_batch(arity));
            theirs = theirs.min(batch(|i| {
                let values = [ROUTES[i], CODES[i], METHODS[i]];
                peer.with_label_values(black_box(&values[..arity])).inc();
            }));
        }
        println!(
            "{arity} label(s): promstatic {ours:.2} ns, prometheus {theirs:.2} ns, ratio {:.3}",
            ours / theirs
        );
    }
}

fn main() {
    let mut args = std::env::args().skip(1);
    let case = args.next().unwrap_or_default();
    let Some(count) = args.next().and_then(|count| count.parse::<usize>().ok()) else {
        eprintln!("usage: dynamic_instructions CASE COUNT (see the file's docs for the cases)");
        std::process::exit(2);
    };
    // Every case's set-up runs whatever the count, so that `COUNT = 0` cancels it out.
    for i in 0..8 {
        for arity in 1..=3 {
            hit(arity, i);
        }
    }
    let prometheus: Vec<prometheus::IntCounterVec> = (1..=3)
        .map(|arity| {
            let names = &["route", "code", "method"][..arity];
            let vec = prometheus::IntCounterVec::new(
                prometheus::Opts::new(format!("prom_dyn{arity}_total"), "Requests."),
                names,
            )
            .unwrap_or_else(|error| panic!("a valid peer family: {error}"));
            for i in 0..8 {
                vec.with_label_values(&[ROUTES[i], CODES[i], METHODS[i]][..arity])
                    .inc();
            }
            vec
        })
        .collect();
    let names: Vec<String> = (0..32).map(|i| format!("v{i}")).collect();
    for row in 0..32 {
        for column in 0..32 {
            DYNAMIC_SCRAPE_TOTAL
                .with((&names[row], &names[column]))
                .inc_by((row * 32 + column) as u64);
        }
    }
    let tenants: Vec<String> = (0..4096).map(|i| format!("/tenant/{i}")).collect();
    let descriptor = |name: &str| {
        promstatic::table::declarations()
            .find(|descriptor| descriptor.name() == name)
            .unwrap_or_else(|| panic!("{name} is declared"))
    };
    let typed = descriptor("typed_scrape_total");
    let dynamic = descriptor("dynamic_scrape_total");
    let mut buffer = Vec::with_capacity(1 << 20);
    let cached = DYN2_TOTAL.with(("/users/:id", "200"));
    let mut scrape = |metric: &dyn Metric, descriptor| {
        buffer.clear();
        let mut encoder = Encoder::new(&mut buffer, Format::Text);
        metric.encode(descriptor, &mut encoder);
        black_box(buffer.len());
    };
    // A first scrape of each, so the buffer is warm in every run.
    scrape(&TYPED_SCRAPE_TOTAL, typed);
    scrape(&DYNAMIC_SCRAPE_TOTAL, dynamic);

    if case == "ratio" {
        ratio(count, &prometheus);
        return;
    }
    for turn in 0..count {
        let i = turn % 8;
        match case.as_str() {
            "hit1" => hit(1, i),
            "hit2" => hit(2, i),
            "hit3" => hit(3, i),
            "prometheus1" | "prometheus2" | "prometheus3" => {
                let arity = usize::from(case.as_bytes()[10] - b'0');
                let values = [ROUTES[i], CODES[i], METHODS[i]];
                prometheus[arity - 1]
                    .with_label_values(black_box(&values[..arity]))
                    .inc();
            }
            "cached" => black_box(cached).inc(),
            "plain" => black_box(&PLAIN_TOTAL).inc(),
            "insert" => INSERT_TOTAL
                .with((black_box(&tenants[turn % 4096]), "200"))
                .inc(),
            "scrape_typed" => scrape(&TYPED_SCRAPE_TOTAL, typed),
            "scrape_dynamic" => scrape(&DYNAMIC_SCRAPE_TOTAL, dynamic),
            other => {
                eprintln!("unknown case {other:?} (see the file's docs for the cases)");
                std::process::exit(2);
            }
        }
    }
}
