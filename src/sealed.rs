//! The supertrait that keeps a public trait implementable only inside this crate.
//!
//! [`Metric`](crate::Metric), [`Series`](crate::family::Series) and
//! [`LabelSet`](crate::LabelSet) are public so that they can appear in bounds and generated
//! code, but their implementations write exposition text directly, past the checks of the
//! run-time encoder API: an implementation outside the crate could write an invalid
//! exposition. They require [`Sealed`], which lives in this private module, so no other
//! crate can implement them. (`LabelValue` cannot be sealed: the derive implements it in the
//! user's crate. Its values are checked at compile time instead; see [`crate::label`].)

/// Implemented only by this crate's metric types and label tuples.
pub trait Sealed {}
