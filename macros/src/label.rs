//! `#[derive(LabelValue)]`: a fieldless enum's variants as the values of one label.

use proc_macro2::{Span, TokenStream};
use quote::quote;
use syn::{Data, DeriveInput, Fields, LitStr, Path};

use crate::escape;
use crate::item::Errors;

pub(crate) fn derive(input: TokenStream) -> syn::Result<TokenStream> {
    let input: DeriveInput = syn::parse2(input)?;
    let mut errors = Errors::default();
    let mut krate: Option<Path> = None;
    for attr in input
        .attrs
        .iter()
        .filter(|attr| attr.path().is_ident("label"))
    {
        let parsed = attr.parse_nested_meta(|meta| {
            if meta.path.is_ident("crate") {
                krate = Some(meta.value()?.parse()?);
                Ok(())
            } else {
                Err(meta.error(
                    "on the enum, #[label] takes only `crate = path`; \
                     put `rename = \"…\"` on a variant",
                ))
            }
        });
        if let Err(error) = parsed {
            errors.push(error);
        }
    }

    let data = match &input.data {
        Data::Enum(data) => data,
        Data::Struct(data) => {
            return Err(syn::Error::new(
                data.struct_token.span,
                "LabelValue derives only on an enum whose variants are the label's values; \
                 a struct has no fixed set of values",
            ));
        }
        Data::Union(data) => {
            return Err(syn::Error::new(
                data.union_token.span,
                "LabelValue derives only on an enum whose variants are the label's values",
            ));
        }
    };
    if !input.generics.params.is_empty() {
        errors.push(syn::Error::new_spanned(
            &input.generics,
            "a LabelValue enum cannot be generic: its values are fixed at compile time",
        ));
    }
    if data.variants.is_empty() {
        errors.push(syn::Error::new(
            input.ident.span(),
            format!(
                "`{}` has no variants, so a label of this type would have no value and its \
                 family no series; add at least one variant",
                input.ident
            ),
        ));
    }

    let mut values: Vec<(String, Span)> = Vec::new();
    let mut variants = Vec::new();
    for variant in &data.variants {
        if !matches!(variant.fields, Fields::Unit) {
            errors.push(syn::Error::new_spanned(
                &variant.fields,
                format!(
                    "variant `{}` has fields, but a label value is just a name: \
                     LabelValue needs unit variants",
                    variant.ident
                ),
            ));
        }
        let (value, span) = match rename(&variant.attrs, &mut errors) {
            Some(literal) => (literal.value(), literal.span()),
            None => (snake_case(&variant.ident.to_string()), variant.ident.span()),
        };
        if value.is_empty() {
            errors.push(syn::Error::new(
                span,
                "a label value must not be empty: Prometheus treats an empty value as the \
                 label being absent",
            ));
        }
        if values.iter().any(|(earlier, _)| *earlier == value) {
            errors.push(syn::Error::new(
                span,
                format!(
                    "two variants have the label value `{value}`; they would be one series: \
                     rename one with #[label(rename = \"…\")]"
                ),
            ));
        }
        values.push((value, span));
        variants.push(&variant.ident);
    }
    errors.finish()?;

    let krate = krate.map_or_else(|| quote!(::promstatic), |path| quote!(#path));
    let ident = &input.ident;
    let escaped = values
        .iter()
        .map(|(value, _)| escape::label_value_string(value));
    let indices = 0..variants.len();
    Ok(quote! {
        impl #krate::LabelValue for #ident {
            const VALUES: &'static [&'static str] = &[#(#escaped),*];

            #[inline]
            fn index(&self) -> usize {
                match self {
                    #(Self::#variants => #indices,)*
                }
            }
        }
    })
}

/// The `rename = "…"` of a variant's `#[label(…)]`, if any.
fn rename(attrs: &[syn::Attribute], errors: &mut Errors) -> Option<LitStr> {
    let mut renamed = None;
    for attr in attrs.iter().filter(|attr| attr.path().is_ident("label")) {
        let parsed = attr.parse_nested_meta(|meta| {
            if meta.path.is_ident("rename") {
                if renamed.is_some() {
                    return Err(meta.error("`rename` is given more than once"));
                }
                renamed = Some(meta.value()?.parse::<LitStr>()?);
                Ok(())
            } else {
                Err(meta
                    .error("unknown argument to #[label] on a variant; expected `rename = \"…\"`"))
            }
        });
        if let Err(error) = parsed {
            errors.push(error);
        }
    }
    renamed
}

/// `ClientError` → `client_error`, `HTTPVersion` → `http_version`, `V2` → `v2`.
fn snake_case(ident: &str) -> String {
    let ident = ident.strip_prefix("r#").unwrap_or(ident);
    let chars: Vec<char> = ident.chars().collect();
    let mut out = String::with_capacity(ident.len() + 4);
    for (position, &ch) in chars.iter().enumerate() {
        if ch.is_uppercase() && position > 0 {
            let previous = chars[position - 1];
            let next_is_lower = chars
                .get(position + 1)
                .is_some_and(|next| next.is_lowercase());
            if previous != '_'
                && (previous.is_lowercase()
                    || previous.is_ascii_digit()
                    || (previous.is_uppercase() && next_is_lower))
            {
                out.push('_');
            }
        }
        out.extend(ch.to_lowercase());
    }
    out
}

#[cfg(test)]
mod tests {
    use super::snake_case;

    #[test]
    fn snake_case_splits_words_and_acronyms() {
        assert_eq!(snake_case("Get"), "get");
        assert_eq!(snake_case("ClientError"), "client_error");
        assert_eq!(snake_case("HTTPVersion"), "http_version");
        assert_eq!(snake_case("Http2Push"), "http2_push");
        assert_eq!(snake_case("IPv6"), "i_pv6");
        assert_eq!(snake_case("Already_Snake"), "already_snake");
    }
}
