//! The hit cache: a `metrics::Key` straight to its series' handle, before the index.
//!
//! `counter!("x", "k" => "v")` builds no key at run time: the macro's `Key` is a `static`
//! whose hash `metrics` computed at compile time, and whose name and label slice point at
//! `'static` literals. A registration that finds its series in the
//! [index](crate::dynamic::SeriesIndex) still has to lay the key out as the index's parts
//! (sorted labels) and compare them with the stored, escaped bytes. This cache skips all of
//! that for a key registered before:
//!
//! * [`SLOTS`] entries, direct-mapped by `Key::get_hash()` (and the series type); each is
//!   null or points at an [`Entry`]: a copy of the key (`Key::to_retained`, which keeps
//!   borrowed `'static` text borrowed) and the series' handle.
//! * A lookup loads one entry and compares the key with the copy: the hash, then the name and
//!   the label slice. For a macro's static key the copy points at the same literals, so the
//!   comparison is two pointer-and-length checks and reads no text; any other key is compared
//!   by value (same text in the same order). A different key in the slot, a label order the
//!   entry was not made with, or an empty slot is a miss: the index decides, as before.
//! * An entry is filled once, by the first registration that finds the slot empty, and never
//!   changes or goes away (so at most [`SLOTS`] entries are ever allocated, each once). It is
//!   published with one compare-exchange (`Release`) after it was built; a lookup loads it
//!   with `Acquire`. Only a series' own handle is cached: an overflow registration is counted
//!   every time (`promstatic_facade_refused_total`), so it always takes the slow path.
//!
//! Nothing here locks or allocates on a hit, and a miss costs one load.

use std::sync::Arc;
use std::sync::atomic::{AtomicPtr, Ordering};

use super::handle::Handle;
use super::store::SeriesKind;

/// The number of entries; a power of two. 32 KiB of pointers, zero-initialised.
pub(crate) const SLOTS: usize = 4096;

/// One cached registration: the key as first registered and its series' handle.
///
/// `name` and `labels` are the retained key's own text and label slice, kept beside it so a
/// lookup compares them without calling into `metrics` (its accessors are not `#[inline]`,
/// so across crates each is a call).
#[derive(Debug)]
pub(crate) struct Entry {
    kind: SeriesKind,
    hash: u64,
    name: &'static str,
    labels: &'static [metrics::Label],
    handle: Arc<Handle>,
}

static ENTRIES: [AtomicPtr<Entry>; SLOTS] = [const { AtomicPtr::new(std::ptr::null_mut()) }; SLOTS];

/// The entry of `key` as `kind`: the hash chooses it, each type at its own place.
#[inline]
fn slot(kind: SeriesKind, hash: u64) -> &'static AtomicPtr<Entry> {
    // A counter and a gauge of one key must not share their first choice: their keys are
    // equal, only the type tells them apart. An odd multiplier spreads the three types.
    let mixed = hash ^ (kind as u64).wrapping_mul(0x9E37_79B9_7F4A_7C15);
    &ENTRIES[(mixed as usize) & (SLOTS - 1)]
}

/// The handle of `key` as `kind`, if a registration cached it.
#[inline]
pub(crate) fn find(kind: SeriesKind, key: &metrics::Key) -> Option<Arc<Handle>> {
    let hash = key.get_hash();
    // Acquire: pairs with the Release of `insert`, so the entry is complete.
    let entry = slot(kind, hash).load(Ordering::Acquire);
    if entry.is_null() {
        return None;
    }
    // SAFETY: a non-null pointer in `ENTRIES` came from `Box::into_raw` in `insert` and is
    // never freed or written again, and the Acquire load above saw it published.
    let entry = unsafe { &*entry };
    (entry.kind == kind
        && entry.hash == hash
        && same_text(entry.name, key.name())
        && same_labels(entry.labels, key.labels().as_slice()))
    .then(|| Arc::clone(&entry.handle))
}

/// Caches `handle` as the series of `key` as `kind`, unless its entry is taken.
#[cold]
#[inline(never)]
pub(crate) fn insert(kind: SeriesKind, key: &metrics::Key, handle: &Arc<Handle>) {
    let hash = key.get_hash();
    let slot = slot(kind, hash);
    if !slot.load(Ordering::Relaxed).is_null() {
        return;
    }
    // The copy lives as long as the entry, for ever once published: `to_retained` keeps
    // borrowed `'static` text borrowed and moves owned text into an `Arc` of its own.
    let retained: &'static metrics::Key = Box::leak(Box::new(key.to_retained()));
    let entry = Box::into_raw(Box::new(Entry {
        kind,
        hash,
        name: retained.name(),
        labels: retained.labels().as_slice(),
        handle: Arc::clone(handle),
    }));
    // Release: a lookup that loads the pointer (Acquire) sees the entry it points to.
    if slot
        .compare_exchange(
            std::ptr::null_mut(),
            entry,
            Ordering::Release,
            Ordering::Relaxed,
        )
        .is_err()
    {
        // SAFETY: `entry` and `retained` came from `Box::into_raw` and `Box::leak` above and
        // were not published: this thread alone holds them, and drops the entry before the
        // key its fields borrow.
        unsafe {
            drop(Box::from_raw(entry));
            drop(Box::from_raw(std::ptr::from_ref(retained).cast_mut()));
        }
    }
}

/// Whether two label lists are the same labels in the same order.
///
/// metrics' own `Key::eq` ignores label order but allocates for eight labels or more; an
/// order-sensitive comparison never allocates, and a key listed in another order is a miss
/// that the index resolves to the same series.
#[inline]
fn same_labels(cached: &[metrics::Label], labels: &[metrics::Label]) -> bool {
    // A macro's static key: the copy points at the very same `static` array.
    std::ptr::eq(cached, labels) || same_labels_by_value(cached, labels)
}

#[inline(never)]
fn same_labels_by_value(cached: &[metrics::Label], labels: &[metrics::Label]) -> bool {
    cached.len() == labels.len()
        && cached.iter().zip(labels).all(|(cached, label)| {
            same_text(cached.key(), label.key()) && same_text(cached.value(), label.value())
        })
}

/// `left == right`, without reading the text when both are the same memory.
#[inline]
fn same_text(left: &str, right: &str) -> bool {
    std::ptr::eq(left, right) || left == right
}

/// Whether `cached` and `key` are the same key with the labels in the same order.
#[cfg(test)]
fn same_key(cached: &metrics::Key, key: &metrics::Key) -> bool {
    cached.get_hash() == key.get_hash()
        && same_text(cached.name(), key.name())
        && same_labels(cached.labels().as_slice(), key.labels().as_slice())
}

#[cfg(test)]
mod tests {
    use super::*;

    static LABELS: [metrics::Label; 2] = [
        metrics::Label::from_static_parts("scene", "intro"),
        metrics::Label::from_static_parts("gpu", "0"),
    ];
    static KEY: metrics::Key = metrics::Key::from_static_parts("cache_test_total", &LABELS);

    #[test]
    fn keys_are_compared_by_value_and_order() {
        let retained = KEY.to_retained();
        assert!(
            std::ptr::eq(retained.name(), KEY.name()),
            "borrowed text stays borrowed"
        );
        assert!(same_key(&retained, &KEY));
        let owned = metrics::Key::from_parts(
            String::from("cache_test_total"),
            vec![
                metrics::Label::new("scene", String::from("intro")),
                metrics::Label::new("gpu", "0"),
            ],
        );
        assert!(same_key(&retained, &owned), "equal text at other addresses");
        let reordered = metrics::Key::from_parts(
            "cache_test_total",
            vec![
                metrics::Label::new("gpu", "0"),
                metrics::Label::new("scene", "intro"),
            ],
        );
        assert_eq!(
            reordered.get_hash(),
            KEY.get_hash(),
            "metrics' hash ignores order"
        );
        assert!(!same_key(&retained, &reordered), "another order is a miss");
        let other_value = metrics::Key::from_parts(
            "cache_test_total",
            vec![
                metrics::Label::new("scene", "intro"),
                metrics::Label::new("gpu", "1"),
            ],
        );
        assert!(!same_key(&retained, &other_value));
        let fewer = metrics::Key::from_parts(
            "cache_test_total",
            vec![metrics::Label::new("scene", "intro")],
        );
        assert!(!same_key(&retained, &fewer));
    }

    fn handle() -> Arc<Handle> {
        let value: &'static std::sync::atomic::AtomicU64 =
            Box::leak(Box::new(std::sync::atomic::AtomicU64::new(0)));
        let buckets: &'static super::super::store::Buckets = Box::leak(Box::new(
            [const { std::sync::atomic::AtomicU64::new(0) }; _],
        ));
        let below_zero: &'static std::sync::atomic::AtomicBool =
            Box::leak(Box::new(std::sync::atomic::AtomicBool::new(false)));
        Arc::new(Handle::new(value, below_zero, buckets, &[]))
    }

    #[test]
    fn keys_that_share_an_entry_keep_their_own_handles() {
        // Two names whose keys choose the same entry (found by trying names).
        let first = metrics::Key::from_name("cache_collision_0");
        let home =
            |key: &metrics::Key| std::ptr::from_ref(slot(SeriesKind::Counter, key.get_hash()));
        let second = (1..100_000)
            .map(|index| metrics::Key::from_name(format!("cache_collision_{index}")))
            .find(|key| home(key) == home(&first))
            .expect("4096 entries: a colliding name among 100 000");
        let (first_handle, second_handle) = (handle(), handle());
        insert(SeriesKind::Counter, &first, &first_handle);
        insert(SeriesKind::Counter, &second, &second_handle);
        let found = find(SeriesKind::Counter, &first).expect("the first key is cached");
        assert!(Arc::ptr_eq(&found, &first_handle));
        assert!(
            find(SeriesKind::Counter, &second).is_none(),
            "the entry is the first key's: the second is a miss, for the index to resolve"
        );
        // The same key as another type is another series: never the counter's handle.
        assert!(find(SeriesKind::Gauge, &first).is_none());
        // An owned key equal to the cached one finds it.
        let owned = metrics::Key::from_name(String::from("cache_collision_0"));
        assert!(
            find(SeriesKind::Counter, &owned)
                .is_some_and(|found| Arc::ptr_eq(&found, &first_handle))
        );
    }
}
