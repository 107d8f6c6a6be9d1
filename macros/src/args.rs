//! Parsing `#[metric(…)]` arguments.

use proc_macro2::Span;
use syn::meta::ParseNestedMeta;
use syn::parse::{Parse, ParseStream, Parser};
use syn::punctuated::Punctuated;
use syn::spanned::Spanned;
use syn::{Expr, ExprArray, Ident, Lit, LitStr, Path, Token, Type, UnOp};

/// The arguments of one `#[metric(…)]`.
#[derive(Default)]
pub(crate) struct Args {
    /// `name = "…"`: the metric name instead of the lower-cased identifier.
    pub(crate) name: Option<LitStr>,
    /// `help = "…"`: HELP instead of the doc comment.
    pub(crate) help: Option<LitStr>,
    /// `crate = path`: where generated code finds `promstatic`.
    pub(crate) krate: Option<Path>,
    /// `buckets = [...]` or `buckets = CONST`: a histogram's bounds.
    pub(crate) buckets: Option<Buckets>,
    /// `labels(name: Type, ...)`: a family's labels.
    pub(crate) labels: Option<Labels>,
    /// `native` or `native(schema = …, range = …, zero_threshold = …)`: see `native.rs`.
    pub(crate) native: Option<crate::native::Native>,
    /// `capacity = N`: a dynamic family's number of series.
    pub(crate) capacity: Option<Limit>,
    /// `label_bytes = N`: the bytes a dynamic family's label values may take.
    pub(crate) label_bytes: Option<Limit>,
    /// `max_value_len = N`: the longest label value a dynamic family accepts.
    pub(crate) max_value_len: Option<Limit>,
    /// `exemplars`: exemplar slots for a counter or histogram (and every series of a family);
    /// the span of the word, for errors.
    pub(crate) exemplars: Option<Span>,
    /// `activation = PATH` (hidden, not listed in errors): a `static` switch
    /// (`__private::Activation`) the entry waits for before expositions write it.
    pub(crate) activation: Option<Path>,
}

/// A size given as an integer literal, with the spans of its key and its value.
pub(crate) struct Limit {
    pub(crate) key: Span,
    pub(crate) value: u64,
    pub(crate) span: Span,
}

/// A histogram's bounds as written.
pub(crate) enum Buckets {
    /// Number literals, with their values; checked by the macro.
    Literal {
        /// `buckets`, for errors about the argument as a whole.
        key: Span,
        /// The array, for errors about its contents as a whole.
        array: ExprArray,
        values: Vec<(f64, Span)>,
    },
    /// A path to a `const` array of `f64`; checked by `check_bounds` in const evaluation.
    Const { key: Span, path: Path },
}

impl Buckets {
    pub(crate) fn key(&self) -> Span {
        match self {
            Buckets::Literal { key, .. } | Buckets::Const { key, .. } => *key,
        }
    }
}

/// `labels(name: Type, ...)`.
pub(crate) struct Labels {
    /// `labels`, for errors about the argument as a whole.
    pub(crate) key: Span,
    pub(crate) labels: Vec<LabelDecl>,
}

/// One `name: Type` of `labels(...)`.
pub(crate) struct LabelDecl {
    pub(crate) name: Ident,
    pub(crate) ty: Type,
}

impl Parse for LabelDecl {
    fn parse(input: ParseStream<'_>) -> syn::Result<Self> {
        let name = input.call(syn::ext::IdentExt::parse_any)?;
        input.parse::<Token![:]>()?;
        let ty = input.parse()?;
        Ok(LabelDecl { name, ty })
    }
}

const KNOWN: &str = "`name`, `help`, `crate`, `buckets`, `labels`, `native`, `capacity`, \
                     `label_bytes`, `max_value_len`, `exemplars`";

/// Parses the arguments; the errors of bad arguments come back beside whatever was parsed, so
/// the item can still be checked and every mistake reported in one build.
pub(crate) fn parse(tokens: proc_macro2::TokenStream) -> (Args, Option<syn::Error>) {
    let mut args = Args::default();
    let mut errors: Option<syn::Error> = None;
    let parser = syn::meta::parser(|meta| {
        if let Err(error) = parse_one(&mut args, &meta) {
            match &mut errors {
                Some(all) => all.combine(error),
                None => errors = Some(error),
            }
            // Skip the value of the bad argument so later ones are still checked.
            if meta.input.peek(syn::Token![=]) {
                let _: syn::Expr = meta.value()?.parse()?;
            } else if meta.input.peek(syn::token::Paren) {
                let _group: proc_macro2::Group = meta.input.parse()?;
            }
        }
        Ok(())
    });
    if let Err(error) = parser.parse2(tokens) {
        match &mut errors {
            Some(all) => all.combine(error),
            None => errors = Some(error),
        }
    }
    (args, errors)
}

fn parse_one(args: &mut Args, meta: &ParseNestedMeta<'_>) -> syn::Result<()> {
    if meta.path.is_ident("name") {
        set_once(&mut args.name, meta, "name", || meta.value()?.parse())
    } else if meta.path.is_ident("help") {
        set_once(&mut args.help, meta, "help", || meta.value()?.parse())
    } else if meta.path.is_ident("crate") {
        set_once(&mut args.krate, meta, "crate", || meta.value()?.parse())
    } else if meta.path.is_ident("buckets") {
        let key = meta.path.span();
        set_once(&mut args.buckets, meta, "buckets", || {
            parse_buckets(key, meta.value()?.parse()?)
        })
    } else if meta.path.is_ident("labels") {
        let key = meta.path.span();
        set_once(&mut args.labels, meta, "labels", || {
            let content;
            syn::parenthesized!(content in meta.input);
            let labels = Punctuated::<LabelDecl, Token![,]>::parse_terminated(&content)?;
            Ok(Labels {
                key,
                labels: labels.into_iter().collect(),
            })
        })
    } else if meta.path.is_ident("native") {
        set_once(&mut args.native, meta, "native", || {
            crate::native::parse(meta)
        })
    } else if meta.path.is_ident("capacity") {
        set_once(&mut args.capacity, meta, "capacity", || {
            limit(meta, "capacity = 512")
        })
    } else if meta.path.is_ident("label_bytes") {
        set_once(&mut args.label_bytes, meta, "label_bytes", || {
            limit(meta, "label_bytes = 65536")
        })
    } else if meta.path.is_ident("max_value_len") {
        set_once(&mut args.max_value_len, meta, "max_value_len", || {
            limit(meta, "max_value_len = 256")
        })
    } else if meta.path.is_ident("activation") {
        set_once(&mut args.activation, meta, "activation", || {
            meta.value()?.parse()
        })
    } else if meta.path.is_ident("exemplars") {
        set_once(&mut args.exemplars, meta, "exemplars", || {
            if meta.input.peek(Token![=]) || meta.input.peek(syn::token::Paren) {
                return Err(meta.error(
                    "`exemplars` takes no value: write `#[metric(exemplars)]` to give the \
                     metric exemplar slots",
                ));
            }
            Ok(meta.path.span())
        })
    } else {
        let shown = path_text(&meta.path);
        Err(meta.error(format_args!(
            "unknown argument `{shown}` to #[metric]; expected one of {KNOWN}"
        )))
    }
}

/// The integer literal after `key =`.
fn limit(meta: &ParseNestedMeta<'_>, example: &str) -> syn::Result<Limit> {
    let key = meta.path.span();
    let expr: Expr = meta.value()?.parse()?;
    let span = expr.span();
    let value = match &expr {
        Expr::Lit(literal) => match &literal.lit {
            Lit::Int(int) => int.base10_parse::<u64>().ok(),
            _ => None,
        },
        _ => None,
    };
    match value {
        Some(value) => Ok(Limit { key, value, span }),
        None => {
            let name = path_text(&meta.path);
            Err(syn::Error::new_spanned(
                expr,
                format!("`{name}` takes an integer literal, e.g. `{example}`"),
            ))
        }
    }
}

fn set_once<T>(
    slot: &mut Option<T>,
    meta: &ParseNestedMeta<'_>,
    key: &str,
    parse: impl FnOnce() -> syn::Result<T>,
) -> syn::Result<()> {
    if slot.is_some() {
        return Err(meta.error(format_args!("`{key}` is given more than once")));
    }
    *slot = Some(parse()?);
    Ok(())
}

fn path_text(path: &Path) -> String {
    path.segments
        .iter()
        .map(|segment| segment.ident.to_string())
        .collect::<Vec<_>>()
        .join("::")
}

fn parse_buckets(key: Span, expr: Expr) -> syn::Result<Buckets> {
    match expr {
        Expr::Array(array) => {
            let mut values = Vec::with_capacity(array.elems.len());
            let mut errors: Option<syn::Error> = None;
            for element in &array.elems {
                match number(element) {
                    Ok(value) => values.push((value, element.span())),
                    Err(error) => match &mut errors {
                        Some(all) => all.combine(error),
                        None => errors = Some(error),
                    },
                }
            }
            match errors {
                Some(errors) => Err(errors),
                None => Ok(Buckets::Literal { key, array, values }),
            }
        }
        Expr::Path(path) if path.qself.is_none() => Ok(Buckets::Const {
            key,
            path: path.path,
        }),
        other => Err(syn::Error::new_spanned(
            other,
            "`buckets` takes an array of number literals, e.g. `buckets = [0.01, 0.1, 1.0]`, \
             or the path of a `const` array, e.g. `buckets = MY_BOUNDS`",
        )),
    }
}

/// The value of a number literal, possibly negated.
fn number(expr: &Expr) -> syn::Result<f64> {
    match expr {
        Expr::Lit(literal) => match &literal.lit {
            Lit::Float(float) => float.base10_parse(),
            Lit::Int(int) => int.base10_parse(),
            other => Err(syn::Error::new_spanned(
                other,
                "a bucket bound must be a number literal, e.g. `0.25`",
            )),
        },
        Expr::Unary(unary) if matches!(unary.op, UnOp::Neg(_)) => Ok(-number(&unary.expr)?),
        Expr::Group(group) => number(&group.expr),
        other => Err(syn::Error::new_spanned(
            other,
            "a bucket bound must be a number literal, e.g. `0.25` (for computed bounds, give \
             the path of a `const` array: `buckets = MY_BOUNDS`)",
        )),
    }
}
