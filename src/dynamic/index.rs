//! [`SeriesIndex`]: the bounded, lock-free map from a label set to a series number.
//!
//! This is the lookup core shared by dynamic families ([`crate::dynamic::DynFamily`]) and by
//! anything else that must turn run-time label sets into series without a lock or the heap
//! (the `metrics` facade recorder). It holds no metric values: it hands out series numbers
//! in `0..CAPACITY`, and its owner keeps one cell per number next to it.
//!
//! # Storage
//!
//! Everything is inline, fixed by three const parameters:
//!
//! * `entries: [AtomicU64; TABLE]`: an open-addressing hash table (linear probing),
//!   `TABLE` a power of two at least `2 × CAPACITY` ([`table_size`]), each entry either empty
//!   or the 32 high bits of the key's hash beside the series number plus one;
//! * `series: [Slot; CAPACITY]`: per series, where its key bytes are and its state;
//! * `bytes: [u8; BYTES]`: the keys, escaped, one after another in claim order.
//!
//! Memory: `8 × TABLE + 12 × CAPACITY + BYTES + 32` bytes (on 64-bit targets), no heap.
//!
//! # Lookup and insert
//!
//! A lookup hashes the key and probes from `hash % TABLE`: an entry whose hash bits match is
//! confirmed by comparing the stored bytes with the key (identity is by value; the hash only
//! chooses where to look). The first empty entry ends the probe: the key is new.
//!
//! An insert first *claims* storage: a series number (`reserved`, compare-exchange below
//! `CAPACITY`) and a byte range (`bytes_used`, compare-exchange below `BYTES`). Both are
//! private to the claimer, which writes the escaped key there and records its place in the
//! series' slot. Then it *publishes* the key with one compare-exchange of the empty entry to
//! (hash bits, series) — `Release` on success, so whoever loads the entry with `Acquire` sees
//! the bytes complete. Finally it marks the series `PUBLISHED` (`Release` again) for scrapes.
//!
//! If the compare-exchange fails, another thread filled that entry first; the loser loads it
//! (`Acquire`) and compares, as in a lookup. When both inserted the same key, the loser
//! returns the winner's series and gives its own claim back: so two threads inserting the
//! same new label set always end with exactly one series. Giving back is one
//! compare-exchange per counter (`reserved` from `series + 1` to `series`, `bytes_used` from
//! the range's end to its start), which succeeds when nobody claimed after the loser; then
//! the next insert reuses the storage. Otherwise (a third insert claimed in between) the
//! series is marked `ABANDONED` (`Release`): never exported, and recycled by the first insert
//! that finds every series number claimed, which takes it with a compare-exchange of its state
//! (`Acquire`) and reuses its bytes when its own key fits them. So a lost race never costs the
//! family a series; it can cost bytes (at most the loser's key, when a longer key recycles the
//! series). When the keys differ the loser probes on with its claim. Nobody ever waits: each
//! step either succeeds or tells the thread what another thread already finished. The
//! protocol is model-checked with loom (`tests/loom_dynamic.rs`, which drives this very code
//! through `crate::sync`).
//!
//! A lookup that finds its key ([`SeriesIndex::find`], and the first part of every
//! `find_or_insert*`) is inlined into its caller: hash, probe, compare, no claim; everything
//! from the first empty entry on runs out of line.
//!
//! At most `CAPACITY` entries are ever filled (each needs a claimed series), so with
//! `TABLE ≥ 2 × CAPACITY` a probe always meets an empty entry, and a miss in a full index
//! costs a probe, no claim.
//!
//! # Order
//!
//! [`SeriesIndex::for_each`] yields published series by series number, which is the order
//! in which inserts claimed them: insertion order (inserts that race may claim in the
//! opposite order of their publication), except that a recycled series (see above) keeps
//! the number of the claim it recycled. A series claimed but not yet published, or
//! abandoned, is skipped.

use crate::dynamic::key::{self, LabelText, StoredParts};
use crate::sync::{AtomicU8, AtomicU32, AtomicU64, AtomicUsize, Ordering, PublishedBytes};

/// Why a key has no series.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Full {
    /// Every series is taken.
    Capacity,
    /// The label bytes are used up.
    LabelBytes,
    /// A value is longer than the per-value limit (checked by the owner) or than a key part
    /// can be stored ([`key::MAX_ESCAPED_PART`] bytes escaped).
    ValueLength,
    /// The owner's admission check refused the key (a dynamic family refuses its overflow
    /// series' own label set).
    Refused,
}

/// A key's series, and whether the lookup that returned it inserted it
/// ([`SeriesIndex::find_or_insert_reporting`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Found {
    /// The series number, in `0..CAPACITY`.
    pub series: usize,
    /// Whether this lookup created the series (true for exactly one lookup per key).
    pub inserted: bool,
}

/// The table size for `capacity` series: the power of two at least twice the capacity.
pub const fn table_size(capacity: usize) -> usize {
    let wanted = if capacity == 0 { 1 } else { capacity * 2 };
    wanted.next_power_of_two()
}

/// Where a series' key is, and whether it is exported.
#[derive(Debug)]
struct Slot {
    offset: AtomicU32,
    len: AtomicU32,
    state: AtomicU8,
}

impl Slot {
    /// Nobody claimed the series.
    const FREE: u8 = 0;
    /// Claimed; its key is being written or its entry is being published.
    const CLAIMED: u8 = 1;
    /// In the table and exported.
    const PUBLISHED: u8 = 2;
    /// Claimed by an insert that lost the race to the same key and could not give it back
    /// (another claim came after it): not exported, and handed to the next insert that finds
    /// every series number claimed (`SeriesIndex::recycle`).
    const ABANDONED: u8 = 3;
}

/// An empty table entry.
const EMPTY: u64 = 0;

/// Storage claimed by one insert: a series number and its key's bytes.
#[derive(Debug, Clone, Copy)]
struct Claim {
    series: usize,
    offset: usize,
    len: usize,
}

/// The anchor of the hash seed: its address differs from run to run under address-space
/// randomisation, and stays the same while the process runs (a family may be moved, the
/// seed must not change).
static SEED_ANCHOR: u8 = 0;

/// The hash seed of this process.
#[inline]
fn seed() -> u64 {
    std::ptr::addr_of!(SEED_ANCHOR) as u64
}

/// A bounded, lock-free map from label sets to series numbers; see the [module
/// docs](self).
pub struct SeriesIndex<const CAPACITY: usize, const TABLE: usize, const BYTES: usize> {
    entries: [AtomicU64; TABLE],
    series: [Slot; CAPACITY],
    /// Series numbers claimed so far (may pass `CAPACITY` by nothing: claims stop there).
    reserved: AtomicUsize,
    /// Series marked `ABANDONED` and not yet recycled (a hint: a recycler still checks the
    /// slot's state with a compare-exchange).
    abandoned: AtomicUsize,
    bytes_used: AtomicUsize,
    published: AtomicUsize,
    bytes: PublishedBytes<BYTES>,
}

impl<const CAPACITY: usize, const TABLE: usize, const BYTES: usize> std::fmt::Debug
    for SeriesIndex<CAPACITY, TABLE, BYTES>
{
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SeriesIndex")
            .field("capacity", &CAPACITY)
            .field("published", &self.len())
            .field("label_bytes_used", &self.bytes_used.load(Ordering::Relaxed))
            .finish_non_exhaustive()
    }
}

macro_rules! constructor {
    ($($const:ident)?) => {
        /// An empty index. The build fails (const evaluation) unless `TABLE` is
        /// [`table_size`]`(CAPACITY)` or a larger power of two, and the sizes fit the
        /// 32-bit series numbers and offsets.
        pub $($const)? fn new() -> Self {
            assert!(CAPACITY > 0, "a dynamic family needs a capacity of at least 1");
            assert!(
                TABLE.is_power_of_two() && TABLE >= 2 * CAPACITY,
                "TABLE must be a power of two at least twice CAPACITY (see `table_size`)"
            );
            assert!(CAPACITY < u32::MAX as usize, "CAPACITY must fit in 32 bits");
            assert!(BYTES <= u32::MAX as usize, "BYTES must fit in 32 bits");
            SeriesIndex {
                entries: constructor!(@array $($const)?, TABLE, AtomicU64::new(EMPTY)),
                series: constructor!(@array $($const)?, CAPACITY, Slot {
                    offset: AtomicU32::new(0),
                    len: AtomicU32::new(0),
                    state: AtomicU8::new(Slot::FREE),
                }),
                reserved: AtomicUsize::new(0),
                abandoned: AtomicUsize::new(0),
                bytes_used: AtomicUsize::new(0),
                published: AtomicUsize::new(0),
                bytes: PublishedBytes::new(),
            }
        }
    };
    (@array const, $len:ident, $value:expr) => { [const { $value }; $len] };
    (@array , $len:ident, $value:expr) => { std::array::from_fn(|_| $value) };
}

impl<const CAPACITY: usize, const TABLE: usize, const BYTES: usize>
    SeriesIndex<CAPACITY, TABLE, BYTES>
{
    // loom's atomics have no `const fn new`: the model builds indexes at run time.
    #[cfg(not(promstatic_loom))]
    constructor!(const);
    #[cfg(promstatic_loom)]
    constructor!();

    /// The series of `parts`, inserting it if it is new; `Err` says why there is none.
    ///
    /// Never blocks, allocates or panics. A given position of the key must always be passed
    /// the same way (always [`LabelText::Raw`] or always [`LabelText::Escaped`]): the hash is
    /// taken over the text as given.
    #[inline]
    pub fn find_or_insert(&self, parts: &[LabelText<'_>]) -> Result<usize, Full> {
        self.find_or_insert_checked(parts, |_| Ok(()))
    }

    /// [`find_or_insert`](Self::find_or_insert), with `admit` consulted before a new key
    /// claims storage (never on a hit): its error is returned instead of inserting. The
    /// owner's limits (per-value length, reserved keys) live there, off the hit path.
    #[inline(always)]
    pub fn find_or_insert_checked(
        &self,
        parts: &[LabelText<'_>],
        admit: impl FnOnce(&[LabelText<'_>]) -> Result<(), Full>,
    ) -> Result<usize, Full> {
        self.find_or_insert_reporting(parts, admit)
            .map(|found| found.series)
    }

    /// [`find_or_insert_checked`](Self::find_or_insert_checked), also saying whether this
    /// call inserted the key. Exactly one call per key ever returns `inserted: true` (the
    /// one whose compare-exchange published it), so an owner can do one-time set-up for a
    /// new series there without a flag of its own; other threads may already find the series
    /// before that set-up is done, and must not depend on it.
    #[inline(always)]
    pub fn find_or_insert_reporting(
        &self,
        parts: &[LabelText<'_>],
        admit: impl FnOnce(&[LabelText<'_>]) -> Result<(), Full>,
    ) -> Result<Found, Full> {
        self.probe(key::hash(seed(), parts), parts, admit)
    }

    /// [`find_or_insert_reporting`](Self::find_or_insert_reporting) with a hash the caller
    /// already has (the `metrics` facade uses the hash `metrics::Key` computed at compile
    /// time). The hash must be a function of the key's value — equal parts, equal hash — or
    /// one key could get two series; it is mixed with the per-process seed here. Identity is
    /// still decided by comparing bytes, so a poor hash costs probes, never a wrong series.
    #[inline]
    pub fn find_or_insert_hashed(
        &self,
        hash: u64,
        parts: &[LabelText<'_>],
        admit: impl FnOnce(&[LabelText<'_>]) -> Result<(), Full>,
    ) -> Result<Found, Full> {
        self.probe(key::finish(seed() ^ hash), parts, admit)
    }

    /// The series of `parts` if the index has it; never inserts, never claims. This is the
    /// hit path of [`find_or_insert`](Self::find_or_insert), for owners that keep their
    /// insert out of line (a dynamic family does). Never blocks, allocates or panics.
    #[inline(always)]
    pub fn find(&self, parts: &[LabelText<'_>]) -> Option<usize> {
        self.lookup(key::hash(seed(), parts), parts).ok()
    }

    /// The lookup and insert, from the key's final (seeded, mixed) hash: the lookup inlined,
    /// the insert out of line from the empty entry the lookup stopped at.
    #[inline(always)]
    fn probe(
        &self,
        hash: u64,
        parts: &[LabelText<'_>],
        admit: impl FnOnce(&[LabelText<'_>]) -> Result<(), Full>,
    ) -> Result<Found, Full> {
        match self.lookup(hash, parts) {
            Ok(series) => Ok(Found {
                series,
                inserted: false,
            }),
            Err(Some(empty)) => self.insert_from(empty, hash >> 32, parts, admit),
            // Not reached: at most CAPACITY < TABLE entries are ever filled.
            Err(None) => Err(Full::Capacity),
        }
    }

    /// The hit path: the series of `parts`, or the position of the empty entry that ends
    /// its probe (`None` if there was none, which the table's size rules out).
    #[inline(always)]
    fn lookup(&self, hash: u64, parts: &[LabelText<'_>]) -> Result<usize, Option<usize>> {
        let tag = hash >> 32;
        let mask = TABLE - 1;
        let mut position = hash as usize & mask;
        for _ in 0..TABLE {
            let Some(entry) = self.entries.get(position) else {
                break;
            };
            // Acquire: the entry's series has its key bytes and place written (see `publish`).
            let current = entry.load(Ordering::Acquire);
            if current == EMPTY {
                return Err(Some(position));
            }
            if current >> 32 == tag {
                let series = (current as u32 as usize).wrapping_sub(1);
                if self.key_matches(series, parts) {
                    return Ok(series);
                }
            }
            position = (position + 1) & mask;
        }
        Err(None)
    }

    /// The insert: the probe met an empty entry at `position`, so the key was not in the
    /// table when this thread looked. Claims storage, then publishes at the first empty entry
    /// from `position` on, or finds the key there if another thread published it meanwhile.
    #[cold]
    #[inline(never)]
    fn insert_from(
        &self,
        mut position: usize,
        tag: u64,
        parts: &[LabelText<'_>],
        admit: impl FnOnce(&[LabelText<'_>]) -> Result<(), Full>,
    ) -> Result<Found, Full> {
        let mut admit = Some(admit);
        let mask = TABLE - 1;
        // A claimed series with its key written, kept across probe steps after a lost race.
        let mut claim: Option<Claim> = None;
        for _ in 0..TABLE {
            let Some(entry) = self.entries.get(position) else {
                break;
            };
            // Acquire: the entry's series has its key bytes and place written (see `publish`).
            let mut current = entry.load(Ordering::Acquire);
            loop {
                if current == EMPTY {
                    let mine = match claim {
                        Some(mine) => mine,
                        None => {
                            if let Some(admit) = admit.take() {
                                admit(parts)?;
                            }
                            self.claim(parts)?
                        }
                    };
                    let filled = (tag << 32) | (mine.series as u64 + 1);
                    // Release on success: publishes the key written by `claim` to lookups.
                    // Acquire on failure: the winner's key is complete when we compare it.
                    match entry.compare_exchange(EMPTY, filled, Ordering::AcqRel, Ordering::Acquire)
                    {
                        Ok(_) => {
                            self.publish(mine.series);
                            return Ok(Found {
                                series: mine.series,
                                inserted: true,
                            });
                        }
                        Err(now) => {
                            claim = Some(mine);
                            current = now;
                            continue;
                        }
                    }
                }
                if current >> 32 == tag {
                    let series = (current as u32 as usize).wrapping_sub(1);
                    if self.key_matches(series, parts) {
                        if let Some(mine) = claim {
                            self.give_back(mine);
                        }
                        return Ok(Found {
                            series,
                            inserted: false,
                        });
                    }
                }
                break;
            }
            position = (position + 1) & mask;
        }
        // Not reached: at most CAPACITY < TABLE entries are ever filled.
        if let Some(mine) = claim {
            self.give_back(mine);
        }
        Err(Full::Capacity)
    }

    /// Where the probe for `parts` starts: for model tests that need two keys to meet.
    #[doc(hidden)]
    pub fn home(parts: &[LabelText<'_>]) -> usize {
        key::hash(seed(), parts) as usize & (TABLE - 1)
    }

    /// Claims a series number and bytes for `parts` and writes the key there.
    #[cold]
    #[inline(never)]
    fn claim(&self, parts: &[LabelText<'_>]) -> Result<Claim, Full> {
        let len = key::stored_len(parts).ok_or(Full::ValueLength)?;
        // Cheap refusals first, so a full index costs no read-modify-write.
        if self.reserved.load(Ordering::Relaxed) >= CAPACITY {
            return self.recycle(parts, len);
        }
        if self.bytes_used.load(Ordering::Relaxed) + len > BYTES {
            return Err(Full::LabelBytes);
        }
        // Acquire: when the number (or, below, the range) was given back by a losing insert,
        // its last writes to them (Release in `give_back`) happen before ours. What the
        // claimer writes is published to others by the entry's compare-exchange.
        let series = self
            .reserved
            .fetch_update(Ordering::Acquire, Ordering::Relaxed, |reserved| {
                (reserved < CAPACITY).then_some(reserved + 1)
            })
            .map_err(|_| Full::Capacity);
        let series = match series {
            Ok(series) => series,
            Err(_) => return self.recycle(parts, len),
        };
        let offset =
            match self
                .bytes_used
                .fetch_update(Ordering::Acquire, Ordering::Relaxed, |used| {
                    used.checked_add(len).filter(|&end| end <= BYTES)
                }) {
                Ok(offset) => offset,
                Err(_) => {
                    // The series was claimed for nothing: the bytes ran out in between. Its
                    // slot holds no bytes of ours (whatever place it names is not ours).
                    if let Some(slot) = self.series.get(series) {
                        slot.len.store(0, Ordering::Relaxed);
                    }
                    self.give_back_series(series);
                    return Err(Full::LabelBytes);
                }
            };
        Ok(self.write_claim(series, offset, parts, len))
    }

    /// Writes the key of a claim into its bytes and records their place in its slot.
    fn write_claim(
        &self,
        series: usize,
        offset: usize,
        parts: &[LabelText<'_>],
        len: usize,
    ) -> Claim {
        let mut at = offset;
        key::write_key(parts, |chunk| {
            // SAFETY: `offset..offset + len` is inside `0..BYTES` (checked by the claim) and
            // was handed to this thread alone by the `bytes_used` update; `write_key` emits
            // exactly `len` bytes; nobody reads them before the entry's Release publishes them.
            unsafe { self.bytes.write(at, chunk) };
            at += chunk.len();
        });
        if let Some(slot) = self.series.get(series) {
            // Both fit in 32 bits: `BYTES` does (checked by `new`).
            slot.offset.store(offset as u32, Ordering::Relaxed);
            slot.len.store(len as u32, Ordering::Relaxed);
            slot.state.store(Slot::CLAIMED, Ordering::Relaxed);
        }
        Claim {
            series,
            offset,
            len,
        }
    }

    /// Claims an abandoned series when every series number is claimed: a losing insert's
    /// claim that could not be given back, so a race never costs the family a series (see
    /// the [module docs](self#lookup-and-insert)). Its bytes are reused when the key fits
    /// them; otherwise the key gets new bytes and the old ones stay unused.
    #[cold]
    #[inline(never)]
    fn recycle(&self, parts: &[LabelText<'_>], len: usize) -> Result<Claim, Full> {
        // Acquire: pairs with the Release increment in `give_back_series`, so a count seen
        // above zero comes with a slot already marked ABANDONED.
        if self.abandoned.load(Ordering::Acquire) == 0 {
            return Err(Full::Capacity);
        }
        for (series, slot) in self.series.iter().enumerate() {
            if slot.state.load(Ordering::Relaxed) != Slot::ABANDONED {
                continue;
            }
            // Acquire: the loser's writes to the slot and its bytes (before its Release store
            // of ABANDONED) happen before ours; the state is ours alone from here.
            if slot
                .state
                .compare_exchange(
                    Slot::ABANDONED,
                    Slot::CLAIMED,
                    Ordering::Acquire,
                    Ordering::Relaxed,
                )
                .is_err()
            {
                continue;
            }
            self.abandoned.fetch_sub(1, Ordering::Relaxed);
            let owned = slot.len.load(Ordering::Relaxed) as usize;
            if len <= owned {
                let offset = slot.offset.load(Ordering::Relaxed) as usize;
                return Ok(self.write_claim(series, offset, parts, len));
            }
            // Acquire: as in `claim`, for a range given back by a losing insert.
            return match self.bytes_used.fetch_update(
                Ordering::Acquire,
                Ordering::Relaxed,
                |used| used.checked_add(len).filter(|&end| end <= BYTES),
            ) {
                Ok(offset) => Ok(self.write_claim(series, offset, parts, len)),
                Err(_) => {
                    self.abandon(slot);
                    Err(Full::LabelBytes)
                }
            };
        }
        Err(Full::Capacity)
    }

    /// Marks a series whose entry this thread filled as exported.
    fn publish(&self, series: usize) {
        if let Some(slot) = self.series.get(series) {
            // Release: a scrape that loads PUBLISHED with Acquire sees the key and its place.
            slot.state.store(Slot::PUBLISHED, Ordering::Release);
            self.published.fetch_add(1, Ordering::Relaxed);
        }
    }

    /// Gives back a claim whose key lost the race to the same key (see the [module
    /// docs](self#lookup-and-insert)); its bytes were never published, so nobody reads them.
    #[cold]
    fn give_back(&self, claim: Claim) {
        // Release: our writes to the range happen before a later claimer's (Acquire).
        let returned = self.bytes_used.compare_exchange(
            claim.offset + claim.len,
            claim.offset,
            Ordering::Release,
            Ordering::Relaxed,
        );
        if returned.is_ok() {
            // The range is no longer the slot's: a recycler must not reuse it.
            if let Some(slot) = self.series.get(claim.series) {
                slot.len.store(0, Ordering::Relaxed);
            }
        }
        self.give_back_series(claim.series);
    }

    /// Gives back a claimed series number, or abandons it if another was claimed since.
    fn give_back_series(&self, series: usize) {
        let Some(slot) = self.series.get(series) else {
            return;
        };
        slot.state.store(Slot::FREE, Ordering::Relaxed);
        // Release: the FREE store (and the slot's place) happen before the next claimer's
        // stores to this slot, which it makes after its Acquire claim reads this value.
        if self
            .reserved
            .compare_exchange(series + 1, series, Ordering::Release, Ordering::Relaxed)
            .is_err()
        {
            self.abandon(slot);
        }
    }

    /// Marks a claimed series that nobody published as free for [`recycle`](Self::recycle).
    fn abandon(&self, slot: &Slot) {
        // Release: the slot's place and bytes, written by this thread, happen before the
        // recycler's use of them (its compare-exchange of the state is Acquire).
        slot.state.store(Slot::ABANDONED, Ordering::Release);
        // Release: pairs with `recycle`'s Acquire load of the count.
        self.abandoned.fetch_add(1, Ordering::Release);
    }

    /// Whether `series` (found in an entry loaded with Acquire) holds the key `parts`.
    #[inline(always)]
    fn key_matches(&self, series: usize, parts: &[LabelText<'_>]) -> bool {
        let Some(slot) = self.series.get(series) else {
            return false;
        };
        let offset = slot.offset.load(Ordering::Relaxed) as usize;
        let len = slot.len.load(Ordering::Relaxed) as usize;
        if offset + len > BYTES {
            return false;
        }
        // SAFETY: the entry naming `series` was loaded with Acquire, and its filling
        // compare-exchange (Release) came after the claimer wrote these bytes and this place;
        // the range is in bounds (checked above) and never written again.
        unsafe {
            self.bytes
                .read(offset, len, |stored| key::key_matches(stored, parts))
        }
    }

    /// Calls `visit` with each published series and its key's parts (escaped), in series
    /// order; see the [module docs](self#order).
    pub fn for_each(&self, mut visit: impl FnMut(usize, StoredParts<'_>)) {
        let claimed = self.reserved.load(Ordering::Relaxed).min(CAPACITY);
        for (series, slot) in self.series.iter().enumerate().take(claimed) {
            // Acquire: pairs with `publish`, so the key bytes and place are visible.
            if slot.state.load(Ordering::Acquire) != Slot::PUBLISHED {
                continue;
            }
            let offset = slot.offset.load(Ordering::Relaxed) as usize;
            let len = slot.len.load(Ordering::Relaxed) as usize;
            if offset + len > BYTES {
                continue;
            }
            // SAFETY: PUBLISHED was loaded with Acquire and stored (Release) after the key
            // was written; in bounds (checked above); never written again. The range is the
            // whole key `claim` wrote with `write_key` (its place was stored with it), as
            // `StoredParts::new` requires.
            unsafe {
                self.bytes.read(offset, len, |stored| {
                    visit(series, StoredParts::new(stored))
                })
            };
        }
    }

    /// Calls `visit` with the key parts (escaped) of `series`, if it is published; `None`
    /// otherwise (never claimed, abandoned, or its insert has not marked it published yet).
    pub fn with_parts<R>(
        &self,
        series: usize,
        visit: impl FnOnce(StoredParts<'_>) -> R,
    ) -> Option<R> {
        let slot = self.series.get(series)?;
        // Acquire: pairs with `publish`, so the key bytes and place are visible.
        if slot.state.load(Ordering::Acquire) != Slot::PUBLISHED {
            return None;
        }
        let offset = slot.offset.load(Ordering::Relaxed) as usize;
        let len = slot.len.load(Ordering::Relaxed) as usize;
        if offset + len > BYTES {
            return None;
        }
        // SAFETY: as in `for_each`: PUBLISHED was loaded with Acquire and stored (Release)
        // after the key was written; in bounds (checked above); never written again; the
        // whole key `write_key` wrote, as `StoredParts::new` requires.
        Some(unsafe {
            self.bytes
                .read(offset, len, |stored| visit(StoredParts::new(stored)))
        })
    }

    /// The number of published series.
    pub fn len(&self) -> usize {
        self.published.load(Ordering::Relaxed)
    }

    /// Whether no series is published.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// The label bytes claimed so far, of `BYTES`.
    pub fn label_bytes_used(&self) -> usize {
        self.bytes_used.load(Ordering::Relaxed)
    }
}

#[cfg(not(promstatic_loom))]
impl<const CAPACITY: usize, const TABLE: usize, const BYTES: usize> Default
    for SeriesIndex<CAPACITY, TABLE, BYTES>
{
    fn default() -> Self {
        Self::new()
    }
}

#[cfg(all(test, not(promstatic_loom)))]
mod tests {
    use super::*;

    const PREFIX_BYTES: usize = key::PREFIX;

    fn raw<'a>(parts: &[&'a str]) -> Vec<LabelText<'a>> {
        parts.iter().map(|part| LabelText::Raw(part)).collect()
    }

    #[test]
    fn identity_is_by_value() {
        let index = SeriesIndex::<8, 16, 256>::new();
        let ab_c = index.find_or_insert(&raw(&["ab", "c"])).unwrap();
        let a_bc = index.find_or_insert(&raw(&["a", "bc"])).unwrap();
        let empty = index.find_or_insert(&raw(&["", ""])).unwrap();
        let nul = index.find_or_insert(&raw(&["\0", ""])).unwrap();
        let quote = index.find_or_insert(&raw(&["\"", "\n"])).unwrap();
        let all = [ab_c, a_bc, empty, nul, quote];
        for (position, series) in all.iter().enumerate() {
            assert!(!all[..position].contains(series), "{all:?}");
        }
        assert_eq!(index.find_or_insert(&raw(&["ab", "c"])), Ok(ab_c));
        assert_eq!(index.find_or_insert(&raw(&["\"", "\n"])), Ok(quote));
        assert_eq!(index.find_or_insert(&raw(&["", ""])), Ok(empty));
        assert_eq!(index.len(), 5);
        let mut seen = Vec::new();
        index.for_each(|series, parts| {
            seen.push(format!("{series}:{}", parts.collect::<Vec<_>>().join("|")))
        });
        assert_eq!(seen, ["0:ab|c", "1:a|bc", "2:|", "3:\0|", "4:\\\"|\\n"]);
    }

    #[test]
    fn refuses_when_series_or_bytes_run_out() {
        let index = SeriesIndex::<2, 4, 64>::new();
        assert_eq!(index.find_or_insert(&raw(&["a"])), Ok(0));
        assert_eq!(index.find_or_insert(&raw(&["b"])), Ok(1));
        assert_eq!(index.find_or_insert(&raw(&["c"])), Err(Full::Capacity));
        assert_eq!(index.find_or_insert(&raw(&["a"])), Ok(0));

        // "abcd" takes 2 + 4 bytes, "abc" would take 5 more, "a" takes the last 3.
        let index = SeriesIndex::<4, 8, 9>::new();
        assert_eq!(index.find_or_insert(&raw(&["abcd"])), Ok(0));
        assert_eq!(index.find_or_insert(&raw(&["abc"])), Err(Full::LabelBytes));
        assert_eq!(index.find_or_insert(&raw(&["a"])), Ok(1));
        assert_eq!(index.label_bytes_used(), 9);
        assert_eq!(index.find_or_insert(&raw(&[""])), Err(Full::LabelBytes));
    }

    #[test]
    fn an_abandoned_series_is_recycled() {
        let scrape = |index: &SeriesIndex<2, 4, 64>| {
            let mut seen = Vec::new();
            index.for_each(|series, parts| {
                seen.push(format!("{series}:{}", parts.collect::<Vec<_>>().join("|")))
            });
            seen
        };
        for (lost, recycler) in [("lost", "c"), ("a", "longer")] {
            let index = SeriesIndex::<2, 4, 64>::new();
            // A losing insert's claim, given back after another claim came: abandoned.
            let claim = index.claim(&raw(&[lost])).unwrap();
            assert_eq!(index.find_or_insert(&raw(&["b"])), Ok(1));
            index.give_back(claim);
            assert_eq!(scrape(&index), ["1:b"]);
            // The family is not full: the next key gets the abandoned series, and reuses its
            // bytes when it fits them.
            let used = index.label_bytes_used();
            assert_eq!(index.find_or_insert(&raw(&[recycler])), Ok(0));
            let grown = if recycler.len() <= lost.len() {
                0
            } else {
                PREFIX_BYTES + recycler.len()
            };
            assert_eq!(
                index.label_bytes_used(),
                used + grown,
                "{lost} → {recycler}"
            );
            assert_eq!(scrape(&index), [format!("0:{recycler}"), "1:b".to_owned()]);
            assert_eq!(index.find_or_insert(&raw(&[recycler])), Ok(0));
            assert_eq!(index.find_or_insert(&raw(&["d"])), Err(Full::Capacity));
            assert_eq!(index.len(), 2);
        }
    }

    #[test]
    fn every_probe_position_works_when_full() {
        // Many keys into a small table: collisions and wrap-around of the probe.
        let index = SeriesIndex::<64, 128, 4096>::new();
        let names: Vec<String> = (0..64).map(|i| format!("k{i}")).collect();
        for (expected, name) in names.iter().enumerate() {
            assert_eq!(index.find_or_insert(&raw(&[name])), Ok(expected));
        }
        for (expected, name) in names.iter().enumerate() {
            assert_eq!(index.find_or_insert(&raw(&[name])), Ok(expected));
        }
        assert_eq!(index.find_or_insert(&raw(&["new"])), Err(Full::Capacity));
    }

    #[test]
    fn table_sizes() {
        assert_eq!(table_size(1), 2);
        assert_eq!(table_size(3), 8);
        assert_eq!(table_size(512), 1024);
        assert_eq!(table_size(100), 256);
    }
}
