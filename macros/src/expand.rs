//! Writing the table entry for a validated `#[metric]` static.

use proc_macro2::TokenStream;
use quote::{quote, quote_spanned};
use syn::spanned::Spanned;

use crate::{args, escape, item};

pub(crate) fn metric(args: TokenStream, input: TokenStream) -> syn::Result<TokenStream> {
    // Report argument and item errors together.
    let parsed_item = syn::parse2::<syn::Item>(input);
    let args = args::parse(args);
    let (args, parsed_item) = match (args, parsed_item) {
        (Ok(args), Ok(item)) => (args, item),
        (Err(mut first), Err(second)) => {
            first.combine(second);
            return Err(first);
        }
        (Err(error), _) | (_, Err(error)) => return Err(error),
    };
    let metric = item::validate(parsed_item, &args)?;

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

    Ok(quote! {
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
    })
}
