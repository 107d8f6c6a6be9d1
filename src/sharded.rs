//! [`ShardedCounter`]: a counter that many threads can bump without sharing a cache line.
//!
//! A plain [`Counter`](crate::Counter) is one atomic: when several cores increment it, the
//! cache line holding it moves between them on every increment, and each increment is a
//! locked read-modify-write. A sharded counter has one cell per *slot* ([`SLOTS`] of them,
//! each padded to its own cache line with [`CachePadded`]) plus one shared overflow cell; a
//! scrape sums them all.
//!
//! # Slots: one writer per cell
//!
//! The first time a thread increments any sharded counter it claims a slot: a free index in
//! `0..SLOTS`, marked taken in a global table. While it holds slot `i`, that thread is the
//! only writer of cell `i` of every sharded counter, so an increment is a relaxed load and a
//! relaxed store of its own cell — no locked instruction, no contended line. The slot index
//! sits in a const-initialized thread-local without a destructor (one load per increment);
//! a second thread-local, touched only when claiming, frees the slot when the thread exits
//! (after marking the thread as holding none), and a later thread may claim it and keep
//! adding to the same cells.
//!
//! Threads that find no free slot (more than `SLOTS` alive at once), and increments made
//! while the thread's thread-locals are being destroyed, use `fetch_add` on the overflow cell
//! instead: slower, never wrong.
//!
//! # Why totals are exact
//!
//! * A cell has at most one writer at a time (the slot holder), so its load-then-store never
//!   races with another write and no increment is lost.
//! * Hand-over: the exiting holder frees the slot with a `Release` store after its last
//!   store to its cells; the next holder claims it with an `Acquire` compare-exchange, so its
//!   first load of each cell sees that last store, and it adds to it rather than to an older
//!   value. Cells are never reset.
//! * The overflow cell is only ever changed by atomic `fetch_add`.
//!
//! So the sum of the cells is exactly the number of increments whose stores it loaded; as
//! every cell only grows, the sum never goes backwards from one scrape to the next. The
//! hand-over is the one non-trivial interleaving; `tests/loom_sharded.rs` checks a model of
//! it with `loom` (`RUSTFLAGS="--cfg loom" cargo test --release --test loom_sharded`).
//!
//! # Cost
//!
//! `(SLOTS + 1)` × 128 bytes (the padding of [`CachePadded`] on x86-64 and aarch64) per
//! counter, about 8 KiB; an increment is a thread-local read plus a load and a store; a
//! scrape loads `SLOTS + 1` cells. A thread's first increment also claims its slot (a scan
//! of at most `SLOTS` flags, never a wait) and registers the thread-local destructor that
//! frees it, once per thread.

use std::cell::Cell;
use std::sync::atomic::{AtomicBool, AtomicU64, AtomicUsize, Ordering};

use crossbeam_utils::CachePadded;

use crate::encode::{Encoder, Value};
use crate::table::{Descriptor, Metric};

/// The number of threads that can hold a slot of [`ShardedCounter`] at once; more threads
/// share one overflow cell.
pub const SLOTS: usize = 64;

/// A counter for hot paths that many threads share, exported as a Prometheus counter.
///
/// ```
/// use promstatic::{metric, ShardedCounter};
///
/// /// Packets seen by every worker thread.
/// #[metric]
/// static PACKETS_TOTAL: ShardedCounter = ShardedCounter::new();
///
/// std::thread::scope(|scope| {
///     for _ in 0..4 {
///         scope.spawn(|| {
///             for _ in 0..1000 {
///                 PACKETS_TOTAL.inc();
///             }
///         });
///     }
/// });
/// assert_eq!(PACKETS_TOTAL.get(), 4000);
/// ```
#[derive(Debug)]
pub struct ShardedCounter {
    cells: [CachePadded<AtomicU64>; SLOTS],
    overflow: CachePadded<AtomicU64>,
}

impl Default for ShardedCounter {
    fn default() -> Self {
        ShardedCounter::new()
    }
}

/// `TAKEN[i]` is true while a live thread holds slot `i`.
static TAKEN: [AtomicBool; SLOTS] = [const { AtomicBool::new(false) }; SLOTS];

/// Where the next claim starts looking, so claims spread instead of all probing slot 0.
static NEXT_PROBE: AtomicUsize = AtomicUsize::new(0);

thread_local! {
    /// This thread's slot index, `UNCLAIMED`, or `RELEASED`. Const-initialized and without a
    /// destructor, so reading it is one thread-local load and works at any time, even while
    /// the thread's other thread-locals are being destroyed.
    static INDEX: Cell<usize> = const { Cell::new(UNCLAIMED) };
    /// Frees the slot when the thread exits; touched only when the slot is claimed.
    static GUARD: SlotGuard = const { SlotGuard { index: Cell::new(UNCLAIMED) } };
}

/// The thread has not incremented a sharded counter yet.
const UNCLAIMED: usize = usize::MAX;
/// The thread holds no slot: none was free, or its slot was freed as it exits.
const RELEASED: usize = usize::MAX - 1;

/// Frees a thread's slot when its thread-locals are destroyed.
struct SlotGuard {
    index: Cell<usize>,
}

impl Drop for SlotGuard {
    fn drop(&mut self) {
        // From here on, this thread's increments go to the overflow cell: the slot may be
        // claimed by another thread as soon as it is freed below.
        let _ = INDEX.try_with(|index| index.set(RELEASED));
        if let Some(taken) = TAKEN.get(self.index.get()) {
            // Release publishes this thread's last stores to its cells to the next holder.
            taken.store(false, Ordering::Release);
        }
    }
}

/// This thread's slot index, claiming one on first use; `RELEASED` if it holds none.
#[inline]
fn slot() -> usize {
    match INDEX.try_with(Cell::get) {
        Ok(UNCLAIMED) => claim(),
        Ok(index) => index,
        Err(_) => RELEASED,
    }
}

#[cold]
#[inline(never)]
fn claim() -> usize {
    let start = NEXT_PROBE.fetch_add(1, Ordering::Relaxed);
    let claimed = (0..SLOTS)
        .map(|probe| (start + probe) % SLOTS)
        .find(|&index| {
            // Acquire pairs with the release in `SlotGuard::drop`: this thread's first loads of
            // the slot's cells see the previous holder's last stores.
            TAKEN[index]
                .compare_exchange(false, true, Ordering::Acquire, Ordering::Relaxed)
                .is_ok()
        });
    let index = match claimed {
        // Hold the slot only if its release on exit could be registered (this fails only
        // when called from another thread-local's destructor).
        Some(index) if GUARD.try_with(|guard| guard.index.set(index)).is_ok() => index,
        Some(index) => {
            TAKEN[index].store(false, Ordering::Release);
            RELEASED
        }
        None => RELEASED,
    };
    let _ = INDEX.try_with(|slot| slot.set(index));
    index
}

impl ShardedCounter {
    /// A counter at zero.
    pub const fn new() -> Self {
        ShardedCounter {
            cells: [const { CachePadded::new(AtomicU64::new(0)) }; SLOTS],
            overflow: CachePadded::new(AtomicU64::new(0)),
        }
    }

    /// Adds one.
    #[inline]
    pub fn inc(&self) {
        self.inc_by(1);
    }

    /// Adds `amount`.
    #[inline]
    pub fn inc_by(&self, amount: u64) {
        match self.cells.get(slot()) {
            Some(cell) => {
                // This thread is the cell's only writer (see the module docs), so a load and
                // a store lose nothing, and cost no locked instruction.
                let value = cell.load(Ordering::Relaxed).wrapping_add(amount);
                cell.store(value, Ordering::Relaxed);
            }
            None => {
                self.overflow.fetch_add(amount, Ordering::Relaxed);
            }
        }
    }

    /// The current count: the sum of the cells (wrapping at `u64::MAX`, like [`Counter`]).
    ///
    /// [`Counter`]: crate::Counter
    pub fn get(&self) -> u64 {
        self.cells
            .iter()
            .chain(std::iter::once(&self.overflow))
            .fold(0u64, |total, cell| {
                total.wrapping_add(cell.load(Ordering::Relaxed))
            })
    }
}

impl Metric for ShardedCounter {
    fn encode(&self, descriptor: &Descriptor, encoder: &mut Encoder<'_>) {
        encoder
            .family(&descriptor.family())
            .sample("", &[], None, Value::Unsigned(self.get()));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_thread_keeps_its_slot() {
        let index = std::thread::spawn(|| {
            let first = slot();
            assert_eq!(slot(), first, "a thread keeps its slot");
            first
        })
        .join()
        .unwrap();
        // Whether the slot was freed on exit is not checked here: other tests of this binary
        // may claim it at once. `tests/sharded_counter.rs` has more threads than slots.
        assert!(index < SLOTS);
    }

    #[test]
    fn threads_beyond_the_slots_use_the_overflow_cell() {
        static COUNTER: ShardedCounter = ShardedCounter::new();
        // Hold more threads alive at once than there are slots.
        let threads = SLOTS + 4;
        let barrier = std::sync::Barrier::new(threads);
        std::thread::scope(|scope| {
            for _ in 0..threads {
                scope.spawn(|| {
                    COUNTER.inc_by(3);
                    barrier.wait();
                });
            }
        });
        assert_eq!(COUNTER.get(), 3 * threads as u64);
        assert!(COUNTER.overflow.load(Ordering::Relaxed) >= 3 * 4);
    }
}
