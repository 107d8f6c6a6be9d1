//! [`ShardedCounter`]: a counter that many threads can bump without sharing a cache line.
//!
//! A plain [`Counter`](crate::Counter) is one atomic: when several cores increment it, the
//! cache line holding it moves between them on every increment, and each increment is a
//! locked read-modify-write. A sharded counter has one cell per *shard*
//! ([`ShardedCounter::SHARDS`] of them, each padded to its own cache line with
//! [`CachePadded`]) plus one shared overflow cell; a scrape sums them all.
//!
//! # Shards: one writer per cell
//!
//! The first time a thread increments any sharded counter it claims a shard: a free index in
//! `0..SHARDS`, marked taken in a global table. While it holds shard `i`, that thread is the
//! only writer of cell `i` of every sharded counter, so an increment is a relaxed load and a
//! relaxed store of its own cell — no locked instruction, no contended line. The shard index
//! sits in a const-initialized thread-local without a destructor (one load per increment);
//! a second thread-local, touched only when claiming, frees the shard when the thread exits
//! (after marking the thread as holding none), and a later thread may claim it and keep
//! adding to the same cells.
//!
//! Threads that find no free shard (more than `SHARDS` alive at once), and increments made
//! while the thread's thread-locals are being destroyed, use `fetch_add` on the overflow cell
//! instead: slower, never wrong.
//!
//! # Why totals are exact
//!
//! * A cell has at most one writer at a time (the shard's holder), so its load-then-store
//!   never races with another write and no increment is lost.
//! * Hand-over: the exiting holder frees the shard with a `Release` store after its last
//!   store to its cells; the next holder claims it with an `Acquire` compare-exchange, so its
//!   first load of each cell sees that last store, and it adds to it rather than to an older
//!   value. Cells are never reset.
//! * The overflow cell is only ever changed by atomic `fetch_add`.
//!
//! So the sum of the cells is exactly the number of increments whose stores it loaded; as
//! every cell only grows, the sum never goes backwards from one scrape to the next. The
//! hand-over is the one non-trivial interleaving; `loom` checks it on this very code (the
//! `loom_models` tests at the end of this file, built on [`crate::sync`]'s atomics:
//! `RUSTFLAGS="--cfg promstatic_loom" CARGO_TARGET_DIR=target/loom cargo test --release --lib
//! loom_models`). In that build there is one shard, so two threads either hand it over or
//! one of them overflows, and `new` is not `const` (loom's atomics have no `const fn new`).
//!
//! # Cost
//!
//! `(SHARDS + 1)` × 128 bytes (the padding of [`CachePadded`] on x86-64 and aarch64) per
//! counter, about 8 KiB; an increment is a thread-local read plus a load and a store; a
//! scrape loads `SHARDS + 1` cells. A thread's first increment also claims its shard (a scan
//! of at most `SHARDS` flags, never a wait) and registers the thread-local destructor that
//! frees it, once per thread.

mod histogram;

pub use histogram::ShardedHistogram;

use std::cell::Cell;

use crossbeam_utils::CachePadded;

use crate::encode::{Encoder, Suffix, Value};
use crate::sync::{AtomicBool, AtomicU64, AtomicUsize, Ordering, ordering};
use crate::table::{Descriptor, Metric};

/// See [`ShardedCounter::SHARDS`].
#[cfg(not(promstatic_loom))]
const SHARDS: usize = 64;
/// One shard under the loom model, so that two threads meet on it.
#[cfg(promstatic_loom)]
const SHARDS: usize = 1;

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
    cells: [CachePadded<AtomicU64>; SHARDS],
    overflow: CachePadded<AtomicU64>,
}

impl Default for ShardedCounter {
    fn default() -> Self {
        ShardedCounter::new()
    }
}

/// Which shards are held: one table for every sharded counter of the process.
struct Shards {
    /// `taken[i]` is true while a live thread holds shard `i`.
    taken: [AtomicBool; SHARDS],
    /// Where the next claim starts looking, so claims spread instead of all probing shard 0.
    next_probe: AtomicUsize,
}

#[cfg(not(promstatic_loom))]
static SHARD_TABLE: Shards = Shards {
    taken: [const { AtomicBool::new(false) }; SHARDS],
    next_probe: AtomicUsize::new(0),
};

/// The process's shard table.
#[cfg(not(promstatic_loom))]
#[inline]
fn shard_table() -> &'static Shards {
    &SHARD_TABLE
}

/// Under the model, a fresh table per explored execution (loom's atomics belong to one
/// execution), installed by the model test.
#[cfg(promstatic_loom)]
fn shard_table() -> &'static Shards {
    let table = loom_table::INSTALLED.load(std::sync::atomic::Ordering::Acquire);
    // SAFETY: `install` stores only pointers from `Box::leak`, never freed.
    unsafe { table.as_ref() }.unwrap_or_else(|| panic!("loom model: no shard table installed"))
}

#[cfg(promstatic_loom)]
mod loom_table {
    use super::*;

    pub(super) static INSTALLED: std::sync::atomic::AtomicPtr<Shards> =
        std::sync::atomic::AtomicPtr::new(std::ptr::null_mut());

    /// A fresh table for one execution of a model (leaked: a test-only build).
    #[cfg(test)]
    pub(super) fn install() {
        let table = Box::leak(Box::new(Shards {
            taken: std::array::from_fn(|_| AtomicBool::new(false)),
            next_probe: AtomicUsize::new(0),
        }));
        INSTALLED.store(table, std::sync::atomic::Ordering::Release);
    }
}

#[cfg(not(promstatic_loom))]
thread_local! {
    /// This thread's shard index, `UNCLAIMED`, or `RELEASED`. Const-initialized and without a
    /// destructor, so reading it is one thread-local load and works at any time, even while
    /// the thread's other thread-locals are being destroyed.
    static INDEX: Cell<usize> = const { Cell::new(UNCLAIMED) };
    /// Frees the shard when the thread exits; touched only when the shard is claimed.
    static GUARD: ShardGuard = const { ShardGuard { index: Cell::new(UNCLAIMED) } };
}

#[cfg(promstatic_loom)]
loom::thread_local! {
    static INDEX: Cell<usize> = Cell::new(UNCLAIMED);
    static GUARD: ShardGuard = ShardGuard { index: Cell::new(UNCLAIMED) };
}

/// The thread has not incremented a sharded counter yet.
const UNCLAIMED: usize = usize::MAX;
/// The thread holds no shard: none was free, or its shard was freed as it exits.
const RELEASED: usize = usize::MAX - 1;

/// Frees a thread's shard when its thread-locals are destroyed.
struct ShardGuard {
    index: Cell<usize>,
}

impl Drop for ShardGuard {
    fn drop(&mut self) {
        // From here on, this thread's increments go to the overflow cell: the shard may be
        // claimed by another thread as soon as it is freed below.
        let _ = INDEX.try_with(|index| index.set(RELEASED));
        if let Some(taken) = shard_table().taken.get(self.index.get()) {
            // Release publishes this thread's last stores to its cells to the next holder.
            taken.store(false, ordering(Ordering::Release));
        }
    }
}

/// This thread's shard index, claiming one on first use; `RELEASED` if it holds none.
#[inline]
fn shard() -> usize {
    match INDEX.try_with(Cell::get) {
        Ok(UNCLAIMED) => claim(),
        Ok(index) => index,
        Err(_) => RELEASED,
    }
}

#[cold]
#[inline(never)]
// One shard under the model makes the probe `% 1`: that is the point there.
#[cfg_attr(promstatic_loom, allow(clippy::modulo_one))]
fn claim() -> usize {
    let table = shard_table();
    let start = table.next_probe.fetch_add(1, Ordering::Relaxed);
    let claimed = (0..SHARDS)
        .map(|probe| (start + probe) % SHARDS)
        .find(|&index| {
            // Acquire pairs with the release in `ShardGuard::drop`: this thread's first loads
            // of the shard's cells see the previous holder's last stores.
            table.taken[index]
                .compare_exchange(false, true, ordering(Ordering::Acquire), Ordering::Relaxed)
                .is_ok()
        });
    let index = match claimed {
        // Hold the shard only if its release on exit could be registered (this fails only
        // when called from another thread-local's destructor).
        Some(index) if GUARD.try_with(|guard| guard.index.set(index)).is_ok() => index,
        Some(index) => {
            table.taken[index].store(false, ordering(Ordering::Release));
            RELEASED
        }
        None => RELEASED,
    };
    let _ = INDEX.try_with(|shard| shard.set(index));
    index
}

impl ShardedCounter {
    /// The number of threads that can hold a shard at once (64); more threads share one
    /// overflow cell. (It was the crate-level `promstatic::SLOTS`, which no longer exists:)
    ///
    /// ```compile_fail,E0432
    /// use promstatic::SLOTS;
    /// ```
    pub const SHARDS: usize = SHARDS;

    /// A counter at zero.
    #[cfg(not(promstatic_loom))]
    pub const fn new() -> Self {
        ShardedCounter {
            cells: [const { CachePadded::new(AtomicU64::new(0)) }; SHARDS],
            overflow: CachePadded::new(AtomicU64::new(0)),
        }
    }

    /// A counter at zero (not `const` under the loom model: see the module docs).
    #[cfg(promstatic_loom)]
    pub fn new() -> Self {
        ShardedCounter {
            cells: std::array::from_fn(|_| CachePadded::new(AtomicU64::new(0))),
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
        match self.cells.get(shard()) {
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

impl crate::sealed::Sealed for ShardedCounter {}

impl Metric for ShardedCounter {
    fn encode(&self, descriptor: &Descriptor, encoder: &mut Encoder<'_>) {
        encoder.family_trusted(&descriptor.family()).sample_trusted(
            Suffix::Bare,
            &[],
            Value::Unsigned(self.get()),
        );
    }
}

#[cfg(all(test, not(promstatic_loom)))]
mod tests {
    use super::*;

    #[test]
    fn a_thread_keeps_its_shard() {
        let index = std::thread::spawn(|| {
            let first = shard();
            assert_eq!(shard(), first, "a thread keeps its shard");
            first
        })
        .join()
        .unwrap();
        // Whether the shard was freed on exit is not checked here: other tests of this binary
        // may claim it at once. `tests/sharded_counter.rs` has more threads than shards.
        assert!(index < SHARDS);
    }

    #[test]
    fn threads_beyond_the_shards_use_the_overflow_cell() {
        static COUNTER: ShardedCounter = ShardedCounter::new();
        // Hold more threads alive at once than there are shards.
        let threads = SHARDS + 4;
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

/// loom models of the shard hand-over, on the real [`ShardedCounter`] (one shard; see the
/// module docs). Each runs once as written and once with the claim and the free weakened to
/// `Relaxed` ([`crate::sync::ordering`]), which must lose an increment.
#[cfg(all(test, promstatic_loom))]
mod loom_models {
    use super::*;
    use crate::sync::model::strong_passes_weakened_fails;
    use loom::sync::Arc;
    use loom::thread;

    /// Two threads add twice each; one takes the shard, the other overflows or, once the
    /// first has exited and freed it, takes it over and adds to the same cell. A scrape runs
    /// meanwhile.
    fn two_threads_share_one_shard() {
        super::loom_table::install();
        let counter = Arc::new(ShardedCounter::new());
        let spawn = |amount: u64| {
            let counter = Arc::clone(&counter);
            thread::spawn(move || {
                counter.inc_by(amount);
                counter.inc_by(amount);
            })
        };
        let first = spawn(1);
        let second = spawn(10);
        // A scrape while they run: never more than everything, never backwards.
        let early = counter.get();
        let later = counter.get();
        assert!(early <= later, "the sum went back from {early} to {later}");
        assert!(later <= 22, "the sum {later} counts more than was added");
        first.join().unwrap();
        second.join().unwrap();
        assert_eq!(counter.get(), 22, "an increment was lost");
    }

    #[test]
    fn loom_the_shard_hand_over_loses_no_increment() {
        strong_passes_weakened_fails(two_threads_share_one_shard);
    }
}
