//! Writing the table entry for a validated `#[metric]` static.

use proc_macro2::TokenStream;
use quote::{quote, quote_spanned};
use syn::spanned::Spanned;

use crate::args::{Args, Buckets};
use crate::item::{self as items, Kind, Metric, Shape};
use crate::{args, escape, item};

/// `TABLE` for `capacity` series (`promstatic::dynamic::table_size`).
fn table_size(capacity: u64) -> u64 {
    (capacity * 2).next_power_of_two()
}

/// Expands `#[metric]`. On error a static whose type is complete as written is emitted
/// unchanged next to the errors, so a mistake in the declaration does not cascade into
/// "unused import" or "cannot find static" errors elsewhere; a family (whose storage the
/// macro would have written) is left out instead, which avoids cascading type errors.
pub(crate) fn metric(args: TokenStream, input: TokenStream) -> TokenStream {
    let (args, argument_errors) = args::parse(args);
    let validated =
        syn::parse2::<syn::Item>(input.clone()).and_then(|item| item::validate(item, &args));
    let errors = match (validated, argument_errors) {
        (Ok(metric), None) => return entry(&args, metric),
        (Ok(_), Some(errors)) | (Err(errors), None) => errors,
        (Err(item_errors), Some(mut errors)) => {
            errors.combine(item_errors);
            errors
        }
    };
    let errors = errors.into_compile_error();
    match syn::parse2::<syn::Item>(input) {
        Ok(item) if item::complete_as_written(&item) => quote!(#errors #item),
        _ => errors,
    }
}

fn entry(args: &Args, mut metric: Metric) -> TokenStream {
    let krate = args
        .krate
        .as_ref()
        .map_or_else(|| quote!(::promstatic), |path| quote!(#path));
    rewrite_storage(&mut metric, args, &krate);
    let label_names: Vec<String> = args
        .labels
        .iter()
        .flat_map(|labels| &labels.labels)
        .map(|label| label.name.to_string().trim_start_matches("r#").to_owned())
        .collect();
    let item = &metric.item;
    let ident = &item.ident;
    let ty = &item.ty;
    let name = &metric.name;
    let help_text = escape::help_text_string(&metric.help);
    let help_openmetrics = escape::help_openmetrics_string(&metric.help);
    let kind = syn::Ident::new(metric.kind.variant(), proc_macro2::Span::call_site());
    // Spanned on the type, so "not a metric" errors point at it.
    let assert_metric = quote_spanned! {ty.span()=>
        #krate::__private::assert_metric::<#ty>();
    };
    let line = quote_spanned!(ident.span()=> ::core::line!());
    // A family is a metric only if its label types are `LabelValue`s: errors about that
    // point at `labels(…)`.
    let metric_ref = match &args.labels {
        Some(labels) => quote_spanned!(labels.key=> &#ident),
        None => quote!(&#ident),
    };

    let activation = args
        .activation
        .as_ref()
        .map(|path| quote!(.activated_by(&#path)));

    quote! {
        #item

        const _: () = {
            #[#krate::__private::distributed_slice(#krate::__private::METRICS)]
            #[linkme(crate = #krate::__private::linkme)]
            #[doc(hidden)]
            static ENTRY: #krate::__private::Entry = #krate::__private::Entry::new(
                #krate::__private::descriptor(
                    #name,
                    #krate::__private::Kind::#kind,
                    #help_text,
                    #help_openmetrics,
                    &[#(#label_names),*],
                    ::core::module_path!(),
                    ::core::file!(),
                    #line,
                ),
                #metric_ref,
            )#activation;
            #assert_metric
        };
    }
}

/// How one series is built, given its bounds (histograms) and whether it has exemplar slots:
/// the extra generic arguments after the family's own, and the constructor call.
fn series_storage(
    kind: Kind,
    cell_type: &syn::Ident,
    bounds: Option<&(TokenStream, TokenStream)>,
    exemplars: bool,
    krate: &TokenStream,
    krate_at_buckets: &TokenStream,
    at: proc_macro2::Span,
) -> (Option<TokenStream>, TokenStream) {
    let slot = quote!(#krate::exemplar::ExemplarSlot);
    // The constructor spanned at `at`, so a const-evaluation failure of computed bounds
    // points at `buckets` for a single histogram.
    match (kind, bounds, exemplars) {
        (Kind::Histogram, Some((length, bounds)), false) => {
            // `Histogram` or `ShardedHistogram`: both have `with_bounds`.
            let histogram = syn::Ident::new(&cell_type.to_string(), at);
            (
                Some(quote!({ #length })),
                quote_spanned!(at=> #krate_at_buckets::#histogram::with_bounds(#bounds)),
            )
        }
        (Kind::Histogram, Some((length, bounds)), true) => (
            Some(quote!({ #length }, #slot)),
            quote_spanned!(at=> #krate_at_buckets::Histogram::with_bounds_and_exemplars(#bounds)),
        ),
        (Kind::Histogram, None, false) => (None, quote!(#krate::Histogram::new())),
        (Kind::Histogram, None, true) => (
            Some(quote!(11, #slot)),
            quote!(#krate::Histogram::with_bounds_and_exemplars(
                &#krate::histogram::DEFAULT_BUCKETS
            )),
        ),
        // `item` refused `exemplars` on gauges: only counters get here with it.
        (_, _, true) => (Some(slot), quote!(#krate::Counter::with_exemplars())),
        (_, _, false) => (None, quote!(#krate::#cell_type::new())),
    }
}

/// Writes the generic arguments and initializer of a family, or of a histogram with
/// `buckets`, or of a metric with `exemplars`: the user writes `Type = Type::new()`, and gets
/// the storage for every series.
fn rewrite_storage(metric: &mut Metric, args: &Args, krate: &TokenStream) {
    let exemplars = args.exemplars.is_some();
    let bounds = args.buckets.as_ref().map(bounds);
    // The crate path spanned on `buckets`, so a const-evaluation failure of computed bounds
    // points there rather than at the whole attribute.
    let krate_at_buckets = match (&args.krate, &args.buckets) {
        (None, Some(buckets)) => quote_spanned!(buckets.key()=> ::promstatic),
        _ => krate.clone(),
    };
    let kind = metric.kind;
    let storage = |cell_type: &syn::Ident, at| {
        series_storage(
            kind,
            cell_type,
            bounds.as_ref(),
            exemplars,
            krate,
            &krate_at_buckets,
            at,
        )
    };
    let syn::Type::Path(type_path) = &mut *metric.item.ty else {
        return;
    };
    let Some(last) = type_path.path.segments.last_mut() else {
        return;
    };
    let span = last.ident.span();
    if crate::native::is_native_type(&last.ident) {
        rewrite_native(metric, args, krate, bounds.as_ref());
        return;
    }
    match (metric.shape, &bounds) {
        (Shape::Single, None) if !exemplars => {}
        (Shape::Single, _) => {
            let cell_type = last.ident.clone();
            let at = args
                .buckets
                .as_ref()
                .map(Buckets::key)
                .or(args.exemplars)
                .unwrap_or(span);
            let (generics, cell) = storage(&cell_type, at);
            last.arguments = syn::PathArguments::AngleBracketed(syn::parse_quote_spanned! {span=>
                <#generics>
            });
            *metric.item.expr = syn::parse_quote_spanned!(at=> #cell);
        }
        (Shape::Family(cell_type), _) => {
            let Some(labels) = &args.labels else {
                return;
            };
            // Spanned on `labels`, so "`X: LabelValue` is not satisfied" points there.
            let key = labels.key;
            let types = labels.labels.iter().map(|label| &label.ty);
            let set = quote_spanned!(key=> (#(#types,)*));
            let count = quote_spanned!(key=> <#set as #krate::LabelSet>::COUNT);
            let cell_type = syn::Ident::new(cell_type, span);
            let (extra, cell) = storage(&cell_type, proc_macro2::Span::call_site());
            let generics = match extra {
                Some(extra) => quote_spanned!(key=> <#set, { #count }, #extra>),
                None => quote_spanned!(key=> <#set, { #count }>),
            };
            last.arguments = syn::PathArguments::AngleBracketed(syn::parse_quote_spanned! {key=>
                #generics
            });
            let ty = &metric.item.ty;
            *metric.item.expr = syn::parse_quote_spanned! {key=>
                <#ty>::from_cells([const { #cell }; #count])
            };
        }
        (Shape::Dynamic(cell_type), _) => {
            let (Some(labels), Some(capacity)) = (&args.labels, &args.capacity) else {
                return;
            };
            let key = labels.key;
            // Validated: every type has a dynamic label form.
            let types = labels
                .labels
                .iter()
                .filter_map(|label| items::dynamic_label_type(&label.ty).ok());
            let set = quote_spanned!(key=> (#(#types,)*));
            let arity = labels.labels.len() as u64;
            let capacity_value = capacity.value;
            let table = table_size(capacity_value);
            let bytes = args.label_bytes.as_ref().map_or(
                (capacity_value * arity * items::DEFAULT_BYTES_PER_VALUE).min(u64::from(u32::MAX)),
                |bytes| bytes.value,
            );
            let max_value_len = args
                .max_value_len
                .as_ref()
                .map_or(items::DEFAULT_MAX_VALUE_LEN, |length| length.value);
            let [capacity_literal, table, bytes] = [capacity_value, table, bytes]
                .map(|value| proc_macro2::Literal::usize_unsuffixed(value as usize));
            let max_value_len = proc_macro2::Literal::usize_unsuffixed(max_value_len as usize);
            let cell_type = syn::Ident::new(cell_type, span);
            let (extra, cell) = storage(&cell_type, proc_macro2::Span::call_site());
            let generics = match extra {
                Some(extra) => {
                    quote_spanned!(key=> <#set, #capacity_literal, #table, #bytes, #extra>)
                }
                None => quote_spanned!(key=> <#set, #capacity_literal, #table, #bytes>),
            };
            last.arguments = syn::PathArguments::AngleBracketed(syn::parse_quote_spanned! {key=>
                #generics
            });
            let ty = &metric.item.ty;
            let name = &metric.name;
            *metric.item.expr = syn::parse_quote_spanned! {key=>
                <#ty>::from_cells(
                    [const { #cell }; #capacity_literal],
                    #cell,
                    #max_value_len,
                    #name,
                )
            };
        }
    }
}

/// The storage of a `NativeHistogram` or `NativeHistogramFamily` declared with `native(…)`
/// and/or `buckets`; a plain `NativeHistogram::new()` with neither is left as written.
fn rewrite_native(
    metric: &mut Metric,
    args: &Args,
    krate: &TokenStream,
    bounds: Option<&(TokenStream, TokenStream)>,
) {
    let syn::Type::Path(type_path) = &mut *metric.item.ty else {
        return;
    };
    let Some(last) = type_path.path.segments.last_mut() else {
        return;
    };
    let span = last.ident.span();
    let exemplars = args.exemplars.is_some();
    let (layout, cell) =
        crate::native::storage(args.native.as_ref(), bounds, exemplars, krate, span);
    match (metric.shape, &args.labels) {
        (Shape::Single, _) => {
            if args.native.is_none() && bounds.is_none() && !exemplars {
                return;
            }
            last.arguments = syn::PathArguments::AngleBracketed(syn::parse_quote_spanned! {span=>
                <#layout>
            });
            *metric.item.expr = syn::parse_quote_spanned!(span=> #cell);
        }
        (Shape::Family(_), Some(labels)) => {
            let key = labels.key;
            let types = labels.labels.iter().map(|label| &label.ty);
            let set = quote_spanned!(key=> (#(#types,)*));
            let count = quote_spanned!(key=> <#set as #krate::LabelSet>::COUNT);
            last.arguments = syn::PathArguments::AngleBracketed(syn::parse_quote_spanned! {key=>
                <#set, { #count }, #layout>
            });
            let ty = &metric.item.ty;
            *metric.item.expr = syn::parse_quote_spanned! {key=>
                <#ty>::from_cells([const { #cell }; #count])
            };
        }
        // Native histograms have no dynamic family (yet); `item` rejects none of these
        // combinations because the type table has no dynamic native entry.
        (Shape::Family(_), None) | (Shape::Dynamic(_), _) => {}
    }
}

/// The number of bounds and a `&'static [f64; B]` expression for them.
fn bounds(buckets: &Buckets) -> (TokenStream, TokenStream) {
    match buckets {
        Buckets::Literal { values, .. } => {
            let length = values.len();
            let values = values.iter().map(|&(value, span)| {
                let literal = proc_macro2::Literal::f64_suffixed(value.abs());
                if value.is_sign_negative() {
                    quote_spanned!(span=> -#literal)
                } else {
                    quote_spanned!(span=> #literal)
                }
            });
            (quote!(#length), quote!(&[#(#values),*]))
        }
        Buckets::Const { key, path } => (quote!(#path.len()), quote_spanned!(*key=> &#path)),
    }
}
