//! Procedural macros for `promstatic`. Use them through the `promstatic` crate, which
//! re-exports them and provides the paths their output refers to.
//!
//! The attribute is split by phase, as in `linkme`: `args` parses `#[metric(…)]`, `item`
//! validates the static it is attached to, `expand` writes the table entry (and, for families
//! and histograms with `buckets`, the static's generic arguments and storage). `label` is
//! `derive(LabelValue)`. Every user mistake becomes a `syn::Error` spanned on the offending
//! token; errors found together are reported together.

// The name validator and the escaping rules come from the crate the run-time crate uses
// too, so compile time and run time cannot disagree.
use promstatic_syntax::{escape, name};

mod args;
mod expand;
mod item;
mod label;
mod native;

use proc_macro::TokenStream;

/// Declares a static as a metric; see `promstatic::metric`.
#[proc_macro_attribute]
pub fn metric(args: TokenStream, item: TokenStream) -> TokenStream {
    expand::metric(args.into(), item.into()).into()
}

/// Makes a fieldless enum the values of a label; see `promstatic::LabelValue`.
#[proc_macro_derive(LabelValue, attributes(label))]
pub fn derive_label_value(input: TokenStream) -> TokenStream {
    label::derive(input.into())
        .unwrap_or_else(syn::Error::into_compile_error)
        .into()
}
