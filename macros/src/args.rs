//! Parsing `#[metric(…)]` arguments.

use syn::meta::ParseNestedMeta;
use syn::parse::Parser;
use syn::{LitStr, Path};

/// The arguments of one `#[metric(…)]`.
#[derive(Default)]
pub(crate) struct Args {
    /// `name = "…"`: the metric name instead of the lower-cased identifier.
    pub(crate) name: Option<LitStr>,
    /// `help = "…"`: HELP instead of the doc comment.
    pub(crate) help: Option<LitStr>,
    /// `crate = path`: where generated code finds `promstatic`.
    pub(crate) krate: Option<Path>,
}

const KNOWN: &str = "`name`, `help`, `crate`";

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
    } else {
        let shown = path_text(&meta.path);
        Err(meta.error(format_args!(
            "unknown argument `{shown}` to #[metric]; expected one of {KNOWN}"
        )))
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
