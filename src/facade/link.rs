//! How a facade series joins its name's list and gets its one handle: the lock-free
//! registration protocol, on [`crate::sync`]'s atomics so that loom checks this very code.
//!
//! # Linking
//!
//! Every name keeps a singly linked list of its series, newest first, for the scrape: a
//! [`List`] head and, per series, a [`Link`] (`next`, and the name that owns the series).
//! Series are numbered by the [index](crate::dynamic::SeriesIndex); links hold numbers plus
//! one, 0 ending the list. The first registration of a series:
//!
//! 1. claims it for its name ([`Link::claim`]: a compare-exchange of the owner from 0),
//!    so when two threads register one new key together exactly one links it;
//! 2. pushes it ([`List::push`]): stores the current head as its `next` (`Relaxed`), then
//!    compare-exchanges the head to itself with `Release`, retrying with the newer head if
//!    another push came first. The `Release` publishes `next` (and everything the series'
//!    inserter wrote before) to a scrape that loads the head with `Acquire`
//!    ([`List::head`]); a later push's `Release` continues the release sequence, so one
//!    `Acquire` load of the head makes every older link visible too, and the scrape follows
//!    them with `Relaxed` loads ([`Link::next`]).
//!
//! Weakened to `Relaxed`, a scrape may load a new head and then the series' `next` as it was
//! before the push (0): the older series vanish from that scrape. The model at the end of
//! this file shows it (`RUSTFLAGS="--cfg promstatic_loom" CARGO_TARGET_DIR=target/loom cargo
//! test --release -p promstatic --features facade --lib facade_link::loom_models`).
//!
//! # Handles
//!
//! A series' handle (what `metrics` gets back, an `Arc`) is built on its first registration
//! and kept for the life of the process in a [`Published`]: a pointer from `Arc::into_raw`,
//! set once by compare-exchange (`Release`), loaded with `Acquire`, so whoever loads it sees
//! the handle's fields. Two threads that build one together both return the winner's; the
//! loser drops its own.

use std::sync::Arc;

use crate::sync::{AtomicPtr, AtomicU32, Ordering, ordering};

/// The head of a name's list of series: the newest series plus one (0: empty).
#[derive(Debug)]
pub(crate) struct List {
    head: AtomicU32,
}

/// One series' place in its name's list.
#[derive(Debug)]
pub(crate) struct Link {
    /// The owning name (its slot plus one) once claimed; 0 before.
    owner: AtomicU32,
    /// The next (older) series plus one; 0 ends the list.
    next: AtomicU32,
}

/// A value built once, shared for the life of its holder (see the [module docs](self#handles)).
#[derive(Debug)]
pub(crate) struct Published<T> {
    pointer: AtomicPtr<T>,
}

macro_rules! constructors {
    ($($const:ident)?) => {
        impl List {
            pub(crate) $($const)? fn new() -> Self {
                List { head: AtomicU32::new(0) }
            }
        }

        impl Link {
            pub(crate) $($const)? fn new() -> Self {
                Link { owner: AtomicU32::new(0), next: AtomicU32::new(0) }
            }
        }

        impl<T> Published<T> {
            pub(crate) $($const)? fn new() -> Self {
                Published { pointer: AtomicPtr::new(std::ptr::null_mut()) }
            }
        }
    };
}

// loom's atomics have no `const fn new`: the model builds these at run time.
#[cfg(not(promstatic_loom))]
constructors!(const);
#[cfg(promstatic_loom)]
constructors!();

impl List {
    /// The newest series plus one (0: none). Acquire: pairs with the Release of every push,
    /// so each linked series' `next` is visible.
    #[inline]
    pub(crate) fn head(&self) -> u32 {
        self.head.load(ordering(Ordering::Acquire))
    }

    /// Puts `series` (whose link is `links[series]`) at the front of the list.
    pub(crate) fn push(&self, links: &[Link], series: usize) {
        let Some(link) = links.get(series) else {
            return;
        };
        let mut head = self.head.load(Ordering::Relaxed);
        loop {
            link.next.store(head, Ordering::Relaxed);
            // Release: a scrape that loads the head (Acquire) sees `next` and what the
            // registering thread wrote before (the series' key).
            match self.head.compare_exchange_weak(
                head,
                series as u32 + 1,
                ordering(Ordering::Release),
                Ordering::Relaxed,
            ) {
                Ok(_) => return,
                Err(now) => head = now,
            }
        }
    }

    /// Calls `visit` with each series of the list, newest first; at most `links.len()` of
    /// them (a bound that would also stop a list that looped, which it cannot).
    pub(crate) fn for_each(&self, links: &[Link], mut visit: impl FnMut(usize)) {
        let mut next = self.head();
        for _ in 0..links.len() {
            let Some(series) = (next as usize).checked_sub(1) else {
                return;
            };
            let Some(link) = links.get(series) else {
                return;
            };
            next = link.next();
            visit(series);
        }
    }
}

impl Link {
    /// Claims the series for the name `owner` (a slot plus one, not 0): true for exactly one
    /// caller, which then pushes it.
    pub(crate) fn claim(&self, owner: u32) -> bool {
        self.owner
            .compare_exchange(0, owner, Ordering::Relaxed, Ordering::Relaxed)
            .is_ok()
    }

    /// The next series plus one; valid after the head was loaded with [`List::head`].
    #[inline]
    pub(crate) fn next(&self) -> u32 {
        self.next.load(Ordering::Relaxed)
    }
}

impl<T> Published<T> {
    /// The published value, if any.
    #[inline]
    pub(crate) fn get(&self) -> Option<Arc<T>> {
        // Acquire: pairs with the Release of `publish`, so the value is complete.
        let pointer = self.pointer.load(ordering(Ordering::Acquire));
        // SAFETY: a non-null pointer came from `Arc::into_raw` in `publish` and its strong
        // reference is released only by `drop`, which cannot run while `self` is borrowed;
        // so the allocation is alive, and adding a strong reference for the new `Arc` is
        // sound.
        (!pointer.is_null()).then(|| unsafe {
            Arc::increment_strong_count(pointer);
            Arc::from_raw(pointer)
        })
    }

    /// Publishes `built` unless a value was published first; returns the published one.
    pub(crate) fn publish(&self, built: Arc<T>) -> Arc<T> {
        let raw = Arc::into_raw(Arc::clone(&built)).cast_mut();
        // Release: a thread that loads the pointer (Acquire) sees the value it points to.
        // Acquire on failure: the winner's value is complete when we clone it.
        match self.pointer.compare_exchange(
            std::ptr::null_mut(),
            raw,
            ordering(Ordering::AcqRel),
            ordering(Ordering::Acquire),
        ) {
            Ok(_) => built,
            Err(winner) => {
                // SAFETY: `raw` came from `Arc::into_raw` above and was not published, so
                // this thread still owns that strong reference and gives it back.
                drop(unsafe { Arc::from_raw(raw) });
                // SAFETY: as in `get`: `winner` came from `Arc::into_raw` in `publish` and is
                // released only by `drop`.
                unsafe {
                    Arc::increment_strong_count(winner);
                    Arc::from_raw(winner)
                }
            }
        }
    }
}

impl<T> Drop for Published<T> {
    fn drop(&mut self) {
        // The facade's are in a static and never dropped; the model's are.
        let pointer = self.pointer.load(Ordering::Relaxed);
        if !pointer.is_null() {
            // SAFETY: the pointer came from `Arc::into_raw` in `publish`, whose strong
            // reference this holder kept until now; `&mut self` means nobody loads it.
            drop(unsafe { Arc::from_raw(pointer) });
        }
    }
}

/// The registration protocol under loom: each model runs once as written and once with
/// every ordering weakened to `Relaxed` ([`crate::sync::ordering`]), where it must fail.
#[cfg(all(test, promstatic_loom))]
mod loom_models {
    use super::*;
    use crate::sync::model::strong_passes_weakened_fails;
    use loom::cell::UnsafeCell;
    use loom::thread;

    /// A name's list and three series' links.
    struct Name {
        list: List,
        links: [Link; 3],
    }

    fn name() -> Arc<Name> {
        Arc::new(Name {
            list: List::new(),
            links: [Link::new(), Link::new(), Link::new()],
        })
    }

    /// The first registration's linking step, as `store::first_registration` does it.
    fn register(name: &Name, series: usize) {
        if name.links[series].claim(1) {
            name.list.push(&name.links, series);
        }
    }

    fn walk(name: &Name) -> Vec<usize> {
        let mut seen = Vec::new();
        name.list.for_each(&name.links, |series| seen.push(series));
        seen
    }

    /// One thread links series 0 and then 1 while two others register series 2, the same
    /// new key, together, and a scrape walks the list meanwhile. The scrape may miss what is
    /// not linked yet, never an older series behind one it saw; at the end every series is
    /// in the list exactly once.
    fn linking_while_a_scrape_walks() {
        let shared = name();
        let linker = {
            let shared = Arc::clone(&shared);
            thread::spawn(move || {
                register(&shared, 0);
                register(&shared, 1);
            })
        };
        let racer = {
            let shared = Arc::clone(&shared);
            thread::spawn(move || register(&shared, 2))
        };
        let scrape = {
            let shared = Arc::clone(&shared);
            thread::spawn(move || walk(&shared))
        };
        register(&shared, 2);
        let seen = scrape.join().unwrap_or_default();
        linker.join().unwrap_or(());
        racer.join().unwrap_or(());
        // Series 1 was pushed after 0 by the same thread: 0 is behind it.
        if let Some(position) = seen.iter().position(|&series| series == 1) {
            assert!(
                seen[position + 1..].contains(&0),
                "the scrape saw series 1 without the older series 0: {seen:?}"
            );
        }
        let mut all = walk(&shared);
        all.sort_unstable();
        assert_eq!(all, [0, 1, 2], "every series linked exactly once");
    }

    /// What a handle holds, written before it is published: a loom cell, so that a read
    /// not ordered after the write is a data race that loom reports.
    struct Payload(UnsafeCell<u64>);

    // SAFETY: the cell is written only before the payload is published and read only after
    // (the property the model checks).
    unsafe impl Sync for Payload {}

    fn build(value: u64) -> Arc<Payload> {
        let payload = Arc::new(Payload(UnsafeCell::new(0)));
        // SAFETY: the payload is not shared yet.
        payload.0.with_mut(|cell| unsafe { *cell = value });
        payload
    }

    fn read(payload: &Payload) -> u64 {
        // SAFETY: written only before publication; loom checks the ordering.
        payload.0.with(|cell| unsafe { *cell })
    }

    /// Two threads build the handle of one new series together while a third loads it: both
    /// builders return the same handle, and whoever sees it sees its contents.
    fn two_threads_publish_one_handle() {
        let slot = Arc::new(Published::<Payload>::new());
        let other = {
            let slot = Arc::clone(&slot);
            thread::spawn(move || {
                let handle = slot.publish(build(1));
                (read(&handle), Arc::as_ptr(&handle) as usize)
            })
        };
        let reader = {
            let slot = Arc::clone(&slot);
            thread::spawn(move || slot.get().map(|handle| read(&handle)))
        };
        let mine = slot.publish(build(2));
        let (theirs, their_pointer) = other.join().unwrap_or((0, 0));
        assert_eq!(
            their_pointer,
            Arc::as_ptr(&mine) as usize,
            "one handle per series"
        );
        assert_eq!(theirs, read(&mine));
        if let Some(seen) = reader.join().unwrap_or(None) {
            assert_eq!(seen, read(&mine));
        }
    }

    #[test]
    fn linking_keeps_every_older_series_visible() {
        // Four threads: `.ci/run` bounds loom's search with LOOM_MAX_PREEMPTIONS=3.
        strong_passes_weakened_fails(linking_while_a_scrape_walks);
    }

    #[test]
    fn a_published_handle_is_complete_and_unique() {
        strong_passes_weakened_fails(two_threads_publish_one_handle);
    }
}
