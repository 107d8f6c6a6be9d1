//! A strict parser for Prometheus text 0.0.4 and OpenMetrics 1.0, used as a test oracle.
//!
//! Written from the specifications (Prometheus' `exposition_formats.md` and OpenMetrics 1.0's
//! `OpenMetrics.md`), not from promstatic's encoder, and validated against the official
//! OpenMetrics parser corpus (`tests/oracle_corpus.rs`). It rejects what the specifications
//! reject and returns a structured model of what it accepted, so tests can compare an
//! exposition with the metric set it was rendered from.
//!
//! Where a specification is loose the oracle takes the strict side whenever real expositions
//! (and the corpus) allow it; each such choice is named where it is made:
//!
//! * label names starting with `__` are rejected (reserved by the data model);
//! * text 0.0.4 counters must be named `…_total`, and may not be NaN or negative;
//! * text 0.0.4 histograms need `_count`, equal to the `+Inf` bucket, and `_sum` with it;
//! * a series may not repeat (text 0.0.4: never; OpenMetrics: unless it carries timestamps);
//! * within a family, the samples of one label set (a Metric) may not be interleaved with
//!   another's, in both formats.

#[path = "oracle/syntax.rs"]
mod syntax;

use std::collections::HashSet;
use std::fmt;

pub use syntax::Number;

/// Part of the message for a series that repeats (without timestamps, in OpenMetrics).
pub const REPEATED_SERIES: &str = "appears twice";

/// Which specification to parse against.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Dialect {
    /// Prometheus text exposition format 0.0.4.
    Text,
    /// OpenMetrics 1.0 text.
    OpenMetrics,
}

/// A family's declared type (`Unknown` is spelled `untyped` in text 0.0.4).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FamilyType {
    /// `counter`
    Counter,
    /// `gauge`
    Gauge,
    /// `histogram`
    Histogram,
    /// `gaugehistogram` (OpenMetrics only)
    GaugeHistogram,
    /// `summary`
    Summary,
    /// `info` (OpenMetrics only)
    Info,
    /// `stateset` (OpenMetrics only)
    StateSet,
    /// `untyped` / `unknown`, or no TYPE line
    Unknown,
}

impl FamilyType {
    fn from_word(word: &str, dialect: Dialect) -> Option<Self> {
        Some(match (word, dialect) {
            ("counter", _) => FamilyType::Counter,
            ("gauge", _) => FamilyType::Gauge,
            ("histogram", _) => FamilyType::Histogram,
            ("summary", _) => FamilyType::Summary,
            ("untyped", Dialect::Text) | ("unknown", Dialect::OpenMetrics) => FamilyType::Unknown,
            ("gaugehistogram", Dialect::OpenMetrics) => FamilyType::GaugeHistogram,
            ("info", Dialect::OpenMetrics) => FamilyType::Info,
            ("stateset", Dialect::OpenMetrics) => FamilyType::StateSet,
            _ => return None,
        })
    }

    /// The suffixes its sample names may add to the family name.
    fn suffixes(self, dialect: Dialect) -> &'static [&'static str] {
        match (self, dialect) {
            (FamilyType::Counter, Dialect::Text) => &[""],
            (FamilyType::Counter, Dialect::OpenMetrics) => &["_total", "_created"],
            (FamilyType::Gauge | FamilyType::Unknown | FamilyType::StateSet, _) => &[""],
            (FamilyType::Histogram, Dialect::Text) => &["_bucket", "_sum", "_count"],
            (FamilyType::Histogram, Dialect::OpenMetrics) => {
                &["_bucket", "_sum", "_count", "_created"]
            }
            (FamilyType::GaugeHistogram, _) => &["_bucket", "_gsum", "_gcount"],
            (FamilyType::Summary, Dialect::Text) => &["", "_sum", "_count"],
            (FamilyType::Summary, Dialect::OpenMetrics) => &["", "_sum", "_count", "_created"],
            (FamilyType::Info, _) => &["_info"],
        }
    }
}

/// An exemplar (OpenMetrics only).
#[derive(Debug, Clone)]
pub struct Exemplar {
    /// Its label set.
    pub labels: Vec<(String, String)>,
    /// Its value.
    pub value: f64,
    /// Its timestamp, if given.
    pub timestamp: Option<f64>,
}

/// One sample line.
#[derive(Debug, Clone)]
pub struct Sample {
    /// The full sample name (`x_bucket`, `x_total`, …).
    pub name: String,
    /// Labels in the order written, unescaped.
    pub labels: Vec<(String, String)>,
    /// The value.
    pub value: Number,
    /// Milliseconds (text 0.0.4) or seconds (OpenMetrics), if given.
    pub timestamp: Option<f64>,
    /// The exemplar, if any.
    pub exemplar: Option<Exemplar>,
}

impl Sample {
    /// The value of label `name`, if present.
    pub fn label(&self, name: &str) -> Option<&str> {
        self.labels
            .iter()
            .find(|(label, _)| label == name)
            .map(|(_, value)| value.as_str())
    }
}

/// One metric family.
#[derive(Debug, Clone)]
pub struct Family {
    /// The family name (in OpenMetrics a counter's name has no `_total`).
    pub name: String,
    /// Its type.
    pub kind: FamilyType,
    /// Unescaped HELP; `None` without a HELP line (and, in OpenMetrics, for an empty one).
    pub help: Option<String>,
    /// UNIT (OpenMetrics); `None` when absent or empty.
    pub unit: Option<String>,
    /// Samples in the order written.
    pub samples: Vec<Sample>,
}

/// A parsed exposition.
#[derive(Debug, Clone, Default)]
pub struct Exposition {
    /// Families in the order written.
    pub families: Vec<Family>,
}

/// Why an exposition was rejected.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OracleError {
    /// 1-based line number (0: the exposition as a whole).
    pub line: usize,
    /// What rule was broken.
    pub message: String,
}

impl fmt::Display for OracleError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "line {}: {}", self.line, self.message)
    }
}

impl std::error::Error for OracleError {}

/// Parses `input` strictly under `dialect`.
pub fn parse(input: &[u8], dialect: Dialect) -> Result<Exposition, OracleError> {
    let whole = |message: String| OracleError { line: 0, message };
    let text = std::str::from_utf8(input)
        .map_err(|error| whole(format!("the exposition is not UTF-8: {error}")))?;
    let body = match dialect {
        Dialect::Text => text,
        Dialect::OpenMetrics => text
            .strip_suffix("# EOF\n")
            .or_else(|| text.strip_suffix("# EOF"))
            .ok_or_else(|| whole("an OpenMetrics exposition must end with `# EOF`".into()))?,
    };
    if !body.is_empty() && !body.ends_with('\n') {
        return Err(whole(match dialect {
            Dialect::Text => "the last line must end with a line feed".into(),
            Dialect::OpenMetrics => "`# EOF` must be a line of its own, last".into(),
        }));
    }
    let mut parser = Parser {
        dialect,
        families: Vec::new(),
        open: None,
        closed: HashSet::new(),
        claimed: HashSet::new(),
    };
    let lines = body.strip_suffix('\n').map(|lines| lines.split('\n'));
    for (index, line) in lines.into_iter().flatten().enumerate() {
        let number = index + 1;
        parser.line(line).map_err(|message| OracleError {
            line: number,
            message,
        })?;
    }
    parser.close().map_err(whole)?;
    Ok(Exposition {
        families: parser.families,
    })
}

/// Label pairs in the order written.
pub type Labels = Vec<(String, String)>;

/// A family still receiving lines.
struct Open {
    family: Family,
    type_seen: bool,
    help_seen: bool,
    unit_seen: bool,
    /// Metric label sets (without `le`/`quantile`/state label) seen so far, and the current one.
    groups: HashSet<Labels>,
    group: Option<Labels>,
    group_timestamp: Option<f64>,
    series: HashSet<(String, Labels)>,
}

struct Parser {
    dialect: Dialect,
    families: Vec<Family>,
    open: Option<Open>,
    /// Names of families already finished: seeing one again means interleaving or repetition.
    closed: HashSet<String>,
    /// Sample names claimed by finished families (name plus each suffix of its type).
    claimed: HashSet<String>,
}

impl Parser {
    fn line(&mut self, line: &str) -> Result<(), String> {
        match self.dialect {
            Dialect::OpenMetrics => self.openmetrics_line(line),
            Dialect::Text => self.text_line(line),
        }
    }

    fn openmetrics_line(&mut self, line: &str) -> Result<(), String> {
        if line.is_empty() {
            return Err("blank lines are not allowed".into());
        }
        if line == "# EOF" {
            return Err("text after `# EOF`".into());
        }
        if !line.starts_with('#') {
            let sample = parse_openmetrics_sample(line)?;
            return self.sample(sample);
        }
        let (keyword, rest) = ["HELP", "TYPE", "UNIT"]
            .iter()
            .find_map(|keyword| {
                line.strip_prefix("# ")
                    .and_then(|rest| rest.strip_prefix(keyword))
                    .and_then(|rest| rest.strip_prefix(' '))
                    .map(|rest| (*keyword, rest))
            })
            .ok_or("comments are not allowed; `#` starts only HELP, TYPE, UNIT and EOF lines")?;
        let (name, rest) = syntax::take_metric_name(rest);
        if name.is_empty() {
            return Err(format!("# {keyword} needs a metric name"));
        }
        let value = rest
            .strip_prefix(' ')
            .ok_or_else(|| format!("# {keyword} {name} must be followed by one space"))?;
        let value = match keyword {
            "HELP" => Metadata::Help(syntax::unescape_help(value, Dialect::OpenMetrics)?),
            "TYPE" => Metadata::Type(
                FamilyType::from_word(value, Dialect::OpenMetrics)
                    .ok_or_else(|| format!("{value:?} is not an OpenMetrics type"))?,
            ),
            _ => {
                if !value
                    .chars()
                    .all(|ch| ch.is_ascii_alphanumeric() || ch == '_' || ch == ':')
                {
                    return Err(format!(
                        "unit {value:?} is not made of metric-name characters"
                    ));
                }
                Metadata::Unit(value.to_owned())
            }
        };
        self.metadata(name, value)
    }

    fn text_line(&mut self, line: &str) -> Result<(), String> {
        let line = syntax::after_blanks(line);
        if line.is_empty() {
            return Ok(());
        }
        let Some(comment) = line.strip_prefix('#') else {
            let sample = parse_text_sample(line)?;
            return self.sample(sample);
        };
        let (keyword, rest) = syntax::take_text_token(comment);
        if keyword != "HELP" && keyword != "TYPE" {
            return Ok(());
        }
        let (name, rest) = syntax::take_text_token(rest);
        if !syntax::is_metric_name(name) {
            return Err(format!("# {keyword}: {name:?} is not a metric name"));
        }
        let value = if keyword == "HELP" {
            Metadata::Help(syntax::unescape_help(
                syntax::after_blanks(rest),
                Dialect::Text,
            )?)
        } else {
            let (word, rest) = syntax::take_text_token(rest);
            if !rest.is_empty() {
                return Err(format!("unexpected text after `# TYPE {name} {word}`"));
            }
            Metadata::Type(
                FamilyType::from_word(word, Dialect::Text)
                    .ok_or_else(|| format!("{word:?} is not a text 0.0.4 type"))?,
            )
        };
        self.metadata(name, value)
    }

    /// Makes `name` the open family, closing the previous one.
    fn start(&mut self, name: &str) -> Result<(), String> {
        self.close()?;
        if self.closed.contains(name) {
            return Err(format!(
                "family {name:?} appears again after another family: families must not be \
                 interleaved or repeated"
            ));
        }
        self.open = Some(Open {
            family: Family {
                name: name.to_owned(),
                kind: FamilyType::Unknown,
                help: None,
                unit: None,
                samples: Vec::new(),
            },
            type_seen: false,
            help_seen: false,
            unit_seen: false,
            groups: HashSet::new(),
            group: None,
            group_timestamp: None,
            series: HashSet::new(),
        });
        Ok(())
    }

    fn metadata(&mut self, name: &str, metadata: Metadata) -> Result<(), String> {
        match &self.open {
            Some(open) if open.family.name == name => {
                if !open.family.samples.is_empty() {
                    return Err(format!(
                        "metadata for {name:?} after its samples: HELP/TYPE/UNIT come first"
                    ));
                }
            }
            _ => self.start(name)?,
        }
        let open = self.open.as_mut().ok_or("no open family")?;
        let (seen, what) = match metadata {
            Metadata::Help(_) => (&mut open.help_seen, "HELP"),
            Metadata::Type(_) => (&mut open.type_seen, "TYPE"),
            Metadata::Unit(_) => (&mut open.unit_seen, "UNIT"),
        };
        if std::mem::replace(seen, true) {
            return Err(format!("a second {what} line for {name:?}"));
        }
        // OpenMetrics: an empty HELP or UNIT is as if the line were absent.
        let present =
            |text: String| (self.dialect == Dialect::Text || !text.is_empty()).then_some(text);
        match metadata {
            Metadata::Help(help) => open.family.help = present(help),
            Metadata::Type(kind) => open.family.kind = kind,
            Metadata::Unit(unit) => open.family.unit = present(unit),
        }
        Ok(())
    }

    fn sample(&mut self, sample: Sample) -> Result<(), String> {
        let belongs = self.open.as_ref().is_some_and(|open| {
            let family = &open.family;
            sample
                .name
                .strip_prefix(family.name.as_str())
                .is_some_and(|suffix| family.kind.suffixes(self.dialect).contains(&suffix))
        });
        if !belongs {
            self.start(&sample.name)?;
        }
        let dialect = self.dialect;
        let open = self.open.as_mut().ok_or("no open family")?;
        check_sample(&open.family, &sample, dialect)?;
        let family = &open.family;
        let mut group: Labels = sample
            .labels
            .iter()
            .filter(|(name, _)| match family.kind {
                FamilyType::Histogram | FamilyType::GaugeHistogram => name != "le",
                FamilyType::Summary => name != "quantile",
                FamilyType::StateSet => *name != family.name,
                _ => true,
            })
            .cloned()
            .collect();
        group.sort();
        if open.group.as_ref() != Some(&group) {
            if open.groups.contains(&group) {
                return Err(format!(
                    "{}: samples of one label set are interleaved with another's",
                    sample.name
                ));
            }
            open.groups.insert(group.clone());
            open.group = Some(group);
        } else {
            match (open.group_timestamp, sample.timestamp) {
                (None, None) => {}
                (Some(before), Some(now)) => {
                    if now < before && family.kind != FamilyType::Info {
                        return Err(format!("{}: timestamps went backwards", sample.name));
                    }
                }
                _ => {
                    return Err(format!(
                        "{}: some samples of a metric have timestamps and some do not",
                        sample.name
                    ));
                }
            }
        }
        open.group_timestamp = sample.timestamp;
        let mut labels = sample.labels.clone();
        labels.sort();
        let repeat_allowed = dialect == Dialect::OpenMetrics && sample.timestamp.is_some();
        if !open.series.insert((sample.name.clone(), labels)) && !repeat_allowed {
            return Err(format!(
                "series {}{:?} {REPEATED_SERIES}",
                sample.name, sample.labels
            ));
        }
        open.family.samples.push(sample);
        Ok(())
    }

    /// Finishes the open family: name clashes, UNIT, and the rules that need all its samples.
    fn close(&mut self) -> Result<(), String> {
        let Some(open) = self.open.take() else {
            return Ok(());
        };
        let family = open.family;
        let owned: HashSet<String> = family
            .kind
            .suffixes(self.dialect)
            .iter()
            .chain([&""])
            .map(|suffix| format!("{}{suffix}", family.name))
            .collect();
        for claimed in owned {
            if !self.claimed.insert(claimed.clone()) {
                return Err(format!(
                    "family {:?} would own sample name {claimed:?}, which another family owns",
                    family.name
                ));
            }
        }
        self.closed.insert(family.name.clone());
        if let Some(unit) = &family.unit {
            if !family.name.ends_with(&format!("_{unit}")) {
                return Err(format!(
                    "family {:?} has UNIT {unit:?} but its name does not end in `_{unit}`",
                    family.name
                ));
            }
            if matches!(family.kind, FamilyType::Info | FamilyType::StateSet) {
                return Err(format!("{:?}: info and stateset have no unit", family.name));
            }
        }
        if self.dialect == Dialect::Text
            && family.kind == FamilyType::Counter
            && !family.name.ends_with("_total")
        {
            return Err(format!(
                "counter {:?} must be named `…_total` in text 0.0.4",
                family.name
            ));
        }
        match family.kind {
            FamilyType::Histogram | FamilyType::GaugeHistogram => {
                check_histogram(&family, self.dialect)?
            }
            FamilyType::Summary if self.dialect == Dialect::Text => check_quantile_order(&family)?,
            _ => {}
        }
        self.families.push(family);
        Ok(())
    }
}

enum Metadata {
    Help(String),
    Type(FamilyType),
    Unit(String),
}

/// `name [labels] SP value [SP timestamp] [SP # SP labels SP value [SP timestamp]]`, one space
/// exactly between tokens and no trailing comma in label sets.
fn parse_openmetrics_sample(line: &str) -> Result<Sample, String> {
    let (name, rest) = syntax::take_metric_name(line);
    if name.is_empty() {
        return Err(format!("expected a metric name at {line:?}"));
    }
    let (labels, rest) = if rest.starts_with('{') {
        syntax::take_labels(rest, Dialect::OpenMetrics)?
    } else {
        (Vec::new(), rest)
    };
    let rest = rest
        .strip_prefix(' ')
        .ok_or_else(|| format!("{name}: expected one space before the value"))?;
    let (value, rest) = syntax::take_until(rest, &[' ']);
    let value = syntax::parse_number(value)?;
    let (timestamp, rest) = match rest.strip_prefix(' ') {
        Some(after) if !after.starts_with("# ") => {
            let (token, rest) = syntax::take_until(after, &[' ']);
            (
                Some(syntax::parse_timestamp(token, Dialect::OpenMetrics)?),
                rest,
            )
        }
        _ => (None, rest),
    };
    let exemplar = if rest.is_empty() {
        None
    } else {
        let rest = rest
            .strip_prefix(" # ")
            .ok_or_else(|| format!("{name}: unexpected {rest:?} after the value"))?;
        Some(parse_exemplar(rest)?)
    };
    Ok(Sample {
        name: name.to_owned(),
        labels,
        value,
        timestamp,
        exemplar,
    })
}

fn parse_exemplar(input: &str) -> Result<Exemplar, String> {
    if !input.starts_with('{') {
        return Err("an exemplar starts with a label set `{…}`".into());
    }
    let (labels, rest) = syntax::take_labels(input, Dialect::OpenMetrics)?;
    let length: usize = labels
        .iter()
        .map(|(name, value)| name.chars().count() + value.chars().count())
        .sum();
    if length > 128 {
        return Err(format!(
            "exemplar labels are {length} characters long, over 128"
        ));
    }
    let rest = rest
        .strip_prefix(' ')
        .ok_or("expected one space before the exemplar value")?;
    let (value, rest) = syntax::take_until(rest, &[' ']);
    let value = syntax::parse_number(value)?.float;
    let timestamp = match rest.strip_prefix(' ') {
        Some(token) => Some(syntax::parse_timestamp(token, Dialect::OpenMetrics)?),
        None if rest.is_empty() => None,
        None => return Err(format!("unexpected {rest:?} in an exemplar")),
    };
    Ok(Exemplar {
        labels,
        value,
        timestamp,
    })
}

/// `name [{labels}] value [timestamp]` with blanks or tabs between tokens.
fn parse_text_sample(line: &str) -> Result<Sample, String> {
    let (name, rest) = syntax::take_metric_name(line);
    if name.is_empty() {
        return Err(format!("expected a metric name at {line:?}"));
    }
    let rest = syntax::after_blanks(rest);
    let (labels, rest) = if rest.starts_with('{') {
        syntax::take_labels(rest, Dialect::Text)?
    } else {
        (Vec::new(), rest)
    };
    let (value, rest) = syntax::take_text_token(rest);
    let value = syntax::parse_number(value)?;
    // Blanks after the value announce a timestamp, and nothing follows that (Prometheus'
    // parser rejects trailing blanks too).
    let timestamp = if rest.is_empty() {
        None
    } else {
        let (timestamp, rest) = syntax::take_text_token(rest);
        if !rest.is_empty() {
            return Err(format!("{name}: unexpected {rest:?} after the timestamp"));
        }
        Some(syntax::parse_timestamp(timestamp, Dialect::Text)?)
    };
    Ok(Sample {
        name: name.to_owned(),
        labels,
        value,
        timestamp,
        exemplar: None,
    })
}

/// A value that counts something: not NaN, not negative; `integral` also whole.
fn check_count(sample: &Sample, integral: bool) -> Result<(), String> {
    let value = sample.value.float;
    if value.is_nan() || value < 0.0 {
        return Err(format!("{}: {value} is not a valid count", sample.name));
    }
    if integral && value.fract() != 0.0 {
        return Err(format!("{}: count {value} is not an integer", sample.name));
    }
    Ok(())
}

/// Reads a `le` or `quantile` label value as a number.
fn bound(sample: &Sample, label: &str) -> Result<f64, String> {
    let text = sample
        .label(label)
        .ok_or_else(|| format!("{}: missing the `{label}` label", sample.name))?;
    let value = syntax::parse_number(text)?.float;
    if value.is_nan() {
        return Err(format!("{}: {label}=\"{text}\" is NaN", sample.name));
    }
    if value == f64::INFINITY && text != "+Inf" {
        return Err(format!(
            "{}: positive infinity must be written `+Inf`, not {text:?}",
            sample.name
        ));
    }
    Ok(value)
}

/// The rules one sample must satisfy given its family's type.
fn check_sample(family: &Family, sample: &Sample, dialect: Dialect) -> Result<(), String> {
    let suffix = &sample.name[family.name.len()..];
    let value = sample.value.float;
    let openmetrics = dialect == Dialect::OpenMetrics;
    match (family.kind, suffix) {
        (FamilyType::Counter, "_total" | "") => check_count(sample, false)?,
        (FamilyType::Histogram | FamilyType::GaugeHistogram, "_bucket") => {
            bound(sample, "le")?;
            check_count(sample, true)?;
        }
        (FamilyType::Histogram | FamilyType::Summary, "_count")
        | (FamilyType::GaugeHistogram, "_gcount") => check_count(sample, true)?,
        (FamilyType::Histogram | FamilyType::Summary, "_sum") if openmetrics => {
            check_count(sample, false)?
        }
        (FamilyType::GaugeHistogram, "_gsum") if value.is_nan() => {
            return Err(format!("{}: the sum may not be NaN", sample.name));
        }
        (FamilyType::Summary, "") => {
            let quantile = bound(sample, "quantile")?;
            if !(0.0..=1.0).contains(&quantile) {
                return Err(format!(
                    "{}: quantile {quantile} is outside [0, 1]",
                    sample.name
                ));
            }
            if value < 0.0 {
                return Err(format!(
                    "{}: a quantile value cannot be negative",
                    sample.name
                ));
            }
        }
        (FamilyType::StateSet, _) => {
            if sample.label(&family.name).is_none() {
                return Err(format!(
                    "{}: a stateset sample needs the label {:?}",
                    sample.name, family.name
                ));
            }
            if value != 0.0 && value != 1.0 {
                return Err(format!("{}: a state is 0 or 1, not {value}", sample.name));
            }
        }
        (FamilyType::Info, _) if value != 1.0 => {
            return Err(format!("{}: an info value is always 1", sample.name));
        }
        _ => {}
    }
    let exemplar_allowed = matches!(
        (family.kind, suffix),
        (FamilyType::Counter, "_total")
            | (
                FamilyType::Histogram | FamilyType::GaugeHistogram,
                "_bucket"
            )
    );
    if sample.exemplar.is_some() && !exemplar_allowed {
        return Err(format!(
            "{}: only counter totals and histogram buckets carry exemplars",
            sample.name
        ));
    }
    Ok(())
}

/// The samples of `family` grouped by Metric (label set without `label`) and timestamp, in
/// order of first appearance.
fn metric_points<'a>(family: &'a Family, label: &str) -> Vec<Vec<&'a Sample>> {
    let mut points: Vec<(Labels, Option<u64>, Vec<&Sample>)> = Vec::new();
    for sample in &family.samples {
        let mut key: Labels = sample
            .labels
            .iter()
            .filter(|(name, _)| name != label)
            .cloned()
            .collect();
        key.sort();
        let timestamp = sample.timestamp.map(f64::to_bits);
        match points
            .iter_mut()
            .find(|(labels, at, _)| *labels == key && *at == timestamp)
        {
            Some((_, _, samples)) => samples.push(sample),
            None => points.push((key, timestamp, vec![sample])),
        }
    }
    points.into_iter().map(|(_, _, samples)| samples).collect()
}

/// Buckets in increasing `le`, cumulative, ending in `+Inf`; `_count` equal to `+Inf`; sum and
/// count together; OpenMetrics' sign rules for the sum.
fn check_histogram(family: &Family, dialect: Dialect) -> Result<(), String> {
    let gauge = family.kind == FamilyType::GaugeHistogram;
    let (sum_name, count_name) = if gauge {
        ("_gsum", "_gcount")
    } else {
        ("_sum", "_count")
    };
    for point in metric_points(family, "le") {
        let name = &family.name;
        let mut previous: Option<(f64, f64)> = None;
        let (mut sum, mut count) = (None, None);
        for sample in &point {
            let suffix = &sample.name[name.len()..];
            if suffix == "_bucket" {
                let le = bound(sample, "le")?;
                let value = sample.value.float;
                if let Some((last_le, last_value)) = previous {
                    if le <= last_le {
                        return Err(format!(
                            "{name}: bucket le={le} after le={last_le}: `le` must increase"
                        ));
                    }
                    if value < last_value {
                        return Err(format!(
                            "{name}: bucket le={le} holds {value}, less than {last_value}: buckets are cumulative"
                        ));
                    }
                }
                previous = Some((le, value));
            } else if suffix == sum_name {
                sum = Some(sample.value.float);
            } else if suffix == count_name {
                count = Some(sample.value.float);
            }
        }
        let Some((f64::INFINITY, infinity)) = previous else {
            return Err(format!("{name}: the `le=\"+Inf\"` bucket is missing"));
        };
        if let Some(count) = count
            && count != infinity
        {
            return Err(format!(
                "{name}{count_name} is {count} but the +Inf bucket is {infinity}"
            ));
        }
        if sum.is_some() != count.is_some() {
            return Err(format!("{name}: {sum_name} and {count_name} go together"));
        }
        if dialect == Dialect::Text && count.is_none() {
            return Err(format!("{name}: a histogram has `_count` and `_sum`"));
        }
        let negative_buckets = point.iter().any(|sample| {
            sample.name.ends_with("_bucket") && bound(sample, "le").is_ok_and(|le| le < 0.0)
        });
        if let Some(sum) = sum {
            if dialect == Dialect::OpenMetrics && !gauge && negative_buckets {
                return Err(format!(
                    "{name}: a histogram with negative buckets has no `_sum`"
                ));
            }
            if gauge && sum < 0.0 && !negative_buckets {
                return Err(format!("{name}: a negative _gsum needs negative buckets"));
            }
        }
    }
    Ok(())
}

/// Text 0.0.4: quantiles appear in increasing order.
fn check_quantile_order(family: &Family) -> Result<(), String> {
    for point in metric_points(family, "quantile") {
        let mut previous = f64::NEG_INFINITY;
        for sample in point.iter().filter(|sample| sample.name == family.name) {
            let quantile = bound(sample, "quantile")?;
            if quantile <= previous {
                return Err(format!("{}: quantiles must increase", family.name));
            }
            previous = quantile;
        }
    }
    Ok(())
}
