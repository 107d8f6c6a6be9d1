//! Writers store self-checking exemplars while scrapes verify every exemplar they print: the
//! value and both labels of each exemplar derive from one number, so a torn exemplar (one
//! writer's value with another's labels, or half of a label) cannot pass. Bounded in work,
//! not time: a fixed number of stores per writer, and scrapes until the writers finish.

use std::sync::atomic::{AtomicBool, Ordering};
use std::thread;

use promstatic::exemplar::{ExemplarSlot, Stored};
use promstatic::{Counter, DynCounterFamily, Format, Histogram, NativeHistogram, metric};

const BOUNDS: [f64; 4] = [1.0, 10.0, 100.0, 1000.0];

/// Stressed counter.
#[metric]
static STRESS_EVENTS_TOTAL: Counter<ExemplarSlot> = Counter::with_exemplars();

/// Stressed histogram.
#[metric]
static STRESS_LATENCY: Histogram<4, ExemplarSlot> = Histogram::with_bounds_and_exemplars(&BOUNDS);

/// Stressed native histogram: its exemplars are printed on its classic buckets.
#[metric(native(schema = 2, range = 0.01..2000.0), buckets = [1.0, 10.0, 100.0, 1000.0], exemplars)]
static STRESS_NATIVE: NativeHistogram = NativeHistogram::new();

/// Stressed dynamic family: one series, stored into by both writers.
#[metric(labels(route: &str), capacity = 2, exemplars)]
static STRESS_ROUTES_TOTAL: DynCounterFamily = DynCounterFamily::new();

const WRITERS: u64 = 2;
const STORES: u64 = 200_000;
/// Distinct exemplars (labels and values derive from `n` in `0..KINDS`).
const KINDS: u64 = 512;

/// The labels of exemplar `n`: a 32-digit hex trace id and the decimal `n`, of lengths that
/// vary with `n` so that exemplars of different sizes overwrite each other.
fn labels(n: u64) -> (String, String) {
    let width = 1 + (n % 32) as usize;
    (format!("{n:0width$x}"), n.to_string())
}

fn counter_value(n: u64) -> u64 {
    n % 1000 + 1
}

fn histogram_value(n: u64) -> f64 {
    (n % 5000) as f64 / 4.0
}

/// Checks one exemplar line; returns whether it carried an exemplar.
fn check_line(line: &str) -> bool {
    let Some((sample, exemplar)) = line.split_once(" # {") else {
        return false;
    };
    let (labels_text, rest) = exemplar.split_once("} ").expect("exemplar labels end");
    let mut trace = None;
    let mut number = None;
    for pair in labels_text.split(',') {
        let (name, value) = pair.split_once('=').expect("name=value");
        let value = value.trim_matches('"');
        match name {
            "trace_id" => trace = Some(u64::from_str_radix(value, 16).expect("hex trace id")),
            "n" => number = Some(value.parse::<u64>().expect("decimal n")),
            other => panic!("unexpected exemplar label {other} in {line}"),
        }
    }
    let (trace, number) = (trace.expect("trace_id"), number.expect("n"));
    assert_eq!(trace, number, "labels from two writers: {line}");
    let (trace_text, _) = labels(number);
    assert!(
        labels_text.contains(&format!("trace_id=\"{trace_text}\"")),
        "{line}"
    );
    let (value, timestamp) = rest.split_once(' ').expect("value and timestamp");
    let value: f64 = value.parse().expect("exemplar value");
    assert!(
        timestamp.parse::<f64>().expect("timestamp") > 1.0e9,
        "{line}"
    );
    if sample.starts_with("stress_events_total ") || sample.starts_with("stress_routes_total{") {
        assert_eq!(
            value,
            counter_value(number) as f64,
            "torn counter exemplar: {line}"
        );
    } else {
        assert_eq!(
            value,
            histogram_value(number),
            "torn bucket exemplar: {line}"
        );
        // And the value lies in the bucket it is printed on.
        let le = sample
            .split_once("le=\"")
            .and_then(|(_, rest)| rest.split_once('"'))
            .map(|(le, _)| le.parse::<f64>().expect("le"))
            .expect("a bucket line");
        let index = BOUNDS.partition_point(|&bound| bound < le);
        let lower = if index == 0 {
            f64::NEG_INFINITY
        } else {
            BOUNDS[index - 1]
        };
        assert!(
            value > lower && value <= le,
            "exemplar {value} outside its bucket: {line}"
        );
    }
    true
}

#[test]
fn scrapes_never_print_a_torn_exemplar() {
    let done = AtomicBool::new(false);
    let (verified, scrapes, totals) = thread::scope(|scope| {
        let writers: Vec<_> = (0..WRITERS)
            .map(|writer| {
                scope.spawn(move || {
                    // Labels formatted ahead, so the loop stores as fast as it can and the
                    // writers overlap in the slots as often as possible.
                    let table: Vec<(String, String)> = (0..KINDS).map(labels).collect();
                    let (mut busy, mut added, mut observed) = (0u64, 0u64, 0u64);
                    let (mut native, mut routed) = (0u64, 0u64);
                    for i in 0..STORES {
                        let n = (i * WRITERS + writer) % KINDS;
                        let (trace, decimal) = &table[n as usize];
                        let labels = [("trace_id", trace.as_str()), ("n", decimal.as_str())];
                        // Both writers mostly store into the counter's one slot.
                        let stored = match (i + writer) % 6 {
                            0 => {
                                observed += 1;
                                STRESS_LATENCY.observe_with_exemplar(histogram_value(n), &labels)
                            }
                            1 => {
                                native += 1;
                                STRESS_NATIVE.observe_with_exemplar(histogram_value(n), &labels)
                            }
                            2 => {
                                routed += counter_value(n);
                                STRESS_ROUTES_TOTAL
                                    .with(("/a",))
                                    .inc_by_with_exemplar(counter_value(n), &labels)
                            }
                            _ => {
                                added += counter_value(n);
                                STRESS_EVENTS_TOTAL.inc_by_with_exemplar(counter_value(n), &labels)
                            }
                        };
                        if stored.expect("valid exemplar") == Stored::Busy {
                            busy += 1;
                        }
                    }
                    [busy, added, observed, native, routed]
                })
            })
            .collect();
        let scraper = scope.spawn(|| {
            let mut out = Vec::new();
            let mut verified = 0u64;
            let mut scrapes = 0u64;
            // Until the writers are done, and at least a few scrapes after.
            while !done.load(Ordering::Acquire) || scrapes < 10 {
                // Direct reads of the busiest slot between scrapes: many more chances to
                // overlap a writer than scrapes alone give.
                for _ in 0..100 {
                    if let Some(exemplar) = STRESS_EVENTS_TOTAL.exemplar() {
                        let mut pairs = exemplar.labels();
                        let (_, trace) = pairs.next().expect("trace_id");
                        let (_, decimal) = pairs.next().expect("n");
                        let n: u64 = decimal.parse().expect("decimal n");
                        assert_eq!(trace, labels(n).0, "torn labels in a direct read");
                        assert_eq!(exemplar.value(), counter_value(n) as f64, "torn value");
                        verified += 1;
                    }
                }
                out.clear();
                promstatic::render(&mut out, Format::OpenMetrics);
                let text = std::str::from_utf8(&out).expect("UTF-8");
                for line in text.lines().filter(|line| line.starts_with("stress_")) {
                    if check_line(line) {
                        verified += 1;
                    }
                }
                scrapes += 1;
            }
            (verified, scrapes)
        });
        let totals = writers
            .into_iter()
            .map(|writer| writer.join().unwrap())
            .fold([0u64; 5], |a, b| std::array::from_fn(|k| a[k] + b[k]));
        done.store(true, Ordering::Release);
        let (verified, scrapes) = scraper.join().unwrap();
        (verified, scrapes, totals)
    });
    let [busy, added, observed, native, routed] = totals;
    println!("{scrapes} scrapes verified {verified} exemplars; {busy} stores skipped as busy");
    // Every observation counted, whether its exemplar was stored or skipped.
    assert_eq!(STRESS_EVENTS_TOTAL.get(), added);
    assert_eq!(STRESS_LATENCY.count(), observed);
    assert_eq!(STRESS_NATIVE.count(), native);
    assert_eq!(STRESS_ROUTES_TOTAL.with(("/a",)).get(), routed);
    // The last scrapes ran after every writer finished: every slot that was ever written
    // is stable and printed, so at least the counters' and some buckets' exemplars of each
    // kind (the checks above already verified every one printed).
    let last = {
        let mut out = Vec::new();
        promstatic::render(&mut out, Format::OpenMetrics);
        String::from_utf8(out).expect("UTF-8")
    };
    for prefix in [
        "stress_events_total ",
        "stress_routes_total{",
        "stress_latency_bucket{",
        "stress_native_bucket{",
    ] {
        assert!(
            last.lines()
                .any(|line| line.starts_with(prefix) && check_line(line)),
            "no exemplar on {prefix} after the writers finished:\n{last}"
        );
    }
    assert!(
        verified >= 2 * 10,
        "only {verified} exemplars verified in {scrapes} scrapes"
    );
}
