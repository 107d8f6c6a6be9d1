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
