//! The strict parser: lines into families, and the rules that need a whole family.
//!
//! Where a specification is loose the parser takes the strict side whenever real expositions
//! (and the official corpus) allow it; each such choice is named where it is made:
//!
//! * label names starting with `__` are rejected (reserved by the data model);
//! * text 0.0.4 counters must be named `…_total`, and may not be NaN or negative;
//! * text 0.0.4 histograms need `_count`, equal to the `+Inf` bucket, and `_sum` with it;
//! * a series may not repeat (text 0.0.4: never; OpenMetrics: unless it carries timestamps);
//! * within a family, the samples of one label set (a Metric) may not be interleaved with
//!   another's, in both formats.

use std::collections::HashSet;

use super::model::{Exemplar, Exposition, Family, FamilyType, Labels, Sample};
use super::syntax;
use super::violation::{Fault, Rule, Violation};
use crate::encode::Format;

/// Parses `input` strictly as `format` (text 0.0.4 or OpenMetrics 1.0).
pub(super) fn text(input: &[u8], format: Format) -> Result<Exposition, Violation> {
    let text = std::str::from_utf8(input).map_err(|error| {
        let before = &input[..error.valid_up_to()];
        let line = before.iter().filter(|&&byte| byte == b'\n').count() + 1;
        let start = before
            .iter()
            .rposition(|&byte| byte == b'\n')
            .map_or(0, |at| at + 1);
        // `before` is valid UTF-8 up to `valid_up_to`, so its last line counts as characters.
        let column = String::from_utf8_lossy(&before[start..]).chars().count() + 1;
        Violation::new(
            Rule::Utf8,
            line,
            column,
            format!("invalid UTF-8 ({error}); both formats are UTF-8 only"),
        )
    })?;
    let lines = text.split_terminator('\n').count();
    let end = |rule, message: &str| Violation::new(rule, lines + 1, 1, message.to_owned());
    let body = match format {
        Format::Text | Format::Protobuf => text,
        Format::OpenMetrics => text
            .strip_suffix("# EOF\n")
            .or_else(|| text.strip_suffix("# EOF"))
            .ok_or_else(|| {
                end(
                    Rule::MissingEof,
                    "an OpenMetrics exposition must end with the line `# EOF` (the encoder's \
                     `finish` writes it)",
                )
            })?,
    };
    if !body.is_empty() && !body.ends_with('\n') {
        let last = body.split('\n').count();
        return Err(Violation::new(
            match format {
                Format::Text | Format::Protobuf => Rule::LineEnd,
                Format::OpenMetrics => Rule::MissingEof,
            },
            last,
            body.rsplit('\n')
                .next()
                .map_or(0, |line| line.chars().count())
                + 1,
            match format {
                Format::Text | Format::Protobuf => "the last line must end with a line feed",
                Format::OpenMetrics => "`# EOF` must be a line of its own, after a line feed",
            }
            .to_owned(),
        ));
    }
    let mut parser = Parser {
        format,
        number: 0,
        families: Vec::new(),
        open: None,
        closed: HashSet::new(),
        claimed: HashSet::new(),
    };
    let lines = body.strip_suffix('\n').map(|lines| lines.split('\n'));
    for (index, line) in lines.into_iter().flatten().enumerate() {
        parser.number = index + 1;
        parser
            .line(line)
            .map_err(|fault| fault.locate(index + 1, line))?;
    }
    let last = parser.number;
    parser.close().map_err(|fault| fault.locate(last, ""))?;
    Ok(Exposition {
        format,
        families: parser.families,
    })
}

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
    format: Format,
    /// The 1-based number of the line being read.
    number: usize,
    families: Vec<Family>,
    open: Option<Open>,
    /// Names of families already finished: seeing one again means interleaving or repetition.
    closed: HashSet<String>,
    /// Sample names claimed by finished families (name plus each suffix of its type).
    claimed: HashSet<String>,
}

enum Metadata {
    Help(String),
    Type(FamilyType),
    Unit(String),
}

impl Parser {
    fn line(&mut self, line: &str) -> Result<(), Fault> {
        match self.format {
            Format::OpenMetrics => self.openmetrics_line(line),
            Format::Text | Format::Protobuf => self.text_line(line),
        }
    }

    fn openmetrics_line(&mut self, line: &str) -> Result<(), Fault> {
        if line.is_empty() {
            return Err(Fault::new(
                Rule::BlankLine,
                "blank lines are not allowed in OpenMetrics",
            ));
        }
        if line == "# EOF" {
            return Err(Fault::new(
                Rule::TextAfterEof,
                "`# EOF` must be the last line; nothing may follow it",
            ));
        }
        if !line.starts_with('#') {
            let sample = parse_openmetrics_sample(line, self.number)?;
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
            .ok_or_else(|| {
                Fault::new(
                    Rule::Comment,
                    "comments are not allowed in OpenMetrics; `#` starts only `# HELP`, `# TYPE`, \
                     `# UNIT` and `# EOF` lines",
                )
            })?;
        let (name, after) = syntax::take_metric_name(rest);
        if name.is_empty() {
            return Err(Fault::at(
                Rule::Metadata,
                rest,
                format!("`# {keyword}` needs a metric name here"),
            ));
        }
        let value = after.strip_prefix(' ').ok_or_else(|| {
            Fault::at(
                Rule::Metadata,
                after,
                format!("`# {keyword} {name}` must be followed by one space and its text"),
            )
        })?;
        let value = match keyword {
            "HELP" => Metadata::Help(syntax::unescape_help(value, Format::OpenMetrics)?),
            "TYPE" => Metadata::Type(
                FamilyType::from_word(value, Format::OpenMetrics).ok_or_else(|| {
                    Fault::at(
                        Rule::Metadata,
                        value,
                        format!(
                            "{value:?} is not an OpenMetrics type (counter, gauge, histogram, \
                             gaugehistogram, summary, info, stateset, unknown)"
                        ),
                    )
                })?,
            ),
            _ => {
                if !value
                    .chars()
                    .all(|ch| ch.is_ascii_alphanumeric() || ch == '_' || ch == ':')
                {
                    return Err(Fault::at(
                        Rule::Unit,
                        value,
                        format!("unit {value:?} is not made of metric-name characters"),
                    ));
                }
                Metadata::Unit(value.to_owned())
            }
        };
        self.metadata(name, value)
    }

    fn text_line(&mut self, line: &str) -> Result<(), Fault> {
        let line = syntax::after_blanks(line);
        if line.is_empty() {
            return Ok(());
        }
        let Some(comment) = line.strip_prefix('#') else {
            let sample = parse_text_sample(line, self.number)?;
            return self.sample(sample);
        };
        let (keyword, rest) = syntax::take_text_token(comment);
        if keyword != "HELP" && keyword != "TYPE" {
            return Ok(());
        }
        let (name, rest) = syntax::take_text_token(rest);
        if !syntax::is_metric_name(name) {
            return Err(Fault::at(
                Rule::MetricName,
                name,
                format!("`# {keyword}`: {name:?} is not a metric name"),
            ));
        }
        let value = if keyword == "HELP" {
            Metadata::Help(syntax::unescape_help(
                syntax::after_blanks(rest),
                Format::Text,
            )?)
        } else {
            let (word, after) = syntax::take_text_token(rest);
            if !after.is_empty() {
                return Err(Fault::at(
                    Rule::Spacing,
                    after,
                    format!("unexpected text after `# TYPE {name} {word}`; the line ends there"),
                ));
            }
            Metadata::Type(FamilyType::from_word(word, Format::Text).ok_or_else(|| {
                Fault::at(
                    Rule::Metadata,
                    word,
                    format!(
                        "{word:?} is not a text 0.0.4 type (counter, gauge, histogram, summary, \
                         untyped)"
                    ),
                )
            })?)
        };
        self.metadata(name, value)
    }

    /// Makes `name` the open family, closing the previous one.
    fn start(&mut self, name: &str) -> Result<(), Fault> {
        self.close()?;
        if self.closed.contains(name) {
            let first = self
                .families
                .iter()
                .find(|family| family.name == name)
                .map_or(0, |family| family.line);
            return Err(Fault::new(
                Rule::DuplicateFamily,
                format!(
                    "family {name:?} already appeared (from line {first}) and another family came \
                     between: write all of a family's lines together, once"
                ),
            ));
        }
        self.open = Some(Open {
            family: Family {
                name: name.to_owned(),
                kind: FamilyType::Unknown,
                help: None,
                unit: None,
                samples: Vec::new(),
                line: self.number,
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

    fn open(&mut self) -> Result<&mut Open, Fault> {
        // `start` always leaves a family open; this is a parser bug, reported rather than a panic.
        self.open
            .as_mut()
            .ok_or_else(|| Fault::new(Rule::Metadata, "internal: no open family"))
    }

    fn metadata(&mut self, name: &str, metadata: Metadata) -> Result<(), Fault> {
        match &self.open {
            Some(open) if open.family.name == name => {
                if !open.family.samples.is_empty() {
                    return Err(Fault::new(
                        Rule::MetadataAfterSamples,
                        format!(
                            "metadata for {name:?} after its samples: HELP, TYPE and UNIT come \
                             before a family's first sample (or is the family written twice?)"
                        ),
                    ));
                }
            }
            _ => self.start(name)?,
        }
        let text_format = self.format == Format::Text;
        let open = self.open()?;
        let (seen, what) = match metadata {
            Metadata::Help(_) => (&mut open.help_seen, "HELP"),
            Metadata::Type(_) => (&mut open.type_seen, "TYPE"),
            Metadata::Unit(_) => (&mut open.unit_seen, "UNIT"),
        };
        if std::mem::replace(seen, true) {
            return Err(Fault::new(
                Rule::RepeatedMetadata,
                format!("a second {what} line for {name:?}; a family has one at most"),
            ));
        }
        // OpenMetrics: an empty HELP or UNIT is as if the line were absent.
        let present = |text: String| (text_format || !text.is_empty()).then_some(text);
        match metadata {
            Metadata::Help(help) => open.family.help = present(help),
            Metadata::Type(kind) => open.family.kind = kind,
            Metadata::Unit(unit) => open.family.unit = present(unit),
        }
        Ok(())
    }

    fn sample(&mut self, sample: Sample) -> Result<(), Fault> {
        let format = self.format;
        let belongs = self.open.as_ref().is_some_and(|open| {
            let family = &open.family;
            sample
                .name
                .strip_prefix(family.name.as_str())
                .is_some_and(|suffix| family.kind.suffixes(format).contains(&suffix))
        });
        if !belongs {
            self.start(&sample.name)?;
        }
        let open = self.open()?;
        check_sample(&open.family, &sample, format)?;
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
                return Err(Fault::new(
                    Rule::InterleavedSeries,
                    format!(
                        "{}: the samples of one label set are interleaved with another's; write \
                         each label set's samples together",
                        sample.name
                    ),
                ));
            }
            open.groups.insert(group.clone());
            open.group = Some(group);
        } else {
            match (open.group_timestamp, sample.timestamp) {
                (None, None) => {}
                (Some(before), Some(now)) => {
                    if now < before && family.kind != FamilyType::Info {
                        return Err(Fault::new(
                            Rule::Timestamps,
                            format!("{}: timestamps went backwards", sample.name),
                        ));
                    }
                }
                _ => {
                    return Err(Fault::new(
                        Rule::Timestamps,
                        format!(
                            "{}: some samples of a metric have timestamps and some do not",
                            sample.name
                        ),
                    ));
                }
            }
        }
        open.group_timestamp = sample.timestamp;
        let mut labels = sample.labels.clone();
        labels.sort();
        let repeat_allowed = format == Format::OpenMetrics && sample.timestamp.is_some();
        if !open.series.insert((sample.name.clone(), labels)) && !repeat_allowed {
            return Err(Fault::new(
                Rule::RepeatedSeries,
                format!(
                    "series {}{:?} appears twice; each name and label set is written once",
                    sample.name, sample.labels
                ),
            ));
        }
        open.family.samples.push(sample);
        Ok(())
    }

    /// Finishes the open family: name clashes, UNIT, and the rules that need all its samples.
    fn close(&mut self) -> Result<(), Fault> {
        let Some(open) = self.open.take() else {
            return Ok(());
        };
        let family = open.family;
        let at_family = |rule, message: String| Fault::new(rule, message).on_line(family.line);
        let owned: HashSet<String> = family
            .kind
            .suffixes(self.format)
            .iter()
            .chain([&""])
            .map(|suffix| format!("{}{suffix}", family.name))
            .collect();
        for claimed in owned {
            if !self.claimed.insert(claimed.clone()) {
                return Err(at_family(
                    Rule::NameClash,
                    format!(
                        "family {:?} would own sample name {claimed:?}, which an earlier family \
                         owns; rename one of them",
                        family.name
                    ),
                ));
            }
        }
        self.closed.insert(family.name.clone());
        if let Some(unit) = &family.unit {
            if !family.name.ends_with(&format!("_{unit}")) {
                return Err(at_family(
                    Rule::Unit,
                    format!(
                        "family {:?} has UNIT {unit:?} but its name does not end in `_{unit}`",
                        family.name
                    ),
                ));
            }
            if matches!(family.kind, FamilyType::Info | FamilyType::StateSet) {
                return Err(at_family(
                    Rule::Unit,
                    format!("{:?}: info and stateset families have no unit", family.name),
                ));
            }
        }
        if self.format == Format::Text
            && family.kind == FamilyType::Counter
            && !family.name.ends_with("_total")
        {
            return Err(at_family(
                Rule::CounterName,
                format!(
                    "counter {:?} must be named `{}_total` in text 0.0.4",
                    family.name, family.name
                ),
            ));
        }
        match family.kind {
            FamilyType::Histogram | FamilyType::GaugeHistogram => {
                check_histogram(&family, self.format)?
            }
            FamilyType::Summary if self.format == Format::Text => check_quantile_order(&family)?,
            _ => {}
        }
        self.families.push(family);
        Ok(())
    }
}

/// `name [labels] SP value [SP timestamp] [SP # SP labels SP value [SP timestamp]]`, one space
/// exactly between tokens and no trailing comma in label sets.
fn parse_openmetrics_sample(line: &str, number: usize) -> Result<Sample, Fault> {
    let (name, rest) = syntax::take_metric_name(line);
    if name.is_empty() {
        return Err(Fault::at(
            Rule::MetricName,
            line,
            "expected a metric name matching `[a-zA-Z_:][a-zA-Z0-9_:]*`",
        ));
    }
    let (labels, rest) = if rest.starts_with('{') {
        syntax::take_labels(rest, Format::OpenMetrics)?
    } else {
        (Vec::new(), rest)
    };
    let value = rest.strip_prefix(' ').ok_or_else(|| {
        Fault::at(
            Rule::Spacing,
            rest,
            format!("{name}: expected exactly one space before the value"),
        )
    })?;
    let (token, rest) = syntax::take_until(value, &[' ']);
    let value = syntax::parse_number(token)?;
    let (timestamp, rest) = match rest.strip_prefix(' ') {
        Some(after) if !after.starts_with("# ") => {
            let (token, rest) = syntax::take_until(after, &[' ']);
            (
                Some(syntax::parse_timestamp(token, Format::OpenMetrics)?),
                rest,
            )
        }
        _ => (None, rest),
    };
    let exemplar = if rest.is_empty() {
        None
    } else {
        let exemplar = rest.strip_prefix(" # ").ok_or_else(|| {
            Fault::at(
                Rule::Spacing,
                rest,
                format!("{name}: unexpected {rest:?} after the value"),
            )
        })?;
        Some(parse_exemplar(exemplar)?)
    };
    Ok(Sample {
        name: name.to_owned(),
        labels,
        value,
        timestamp,
        exemplar,
        line: number,
    })
}

fn parse_exemplar(input: &str) -> Result<Exemplar, Fault> {
    if !input.starts_with('{') {
        return Err(Fault::at(
            Rule::Exemplar,
            input,
            "an exemplar starts with a label set `{…}`",
        ));
    }
    let (labels, rest) = syntax::take_labels(input, Format::OpenMetrics)?;
    let length: usize = labels
        .iter()
        .map(|(name, value)| name.chars().count() + value.chars().count())
        .sum();
    if length > 128 {
        return Err(Fault::at(
            Rule::Exemplar,
            input,
            format!("exemplar labels are {length} characters long, over the limit of 128"),
        ));
    }
    let value = rest.strip_prefix(' ').ok_or_else(|| {
        Fault::at(
            Rule::Exemplar,
            rest,
            "expected one space before the exemplar value",
        )
    })?;
    let (token, rest) = syntax::take_until(value, &[' ']);
    let value = syntax::parse_number(token)?.float;
    let timestamp = match rest.strip_prefix(' ') {
        Some(token) => Some(syntax::parse_timestamp(token, Format::OpenMetrics)?),
        None if rest.is_empty() => None,
        None => {
            return Err(Fault::at(
                Rule::Exemplar,
                rest,
                format!("unexpected {rest:?} in an exemplar"),
            ));
        }
    };
    Ok(Exemplar {
        labels,
        value,
        timestamp,
    })
}

/// `name [{labels}] value [timestamp]` with blanks or tabs between tokens.
fn parse_text_sample(line: &str, number: usize) -> Result<Sample, Fault> {
    let (name, rest) = syntax::take_metric_name(line);
    if name.is_empty() {
        return Err(Fault::at(
            Rule::MetricName,
            line,
            "expected a metric name matching `[a-zA-Z_:][a-zA-Z0-9_:]*`",
        ));
    }
    let rest = syntax::after_blanks(rest);
    let (labels, rest) = if rest.starts_with('{') {
        syntax::take_labels(rest, Format::Text)?
    } else {
        (Vec::new(), rest)
    };
    let (token, rest) = syntax::take_text_token(rest);
    if token.is_empty() {
        return Err(Fault::at(
            Rule::Number,
            token,
            format!("{name}: the sample has no value; write one after the name and labels"),
        ));
    }
    let value = syntax::parse_number(token)?;
    // Blanks after the value announce a timestamp, and nothing follows that (Prometheus'
    // parser rejects trailing blanks too).
    let timestamp = if rest.is_empty() {
        None
    } else {
        let (token, after) = syntax::take_text_token(rest);
        if !after.is_empty() {
            return Err(Fault::at(
                Rule::Spacing,
                after,
                format!("{name}: unexpected {after:?} after the timestamp; the line ends there"),
            ));
        }
        if token.is_empty() {
            return Err(Fault::at(
                Rule::Spacing,
                rest,
                format!("{name}: blanks after the value; the line ends at the value"),
            ));
        }
        Some(syntax::parse_timestamp(token, Format::Text)?)
    };
    Ok(Sample {
        name: name.to_owned(),
        labels,
        value,
        timestamp,
        exemplar: None,
        line: number,
    })
}

/// A value that counts something: not NaN, not negative; `integral` also whole.
fn check_count(sample: &Sample, integral: bool) -> Result<(), Fault> {
    let value = sample.value.float;
    if value.is_nan() || value < 0.0 {
        return Err(Fault::new(
            Rule::Count,
            format!(
                "{} is {value}: a count is never NaN or negative",
                sample.name
            ),
        )
        .on_line(sample.line));
    }
    if integral && value.fract() != 0.0 {
        return Err(Fault::new(
            Rule::Count,
            format!("{} is {value}: this count is a whole number", sample.name),
        )
        .on_line(sample.line));
    }
    Ok(())
}

/// Reads a `le` or `quantile` label value as a number.
fn bound(sample: &Sample, label: &str) -> Result<f64, Fault> {
    let rule = if label == "le" {
        Rule::Bucket
    } else {
        Rule::Quantile
    };
    let fault = |message: String| Fault::new(rule, message).on_line(sample.line);
    let text = sample
        .label(label)
        .ok_or_else(|| fault(format!("{}: the `{label}` label is missing", sample.name)))?;
    let value = syntax::parse_number(text)
        .map_err(|_| fault(format!("{}: {label}={text:?} is not a number", sample.name)))?
        .float;
    if value.is_nan() {
        return Err(fault(format!("{}: {label}=\"{text}\" is NaN", sample.name)));
    }
    if value == f64::INFINITY && text != "+Inf" {
        return Err(fault(format!(
            "{}: positive infinity must be written `+Inf`, not {text:?}",
            sample.name
        )));
    }
    Ok(value)
}

/// The rules one sample must satisfy given its family's type.
fn check_sample(family: &Family, sample: &Sample, format: Format) -> Result<(), Fault> {
    let suffix = &sample.name[family.name.len()..];
    let value = sample.value.float;
    let openmetrics = format == Format::OpenMetrics;
    let fault = |rule, message: String| Fault::new(rule, message).on_line(sample.line);
    match (family.kind, suffix) {
        (FamilyType::Counter, "_total" | "") => check_count(sample, false)?,
        (FamilyType::Histogram | FamilyType::GaugeHistogram, "_bucket") => {
            bound(sample, "le")?;
            check_count(sample, true)?;
        }
        (FamilyType::Histogram | FamilyType::Summary, "_count")
        | (FamilyType::GaugeHistogram, "_gcount") => check_count(sample, true)?,
        (FamilyType::Histogram | FamilyType::Summary, "_sum")
            if openmetrics && (value.is_nan() || value < 0.0) =>
        {
            // A histogram with negative buckets has no `_sum` at all (`check_histogram`).
            return Err(fault(
                Rule::HistogramTotals,
                format!(
                    "{} is {value}: in OpenMetrics the sum of a histogram or summary is never \
                     NaN or negative (one NaN or negative observation makes it so)",
                    sample.name
                ),
            ));
        }
        (FamilyType::GaugeHistogram, "_gsum") if value.is_nan() => {
            return Err(fault(
                Rule::HistogramTotals,
                format!("{}: the sum may not be NaN", sample.name),
            ));
        }
        (FamilyType::Summary, "") => {
            let quantile = bound(sample, "quantile")?;
            if !(0.0..=1.0).contains(&quantile) {
                return Err(fault(
                    Rule::Quantile,
                    format!("{}: quantile {quantile} is outside [0, 1]", sample.name),
                ));
            }
            if value < 0.0 {
                return Err(fault(
                    Rule::Quantile,
                    format!("{}: a quantile value cannot be negative", sample.name),
                ));
            }
        }
        (FamilyType::StateSet, _) => {
            if sample.label(&family.name).is_none() {
                return Err(fault(
                    Rule::StateSet,
                    format!(
                        "{}: a stateset sample needs the label {:?}",
                        sample.name, family.name
                    ),
                ));
            }
            if value != 0.0 && value != 1.0 {
                return Err(fault(
                    Rule::StateSet,
                    format!("{}: a state is 0 or 1, not {value}", sample.name),
                ));
            }
        }
        (FamilyType::Info, _) if value != 1.0 => {
            return Err(fault(
                Rule::Info,
                format!("{}: an info value is always 1", sample.name),
            ));
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
        return Err(fault(
            Rule::Exemplar,
            format!(
                "{}: only counter totals and histogram buckets carry exemplars",
                sample.name
            ),
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
fn check_histogram(family: &Family, format: Format) -> Result<(), Fault> {
    let gauge = family.kind == FamilyType::GaugeHistogram;
    let (sum_name, count_name) = if gauge {
        ("_gsum", "_gcount")
    } else {
        ("_sum", "_count")
    };
    let name = &family.name;
    for point in metric_points(family, "le") {
        let last_line = point.last().map_or(family.line, |sample| sample.line);
        let fault = |rule, line, message: String| Fault::new(rule, message).on_line(line);
        let mut previous: Option<(f64, f64)> = None;
        let (mut sum, mut count) = (None, None);
        for sample in &point {
            let suffix = &sample.name[name.len()..];
            if suffix == "_bucket" {
                let le = bound(sample, "le")?;
                let value = sample.value.float;
                if let Some((last_le, last_value)) = previous {
                    let (shown, last_shown) = (Bound(le), Bound(last_le));
                    if le <= last_le {
                        return Err(fault(
                            Rule::Bucket,
                            sample.line,
                            format!(
                                "{name}: bucket le={shown} after le={last_shown}: buckets are written \
                                 in increasing `le`, each once"
                            ),
                        ));
                    }
                    if value < last_value {
                        return Err(fault(
                            Rule::Bucket,
                            sample.line,
                            format!(
                                "{name}: bucket le={shown} holds {value}, less than {last_value} \
                                 below it: buckets are cumulative"
                            ),
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
        let labels = point
            .first()
            .map(|sample| {
                sample
                    .labels
                    .iter()
                    .filter(|(label, _)| label != "le")
                    .map(|(label, value)| format!("{label}={value:?}"))
                    .collect::<Vec<_>>()
                    .join(",")
            })
            .unwrap_or_default();
        let Some((f64::INFINITY, infinity)) = previous else {
            return Err(fault(
                Rule::MissingInfBucket,
                last_line,
                format!(
                    "histogram {name}{{{labels}}} has no `le=\"+Inf\"` bucket; every histogram \
                     ends with one, equal to its `{count_name}`"
                ),
            ));
        };
        if let Some(count) = count
            && count != infinity
        {
            return Err(fault(
                Rule::HistogramTotals,
                last_line,
                format!("{name}{count_name} is {count} but the +Inf bucket is {infinity}"),
            ));
        }
        if sum.is_some() != count.is_some() {
            return Err(fault(
                Rule::HistogramTotals,
                last_line,
                format!("{name}: {sum_name} and {count_name} go together"),
            ));
        }
        if format == Format::Text && count.is_none() {
            return Err(fault(
                Rule::HistogramTotals,
                last_line,
                format!("{name}: a text 0.0.4 histogram has `_count` and `_sum`"),
            ));
        }
        let negative_buckets = point.iter().any(|sample| {
            sample.name.ends_with("_bucket") && bound(sample, "le").is_ok_and(|le| le < 0.0)
        });
        if let Some(sum) = sum {
            if format == Format::OpenMetrics && !gauge && negative_buckets {
                return Err(fault(
                    Rule::HistogramTotals,
                    last_line,
                    format!("{name}: a histogram with negative buckets has no `_sum`"),
                ));
            }
            if gauge && sum < 0.0 && !negative_buckets {
                return Err(fault(
                    Rule::HistogramTotals,
                    last_line,
                    format!("{name}: a negative _gsum needs negative buckets"),
                ));
            }
        }
    }
    Ok(())
}

/// A bucket bound as the formats spell it in messages (`+Inf`, not Rust's `inf`).
struct Bound(f64);

impl std::fmt::Display for Bound {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        if self.0 == f64::INFINITY {
            f.write_str("+Inf")
        } else {
            write!(f, "{}", self.0)
        }
    }
}

/// Text 0.0.4: quantiles appear in increasing order.
fn check_quantile_order(family: &Family) -> Result<(), Fault> {
    for point in metric_points(family, "quantile") {
        let mut previous = f64::NEG_INFINITY;
        for sample in point.iter().filter(|sample| sample.name == family.name) {
            let quantile = bound(sample, "quantile")?;
            if quantile <= previous {
                return Err(Fault::new(
                    Rule::Quantile,
                    format!("{}: quantiles must increase", family.name),
                )
                .on_line(sample.line));
            }
            previous = quantile;
        }
    }
    Ok(())
}
