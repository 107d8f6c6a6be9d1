//! Exact totals through the `metrics` facade: threads racing to create the same new series
//! and updating shared ones end with one series per label set and every update counted.

#![cfg(feature = "facade")]

use promstatic::Format;
use promstatic::facade::Builder;

const THREADS: u64 = 4;
const ROUNDS: u64 = 20_000;
const LABEL_SETS: u64 = 50;

fn render() -> String {
    let mut out = Vec::new();
    promstatic::render(&mut out, Format::Text);
    String::from_utf8(out).unwrap()
}

/// The samples of `prefix` (up to the value), each with its value.
fn samples<'t>(text: &'t str, prefix: &str) -> Vec<(&'t str, f64)> {
    text.lines()
        .filter(|line| line.starts_with(prefix))
        .map(|line| {
            let (series, value) = line.rsplit_once(' ').unwrap();
            (series, value.parse().unwrap())
        })
        .collect()
}

#[test]
fn totals_are_exact_across_threads_and_racing_inserts() {
    Builder::new()
        .buckets(&[1.0, 2.0])
        .install_recorder()
        .expect("the first install succeeds");
    let threads: Vec<_> = (0..THREADS)
        .map(|thread| {
            std::thread::spawn(move || {
                for round in 0..ROUNDS {
                    // Every thread walks the same new label sets, from different starting
                    // points, so first registrations of one key race between threads.
                    let set = ((round + thread * 7) % LABEL_SETS).to_string();
                    metrics::counter!("race_requests_total", "set" => set.clone()).increment(1);
                    // The same key through a handle and through the macro, with the labels in
                    // both orders.
                    metrics::counter!("race_pairs_total", "a" => "1", "b" => set.clone())
                        .increment(2);
                    metrics::counter!("race_pairs_total", "b" => set, "a" => "1").increment(3);
                    let gauge = metrics::gauge!("race_in_flight");
                    gauge.increment(1.0);
                    gauge.increment(2.0);
                    gauge.decrement(1.0);
                    metrics::histogram!("race_latency_seconds").record((round % 3) as f64);
                }
            })
        })
        .collect();
    for thread in threads {
        thread.join().unwrap();
    }
    let text = render();
    let requests = samples(&text, "race_requests_total{");
    assert_eq!(
        requests.len() as u64,
        LABEL_SETS,
        "one series per label set:\n{text}"
    );
    let total: f64 = requests.iter().map(|(_, value)| value).sum();
    assert_eq!(total as u64, THREADS * ROUNDS);
    // Each label set gets the same number of updates from each thread.
    for (series, value) in &requests {
        assert_eq!(*value as u64, THREADS * ROUNDS / LABEL_SETS, "{series}");
    }
    let pairs = samples(&text, "race_pairs_total{");
    assert_eq!(pairs.len() as u64, LABEL_SETS, "{text}");
    let total: f64 = pairs.iter().map(|(_, value)| value).sum();
    assert_eq!(total as u64, 5 * THREADS * ROUNDS);
    assert!(
        pairs
            .iter()
            .all(|(series, _)| series.starts_with("race_pairs_total{a=\"1\",b=\""))
    );

    assert!(
        text.contains(&format!("\nrace_in_flight {}\n", 2 * THREADS * ROUNDS)),
        "{text}"
    );
    // Values 0, 1, 2 in turn: the first two buckets are cumulative thirds.
    let per_value = THREADS * ROUNDS / 3;
    let count = THREADS * ROUNDS;
    let zeros = THREADS * ROUNDS.div_ceil(3);
    let ones = THREADS * ((ROUNDS + 1) / 3);
    let twos = count - zeros - ones;
    assert!(per_value > 0);
    assert!(
        text.contains(&format!(
            "race_latency_seconds_bucket{{le=\"1\"}} {}\n\
             race_latency_seconds_bucket{{le=\"2\"}} {count}\n\
             race_latency_seconds_bucket{{le=\"+Inf\"}} {count}\n\
             race_latency_seconds_sum {}\n\
             race_latency_seconds_count {count}\n",
            zeros + ones,
            ones + 2 * twos
        )),
        "{text}"
    );
    assert!(text.contains("promstatic_facade_refused_total{reason=\"series_cap\"} 0\n"));

    // NaN is counted past every bound (+Inf), as in the other Prometheus clients.
    metrics::histogram!("race_nan_seconds").record(f64::NAN);
    let text = render();
    assert!(
        text.contains("race_nan_seconds_bucket{le=\"2\"} 0\n"),
        "{text}"
    );
    assert!(
        text.contains("race_nan_seconds_bucket{le=\"+Inf\"} 1\n"),
        "{text}"
    );
}
