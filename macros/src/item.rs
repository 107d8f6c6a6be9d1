//! Validating the item `#[metric]` is attached to.

use proc_macro2::Span;
use syn::spanned::Spanned;
use syn::{Attribute, Expr, ExprLit, Item, ItemStatic, Lit, Meta, StaticMutability, Type};

use crate::args::Args;
use crate::name;

/// The family type, decided by the static's type.
#[derive(Clone, Copy, PartialEq, Eq)]
pub(crate) enum Kind {
    Counter,
    Gauge,
}

impl Kind {
    pub(crate) fn variant(self) -> &'static str {
        match self {
            Kind::Counter => "Counter",
            Kind::Gauge => "Gauge",
        }
    }
}

/// The metric types `#[metric]` accepts, by the last segment of the type's path.
const TYPES: &[(&str, Kind)] = &[
    ("Counter", Kind::Counter),
    ("Gauge", Kind::Gauge),
    ("FloatGauge", Kind::Gauge),
];

/// A validated declaration.
pub(crate) struct Metric {
    pub(crate) item: ItemStatic,
    pub(crate) name: String,
    pub(crate) help: String,
    pub(crate) kind: Kind,
}

/// Collects errors so one build reports every mistake at once.
#[derive(Default)]
pub(crate) struct Errors(Option<syn::Error>);

impl Errors {
    pub(crate) fn push(&mut self, error: syn::Error) {
        match &mut self.0 {
            Some(all) => all.combine(error),
            None => self.0 = Some(error),
        }
    }

    pub(crate) fn finish(self) -> syn::Result<()> {
        self.0.map_or(Ok(()), Err)
    }
}

pub(crate) fn validate(item: Item, args: &Args) -> syn::Result<Metric> {
    let item = match item {
        Item::Static(item) => item,
        other => {
            return Err(syn::Error::new(
                item_keyword_span(&other),
                "#[metric] goes on a `static` item, e.g. \
                 `static REQUESTS_TOTAL: Counter = Counter::new();`",
            ));
        }
    };
    let mut errors = Errors::default();

    if let StaticMutability::Mut(mut_token) = &item.mutability {
        errors.push(syn::Error::new_spanned(
            mut_token,
            "a metric must not be `static mut`: metric types are updated through shared \
             references (they are atomics); remove `mut`",
        ));
    }

    let kind = kind_of(&item.ty);
    if kind.is_none() {
        errors.push(syn::Error::new_spanned(
            &item.ty,
            format!(
                "`{}` is not a promstatic metric type; expected one of: {}",
                type_text(&item.ty),
                TYPES
                    .iter()
                    .map(|(name, _)| *name)
                    .collect::<Vec<_>>()
                    .join(", ")
            ),
        ));
    }

    let (name, name_span) = match &args.name {
        Some(literal) => (literal.value(), literal.span()),
        None => (item.ident.to_string().to_lowercase(), item.ident.span()),
    };
    match name::validate_metric_name(&name) {
        Err(error) => errors.push(syn::Error::new(
            name_span,
            format!("invalid metric name `{name}`: {error}"),
        )),
        Ok(()) => match kind {
            Some(Kind::Counter) if !name.ends_with("_total") => errors.push(syn::Error::new(
                name_span,
                format!(
                    "a counter's name must end in `_total`: use `{name}_total`{}",
                    rename_hint(args)
                ),
            )),
            Some(Kind::Gauge) if name.ends_with("_total") => errors.push(syn::Error::new(
                name_span,
                format!(
                    "`_total` is reserved for counters, but `{name}` is not a counter: \
                     use `{}`{}",
                    name.trim_end_matches("_total"),
                    rename_hint(args)
                ),
            )),
            _ => {}
        },
    }

    let help = match &args.help {
        Some(literal) => Some(literal.value().trim().to_owned()),
        None => doc_comment(&item.attrs),
    };
    let help = match help {
        Some(help) if !help.is_empty() => help,
        _ => {
            errors.push(syn::Error::new(
                item.ident.span(),
                format!(
                    "metric `{}` has no HELP: add a `///` doc comment saying what it measures, \
                     or `#[metric(help = \"…\")]`",
                    item.ident
                ),
            ));
            String::new()
        }
    };

    errors.finish()?;
    Ok(Metric {
        item,
        name,
        help,
        kind: kind.unwrap_or(Kind::Gauge),
    })
}

fn rename_hint(args: &Args) -> &'static str {
    if args.name.is_some() {
        ""
    } else {
        " (rename the static, or give `#[metric(name = \"…\")]`)"
    }
}

fn kind_of(ty: &Type) -> Option<Kind> {
    let Type::Path(path) = ty else { return None };
    let last = path.path.segments.last()?;
    TYPES
        .iter()
        .find(|(name, _)| last.ident == name)
        .map(|&(_, kind)| kind)
}

fn type_text(ty: &Type) -> String {
    quote::ToTokens::to_token_stream(ty)
        .to_string()
        .replace(" :: ", "::")
        .replace(" < ", "<")
        .replace(" >", ">")
}

/// The doc comment's lines, each trimmed, empty ones dropped, joined with spaces.
fn doc_comment(attrs: &[Attribute]) -> Option<String> {
    let mut lines = Vec::new();
    for attr in attrs {
        if let Meta::NameValue(pair) = &attr.meta
            && pair.path.is_ident("doc")
            && let Expr::Lit(ExprLit {
                lit: Lit::Str(text),
                ..
            }) = &pair.value
        {
            for line in text.value().lines() {
                let line = line.trim();
                if !line.is_empty() {
                    lines.push(line.to_owned());
                }
            }
        }
    }
    (!lines.is_empty()).then(|| lines.join(" "))
}

fn item_keyword_span(item: &Item) -> Span {
    match item {
        Item::Fn(item) => item.sig.fn_token.span,
        Item::Const(item) => item.const_token.span,
        Item::Struct(item) => item.struct_token.span,
        Item::Enum(item) => item.enum_token.span,
        Item::Type(item) => item.type_token.span,
        Item::Mod(item) => item.mod_token.span,
        Item::Use(item) => item.use_token.span,
        Item::Impl(item) => item.impl_token.span,
        other => other.span(),
    }
}
