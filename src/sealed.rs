//! Sealing: what keeps a public trait implementable only inside this crate.
//!
//! [`Metric`](crate::Metric), [`Series`](crate::family::Series) and
//! [`LabelSet`](crate::LabelSet) are public so that they can appear in bounds and generated
//! code, but their implementations write exposition text directly, past the checks of the
//! run-time encoder API: an implementation outside the crate could write an invalid
//! exposition. They require [`Sealed`] (`Metric`, `Series`) or a method taking [`Token`]
//! (`LabelSet`, and the exporter's `ScrapeHookOutput`), both in this private module, so no
//! other crate can implement them. (`LabelValue` cannot be sealed: the derive implements it in the
//! user's crate. Its values are checked at compile time instead; see [`crate::label`].)

/// Implemented only by this crate's metric types.
pub trait Sealed {}

/// A type no other crate can name: a required trait method that takes it cannot be written
/// outside this crate. Used instead of [`Sealed`] where a supertrait would show up in the
/// compiler's "trait not implemented" messages for a user's mistake (`LabelSet`, whose
/// message should name the label type that is not a `LabelValue`).
#[derive(Debug)]
pub struct Token;
