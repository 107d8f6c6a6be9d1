//! [`ShardedCounter`]: a counter that many threads can bump without sharing a cache line.
//!
//! A plain [`Counter`](crate::Counter) is one atomic: when several cores increment it, the
//! cache line holding it moves between them on every increment, and throughput falls below
//! that of a single core. A sharded counter has [`SHARDS`] cells, each padded to its own cache
//! line ([`CachePadded`]). Each thread picks one cell the first time it increments any sharded
//! counter (round robin over the threads of the process, kept in a thread-local) and always
//! adds to that one; a scrape sums the cells.
//!
//! # Why totals are exact
//!
//! Cells belong to the counter, not to threads: a thread only ever `fetch_add`s into a cell
//! that lives as long as the counter (a `static`). When a thread exits its additions stay in
//! its cell; a new thread picks a cell (maybe one an exited or a live thread used) and keeps
//! adding. Two threads that share a cell are still correct — the add is atomic — only slower.
//! So the sum of the cells is exactly the number of increments that happened before the
//! loads, and, as each cell only grows, the sum never goes backwards between two scrapes.
//!
//! Nothing is handed over when a thread exits, so there is no protocol to model: the only
//! interleavings are those of independent `fetch_add`s and loads on single atomics.
//!
//! # Cost
//!
//! `SHARDS` × 128 bytes (the padding of [`CachePadded`] on x86-64 and aarch64) per counter,
//! 2 KiB; an increment is one thread-local read and one uncontended `fetch_add`; a scrape
//! loads `SHARDS` cells.

use std::cell::Cell;
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};

use crossbeam_utils::CachePadded;

use crate::encode::{Encoder, Value};
use crate::table::{Descriptor, Metric};

/// The number of cells of a [`ShardedCounter`]. Threads beyond this many share cells.
pub const SHARDS: usize = 16;

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
    shards: [CachePadded<AtomicU64>; SHARDS],
}

impl Default for ShardedCounter {
    fn default() -> Self {
        ShardedCounter::new()
    }
}

/// The next cell to hand to a thread that has none yet.
static NEXT_SHARD: AtomicUsize = AtomicUsize::new(0);

thread_local! {
    /// This thread's cell, or `UNASSIGNED`.
    static SHARD: Cell<usize> = const { Cell::new(UNASSIGNED) };
}

const UNASSIGNED: usize = usize::MAX;

#[inline]
fn shard() -> usize {
    // `try_with` fails only while this thread's thread-locals are being destroyed (an
    // increment from another thread-local's destructor): use cell 0 then, rather than panic.
    SHARD
        .try_with(|shard| match shard.get() {
            UNASSIGNED => assign(shard),
            assigned => assigned,
        })
        .unwrap_or(0)
}

#[cold]
#[inline(never)]
fn assign(shard: &Cell<usize>) -> usize {
    let assigned = NEXT_SHARD.fetch_add(1, Ordering::Relaxed) % SHARDS;
    shard.set(assigned);
    assigned
}

impl ShardedCounter {
    /// A counter at zero.
    pub const fn new() -> Self {
        ShardedCounter {
            shards: [const { CachePadded::new(AtomicU64::new(0)) }; SHARDS],
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
        // `shard()` is below SHARDS; `%` makes that evident to the compiler (no bounds check).
        self.shards[shard() % SHARDS].fetch_add(amount, Ordering::Relaxed);
    }

    /// The current count: the sum of the cells (wrapping at `u64::MAX`, like [`Counter`]).
    ///
    /// [`Counter`]: crate::Counter
    pub fn get(&self) -> u64 {
        self.shards.iter().fold(0u64, |total, cell| {
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
    fn threads_get_distinct_cells_round_robin() {
        let counter = ShardedCounter::new();
        let shards: Vec<usize> = (0..4)
            .map(|_| {
                std::thread::spawn(|| {
                    let first = shard();
                    assert_eq!(shard(), first, "a thread keeps its cell");
                    first
                })
                .join()
                .unwrap()
            })
            .collect();
        // Other tests spawn threads concurrently, so only distinctness within a short run of
        // sequential spawns is checked loosely: not all four on one cell.
        assert!(shards.iter().any(|&shard| shard != shards[0]), "{shards:?}");
        counter.inc();
        assert_eq!(counter.get(), 1);
    }
}
