//! `ShardedCounter` totals are exact across threads that exit and threads that start later,
//! more threads than shards included, and never go backwards while being read.

use std::sync::atomic::{AtomicBool, Ordering};

use promstatic::{SHARDS, ShardedCounter, metric};

/// Bumped by waves of short-lived threads.
#[metric]
static WAVES_TOTAL: ShardedCounter = ShardedCounter::new();

#[test]
fn exact_across_exiting_and_new_threads() {
    const WAVES: u64 = 6;
    const THREADS_PER_WAVE: u64 = 8;
    const INCREMENTS: u64 = 20_000;
    // More threads in all than shards, so cells are reused by later threads.
    assert!((WAVES * THREADS_PER_WAVE) as usize > 2 * SHARDS);
    let done = AtomicBool::new(false);
    std::thread::scope(|scope| {
        let reader = scope.spawn(|| {
            let mut last = 0;
            let mut reads = 0u64;
            while !done.load(Ordering::Acquire) {
                let now = WAVES_TOTAL.get();
                assert!(now >= last, "went back from {last} to {now}");
                last = now;
                reads += 1;
            }
            reads
        });
        for wave in 1..=WAVES {
            std::thread::scope(|wave_scope| {
                for thread in 0..THREADS_PER_WAVE {
                    wave_scope.spawn(move || {
                        for i in 0..INCREMENTS {
                            if (i + thread) % 3 == 0 {
                                WAVES_TOTAL.inc_by(2);
                            } else {
                                WAVES_TOTAL.inc();
                            }
                        }
                    });
                }
            });
            // Every thread of this wave has exited; its increments must all be there.
            let total = WAVES_TOTAL.get();
            let exact: u64 = (0..THREADS_PER_WAVE)
                .map(|thread| {
                    (0..INCREMENTS)
                        .map(|i| 1 + u64::from((i + thread) % 3 == 0))
                        .sum::<u64>()
                })
                .sum::<u64>()
                * wave;
            assert_eq!(total, exact, "after wave {wave}");
        }
        done.store(true, Ordering::Release);
        assert!(reader.join().unwrap() > 0);
    });
    let mut out = Vec::new();
    promstatic::render_text(&mut out);
    let text = String::from_utf8(out).unwrap();
    assert!(
        text.contains(&format!("\nwaves_total {}\n", WAVES_TOTAL.get())),
        "{text}"
    );
}
