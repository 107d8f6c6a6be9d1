//! `ShardedCounter` totals are exact across threads that exit and threads that start later
//! (reusing the shards of exited ones), with more threads alive than shards, and never go
//! backwards while being read.

use std::sync::atomic::{AtomicBool, Ordering};

use promstatic::{ShardedCounter, metric};

/// Bumped by waves of short-lived threads.
#[metric]
static WAVES_TOTAL: ShardedCounter = ShardedCounter::new();

const INCREMENTS: u64 = 20_000;

/// What thread `thread` adds in one wave.
fn share(thread: u64) -> u64 {
    (0..INCREMENTS)
        .map(|i| 1 + u64::from((i + thread).is_multiple_of(3)))
        .sum()
}

#[test]
fn exact_across_exiting_and_new_threads() {
    // Many small waves (shards are freed and claimed again, more threads in all than shards),
    // then one wave with more threads alive at once than there are shards.
    let mut waves = vec![8u64; 10];
    waves.push(ShardedCounter::SHARDS as u64 + 8);
    let done = AtomicBool::new(false);
    let mut expected = 0;
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
        for (wave, &threads) in waves.iter().enumerate() {
            let barrier = std::sync::Barrier::new(threads as usize);
            std::thread::scope(|wave_scope| {
                for thread in 0..threads {
                    let barrier = &barrier;
                    wave_scope.spawn(move || {
                        // All of the wave's threads are alive together.
                        barrier.wait();
                        for i in 0..INCREMENTS {
                            if (i + thread).is_multiple_of(3) {
                                WAVES_TOTAL.inc_by(2);
                            } else {
                                WAVES_TOTAL.inc();
                            }
                        }
                    });
                }
            });
            // Every thread of this wave has exited; its increments must all be there.
            expected += (0..threads).map(share).sum::<u64>();
            assert_eq!(WAVES_TOTAL.get(), expected, "after wave {wave}");
        }
        done.store(true, Ordering::Release);
        assert!(reader.join().unwrap() > 0);
    });
    let mut out = Vec::new();
    promstatic::render_text(&mut out);
    let text = String::from_utf8(out).unwrap();
    assert!(
        text.contains(&format!("\nwaves_total {expected}\n")),
        "{text}"
    );
}
