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
