//! Writing the table entry for a validated `#[metric]` static.

use proc_macro2::TokenStream;
use quote::{quote, quote_spanned};
use syn::spanned::Spanned;

use crate::{args, escape, item};

/// Expands `#[metric]`. On error the item is emitted unchanged next to the errors, so a
/// mistake in the declaration does not cascade into "unused import" or "cannot find static"
/// errors elsewhere.
pub(crate) fn metric(args: TokenStream, input: TokenStream) -> TokenStream {
    let (args, argument_errors) = args::parse(args);
    let validated =
        syn::parse2::<syn::Item>(input.clone()).and_then(|item| item::validate(item, &args));
    let errors = match (validated, argument_errors) {
        (Ok(metric), None) => return entry(&args, &metric),
        (Ok(_), Some(errors)) | (Err(errors), None) => errors,
        (Err(item_errors), Some(mut errors)) => {
            errors.combine(item_errors);
            errors
        }
    };
    let errors = errors.into_compile_error();
    quote!(#errors #input)
}

fn entry(args: &args::Args, metric: &item::Metric) -> TokenStream {
    let krate = args
        .krate
        .as_ref()
        .map_or_else(|| quote!(::promstatic), |path| quote!(#path));
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

    quote! {
        #item

        const _: () = {
            #[#krate::__private::distributed_slice(#krate::__private::METRICS)]
            #[linkme(crate = #krate::__private::linkme)]
            #[doc(hidden)]
            static ENTRY: #krate::__private::Entry = #krate::__private::Entry::new(
                #krate::__private::Descriptor::new(
                    #name,
                    #krate::__private::Kind::#kind,
                    #help_text,
                    #help_openmetrics,
                    &[],
                    ::core::module_path!(),
                    ::core::file!(),
                    #line,
                ),
                &#ident,
            );
            #assert_metric
        };
    }
}
