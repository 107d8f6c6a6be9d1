//! Protobuf scrapes of native histograms taken while observers run are each consistent
//! (`sample_count == zero_count + the sum of the buckets`), nothing goes backwards between
//! scrapes (the count, the zero bucket, every bucket), and the final totals are exact. Each
//! scrape is decoded by the independent decoder (`tests/support/protobuf.rs`).

mod support;

use std::collections::HashMap;
use std::sync::atomic::{AtomicBool, Ordering};

use promstatic::{Format, LabelValue, NativeHistogram, NativeHistogramFamily, metric};
use support::protobuf;

#[derive(LabelValue, Clone, Copy)]
enum Shard {
    Left,
    Right,
}

/// Observed by every observer thread.
#[metric(native(schema = 3, range = 0.001..1000.0, zero_threshold = 0.0001))]
static NATIVE_STRESS_SECONDS: NativeHistogram = NativeHistogram::new();

/// Observed by label, one label value per observer thread.
#[metric(labels(shard: Shard), native(schema = 0, range = 1..1024))]
static NATIVE_STRESS_BY_SHARD: NativeHistogramFamily = NativeHistogramFamily::new();

const OBSERVERS: usize = 2;
const OBSERVATIONS: u64 = 200_000;
const MIN_SCRAPES: usize = 2_000;

/// The value observer `thread` observes at step `i`: spread over many buckets, some in the
/// zero bucket, some clamped above the range.
fn value(thread: usize, i: u64) -> f64 {
    let step = (i * 7 + thread as u64 * 13) % 1000;
    match step {
        0..=9 => 0.0,
        990.. => 5000.0,
        _ => (step as f64 / 10.0).powi(2) / 10.0,
    }
}

/// Per series (name and labels): the count, the zero bucket, and each bucket by index.
type State = HashMap<String, (u64, u64, HashMap<i32, u64>)>;

fn check_scrape(bytes: &[u8], previous: &mut State) -> u64 {
    let families = protobuf::decode_delimited(bytes).expect("every scrape decodes");
    let mut total = 0;
    for family in families
        .iter()
        .filter(|f| f.name.starts_with("native_stress"))
    {
        for metric in &family.metrics {
            let histogram = metric.histogram.as_ref().expect("a histogram");
            let buckets = histogram
                .positive_buckets()
                .expect("spans and deltas agree");
            let in_buckets: u64 = buckets.iter().map(|&(_, count)| count).sum();
            assert_eq!(
                histogram.sample_count,
                histogram.zero_count + in_buckets,
                "{}: count is the zero bucket plus the buckets",
                family.name
            );
            let key = format!("{}{:?}", family.name, metric.labels);
            let (count, zero, by_index) = previous.entry(key.clone()).or_default();
            assert!(
                histogram.sample_count >= *count,
                "{key}: count went backwards"
            );
            assert!(
                histogram.zero_count >= *zero,
                "{key}: zero bucket went backwards"
            );
            let mut seen = HashMap::new();
            for &(index, bucket) in &buckets {
                seen.insert(index, bucket);
            }
            for (index, &before) in by_index.iter() {
                let now = seen.get(index).copied().unwrap_or(0);
                assert!(
                    now >= before,
                    "{key}: bucket {index} went from {before} to {now}"
                );
            }
            *count = histogram.sample_count;
            *zero = histogram.zero_count;
            *by_index = seen;
            total += histogram.sample_count;
        }
    }
    total
}

#[test]
fn protobuf_scrapes_are_consistent_while_observers_run() {
    let done = AtomicBool::new(false);
    let mut scrapes = 0usize;
    let mut previous = State::new();
    let mut buffer = Vec::new();
    std::thread::scope(|scope| {
        let observers: Vec<_> = (0..OBSERVERS)
            .map(|thread| {
                scope.spawn(move || {
                    let shard = [Shard::Left, Shard::Right][thread % 2];
                    for i in 0..OBSERVATIONS {
                        NATIVE_STRESS_SECONDS.observe(value(thread, i));
                        NATIVE_STRESS_BY_SHARD
                            .with(shard)
                            .observe((i % 2000) as f64 + 0.5);
                    }
                })
            })
            .collect();
        let done = &done;
        scope.spawn(move || {
            for observer in observers {
                observer.join().unwrap();
            }
            done.store(true, Ordering::Release);
        });
        // Scrape until the observers are done, and at least MIN_SCRAPES times: the count
        // of scrapes, not a duration, bounds this loop (the observers finish on their own).
        while !done.load(Ordering::Acquire) || scrapes < MIN_SCRAPES {
            buffer.clear();
            promstatic::render(&mut buffer, Format::Protobuf);
            check_scrape(&buffer, &mut previous);
            scrapes += 1;
        }
    });
    buffer.clear();
    promstatic::render(&mut buffer, Format::Protobuf);
    let total = check_scrape(&buffer, &mut previous);
    // Every observation is counted exactly once: two histograms, OBSERVERS threads each.
    assert_eq!(total, 2 * OBSERVERS as u64 * OBSERVATIONS);
    assert_eq!(
        NATIVE_STRESS_SECONDS.count(),
        OBSERVERS as u64 * OBSERVATIONS
    );
    let zero = (0..OBSERVERS)
        .map(|thread| {
            (0..OBSERVATIONS)
                .filter(|&i| value(thread, i) == 0.0)
                .count() as u64
        })
        .sum::<u64>();
    assert_eq!(NATIVE_STRESS_SECONDS.bucket(None), zero);
    let clamped = (0..OBSERVERS)
        .map(|thread| {
            (0..OBSERVATIONS)
                .filter(|&i| value(thread, i) > 1000.0)
                .count() as u64
        })
        .sum::<u64>();
    assert_eq!(NATIVE_STRESS_SECONDS.out_of_range().clamped, clamped);
    println!("{scrapes} protobuf scrapes checked while {OBSERVERS} threads observed");
}
