//! [`ConnectionSlots`]: the fixed table of connection slots that enforces
//! [`Exporter::max_connections`](super::Exporter::max_connections), and the lock-free
//! hand-over of a slot from an evicted connection to the newcomer that evicted it.
//!
//! # Who occupies a slot
//!
//! Each slot has an [`Occupant`], changed only by compare-exchange or by its one owner:
//!
//! ```text
//! Free ──claim──▶ Serving ──release──▶ Free
//!                    │
//!                  evict (the accept loop, for a newcomer)
//!                    ▼
//!                 Evicting ──release (the evicted connection)──▶ Handed ──inherit──▶ Serving
//! ```
//!
//! A `Handed` slot belongs to the newcomer alone: no other arrival can claim or evict it, so
//! the number of served sockets never exceeds the cap, even while a hand-over is in flight.
//! The orderings (each commented where it is used) make the previous occupant's writes
//! visible to the next one; `loom` checks them on this very code (the `loom_models` tests at
//! the end of this file, run by `.ci/run` under `--cfg promstatic_loom`).
//!
//! Where a connection is in its request cycle is its [`Phase`]: written by its own task, read
//! as a hint by its watchdog and by the accept loop choosing whom to evict.

use std::sync::Arc;
use std::sync::atomic::AtomicU64;

use tokio::sync::Notify;
use tokio::time::Instant;

use crate::sync::{AtomicU8, Ordering, ordering};

/// Where a connection is in its request cycle, for the watchdog and for eviction.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[repr(u8)]
pub(crate) enum Phase {
    /// Between requests on a kept-alive connection.
    Idle = 0,
    /// Waiting for a complete request head (a new connection starts here).
    ReadingHead = 1,
    /// A request is being answered.
    Responding = 2,
}

impl Phase {
    fn from_u8(value: u8) -> Phase {
        match value {
            0 => Phase::Idle,
            1 => Phase::ReadingHead,
            _ => Phase::Responding,
        }
    }
}

/// Who holds a slot; see the [module docs](self).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[repr(u8)]
pub(crate) enum Occupant {
    /// Nobody: the next arrival may claim it.
    Free = 0,
    /// A connection is being served in it.
    Serving = 1,
    /// Its connection has been told to close to make room for a newcomer.
    Evicting = 2,
    /// Its evicted connection has let go; only the newcomer may take it.
    Handed = 3,
}

impl Occupant {
    fn from_u8(value: u8) -> Occupant {
        match value {
            0 => Occupant::Free,
            1 => Occupant::Serving,
            2 => Occupant::Evicting,
            _ => Occupant::Handed,
        }
    }
}

/// A slot's [`Occupant`] as one atomic byte: the hand-over protocol, and nothing else.
#[derive(Debug)]
pub(crate) struct Occupancy(AtomicU8);

/// What [`Occupancy::release`] did with the slot.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Released {
    /// Back to the free slots.
    Freed,
    /// To the newcomer that evicted this connection (wake it).
    Handed,
}

impl Occupancy {
    pub(crate) fn new() -> Self {
        Occupancy(AtomicU8::new(Occupant::Free as u8))
    }

    /// The occupant now, as a hint (relaxed).
    pub(crate) fn peek(&self) -> Occupant {
        Occupant::from_u8(self.0.load(Ordering::Relaxed))
    }

    /// `Free → Serving`; true if this caller now holds the slot.
    pub(crate) fn claim(&self) -> bool {
        // Acquire pairs with the release in `release`: the previous holder is done.
        self.0
            .compare_exchange(
                Occupant::Free as u8,
                Occupant::Serving as u8,
                ordering(Ordering::Acquire),
                Ordering::Relaxed,
            )
            .is_ok()
    }

    /// `Serving → Evicting`; true if the slot is now promised to the caller's newcomer.
    pub(crate) fn evict(&self) -> bool {
        // AcqRel: the holder's release of the slot happens after it has seen this mark, and
        // the newcomer acquires the slot from it.
        self.0
            .compare_exchange(
                Occupant::Serving as u8,
                Occupant::Evicting as u8,
                ordering(Ordering::AcqRel),
                Ordering::Relaxed,
            )
            .is_ok()
    }

    /// Whether the holder has been told to close.
    pub(crate) fn is_evicting(&self) -> bool {
        // Acquire pairs with the AcqRel mark in `evict`.
        self.0.load(ordering(Ordering::Acquire)) == Occupant::Evicting as u8
    }

    /// The holder lets go: `Serving → Free`, or `Evicting → Handed` for the newcomer.
    pub(crate) fn release(&self) -> Released {
        // Release: whoever takes the slot next sees this connection's last writes.
        if self
            .0
            .compare_exchange(
                Occupant::Serving as u8,
                Occupant::Free as u8,
                ordering(Ordering::Release),
                Ordering::Relaxed,
            )
            .is_ok()
        {
            return Released::Freed;
        }
        // Marked `Evicting` (nobody else changes a slot that is not free or handed): only
        // its newcomer may take it now.
        self.0
            .store(Occupant::Handed as u8, ordering(Ordering::Release));
        Released::Handed
    }

    /// `Handed → Serving`; true once the evicted holder has let go and the newcomer holds it.
    pub(crate) fn inherit(&self) -> bool {
        // Acquire pairs with the release in `release`.
        self.0
            .compare_exchange(
                Occupant::Handed as u8,
                Occupant::Serving as u8,
                ordering(Ordering::Acquire),
                Ordering::Relaxed,
            )
            .is_ok()
    }
}

/// One connection's place under the cap: who holds it, where that connection is in its
/// request cycle, and the two wake-ups eviction needs.
#[derive(Debug)]
pub(crate) struct Slot {
    pub(crate) occupancy: Occupancy,
    /// A [`Phase`], written by the holder's task only.
    phase: std::sync::atomic::AtomicU8,
    /// When the current phase began, in milliseconds since the table's epoch.
    since: AtomicU64,
    /// Wakes the holder once the accept loop has marked it `Evicting`.
    pub(crate) evict: Notify,
    /// Wakes the newcomer once the evicted holder has let go (`Handed`).
    pub(crate) vacated: Notify,
}

/// The most slots allocated, whatever [`Exporter::max_connections`] says: the slots are
/// allocated when the server starts, so "no limit" (`usize::MAX`) must not mean a huge table.
///
/// [`Exporter::max_connections`]: super::Exporter::max_connections
pub(crate) const MAX_SLOTS: usize = 4096;

/// A fixed table of `max_connections` slots: claiming, releasing and evicting are atomic
/// operations on it; nothing here takes a lock (a `Notify` locks its waiter list only when a
/// task registers or is woken, once per connection, never per request).
#[derive(Debug)]
pub(crate) struct ConnectionSlots {
    slots: Box<[Slot]>,
    epoch: Instant,
}

/// How a newly accepted connection is admitted.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Admission {
    /// In a free slot, at once.
    Claimed(usize),
    /// In the slot of a connection just evicted for it, once that one has let go.
    Inherits(usize),
}

impl ConnectionSlots {
    pub(crate) fn new(max_connections: usize, epoch: Instant) -> Self {
        let slots = (0..max_connections.min(MAX_SLOTS))
            .map(|_| Slot {
                occupancy: Occupancy::new(),
                phase: std::sync::atomic::AtomicU8::new(Phase::Idle as u8),
                since: AtomicU64::new(0),
                evict: Notify::new(),
                vacated: Notify::new(),
            })
            .collect();
        ConnectionSlots { slots, epoch }
    }

    #[cfg(test)]
    pub(crate) fn len(&self) -> usize {
        self.slots.len()
    }

    pub(crate) fn slot(&self, index: usize) -> &Slot {
        &self.slots[index]
    }

    pub(crate) fn epoch(&self) -> Instant {
        self.epoch
    }

    fn now(&self) -> u64 {
        u64::try_from(self.epoch.elapsed().as_millis()).unwrap_or(u64::MAX)
    }

    /// Admits a new connection: into a free slot, else into the slot of the connection that
    /// has waited longest for a request head (a kept-alive idle one only if none is reading
    /// a head), which is told to close; `None` when every connection is being answered.
    pub(crate) fn admit(&self) -> Option<Admission> {
        // A failed mark means the victim ended meanwhile, freeing its slot: look again.
        for _ in 0..4 {
            if let Some(index) = self.claim() {
                return Some(Admission::Claimed(index));
            }
            let Some(victim) = self.longest_waiting() else {
                // Nobody to evict; but a connection that `claim` saw serving may have ended
                // since, freeing its slot (the loom model found this window): look once more.
                return self.claim().map(Admission::Claimed);
            };
            let slot = &self.slots[victim];
            if slot.occupancy.evict() {
                slot.evict.notify_waiters();
                return Some(Admission::Inherits(victim));
            }
        }
        None
    }

    fn claim(&self) -> Option<usize> {
        self.slots
            .iter()
            .position(|slot| slot.occupancy.peek() == Occupant::Free && slot.occupancy.claim())
    }

    /// The served slot whose connection has waited longest without a complete request head:
    /// reading one first (slow or silent clients), then idle between requests (a kept-alive
    /// client such as Prometheus reconnects at its next scrape at no cost).
    fn longest_waiting(&self) -> Option<usize> {
        let mut best: Option<((u8, u64), usize)> = None;
        for (index, slot) in self.slots.iter().enumerate() {
            if slot.occupancy.peek() != Occupant::Serving {
                continue;
            }
            let rank = match slot.phase() {
                Phase::ReadingHead => 0,
                Phase::Idle => 1,
                Phase::Responding => continue,
            };
            let key = (rank, slot.since.load(std::sync::atomic::Ordering::Relaxed));
            if best.is_none_or(|(best_key, _)| key < best_key) {
                best = Some((key, index));
            }
        }
        best.map(|(_, index)| index)
    }
}

impl Slot {
    pub(crate) fn phase(&self) -> Phase {
        Phase::from_u8(self.phase.load(std::sync::atomic::Ordering::Relaxed))
    }

    /// When the current phase began, since the table's epoch.
    pub(crate) fn since(&self) -> std::time::Duration {
        std::time::Duration::from_millis(self.since.load(std::sync::atomic::Ordering::Relaxed))
    }

    #[cfg(test)]
    pub(crate) fn set(&self, phase: Phase, since_millis: u64) {
        self.phase
            .store(phase as u8, std::sync::atomic::Ordering::Relaxed);
        self.since
            .store(since_millis, std::sync::atomic::Ordering::Relaxed);
    }
}

/// One connection's slot, as its task, IO wrapper and service see it.
#[derive(Debug, Clone)]
pub(crate) struct SlotRef {
    slots: Arc<ConnectionSlots>,
    index: usize,
}

impl SlotRef {
    pub(crate) fn slot(&self) -> &Slot {
        &self.slots.slots[self.index]
    }

    pub(crate) fn slots(&self) -> &ConnectionSlots {
        &self.slots
    }

    pub(crate) fn phase(&self) -> Phase {
        self.slot().phase()
    }

    /// Relaxed: the phase is written by this connection's task only; the accept loop reads it
    /// as a hint for choosing whom to evict.
    pub(crate) fn enter(&self, phase: Phase) {
        let slot = self.slot();
        slot.phase
            .store(phase as u8, std::sync::atomic::Ordering::Relaxed);
        slot.since
            .store(self.slots.now(), std::sync::atomic::Ordering::Relaxed);
    }

    pub(crate) fn is_evicted(&self) -> bool {
        self.slot().occupancy.is_evicting()
    }
}

/// A connection's hold on its slot: gives the slot up when the connection's task ends,
/// however it ends (a panic included), to the newcomer that evicted it or back to the free
/// ones.
#[derive(Debug)]
pub(crate) struct SlotLease(SlotRef);

impl SlotLease {
    /// The lease of a slot [`ConnectionSlots::admit`] returned as `Claimed`.
    pub(crate) fn claimed(slots: &Arc<ConnectionSlots>, index: usize) -> Self {
        SlotLease(SlotRef {
            slots: Arc::clone(slots),
            index,
        })
    }

    /// The lease of a slot returned as `Inherits`, if its evicted holder has let go.
    pub(crate) fn try_inherit(slots: &Arc<ConnectionSlots>, index: usize) -> Option<Self> {
        slots.slots[index]
            .occupancy
            .inherit()
            .then(|| SlotLease::claimed(slots, index))
    }

    pub(crate) fn slot_ref(&self) -> &SlotRef {
        &self.0
    }
}

impl Drop for SlotLease {
    fn drop(&mut self) {
        let slot = self.0.slot();
        if slot.occupancy.release() == Released::Handed {
            slot.vacated.notify_waiters();
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn serve(slots: &Arc<ConnectionSlots>, phase: Phase, since: u64) -> SlotLease {
        let Some(Admission::Claimed(index)) = slots.admit() else {
            panic!("no free slot");
        };
        slots.slot(index).set(phase, since);
        SlotLease::claimed(slots, index)
    }

    #[test]
    fn eviction_picks_the_oldest_head_reader_then_the_oldest_idle_and_never_a_responder() {
        let slots = Arc::new(ConnectionSlots::new(4, Instant::now()));
        let idle_oldest = serve(&slots, Phase::Idle, 1);
        let reading_newer = serve(&slots, Phase::ReadingHead, 20);
        let reading_older = serve(&slots, Phase::ReadingHead, 10);
        let responding = serve(&slots, Phase::Responding, 0);
        // Full: the head reader that has waited longest goes first, even though an idle
        // connection is older.
        assert_eq!(
            slots.admit(),
            Some(Admission::Inherits(reading_older.0.index))
        );
        assert!(reading_older.0.is_evicted());
        // A slot being evicted is not chosen twice.
        assert_eq!(
            slots.admit(),
            Some(Admission::Inherits(reading_newer.0.index))
        );
        assert_eq!(
            slots.admit(),
            Some(Admission::Inherits(idle_oldest.0.index))
        );
        // Only the responder is left: the newcomer is refused.
        assert_eq!(slots.admit(), None);
        assert!(!responding.0.is_evicted());
        drop(responding);
        // A released slot is free again, and claimed before anyone is evicted.
        assert!(matches!(slots.admit(), Some(Admission::Claimed(_))));
    }

    #[test]
    fn no_limit_allocates_a_bounded_table() {
        assert_eq!(
            ConnectionSlots::new(usize::MAX, Instant::now()).len(),
            MAX_SLOTS
        );
    }
}

/// loom models of the hand-over, on the real [`Occupancy`] and [`ConnectionSlots`].
///
/// Run: `RUSTFLAGS="--cfg promstatic_loom" CARGO_TARGET_DIR=target/loom cargo test --release
/// --lib loom_models` (`.ci/run` does). Each model runs once as written and once with every
/// ordering of the protocol weakened to `Relaxed` (`crate::sync::ordering`), which must fail: that
/// shows the model can see a broken hand-over.
#[cfg(all(test, promstatic_loom))]
mod loom_models {
    use super::*;
    use crate::sync::model::strong_passes_weakened_fails;
    use loom::cell::UnsafeCell;
    use loom::thread;

    /// What the holder of a slot writes (the connection's own state, stood in for by one
    /// non-atomic cell): loom reports a data race unless each holder's accesses happen
    /// before the next holder's.
    struct Guarded {
        slots: Arc<ConnectionSlots>,
        data: Arc<UnsafeCell<u32>>,
    }

    fn write_as_holder(data: &UnsafeCell<u32>) {
        // SAFETY (of the model): only the slot's current holder calls this; loom checks it.
        data.with_mut(|value| unsafe { *value += 1 });
    }

    /// A connection holds the only slot; a newcomer evicts it and waits for the hand-over
    /// while the holder, told to close, lets go. The newcomer must then hold the slot and see
    /// everything the evicted holder wrote; a third arrival meanwhile must find no room.
    fn eviction_hand_over() {
        let guarded = Guarded {
            slots: Arc::new(ConnectionSlots::new(1, Instant::now())),
            data: Arc::new(UnsafeCell::new(0)),
        };
        let Some(Admission::Claimed(index)) = guarded.slots.admit() else {
            panic!("the empty table had no free slot");
        };
        let holder = SlotLease::claimed(&guarded.slots, index);
        guarded.slots.slot(index).set(Phase::ReadingHead, 0);
        let data = Arc::clone(&guarded.data);
        let victim = thread::spawn(move || {
            write_as_holder(&data);
            // Its task notices the mark (or ends on its own) and drops its lease.
            drop(holder);
        });
        let newcomer = match guarded.slots.admit() {
            Some(Admission::Inherits(index)) => {
                // While the hand-over is in flight the slot is promised: a third arrival
                // finds no room, whether the victim has let go yet or not.
                assert_eq!(
                    guarded.slots.admit(),
                    None,
                    "a promised slot was given again"
                );
                loop {
                    if let Some(lease) = SlotLease::try_inherit(&guarded.slots, index) {
                        break lease;
                    }
                    thread::yield_now();
                }
            }
            Some(Admission::Claimed(index)) => SlotLease::claimed(&guarded.slots, index),
            None => panic!("a newcomer was refused although the holder was evictable"),
        };
        // The newcomer is being answered, so it cannot be evicted in turn: nobody else fits.
        guarded.slots.slot(index).set(Phase::Responding, 0);
        write_as_holder(&guarded.data);
        assert_eq!(guarded.slots.admit(), None, "two connections in one slot");
        drop(newcomer);
        victim.join().unwrap();
        // SAFETY (of the model): both holders are done; loom checks it.
        guarded.data.with(|value| assert_eq!(unsafe { *value }, 2));
    }

    /// Two holders in turn through a free slot (no eviction): the second must see the first's
    /// writes.
    fn free_and_claim() {
        let slots = Arc::new(ConnectionSlots::new(1, Instant::now()));
        let data = Arc::new(UnsafeCell::new(0u32));
        let first = {
            let (slots, data) = (Arc::clone(&slots), Arc::clone(&data));
            thread::spawn(move || {
                if slots.claim().is_some() {
                    write_as_holder(&data);
                    drop(SlotLease::claimed(&slots, 0));
                }
            })
        };
        loop {
            if slots.claim().is_some() {
                write_as_holder(&data);
                drop(SlotLease::claimed(&slots, 0));
                break;
            }
            thread::yield_now();
        }
        first.join().unwrap();
    }

    #[test]
    fn loom_eviction_hands_the_slot_and_the_holders_writes_to_the_newcomer() {
        strong_passes_weakened_fails(eviction_hand_over);
    }

    #[test]
    fn loom_a_freed_slot_publishes_the_holders_writes_to_the_next() {
        strong_passes_weakened_fails(free_and_claim);
    }
}
