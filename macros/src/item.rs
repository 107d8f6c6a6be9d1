//! Validating the item `#[metric]` is attached to.

use proc_macro2::Span;
use syn::spanned::Spanned;
use syn::{Attribute, Expr, ExprLit, Item, ItemStatic, Lit, Meta, StaticMutability, Type};

use crate::args::{Args, Buckets};
use crate::name;

/// The family type, decided by the static's type.
#[derive(Clone, Copy, PartialEq, Eq)]
pub(crate) enum Kind {
    Counter,
    Gauge,
    Histogram,
}

impl Kind {
    pub(crate) fn variant(self) -> &'static str {
        match self {
            Kind::Counter => "Counter",
            Kind::Gauge => "Gauge",
            Kind::Histogram => "Histogram",
        }
    }
}

/// What a metric type is, beyond its family type.
#[derive(Clone, Copy, PartialEq, Eq)]
pub(crate) enum Shape {
    /// One series; the static is left as written (unless `buckets` is given).
    Single,
    /// One series per label combination, each a metric of this type (its name in
    /// `promstatic`); the macro writes the static's generic arguments and storage.
    Family(&'static str),
    /// Series created at run time for label values, up to `capacity`, each a metric of this
    /// type; the macro writes the generic arguments and storage.
    Dynamic(&'static str),
}

impl Shape {
    /// Whether the macro writes the static's generic arguments and initializer.
    fn rewritten(self) -> bool {
        !matches!(self, Shape::Single)
    }
}

/// The metric types `#[metric]` accepts, by the last segment of the type's path.
const TYPES: &[(&str, Kind, Shape)] = &[
    ("Counter", Kind::Counter, Shape::Single),
    ("ShardedCounter", Kind::Counter, Shape::Single),
    ("Gauge", Kind::Gauge, Shape::Single),
    ("FloatGauge", Kind::Gauge, Shape::Single),
    ("Histogram", Kind::Histogram, Shape::Single),
    ("ShardedHistogram", Kind::Histogram, Shape::Single),
    ("CounterFamily", Kind::Counter, Shape::Family("Counter")),
    ("GaugeFamily", Kind::Gauge, Shape::Family("Gauge")),
    ("FloatGaugeFamily", Kind::Gauge, Shape::Family("FloatGauge")),
    (
        "HistogramFamily",
        Kind::Histogram,
        Shape::Family("Histogram"),
    ),
    ("NativeHistogram", Kind::Histogram, Shape::Single),
    (
        "NativeHistogramFamily",
        Kind::Histogram,
        Shape::Family("NativeHistogram"),
    ),
    ("DynCounterFamily", Kind::Counter, Shape::Dynamic("Counter")),
    ("DynGaugeFamily", Kind::Gauge, Shape::Dynamic("Gauge")),
    (
        "DynFloatGaugeFamily",
        Kind::Gauge,
        Shape::Dynamic("FloatGauge"),
    ),
    (
        "DynHistogramFamily",
        Kind::Histogram,
        Shape::Dynamic("Histogram"),
    ),
];

/// The most series a dynamic family can declare (`capacity`).
pub(crate) const MAX_CAPACITY: u64 = 1 << 24;
/// The largest `max_value_len` (`promstatic::dynamic::MAX_VALUE_LEN_LIMIT`).
pub(crate) const MAX_VALUE_LEN: u64 = 4096;
/// The `max_value_len` of a family that gives none (`promstatic::dynamic::DEFAULT_MAX_VALUE_LEN`).
pub(crate) const DEFAULT_MAX_VALUE_LEN: u64 = 128;
/// `label_bytes` per label and series when the declaration gives none.
pub(crate) const DEFAULT_BYTES_PER_VALUE: u64 = 32;

/// Integer and `bool` label types of dynamic families, by name.
const PLAIN_LABEL_TYPES: &[&str] = &[
    "u8", "u16", "u32", "u64", "usize", "i8", "i16", "i32", "i64", "isize", "bool",
];

/// Types that look like label values but cannot be one, and what to use instead.
const REFUSED_LABEL_TYPES: &[(&str, &str)] = &[
    ("String", "use `&str` (values of any lifetime are accepted)"),
    ("str", "use `&str`"),
    (
        "f32",
        "floats make unbounded, unstable label values; format them yourself into `&str`",
    ),
    (
        "f64",
        "floats make unbounded, unstable label values; format them yourself into `&str`",
    ),
    ("char", "use `&str`"),
    ("u128", "use `u64` or format it into `&str`"),
    ("i128", "use `i64` or format it into `&str`"),
];

/// The label type as the family's type parameter (`&str` becomes `&'static str`; values of
/// any lifetime are accepted by `with`), or why it cannot be a dynamic label.
pub(crate) fn dynamic_label_type(ty: &Type) -> Result<Type, String> {
    let shown = type_text(ty).replace("& ", "&");
    const EXPECTED: &str = "a dynamic family's label types are `&str`, an integer type (`u8`..`u64`, `usize`, `i8`..`i64`, `isize`), `bool`, or an enum deriving `LabelValue`";
    match ty {
        Type::Reference(reference) => match &*reference.elem {
            Type::Path(path)
                if reference.mutability.is_none()
                    && path.qself.is_none()
                    && path.path.is_ident("str") =>
            {
                Ok(syn::parse_quote!(&'static str))
            }
            _ => Err(format!(
                "`{}` cannot be a label type: {EXPECTED}",
                type_text(ty)
            )),
        },
        Type::Path(path) if path.qself.is_none() => {
            let last = path
                .path
                .segments
                .last()
                .map(|segment| segment.ident.to_string());
            let single = path.path.segments.len() == 1;
            match last.as_deref() {
                Some(name) if single && PLAIN_LABEL_TYPES.contains(&name) => Ok(ty.clone()),
                Some(name) => match REFUSED_LABEL_TYPES
                    .iter()
                    .find(|(refused, _)| *refused == name)
                {
                    Some((_, instead)) => Err(format!(
                        "`{shown}` cannot be a label type: {instead}; {EXPECTED}"
                    )),
                    // Any other path must be a `LabelValue` enum: the trait bound checks it.
                    None => Ok(ty.clone()),
                },
                None => Err(format!(
                    "`{}` cannot be a label type: {EXPECTED}",
                    type_text(ty)
                )),
            }
        }
        Type::Group(group) => dynamic_label_type(&group.elem),
        _ => Err(format!(
            "`{}` cannot be a label type: {EXPECTED}",
            type_text(ty)
        )),
    }
}

/// The most labels a family can have (`promstatic::label::MAX_LABELS`).
const MAX_LABELS: usize = 8;

/// Label names no family may use, and why.
const RESERVED_LABELS: &[(&str, &str)] = &[(
    "quantile",
    "`quantile` is reserved for summaries' quantiles; choose another name",
)];

/// A validated declaration.
pub(crate) struct Metric {
    pub(crate) item: ItemStatic,
    pub(crate) name: String,
    pub(crate) help: String,
    pub(crate) kind: Kind,
    pub(crate) shape: Shape,
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

    let kind_and_shape = kind_of(&item.ty);
    if kind_and_shape.is_none() {
        errors.push(syn::Error::new_spanned(
            &item.ty,
            format!(
                "`{}` is not a promstatic metric type; expected one of: {}",
                type_text(&item.ty),
                TYPES
                    .iter()
                    .map(|(name, _, _)| *name)
                    .collect::<Vec<_>>()
                    .join(", ")
            ),
        ));
    }
    let kind = kind_and_shape.map(|(kind, _)| kind);
    if let Some((kind, shape)) = kind_and_shape {
        validate_shape(&item, args, kind, shape, &mut errors);
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
            // OpenMetrics names a counter's family by what precedes `_total`; with nothing
            // there, text 0.0.4 and OpenMetrics would write the series under two names.
            Some(Kind::Counter) if name == "_total" => errors.push(syn::Error::new(
                name_span,
                format!(
                    "a counter's name needs a base before `_total` (OpenMetrics names the \
                     family by it): use something like `events_total`{}",
                    rename_hint(args)
                ),
            )),
            Some(Kind::Counter) if !name.ends_with("_total") => errors.push(syn::Error::new(
                name_span,
                format!(
                    "a counter's name must end in `_total`: use `{name}_total`{}",
                    rename_hint(args)
                ),
            )),
            Some(Kind::Gauge | Kind::Histogram) if name.ends_with("_total") => {
                errors.push(syn::Error::new(
                    name_span,
                    format!(
                        "`_total` is reserved for counters, but `{name}` is not a counter: \
                     use `{}`{}",
                        name.trim_end_matches("_total"),
                        rename_hint(args)
                    ),
                ))
            }
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
        shape: kind_and_shape.map_or(Shape::Single, |(_, shape)| shape),
    })
}

/// Checks `buckets` and `labels` against the type, and the static's form where the macro
/// rewrites it.
fn validate_shape(item: &ItemStatic, args: &Args, kind: Kind, shape: Shape, errors: &mut Errors) {
    match (&args.buckets, kind) {
        (Some(buckets), Kind::Histogram) => validate_buckets(buckets, errors),
        (Some(buckets), _) => errors.push(syn::Error::new(
            buckets.key(),
            format!(
                "`buckets` applies to histograms only, and `{}` is not one",
                type_text(&item.ty)
            ),
        )),
        (None, _) => {}
    }
    validate_limits(item, args, shape, errors);
    match (&args.labels, shape) {
        (Some(labels), Shape::Family(_) | Shape::Dynamic(_)) => {
            if labels.labels.is_empty() {
                errors.push(syn::Error::new(
                    labels.key,
                    "a family needs at least one label: `labels(name: Type, ...)`",
                ));
            }
            if let Some(extra) = labels.labels.get(MAX_LABELS) {
                errors.push(syn::Error::new_spanned(
                    &extra.name,
                    format!("a family has at most {MAX_LABELS} labels"),
                ));
            }
            let mut seen: Vec<String> = Vec::new();
            for label in &labels.labels {
                let text = label.name.to_string();
                let text = text.strip_prefix("r#").unwrap_or(&text).to_owned();
                if let Some(problem) = label_name_problem(&text, kind, &seen) {
                    errors.push(syn::Error::new_spanned(&label.name, problem));
                }
                seen.push(text);
                if matches!(shape, Shape::Dynamic(_))
                    && let Err(problem) = dynamic_label_type(&label.ty)
                {
                    errors.push(syn::Error::new_spanned(&label.ty, problem));
                }
            }
        }
        (Some(labels), Shape::Single) => errors.push(syn::Error::new(
            labels.key,
            format!(
                "`labels` applies to families only, and `{}` is not one: use one of {} for \
                 one series per label combination",
                type_text(&item.ty),
                TYPES
                    .iter()
                    .filter(|(_, _, shape)| shape.rewritten())
                    .map(|(name, _, _)| format!("`{name}`"))
                    .collect::<Vec<_>>()
                    .join(", ")
            ),
        )),
        (None, Shape::Family(_)) => errors.push(syn::Error::new_spanned(
            &item.ty,
            "a family needs its labels: add `labels(name: Type, ...)` to #[metric], each \
             type an enum deriving `LabelValue`",
        )),
        (None, Shape::Dynamic(_)) => errors.push(syn::Error::new_spanned(
            &item.ty,
            "a dynamic family needs its labels: add `labels(name: Type, ...)` to #[metric], \
             e.g. `labels(route: &str, code: u16)`",
        )),
        (None, Shape::Single) => {}
    }
    let native_type = last_ident(&item.ty).is_some_and(crate::native::is_native_type);
    crate::native::validate(
        args.native.as_ref(),
        native_type,
        &type_text(&item.ty),
        errors,
    );
    validate_exemplars(item, args, kind, errors);
    let rewritten = shape.rewritten()
        || args.buckets.is_some()
        || args.native.is_some()
        || args.exemplars.is_some();
    if rewritten {
        validate_rewritten_form(item, errors);
    }
}

/// `exemplars` applies to counters and histograms (and their families): OpenMetrics has
/// exemplars on counters and buckets only, and a `ShardedCounter`'s per-thread cells have no
/// one place to keep a slot.
fn validate_exemplars(item: &ItemStatic, args: &Args, kind: Kind, errors: &mut Errors) {
    let Some(key) = args.exemplars else {
        return;
    };
    let ty = type_text(&item.ty);
    if kind == Kind::Gauge {
        errors.push(syn::Error::new(
            key,
            format!(
                "`exemplars` applies to counters and histograms only (OpenMetrics has no gauge \
                 exemplars), and `{ty}` is not one"
            ),
        ));
    } else if last_ident(&item.ty).is_some_and(|ident| ident == "ShardedCounter") {
        errors.push(syn::Error::new(
            key,
            "`ShardedCounter` has no exemplar slot (its count is spread over per-thread \
             cells): use a `Counter` for a counter with exemplars",
        ));
    } else if last_ident(&item.ty).is_some_and(|ident| ident == "ShardedHistogram") {
        errors.push(syn::Error::new(
            key,
            "`ShardedHistogram` has no exemplar slots (its buckets are spread over per-thread \
             cells): use a `Histogram` for a histogram with exemplars",
        ));
    }
}

/// `capacity`, `label_bytes` and `max_value_len`: required, optional and optional for a
/// dynamic family, and in range; refused on anything else.
fn validate_limits(item: &ItemStatic, args: &Args, shape: Shape, errors: &mut Errors) {
    let limits = [
        ("capacity", &args.capacity),
        ("label_bytes", &args.label_bytes),
        ("max_value_len", &args.max_value_len),
    ];
    if !matches!(shape, Shape::Dynamic(_)) {
        for (name, limit) in limits {
            if let Some(limit) = limit {
                errors.push(syn::Error::new(
                    limit.key,
                    format!(
                        "`{name}` applies to dynamic families only (`DynCounterFamily`, \
                         `DynGaugeFamily`, `DynFloatGaugeFamily`, `DynHistogramFamily`), and \
                         `{}` is not one",
                        type_text(&item.ty)
                    ),
                ));
            }
        }
        return;
    }
    match &args.capacity {
        None => errors.push(syn::Error::new_spanned(
            &item.ty,
            "a dynamic family needs its capacity, the most series it holds: add \
             `capacity = N` to #[metric], e.g. `capacity = 512`",
        )),
        Some(capacity) if capacity.value == 0 || capacity.value > MAX_CAPACITY => {
            errors.push(syn::Error::new(
                capacity.span,
                format!(
                    "`capacity` must be between 1 and {MAX_CAPACITY} series, not {}",
                    capacity.value
                ),
            ))
        }
        Some(_) => {}
    }
    if let Some(bytes) = &args.label_bytes
        && (bytes.value == 0 || bytes.value > u64::from(u32::MAX))
    {
        errors.push(syn::Error::new(
            bytes.span,
            format!(
                "`label_bytes` must be between 1 and {} bytes, not {}",
                u32::MAX,
                bytes.value
            ),
        ));
    }
    if let Some(length) = &args.max_value_len
        && (length.value == 0 || length.value > MAX_VALUE_LEN)
    {
        errors.push(syn::Error::new(
            length.span,
            format!(
                "`max_value_len` must be between 1 and {MAX_VALUE_LEN} bytes, not {}",
                length.value
            ),
        ));
    }
}

/// What is wrong with label `name`, if anything; `earlier` are the names before it.
fn label_name_problem(name: &str, kind: Kind, earlier: &[String]) -> Option<String> {
    if let Err(error) = name::validate_label_name(name) {
        return Some(format!("invalid label name `{name}`: {error}"));
    }
    if kind == Kind::Histogram && name == "le" {
        return Some(
            "`le` is the bucket bound label of a histogram's series; choose another name".into(),
        );
    }
    if let Some((_, why)) = RESERVED_LABELS
        .iter()
        .find(|(reserved, _)| *reserved == name)
    {
        return Some((*why).to_owned());
    }
    if earlier.iter().any(|earlier| earlier == name) {
        return Some(format!("label `{name}` is declared twice"));
    }
    None
}

/// Bounds must be non-empty, finite and strictly increasing.
fn validate_buckets(buckets: &Buckets, errors: &mut Errors) {
    let Buckets::Literal { array, values, .. } = buckets else {
        return;
    };
    if values.is_empty() {
        errors.push(syn::Error::new(
            array.bracket_token.span.join(),
            "a histogram needs at least one bucket bound (`+Inf` is implicit), \
             e.g. `buckets = [0.1, 1.0]`",
        ));
    }
    for (position, &(value, span)) in values.iter().enumerate() {
        if !value.is_finite() {
            errors.push(syn::Error::new(
                span,
                "a bucket bound must be finite: it does not fit in an `f64` \
                 (the `+Inf` bucket is implicit)",
            ));
        } else if let Some(&(previous, _)) = position.checked_sub(1).and_then(|p| values.get(p))
            && value <= previous
        {
            errors.push(syn::Error::new(
                span,
                format!(
                    "bucket bounds must be strictly increasing, but {value} follows {previous}"
                ),
            ));
        }
    }
}

/// Where the macro writes the generic arguments and the initializer, the static must say
/// `Type = Type::new()` with no generic arguments.
fn validate_rewritten_form(item: &ItemStatic, errors: &mut Errors) {
    if let Type::Path(path) = &*item.ty
        && let Some(last) = path.path.segments.last()
        && !last.arguments.is_none()
    {
        errors.push(syn::Error::new_spanned(
            &last.arguments,
            "leave out the generic arguments: #[metric] writes them from \
             `labels`/`buckets`/`native`/`exemplars`",
        ));
    }
    let is_new_call = match &*item.expr {
        Expr::Call(call) => {
            call.args.is_empty()
                && matches!(&*call.func, Expr::Path(path)
                    if path.path.segments.last().is_some_and(|last| last.ident == "new"))
        }
        _ => false,
    };
    if !is_new_call {
        errors.push(syn::Error::new_spanned(
            &item.expr,
            format!(
                "initialize with `{}::new()`: #[metric] replaces it with the storage it \
                 builds from `labels`/`buckets`/`native`/`exemplars`",
                type_text(&item.ty)
            ),
        ));
    }
}

fn rename_hint(args: &Args) -> &'static str {
    if args.name.is_some() {
        ""
    } else {
        " (rename the static, or give `#[metric(name = \"…\")]`)"
    }
}

/// The last segment of the type's path (`NativeHistogram` in `promstatic::NativeHistogram`).
pub(crate) fn last_ident(ty: &Type) -> Option<&syn::Ident> {
    let Type::Path(path) = ty else { return None };
    Some(&path.path.segments.last()?.ident)
}

fn kind_of(ty: &Type) -> Option<(Kind, Shape)> {
    let Type::Path(path) = ty else { return None };
    let last = path.path.segments.last()?;
    TYPES
        .iter()
        .find(|(name, _, _)| last.ident == name)
        .map(|&(_, kind, shape)| (kind, shape))
}

pub(crate) fn type_text(ty: &Type) -> String {
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

/// Whether the item compiles as the user wrote it, without the storage `#[metric]` writes
/// for families: anything but a static of a family type or with generic arguments.
pub(crate) fn complete_as_written(item: &Item) -> bool {
    let Item::Static(item) = item else {
        return true;
    };
    let Type::Path(path) = &*item.ty else {
        return true;
    };
    let Some(last) = path.path.segments.last() else {
        return true;
    };
    let family = TYPES
        .iter()
        .any(|(name, _, shape)| last.ident == name && shape.rewritten());
    !family && last.arguments.is_empty()
}
