//! Running an operation on two threads at once, for the contention benches.

use std::sync::Barrier;
use std::time::{Duration, Instant};

/// Wall time for two threads that each run `operation(thread, i)` for `i` in `0..iterations`
/// (`thread` is 0 or 1), started together.
///
/// Criterion divides by `iterations`, so a row reads "nanoseconds until both threads have done
/// one more operation each". The two threads are spawned per sample; criterion's samples are
/// long enough (milliseconds) that the spawn, tens of microseconds, stays under one percent.
pub fn two_threads(iterations: u64, operation: impl Fn(usize, u64) + Sync) -> Duration {
    let barrier = Barrier::new(3);
    let operation = &operation;
    let barrier = &barrier;
    std::thread::scope(|scope| {
        for thread in 0..2 {
            scope.spawn(move || {
                barrier.wait();
                for iteration in 0..iterations {
                    operation(thread, iteration);
                }
            });
        }
        barrier.wait();
        let start = Instant::now();
        // Leaving the scope joins both threads.
        start
    })
    .elapsed()
}

/// Time for `operation(i)`, `i` in `0..iterations`, on this thread while `background` runs in a
/// loop on another thread (started, and through one full round, before the clock starts).
pub fn with_background(
    iterations: u64,
    mut background: impl FnMut() + Send,
    operation: impl Fn(u64),
) -> Duration {
    use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
    let stop = AtomicBool::new(false);
    let rounds = AtomicU64::new(0);
    std::thread::scope(|scope| {
        scope.spawn(|| {
            while !stop.load(Ordering::Relaxed) {
                background();
                rounds.fetch_add(1, Ordering::Relaxed);
            }
        });
        while rounds.load(Ordering::Relaxed) == 0 {
            std::hint::spin_loop();
        }
        let start = Instant::now();
        for iteration in 0..iterations {
            operation(iteration);
        }
        let elapsed = start.elapsed();
        stop.store(true, Ordering::Relaxed);
        elapsed
    })
}
