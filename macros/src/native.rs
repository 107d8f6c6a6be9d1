//! `native(schema = S, range = LOW..HIGH, zero_threshold = Z)`: a native histogram's layout.
//!
//! Parsed here, checked here (each mistake spanned on its literal), and written here as the
//! static's generic arguments and initializer; `args`, `item` and `expand` only call in.

use proc_macro2::{Span, TokenStream};
use quote::{quote, quote_spanned};
use syn::meta::ParseNestedMeta;
use syn::spanned::Spanned;
use syn::{Expr, ExprRange, Lit, RangeLimits, UnOp};

use crate::item::Errors;

/// The defaults of `NativeHistogram::new()`: schema 3 over a microsecond to 1000 (seconds).
const DEFAULT_SCHEMA: i64 = 3;
const DEFAULT_RANGE: (f64, f64) = (1e-6, 1e3);
/// client_golang's default zero threshold, 2^-128.
const DEFAULT_ZERO_THRESHOLD: f64 = 2.938735877055719e-39;
/// More buckets than this per histogram is almost surely a mistake (512 KiB of counters).
const MAX_BUCKETS: f64 = 65_536.0;

/// A number literal as written, with its value.
pub(crate) struct Number {
    value: f64,
    /// The literal's tokens (a `-` included), so errors cover all of it.
    tokens: TokenStream,
}

/// The layout of a native histogram as declared.
pub(crate) struct Native {
    /// `native`, for errors about the argument as a whole.
    pub(crate) key: Span,
    schema: Option<(i64, TokenStream)>,
    range: Option<(Number, Number, TokenStream)>,
    zero_threshold: Option<Number>,
}

/// Parses `native` or `native(...)`.
pub(crate) fn parse(meta: &ParseNestedMeta<'_>) -> syn::Result<Native> {
    let mut native = Native {
        key: meta.path.span(),
        schema: None,
        range: None,
        zero_threshold: None,
    };
    if !meta.input.peek(syn::token::Paren) {
        return Ok(native);
    }
    meta.parse_nested_meta(|inner| {
        let repeated = || inner.error("given more than once");
        if inner.path.is_ident("schema") {
            if native.schema.is_some() {
                return Err(repeated());
            }
            let expr: Expr = inner.value()?.parse()?;
            let value = number(&expr, true)?;
            native.schema = Some((value as i64, quote!(#expr)));
        } else if inner.path.is_ident("range") {
            if native.range.is_some() {
                return Err(repeated());
            }
            let expr: Expr = inner.value()?.parse()?;
            native.range = Some(range(expr)?);
        } else if inner.path.is_ident("zero_threshold") {
            if native.zero_threshold.is_some() {
                return Err(repeated());
            }
            let expr: Expr = inner.value()?.parse()?;
            native.zero_threshold = Some(Number {
                value: number(&expr, false)?,
                tokens: quote!(#expr),
            });
        } else {
            // Consume the value, so the error is about the name alone.
            if inner.input.peek(syn::Token![=]) {
                let _: Expr = inner.value()?.parse()?;
            }
            return Err(inner.error(
                "unknown argument of `native`; expected `schema = -4..=8`, \
                 `range = LOW..HIGH` or `zero_threshold = Z`",
            ));
        }
        Ok(())
    })?;
    Ok(native)
}

fn range(expr: Expr) -> syn::Result<(Number, Number, TokenStream)> {
    let span = expr.span();
    let whole = quote!(#expr);
    let Expr::Range(ExprRange {
        start: Some(start),
        end: Some(end),
        limits,
        ..
    }) = expr
    else {
        return Err(syn::Error::new(
            span,
            "`range` takes the covered values as `LOW..HIGH`, e.g. `range = 1e-6..1e3`",
        ));
    };
    if let RangeLimits::Closed(token) = limits {
        return Err(syn::Error::new_spanned(
            token,
            "write the range as `LOW..HIGH`: both ends are always covered",
        ));
    }
    let low = Number {
        value: number(&start, false)?,
        tokens: quote!(#start),
    };
    let high = Number {
        value: number(&end, false)?,
        tokens: quote!(#end),
    };
    Ok((low, high, whole))
}

/// A number literal's value, possibly negated; `integer` requires an integer literal.
fn number(expr: &Expr, integer: bool) -> syn::Result<f64> {
    match expr {
        Expr::Lit(literal) => match &literal.lit {
            Lit::Int(int) => Ok(int.base10_parse::<i64>()? as f64),
            Lit::Float(float) if !integer => float.base10_parse(),
            other => Err(syn::Error::new_spanned(
                other,
                if integer {
                    "the schema is an integer literal from -4 to 8"
                } else {
                    "expected a number literal, e.g. `1e-6`"
                },
            )),
        },
        Expr::Unary(unary) if matches!(unary.op, UnOp::Neg(_)) => {
            Ok(-number(&unary.expr, integer)?)
        }
        Expr::Group(group) => number(&group.expr, integer),
        other => Err(syn::Error::new_spanned(
            other,
            "expected a number literal (the layout is fixed at compile time)",
        )),
    }
}

/// Whether `ident` names a native histogram type.
pub(crate) fn is_native_type(ident: &syn::Ident) -> bool {
    ident == "NativeHistogram" || ident == "NativeHistogramFamily"
}

/// Checks the layout; `native_type` says whether the static's type is a native histogram.
pub(crate) fn validate(native: Option<&Native>, native_type: bool, ty: &str, errors: &mut Errors) {
    let Some(native) = native else {
        return;
    };
    if !native_type {
        errors.push(syn::Error::new(
            native.key,
            format!(
                "`native` applies to `NativeHistogram` and `NativeHistogramFamily` only, and \
                 `{ty}` is neither"
            ),
        ));
        return;
    }
    let schema = native
        .schema
        .as_ref()
        .map_or(DEFAULT_SCHEMA, |(value, _)| *value);
    if let Some((value, tokens)) = native.schema.as_ref()
        && !(-4..=8).contains(value)
    {
        errors.push(syn::Error::new_spanned(
            tokens,
            format!(
                "schema {value} is outside -4..=8, the schemas Prometheus accepts (8: 256 \
                 buckets per power of two, -4: one bucket per factor 2^16)"
            ),
        ));
    }
    let (low, high) = native
        .range
        .as_ref()
        .map_or(DEFAULT_RANGE, |(low, high, _)| (low.value, high.value));
    if let Some((low_literal, high_literal, whole)) = &native.range {
        if !(low > 0.0 && low.is_finite() && low >= f64::MIN_POSITIVE) {
            errors.push(syn::Error::new_spanned(
                &low_literal.tokens,
                "the range must start above zero: native histograms here count magnitudes, \
                 and negative values are rejected (counted in a self-metric)",
            ));
        } else if !high.is_finite() {
            errors.push(syn::Error::new_spanned(
                &high_literal.tokens,
                "the end of the range must be finite",
            ));
        } else if low >= high {
            errors.push(syn::Error::new_spanned(
                whole,
                format!("the range {low}..{high} is empty or inverted: write `LOW..HIGH` with LOW < HIGH"),
            ));
        } else if (-4..=8).contains(&schema) {
            let buckets = (high.log2() - low.log2()) * 2f64.powi(schema as i32);
            if buckets > MAX_BUCKETS {
                errors.push(syn::Error::new_spanned(
                    whole,
                    format!(
                        "this range needs about {buckets:.0} buckets at schema {schema} \
                         (more than {MAX_BUCKETS}): narrow the range or lower the schema"
                    ),
                ));
            }
        }
    }
    if let Some(zero) = &native.zero_threshold {
        if !zero.value.is_finite() || zero.value < 0.0 {
            errors.push(syn::Error::new_spanned(
                &zero.tokens,
                "the zero threshold must be finite and at least 0",
            ));
        } else if zero.value >= low {
            errors.push(syn::Error::new_spanned(
                &zero.tokens,
                format!("the zero threshold must be below the start of the range ({low})"),
            ));
        }
    }
}

/// The generic arguments after the label part (`S, { N }, C`) and the initializer of one
/// histogram, for the layout (or the defaults) and the classic bounds, if any.
pub(crate) fn storage(
    native: Option<&Native>,
    bounds: Option<&(TokenStream, TokenStream)>,
    exemplars: bool,
    krate: &TokenStream,
    span: Span,
) -> (TokenStream, TokenStream) {
    let schema = native
        .and_then(|native| native.schema.as_ref())
        .map_or(DEFAULT_SCHEMA, |(value, _)| *value) as i8;
    let (low, high) = native
        .and_then(|native| native.range.as_ref())
        .map_or(DEFAULT_RANGE, |(low, high, _)| (low.value, high.value));
    let zero = native
        .and_then(|native| native.zero_threshold.as_ref())
        .map_or(DEFAULT_ZERO_THRESHOLD, |zero| zero.value);
    let at = native.map_or(span, |native| native.key);
    let (low, high, zero) = (
        proc_macro2::Literal::f64_suffixed(low),
        proc_macro2::Literal::f64_suffixed(high),
        proc_macro2::Literal::f64_suffixed(zero),
    );
    let count = quote_spanned!(at=> #krate::native::bucket_count(#schema, #low, #high));
    let (classic_length, classic) = match bounds {
        Some((length, bounds)) => (length.clone(), bounds.clone()),
        None => (quote!(0), quote!(&[])),
    };
    if exemplars {
        let generics = quote_spanned! {at=>
            #schema, { #count }, { #classic_length }, #krate::exemplar::ExemplarSlot
        };
        let init = quote_spanned! {at=>
            #krate::NativeHistogram::with_range_bounds_and_exemplars(#low, #high, #zero, #classic)
        };
        return (generics, init);
    }
    let generics = quote_spanned!(at=> #schema, { #count }, { #classic_length });
    let init = quote_spanned! {at=>
        #krate::NativeHistogram::with_range_and_bounds(#low, #high, #zero, #classic)
    };
    (generics, init)
}
