//! The rules of the Prometheus exposition syntax that `promstatic` checks both at compile time
//! (in `promstatic-macros`) and at run time (in `promstatic`): the name validator and the
//! escaping of HELP text and label values.
//!
//! Both crates depend on this one, so the macro and the run time cannot disagree about what
//! a valid name is or how a label value is escaped. It has no dependencies. Use it through
//! `promstatic` (`promstatic::name`, `promstatic::encode::escape`); it is a separate crate only
//! because a proc-macro crate cannot share code with its run-time crate any other way.
//!
//! * [`name`]: metric and label names, as `const fn`s;
//! * [`escape`]: one escaping function per exposition context.

#![deny(missing_docs)]
#![forbid(unsafe_code)]

pub mod escape;
pub mod name;
