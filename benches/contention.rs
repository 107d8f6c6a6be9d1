//! Increments per second on one counter from 1 and 2 threads: `ShardedCounter` against one
//! shared `AtomicU64::fetch_add` (what a plain `Counter` does).
//!
//! Run: `cargo bench --bench contention -- --warm-up-time 1 --measurement-time 3`
//!
//! Each sample starts the threads, releases them together from a barrier, and times from the
//! first thread's start to the last one's end, so thread start-up is outside the measurement. The
//! throughput criterion reports is increments (from all threads together) per second.

use std::hint::black_box;
use std::sync::Barrier;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use criterion::{BenchmarkId, Criterion, Throughput, criterion_group, criterion_main};
use promstatic::ShardedCounter;

static SHARED: AtomicU64 = AtomicU64::new(0);
static SHARDED: ShardedCounter = ShardedCounter::new();

/// Runs `increment` `iterations` times on each of `threads` threads; returns the time from
/// the first thread's start (after the common barrier) to the last thread's end.
fn timed(threads: usize, iterations: u64, increment: fn()) -> Duration {
    let barrier = Barrier::new(threads);
    std::thread::scope(|scope| {
        let workers: Vec<_> = (0..threads)
            .map(|_| {
                scope.spawn(|| {
                    barrier.wait();
                    let start = Instant::now();
                    for _ in 0..iterations {
                        increment();
                    }
                    (start, Instant::now())
                })
            })
            .collect();
        let spans: Vec<(Instant, Instant)> = workers
            .into_iter()
            .filter_map(|worker| worker.join().ok())
            .collect();
        let first_start = spans.iter().map(|&(start, _)| start).min();
        let last_end = spans.iter().map(|&(_, end)| end).max();
        match (first_start, last_end) {
            (Some(start), Some(end)) => end.duration_since(start),
            _ => Duration::ZERO,
        }
    })
}

fn contention(c: &mut Criterion) {
    let mut group = c.benchmark_group("one_counter");
    let cases: [(&str, fn()); 2] = [
        ("shared_fetch_add", || {
            black_box(&SHARED).fetch_add(1, Ordering::Relaxed);
        }),
        ("sharded", || black_box(&SHARDED).inc()),
    ];
    for threads in [1usize, 2] {
        group.throughput(Throughput::Elements(threads as u64));
        for (name, increment) in cases {
            group.bench_with_input(BenchmarkId::new(name, threads), &threads, |b, &threads| {
                b.iter_custom(|iterations| timed(threads, iterations, increment))
            });
        }
    }
    group.finish();
}

criterion_group!(benches, contention);
criterion_main!(benches);
