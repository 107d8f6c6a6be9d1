//! The atomics of the crate's multi-step lock-free protocols, swappable for `loom`'s.
//!
//! A protocol whose correctness depends on an interleaving (a slot claimed by one thread and
//! published to others, a hand-over between an exiting thread and a new one) takes its atomic
//! types from here instead of `std::sync::atomic`. Built normally, these are exactly the std
//! types. Built with `RUSTFLAGS="--cfg promstatic_loom"`, they are `loom`'s, so a model test
//! drives the real code, not a copy of it, through every interleaving the memory model allows.
//!
//! The cfg is our own (`promstatic_loom`, not `loom`) so that dependencies which have a `loom`
//! mode of their own (tokio) are not switched into it. `loom`'s atomics have no `const fn
//! new`: a protocol type used in a `static` keeps a `const` constructor for the normal build
//! and a plain one under the model (see the types that import this module).
//!
//! Single-location counters (`Counter`, `Gauge`, histogram cells) keep std atomics directly:
//! their properties follow from the coherence of one atomic location, which is what loom
//! would assume rather than check.

#[cfg(not(promstatic_loom))]
#[allow(unused_imports)]
pub(crate) use std::sync::atomic::{
    AtomicBool, AtomicPtr, AtomicU8, AtomicU32, AtomicU64, AtomicUsize, Ordering, fence,
};

#[cfg(promstatic_loom)]
#[allow(unused_imports)]
pub(crate) use loom::sync::atomic::{
    AtomicBool, AtomicPtr, AtomicU8, AtomicU32, AtomicU64, AtomicUsize, Ordering, fence,
};

/// `strong`, the ordering a step of a protocol needs; in a loom build, `Relaxed` while a model
/// test has deliberately weakened the protocol to show that the model catches it
/// ([`model::strong_passes_weakened_fails`]). In a normal build this is `strong` itself.
#[inline(always)]
#[allow(dead_code)]
pub(crate) fn ordering(strong: Ordering) -> Ordering {
    #[cfg(promstatic_loom)]
    if model::WEAKENED.load(std::sync::atomic::Ordering::Relaxed) {
        return Ordering::Relaxed;
    }
    strong
}

/// Helpers of the loom model tests (only under `--cfg promstatic_loom`).
#[cfg(promstatic_loom)]
pub(crate) mod model {
    use std::sync::atomic::AtomicBool;

    /// While true, [`super::ordering`] weakens every protocol step to `Relaxed`.
    pub(crate) static WEAKENED: AtomicBool = AtomicBool::new(false);

    /// Serialises the models: [`WEAKENED`] is process-wide and libtest runs tests in
    /// parallel.
    #[cfg(test)]
    static ONE_AT_A_TIME: std::sync::Mutex<()> = std::sync::Mutex::new(());

    /// Runs `model` under loom as written (it must pass), then with the protocol weakened,
    /// where it must fail: the proof that the model can see the bug the orderings prevent.
    #[cfg(test)]
    pub(crate) fn strong_passes_weakened_fails(model: fn()) {
        use std::sync::atomic::Ordering;
        let _serial = ONE_AT_A_TIME
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        WEAKENED.store(false, Ordering::Relaxed);
        loom::model(model);
        WEAKENED.store(true, Ordering::Relaxed);
        let weakened = std::panic::catch_unwind(|| loom::model(model));
        WEAKENED.store(false, Ordering::Relaxed);
        let Err(payload) = weakened else {
            panic!("the model did not notice the protocol weakened to Relaxed");
        };
        // What loom caught, for the log: a lost write or a data race, not an unrelated panic.
        let message = payload
            .downcast_ref::<String>()
            .map(String::as_str)
            .or_else(|| payload.downcast_ref::<&str>().copied())
            .unwrap_or("(a non-string panic)");
        println!("weakened to Relaxed, the model failed as it must: {message}");
    }
}

/// Bytes that one thread writes before publishing them with a `Release` store and that other
/// threads read only after an `Acquire` load of that store: the label text of dynamic
/// families (see [`crate::dynamic`]).
///
/// Callers reserve disjoint ranges with an atomic counter, so a range has one writer, and it
/// is never written again once published. Built normally this is one `UnsafeCell` holding the
/// whole array, reached only through raw pointers so that writers of different ranges never
/// hold overlapping references. Under the model each byte is a `loom` cell, so loom reports a
/// read that is not ordered after the write it reads.
pub(crate) struct PublishedBytes<const N: usize> {
    #[cfg(not(promstatic_loom))]
    bytes: std::cell::UnsafeCell<[u8; N]>,
    #[cfg(promstatic_loom)]
    bytes: Box<[loom::cell::UnsafeCell<u8>]>,
}

// SAFETY: shared access is the purpose of the type; the callers' protocol (disjoint reserved
// ranges, written before a release store, read after an acquire load of it) rules out data
// races, as the `write` and `read` contracts state.
unsafe impl<const N: usize> Sync for PublishedBytes<N> {}

impl<const N: usize> std::fmt::Debug for PublishedBytes<N> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("PublishedBytes")
            .field("len", &N)
            .finish_non_exhaustive()
    }
}

#[cfg(not(promstatic_loom))]
impl<const N: usize> PublishedBytes<N> {
    /// All zero.
    pub(crate) const fn new() -> Self {
        PublishedBytes {
            bytes: std::cell::UnsafeCell::new([0; N]),
        }
    }

    /// Copies `source` to `offset..offset + source.len()`.
    ///
    /// # Safety
    ///
    /// The range is inside `0..N`, no other thread reads or writes it during the call, and
    /// nobody reads it until a store made after this call publishes it.
    pub(crate) unsafe fn write(&self, offset: usize, source: &[u8]) {
        debug_assert!(offset + source.len() <= N);
        // SAFETY: the range is in bounds and exclusively ours (the caller's contract); the
        // pointer comes from `UnsafeCell::get`, so writing through it is allowed while other
        // threads read other ranges.
        unsafe {
            std::ptr::copy_nonoverlapping(
                source.as_ptr(),
                self.bytes.get().cast::<u8>().add(offset),
                source.len(),
            );
        }
    }

    /// Calls `read` with the bytes at `offset..offset + len`.
    ///
    /// # Safety
    ///
    /// The range is inside `0..N`, was written by [`PublishedBytes::write`] before a store
    /// that this thread has loaded with `Acquire` (or in this thread), and is never written
    /// again.
    #[inline(always)]
    pub(crate) unsafe fn read<R>(
        &self,
        offset: usize,
        len: usize,
        read: impl FnOnce(&[u8]) -> R,
    ) -> R {
        debug_assert!(offset + len <= N);
        // SAFETY: in bounds, and no thread writes these bytes any more (the caller's
        // contract), so a shared slice of them is sound for the duration of the call.
        let bytes =
            unsafe { std::slice::from_raw_parts(self.bytes.get().cast::<u8>().add(offset), len) };
        read(bytes)
    }
}

#[cfg(promstatic_loom)]
impl<const N: usize> PublishedBytes<N> {
    /// All zero.
    pub(crate) fn new() -> Self {
        PublishedBytes {
            bytes: (0..N).map(|_| loom::cell::UnsafeCell::new(0)).collect(),
        }
    }

    /// See the normal build's `write`.
    pub(crate) unsafe fn write(&self, offset: usize, source: &[u8]) {
        for (cell, &byte) in self.bytes[offset..offset + source.len()].iter().zip(source) {
            // SAFETY: exclusive by the caller's contract; loom checks it.
            cell.with_mut(|pointer| unsafe { *pointer = byte });
        }
    }

    /// See the normal build's `read`; the model copies the bytes out, one checked read each.
    pub(crate) unsafe fn read<R>(
        &self,
        offset: usize,
        len: usize,
        read: impl FnOnce(&[u8]) -> R,
    ) -> R {
        let copy: Vec<u8> = self.bytes[offset..offset + len]
            .iter()
            // SAFETY: published by the caller's contract; loom checks it.
            .map(|cell| cell.with(|pointer| unsafe { *pointer }))
            .collect();
        read(&copy)
    }
}
