//! Scrapes taken while observers run are each consistent, never go backwards, and the final
//! totals are exact: for a plain histogram, a sharded one (each observer on its own cells)
//! and a family. Every scrape goes through `promstatic::render_text`, as a server's would.

use std::collections::HashMap;
use std::sync::atomic::{AtomicBool, Ordering};

use promstatic::{Histogram, HistogramFamily, LabelValue, ShardedHistogram, metric};

#[derive(LabelValue, Clone, Copy)]
enum Shard {
    Left,
    Right,
}

/// Observed by every observer thread.
#[metric(buckets = [1, 2, 3, 4, 5, 6, 7])]
static STRESS_SECONDS: Histogram = Histogram::new();

/// Observed by every observer thread, each on its own cells.
#[metric(buckets = [1, 2, 3, 4, 5, 6, 7])]
static STRESS_SHARDED_SECONDS: ShardedHistogram = ShardedHistogram::new();

/// Observed by label, one label value per observer thread.
#[metric(labels(shard: Shard), buckets = [0.5, 2.5, 5])]
static STRESS_BY_SHARD: HistogramFamily = HistogramFamily::new();

const OBSERVERS: usize = 2;
const OBSERVATIONS: u64 = 200_000;
/// Each observer's work is done by this many threads in turn, each observing a multiple of
/// 8 values (one round of the 8 values below).
const GENERATIONS: u64 = 25;
const _: () = assert!(OBSERVATIONS.is_multiple_of(8 * GENERATIONS));
const MIN_SCRAPES: usize = 2_000;

/// One histogram series in one scrape: the bucket counts in order, `_count`.
#[derive(Debug, Default, Clone)]
struct Series {
    buckets: Vec<(String, u64)>,
    count: Option<u64>,
}

/// Parses the histogram samples of a text exposition into series keyed by name and labels
/// (without `le`).
fn parse(text: &str) -> HashMap<String, Series> {
    let mut series: HashMap<String, Series> = HashMap::new();
    for line in text.lines().filter(|line| !line.starts_with('#')) {
        let (key, value) = line.rsplit_once(' ').unwrap();
        let value: f64 = value.parse().unwrap();
        let (name, labels) = match key.split_once('{') {
            Some((name, labels)) => (name, labels.trim_end_matches('}')),
            None => (key, ""),
        };
        if let Some(base) = name.strip_suffix("_bucket") {
            let (rest, le) = match labels.rsplit_once("le=") {
                Some((rest, le)) => (rest.trim_end_matches(','), le.trim_matches('"')),
                None => panic!("bucket without le: {line}"),
            };
            let entry = series.entry(format!("{base}{{{rest}}}")).or_default();
            entry.buckets.push((le.to_owned(), value as u64));
        } else if let Some(base) = name.strip_suffix("_count") {
            series
                .entry(format!("{base}{{{labels}}}"))
                .or_default()
                .count = Some(value as u64);
        }
    }
    series
}

fn check_scrape(text: &str, previous: &HashMap<String, Series>) -> HashMap<String, Series> {
    let scrape = parse(text);
    assert_eq!(scrape.len(), 4, "{text}");
    for (key, series) in &scrape {
        let (last_le, total) = series.buckets.last().unwrap();
        assert_eq!(last_le, "+Inf", "{key}: the last bucket is +Inf");
        assert_eq!(Some(*total), series.count, "{key}: +Inf equals _count");
        for pair in series.buckets.windows(2) {
            let lower: f64 = pair[0].0.parse().unwrap();
            let upper: f64 = pair[1].0.replace("+Inf", "inf").parse().unwrap();
            assert!(lower < upper, "{key}: bounds increase");
            assert!(
                pair[0].1 <= pair[1].1,
                "{key}: cumulative counts never decrease"
            );
        }
        if let Some(before) = previous.get(key) {
            for (now, then) in series.buckets.iter().zip(&before.buckets) {
                assert!(
                    now.1 >= then.1,
                    "{key} le={}: went back from {} to {}",
                    now.0,
                    then.1,
                    now.1
                );
            }
        }
    }
    scrape
}

#[test]
fn every_scrape_is_consistent_while_observers_run() {
    let done = AtomicBool::new(false);
    let (scrapes, last) = std::thread::scope(|scope| {
        let observers: Vec<_> = (0..OBSERVERS)
            .map(|thread| {
                scope.spawn(move || {
                    let shard = if thread == 0 {
                        Shard::Left
                    } else {
                        Shard::Right
                    };
                    // In generations of short-lived threads, so that the sharded
                    // histogram's shards are freed and claimed again while scrapes run.
                    for generation in 0..GENERATIONS {
                        let per_generation = OBSERVATIONS / GENERATIONS;
                        let start = generation * per_generation;
                        std::thread::scope(|generation| {
                            generation.spawn(|| {
                                for i in start..start + per_generation {
                                    // 0.5, 1.5, ..., 7.5 in turn: every bucket, +Inf included.
                                    let value = (i % 8) as f64 + 0.5;
                                    STRESS_SECONDS.observe(value);
                                    STRESS_SHARDED_SECONDS.observe(value);
                                    STRESS_BY_SHARD.with(shard).observe(value);
                                }
                            });
                        });
                    }
                })
            })
            .collect();
        let scraper = scope.spawn(|| {
            let mut out = Vec::new();
            let mut previous = HashMap::new();
            let mut scrapes = 0;
            let mut in_progress = 0;
            while scrapes < MIN_SCRAPES || !done.load(Ordering::Acquire) {
                out.clear();
                promstatic::render_text(&mut out);
                previous = check_scrape(std::str::from_utf8(&out).unwrap(), &previous);
                let counts = ["stress_seconds{}", "stress_sharded_seconds{}"]
                    .map(|series| previous[series].count.unwrap());
                if counts
                    .iter()
                    .all(|&count| count > 0 && count < OBSERVERS as u64 * OBSERVATIONS)
                {
                    in_progress += 1;
                }
                scrapes += 1;
            }
            // The test means something only if scrapes overlapped the observers.
            assert!(
                in_progress >= 10,
                "only {in_progress} scrapes saw observers at work"
            );
            (scrapes, previous)
        });
        for observer in observers {
            observer.join().unwrap();
        }
        done.store(true, Ordering::Release);
        scraper.join().unwrap()
    });
    assert!(scrapes >= MIN_SCRAPES);

    // Exact totals: each thread observed OBSERVATIONS / 8 values in each unit interval.
    let per_value = OBSERVERS as u64 * OBSERVATIONS / 8;
    assert_eq!(STRESS_SECONDS.count(), OBSERVERS as u64 * OBSERVATIONS);
    // Sums of halves are exact in f64 at this size.
    let sum_of_one_round: f64 = (0..8).map(|v| v as f64 + 0.5).sum();
    assert_eq!(STRESS_SECONDS.sum(), sum_of_one_round * per_value as f64);
    let mut out = Vec::new();
    promstatic::render_text(&mut out);
    let final_scrape = check_scrape(std::str::from_utf8(&out).unwrap(), &last);
    assert_eq!(
        STRESS_SHARDED_SECONDS.count(),
        OBSERVERS as u64 * OBSERVATIONS
    );
    assert_eq!(
        STRESS_SHARDED_SECONDS.sum(),
        sum_of_one_round * per_value as f64
    );
    let expected: Vec<u64> = (1..=8).map(|values| values * per_value).collect();
    for series in ["stress_seconds{}", "stress_sharded_seconds{}"] {
        let all = &final_scrape[series];
        let counts: Vec<u64> = all.buckets.iter().map(|(_, count)| *count).collect();
        assert_eq!(counts, expected, "{series}");
    }
    for shard in ["left", "right"] {
        let series = &final_scrape[&format!("stress_by_shard{{shard=\"{shard}\"}}")];
        let counts: Vec<u64> = series.buckets.iter().map(|(_, count)| *count).collect();
        // 0.5 | 1.5, 2.5 | 3.5, 4.5 | rest, cumulative.
        let per_value = OBSERVATIONS / 8;
        assert_eq!(
            counts,
            [per_value, 3 * per_value, 5 * per_value, 8 * per_value]
        );
    }
}
