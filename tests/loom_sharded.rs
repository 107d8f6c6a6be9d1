//! A `loom` model of `ShardedCounter`'s slot hand-over (see `src/sharded.rs`).
//!
//! Run: `RUSTFLAGS="--cfg loom" cargo test --release --test loom_sharded`
//!
//! The counter's statics cannot be built from loom's atomics, so this models the protocol
//! with the same steps and orderings: a thread claims the slot with an `Acquire`
//! compare-exchange, adds to its cell with a relaxed load and store, and frees the slot with a
//! `Release` store; a thread that finds the slot taken adds to the overflow cell with
//! `fetch_add`. A reader sums the cells concurrently. loom explores every interleaving and
//! every value the memory model allows each load to see, and checks that no increment is
//! lost and that the sum never goes backwards. The same model with the hand-over weakened to
//! `Relaxed` must fail, which shows that the check can fail.
#![cfg(loom)]

use loom::sync::Arc;
use loom::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use loom::thread;

/// One slot of every sharded counter, for one counter.
struct Model {
    taken: AtomicBool,
    cell: AtomicU64,
    overflow: AtomicU64,
    claim: Ordering,
    free: Ordering,
}

impl Model {
    /// What one thread does: claim the slot if free, add `amount` twice, exit.
    fn thread_adds(&self, amount: u64) {
        let holds = self
            .taken
            .compare_exchange(false, true, self.claim, Ordering::Relaxed)
            .is_ok();
        for _ in 0..2 {
            if holds {
                let value = self.cell.load(Ordering::Relaxed) + amount;
                self.cell.store(value, Ordering::Relaxed);
            } else {
                self.overflow.fetch_add(amount, Ordering::Relaxed);
            }
        }
        if holds {
            // The thread-local destructor.
            self.taken.store(false, self.free);
        }
    }

    fn sum(&self) -> u64 {
        self.cell.load(Ordering::Relaxed) + self.overflow.load(Ordering::Relaxed)
    }
}

fn check(claim: Ordering, free: Ordering) {
    loom::model(move || {
        let model = Arc::new(Model {
            taken: AtomicBool::new(false),
            cell: AtomicU64::new(0),
            overflow: AtomicU64::new(0),
            claim,
            free,
        });
        let first = {
            let model = Arc::clone(&model);
            thread::spawn(move || model.thread_adds(1))
        };
        let second = {
            let model = Arc::clone(&model);
            thread::spawn(move || model.thread_adds(10))
        };
        // A scrape while they run: never more than everything, never backwards.
        let early = model.sum();
        let later = model.sum();
        assert!(early <= later, "the sum went back from {early} to {later}");
        assert!(later <= 22);
        first.join().unwrap();
        second.join().unwrap();
        assert_eq!(model.sum(), 22, "an increment was lost");
    });
}

#[test]
fn hand_over_loses_nothing() {
    check(Ordering::Acquire, Ordering::Release);
}

#[test]
#[should_panic]
fn hand_over_without_acquire_release_loses_increments() {
    check(Ordering::Relaxed, Ordering::Relaxed);
}
