//! Generated metric sets: a proptest strategy built from the conformance kit's strategies
//! (`promstatic::conformance::strategy`), their rendering through the public run-time encoder
//! API, and the comparison of a parsed model with the set it came from.

use std::collections::HashSet;

use promstatic::conformance::proptest::prelude::*;
use promstatic::conformance::{Exposition, FamilyType, Number, strategy};
use promstatic::encode::{Encoder, Family, Format, Help, Kind, Label, Suffix, Value};

/// The old names of two strategies that moved to the conformance kit, for tests written
/// against them; new tests use `promstatic::conformance::strategy` directly.
#[allow(unused_imports)]
pub use promstatic::conformance::strategy::{
    float_value as any_float, hostile_text as hostile_string,
};

/// The samples of one family, per series (label values in the family's label-name order).
#[derive(Debug, Clone)]
pub enum Body {
    /// Counter totals.
    Counter(Vec<(Vec<String>, Value)>),
    /// Gauge values.
    Gauge(Vec<(Vec<String>, Value)>),
    /// Untyped / unknown values.
    Unknown(Vec<(Vec<String>, Value)>),
    /// Bucket upper bounds (finite, strictly increasing, not negative) and the observations
    /// of each series.
    Histogram {
        /// Finite upper bounds; `+Inf` is implied.
        bounds: Vec<f64>,
        /// Label values and observations per series.
        series: Vec<(Vec<String>, Vec<f64>)>,
    },
}

/// One generated family.
#[derive(Debug, Clone)]
pub struct MetricFamily {
    /// The name given to [`Family::new`] (a counter's ends in `_total`).
    pub name: String,
    /// Raw HELP text.
    pub help: String,
    /// Label names shared by every series.
    pub label_names: Vec<String>,
    /// Its samples.
    pub body: Body,
}

/// A generated set of families with distinct, non-clashing names.
#[derive(Debug, Clone)]
pub struct MetricSet {
    /// Families in rendering order.
    pub families: Vec<MetricFamily>,
    /// The encoder's namespace prefix (may be empty).
    pub namespace: String,
    /// The encoder's constant labels, written first on every sample.
    pub const_labels: Vec<(String, String)>,
}

/// Label names used for constant labels; family label names avoid them.
const CONST_LABEL_NAMES: [&str; 2] = ["instance", "zone"];

impl MetricFamily {
    fn kind(&self) -> Kind {
        match self.body {
            Body::Counter(_) => Kind::Counter,
            Body::Gauge(_) => Kind::Gauge,
            Body::Unknown(_) => Kind::Unknown,
            Body::Histogram { .. } => Kind::Histogram,
        }
    }

    /// Every sample name this family may own in either format, its family names included.
    fn owned_names(&self) -> Vec<String> {
        let name = &self.name;
        match self.body {
            Body::Counter(_) => {
                let base = name.strip_suffix("_total").unwrap_or(name);
                vec![name.clone(), base.to_owned(), format!("{base}_created")]
            }
            Body::Gauge(_) | Body::Unknown(_) => vec![name.clone()],
            Body::Histogram { .. } => ["", "_bucket", "_sum", "_count", "_created"]
                .iter()
                .map(|suffix| format!("{name}{suffix}"))
                .collect(),
        }
    }
}

/// Cumulative bucket counts (one per bound, then `+Inf`) and the sum of `observations`.
pub fn histogram_totals(bounds: &[f64], observations: &[f64]) -> (Vec<u64>, f64) {
    let mut counts: Vec<u64> = bounds
        .iter()
        .map(|bound| {
            observations
                .iter()
                .filter(|&&value| value <= *bound)
                .count() as u64
        })
        .collect();
    counts.push(observations.len() as u64);
    (counts, observations.iter().sum())
}

fn labels<'a>(names: &'a [String], values: &'a [String]) -> Vec<Label<'a>> {
    names
        .iter()
        .zip(values)
        .map(|(name, value)| Label::new(name, value).unwrap())
        .collect()
}

/// Renders `set` through the public run-time encoder API.
pub fn encode(set: &MetricSet, format: Format) -> Vec<u8> {
    let mut out = Vec::new();
    let const_labels: Vec<Label<'_>> = set
        .const_labels
        .iter()
        .map(|(name, value)| Label::new(name, value).unwrap())
        .collect();
    let mut encoder = Encoder::new(&mut out, format)
        .checked_namespace(&set.namespace)
        .unwrap()
        .with_const_labels(&const_labels);
    for family in &set.families {
        let declared = Family::new(&family.name, family.kind(), Help::Raw(&family.help)).unwrap();
        let mut writer = encoder.family(&declared).unwrap();
        let labels_of = |values| labels(&family.label_names, values);
        match &family.body {
            Body::Counter(series) | Body::Gauge(series) | Body::Unknown(series) => {
                for (values, value) in series {
                    writer
                        .sample(Suffix::Bare, &labels_of(values), *value)
                        .unwrap();
                }
            }
            Body::Histogram { bounds, series } => {
                for (values, observations) in series {
                    let labels = labels_of(values);
                    let (counts, sum) = histogram_totals(bounds, observations);
                    let les = bounds.iter().copied().chain([f64::INFINITY]);
                    for (le, count) in les.zip(&counts) {
                        writer.bucket(&labels, le, *count).unwrap();
                    }
                    writer
                        .sample(Suffix::Sum, &labels, Value::Float(sum))
                        .unwrap();
                    writer
                        .sample(
                            Suffix::Count,
                            &labels,
                            Value::Unsigned(observations.len() as u64),
                        )
                        .unwrap();
                }
            }
        }
    }
    encoder.finish();
    out
}

/// Go's `strconv.FormatFloat(value, 'g', -1, 64)` with `.0` added to a bare integer: the
/// rendering OpenMetrics asks for `le` ("Canonical Numbers"), built here from Rust's shortest
/// digits independently of the encoder's writer.
pub fn go_canonical(value: f64) -> String {
    if value.is_nan() {
        return "NaN".into();
    }
    if value.is_infinite() {
        return if value > 0.0 { "+Inf" } else { "-Inf" }.into();
    }
    let scientific = format!("{:e}", value.abs());
    let (mantissa, exponent) = scientific.split_once('e').unwrap();
    let exponent: i32 = exponent.parse().unwrap();
    let digits: String = mantissa.chars().filter(char::is_ascii_digit).collect();
    let sign = if value.is_sign_negative() { "-" } else { "" };
    if value != 0.0 && !(-4..6).contains(&exponent) {
        let (first, rest) = digits.split_at(1);
        let fraction = if rest.is_empty() {
            String::new()
        } else {
            format!(".{rest}")
        };
        let exponent_sign = if exponent < 0 { '-' } else { '+' };
        return format!(
            "{sign}{first}{fraction}e{exponent_sign}{:02}",
            exponent.abs()
        );
    }
    let positional = if value == 0.0 {
        "0".to_owned()
    } else if exponent < 0 {
        format!("0.{}{digits}", "0".repeat((-exponent - 1) as usize))
    } else {
        let whole = exponent as usize + 1;
        if digits.len() <= whole {
            format!("{digits}{}", "0".repeat(whole - digits.len()))
        } else {
            format!("{}.{}", &digits[..whole], &digits[whole..])
        }
    };
    let dot = if positional.contains('.') { "" } else { ".0" };
    format!("{sign}{positional}{dot}")
}

fn same_value(expected: Value, parsed: Number) -> bool {
    match expected {
        Value::Unsigned(value) => parsed.integer == Some(i128::from(value)),
        Value::Signed(value) => parsed.integer == Some(i128::from(value)),
        Value::Float(value) => {
            (value.is_nan() && parsed.float.is_nan()) || value.to_bits() == parsed.float.to_bits()
        }
    }
}

/// One sample the model must contain.
struct Expected {
    name: String,
    labels: Vec<(String, String)>,
    /// A histogram bucket's bound (checked numerically, and spelled canonically in OpenMetrics).
    le: Option<f64>,
    value: Value,
}

fn expected_samples(set: &MetricSet, family: &MetricFamily) -> Vec<Expected> {
    let labels = |values: &[String]| -> Vec<(String, String)> {
        let own = family
            .label_names
            .iter()
            .cloned()
            .zip(values.iter().cloned());
        set.const_labels.iter().cloned().chain(own).collect()
    };
    let prefixed = format!("{}{}", set.namespace, family.name);
    let simple = |series: &[(Vec<String>, Value)]| {
        series
            .iter()
            .map(|(values, value)| Expected {
                name: prefixed.clone(),
                labels: labels(values),
                le: None,
                value: *value,
            })
            .collect()
    };
    match &family.body {
        Body::Counter(series) | Body::Gauge(series) | Body::Unknown(series) => simple(series),
        Body::Histogram { bounds, series } => {
            let mut samples = Vec::new();
            for (values, observations) in series {
                let (counts, sum) = histogram_totals(bounds, observations);
                let les = bounds.iter().copied().chain([f64::INFINITY]);
                for (le, count) in les.zip(counts) {
                    samples.push(Expected {
                        name: format!("{prefixed}_bucket"),
                        labels: labels(values),
                        le: Some(le),
                        value: Value::Unsigned(count),
                    });
                }
                for (suffix, value) in [
                    ("_sum", Value::Float(sum)),
                    ("_count", Value::Unsigned(observations.len() as u64)),
                ] {
                    samples.push(Expected {
                        name: format!("{prefixed}{suffix}"),
                        labels: labels(values),
                        le: None,
                        value,
                    });
                }
            }
            samples
        }
    }
}

/// Requires the oracle's model of an exposition to equal the set it was rendered from.
pub fn compare(set: &MetricSet, format: Format, model: &Exposition) -> Result<(), String> {
    if model.families.len() != set.families.len() {
        return Err(format!(
            "{} families rendered, {} parsed",
            set.families.len(),
            model.families.len()
        ));
    }
    for (family, parsed) in set.families.iter().zip(&model.families) {
        let openmetrics = format == Format::OpenMetrics;
        let name = match family.body {
            Body::Counter(_) if openmetrics => family.name.strip_suffix("_total").unwrap(),
            _ => family.name.as_str(),
        };
        let name = format!("{}{name}", set.namespace);
        let kind = match family.body {
            Body::Counter(_) => FamilyType::Counter,
            Body::Gauge(_) => FamilyType::Gauge,
            Body::Unknown(_) => FamilyType::Unknown,
            Body::Histogram { .. } => FamilyType::Histogram,
        };
        // Text 0.0.4 cannot carry leading blanks in HELP (they separate tokens); OpenMetrics
        // treats an empty HELP as no HELP.
        let help = match format {
            Format::Text | Format::Protobuf => {
                Some(family.help.trim_start_matches([' ', '\t']).to_owned())
            }
            Format::OpenMetrics => Some(family.help.clone()).filter(|help| !help.is_empty()),
        };
        if parsed.name != name
            || parsed.kind != kind
            || parsed.help != help
            || parsed.unit.is_some()
        {
            return Err(format!(
                "family {:?}: expected name {name:?} type {kind:?} help {help:?}, parsed {:?} {:?} {:?} unit {:?}",
                family.name, parsed.name, parsed.kind, parsed.help, parsed.unit
            ));
        }
        let expected = expected_samples(set, family);
        if expected.len() != parsed.samples.len() {
            return Err(format!(
                "family {:?}: {} samples rendered, {} parsed",
                family.name,
                expected.len(),
                parsed.samples.len()
            ));
        }
        for (want, got) in expected.iter().zip(&parsed.samples) {
            let want_name = match family.body {
                Body::Counter(_) if openmetrics => format!("{name}_total"),
                _ => want.name.clone(),
            };
            let (labels, le) = match want.le {
                Some(_) => {
                    let (le, rest) = got.labels.split_last().ok_or("a bucket without labels")?;
                    (rest, Some(le))
                }
                None => (got.labels.as_slice(), None),
            };
            let le_ok = match (want.le, le) {
                (None, None) => true,
                (Some(bound), Some((label, text))) => {
                    let read = if text == "+Inf" {
                        f64::INFINITY
                    } else {
                        text.parse().unwrap_or(f64::NAN)
                    };
                    label == "le"
                        && read.to_bits() == bound.to_bits()
                        && (!openmetrics || *text == go_canonical(bound))
                }
                _ => false,
            };
            if got.name != want_name
                || labels != want.labels.as_slice()
                || !le_ok
                || !same_value(want.value, got.value)
                || got.timestamp.is_some()
                || got.exemplar.is_some()
            {
                return Err(format!(
                    "sample mismatch: expected {want_name} {:?} le={:?} {:?}, parsed {got:?}{}",
                    want.labels,
                    want.le,
                    want.value,
                    if openmetrics {
                        format!(" (canonical le: {:?})", want.le.map(go_canonical))
                    } else {
                        String::new()
                    }
                ));
            }
        }
    }
    Ok(())
}

/// The properties every exposition must have, checked on the raw bytes and the model.
pub fn check_invariants(bytes: &[u8], format: Format, model: &Exposition) -> Result<(), String> {
    let text = std::str::from_utf8(bytes).map_err(|error| error.to_string())?;
    if !text.is_empty() && !text.ends_with('\n') {
        return Err("the exposition does not end with a line feed".into());
    }
    if text.split_terminator('\n').any(str::is_empty) {
        return Err("the exposition has a blank line".into());
    }
    if format == Format::OpenMetrics {
        if !text.ends_with("# EOF\n") || text.matches("# EOF\n").count() != 1 {
            return Err("`# EOF` is not the last line, exactly once".into());
        }
    } else if text.contains("# EOF") {
        return Err("`# EOF` in text 0.0.4".into());
    }
    let mut names = HashSet::new();
    for family in &model.families {
        if !names.insert(&family.name) {
            return Err(format!("family {:?} appears twice", family.name));
        }
        if family.kind != FamilyType::Histogram {
            continue;
        }
        let mut infinity = None;
        for sample in &family.samples {
            if sample.label("le") == Some("+Inf") {
                infinity = Some(sample.value.float);
            } else if sample.name.ends_with("_count") && infinity != Some(sample.value.float) {
                return Err(format!(
                    "{}: _count differs from the +Inf bucket",
                    family.name
                ));
            }
        }
    }
    Ok(())
}

fn label_names() -> impl Strategy<Value = Vec<String>> {
    strategy::label_names(4, |name| !CONST_LABEL_NAMES.contains(&name))
}

fn counter_value() -> impl Strategy<Value = Value> {
    prop_oneof![
        prop::sample::select(vec![0, 1, u64::MAX, u64::MAX - 1, 1 << 53, (1 << 53) + 1])
            .prop_map(Value::Unsigned),
        any::<u64>().prop_map(Value::Unsigned),
        strategy::float_value()
            .prop_filter("counters are not NaN", |value| !value.is_nan())
            .prop_map(|value| Value::Float(value.abs())),
    ]
}

fn gauge_value() -> impl Strategy<Value = Value> {
    prop_oneof![
        prop::sample::select(vec![i64::MIN, i64::MAX, -1, 0]).prop_map(Value::Signed),
        any::<i64>().prop_map(Value::Signed),
        any::<u64>().prop_map(Value::Unsigned),
        strategy::float_value().prop_map(Value::Float),
    ]
}

/// Series: label values per series (distinct), each with a value from `value`.
fn series<T: std::fmt::Debug + Clone>(
    width: usize,
    value: impl Strategy<Value = T>,
) -> impl Strategy<Value = Vec<(Vec<String>, T)>> {
    let count = if width == 0 { 1..2 } else { 1..5 };
    prop::collection::vec(
        (
            prop::collection::vec(strategy::hostile_text(), width),
            value,
        ),
        count,
    )
    .prop_map(|rows| {
        let mut seen = HashSet::new();
        rows.into_iter()
            .filter(|(values, _)| seen.insert(values.clone()))
            .collect()
    })
}

fn family() -> impl Strategy<Value = MetricFamily> {
    (
        strategy::metric_name(),
        strategy::hostile_text(),
        label_names(),
        0..4u8,
    )
        .prop_flat_map(|(name, help, label_names, kind)| {
            let width = label_names.len();
            let body = match kind {
                0 => series(width, counter_value())
                    .prop_map(Body::Counter)
                    .boxed(),
                1 => series(width, gauge_value()).prop_map(Body::Gauge).boxed(),
                2 => series(width, gauge_value()).prop_map(Body::Unknown).boxed(),
                _ => (
                    strategy::bucket_bounds(8),
                    series(width, strategy::observations(20)),
                )
                    .prop_map(|(bounds, series)| Body::Histogram { bounds, series })
                    .boxed(),
            };
            let name = if kind == 0 {
                format!("{name}_total")
            } else {
                name
            };
            (Just(name), Just(help), Just(label_names), body).prop_map(
                |(name, help, label_names, body)| MetricFamily {
                    name,
                    help,
                    label_names,
                    body,
                },
            )
        })
        .prop_filter("reserved prefix", |family| !family.name.starts_with("__"))
}

/// Sets of up to `max` families whose sample names cannot clash in either format.
pub fn metric_set(max: usize) -> impl Strategy<Value = MetricSet> {
    let namespace = prop_oneof![Just(String::new()), "[a-z][a-z0-9_]{0,5}_".boxed()];
    let const_labels = prop::collection::vec(strategy::hostile_text(), 0..=CONST_LABEL_NAMES.len())
        .prop_map(|values| {
            CONST_LABEL_NAMES
                .iter()
                .map(|name| name.to_string())
                .zip(values)
                .collect()
        });
    let families = prop::collection::vec(family(), 0..max);
    (families, namespace, const_labels).prop_map(|(families, namespace, const_labels)| {
        let mut owned = HashSet::new();
        let families = families
            .into_iter()
            .filter(|family| {
                let names = family.owned_names();
                let free = names.iter().all(|name| !owned.contains(name));
                if free {
                    owned.extend(names);
                }
                free
            })
            .collect();
        MetricSet {
            families,
            namespace,
            const_labels,
        }
    })
}
