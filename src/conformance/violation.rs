//! Why an exposition was rejected: the rule, where it was broken, and what to do about it.

use std::fmt;

/// A rule of the exposition formats, as the parser checks it.
///
/// Each variant is one rule a reviewer would name; [`Violation::message`] says what exactly
/// broke it. New rules may be added (protobuf, native histograms), hence `non_exhaustive`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum Rule {
    /// The bytes are not UTF-8.
    Utf8,
    /// An OpenMetrics exposition does not end with the line `# EOF`.
    MissingEof,
    /// Something follows `# EOF`.
    TextAfterEof,
    /// The last line has no line feed.
    LineEnd,
    /// A blank line in OpenMetrics.
    BlankLine,
    /// A `#` line that is not HELP, TYPE, UNIT or EOF in OpenMetrics.
    Comment,
    /// A HELP, TYPE or UNIT line that cannot be read (missing name, unknown type, bad unit).
    Metadata,
    /// A second HELP, TYPE or UNIT line for one family.
    RepeatedMetadata,
    /// HELP, TYPE or UNIT after the family's samples.
    MetadataAfterSamples,
    /// A family appears again after another one (repeated or interleaved families).
    DuplicateFamily,
    /// A family would own a sample name that another family owns (`x_sum` gauge after the
    /// histogram `x`).
    NameClash,
    /// A UNIT the family's name does not end with, or a unit on a type that has none.
    Unit,
    /// A text 0.0.4 counter whose name does not end in `_total`.
    CounterName,
    /// A metric name that does not match `[a-zA-Z_:][a-zA-Z0-9_:]*`.
    MetricName,
    /// A label set that is not `{name="value",…}`.
    LabelSyntax,
    /// A label name that is invalid or starts with the reserved `__`.
    LabelName,
    /// A label name that appears twice in one label set.
    DuplicateLabel,
    /// A backslash sequence the format does not define.
    Escape,
    /// A label value without its closing `"`.
    UnterminatedValue,
    /// A sample value that is not a number of the format.
    Number,
    /// A timestamp that is not one of the format.
    Timestamp,
    /// Spacing between tokens, or text where the line should end.
    Spacing,
    /// A count (counter total, bucket, `_count`) that is NaN, negative or, where whole
    /// numbers are required, fractional.
    Count,
    /// A bucket without `le`, with a bad `le`, out of order, or not cumulative.
    Bucket,
    /// A histogram without its `le="+Inf"` bucket.
    MissingInfBucket,
    /// A histogram's `_count` that differs from its `+Inf` bucket, or `_sum`/`_count`
    /// missing or unpaired.
    HistogramTotals,
    /// A summary quantile outside `[0, 1]`, out of order, or missing.
    Quantile,
    /// A stateset sample without its state label, or not 0 or 1.
    StateSet,
    /// An info sample whose value is not 1.
    Info,
    /// An exemplar that is malformed, too long or on a sample that cannot carry one.
    Exemplar,
    /// Timestamps given for some samples of a metric and not others, or going backwards.
    Timestamps,
    /// The samples of one label set interleaved with another's.
    InterleavedSeries,
    /// A series (name and label set) that appears twice.
    RepeatedSeries,
    /// A `Content-Type` that names no format this parser knows.
    ContentType,
}

impl Rule {
    /// The rule in a few words, as it starts [`Violation`]'s `Display`.
    pub const fn summary(self) -> &'static str {
        match self {
            Rule::Utf8 => "not UTF-8",
            Rule::MissingEof => "missing `# EOF`",
            Rule::TextAfterEof => "text after `# EOF`",
            Rule::LineEnd => "unterminated line",
            Rule::BlankLine => "blank line",
            Rule::Comment => "stray comment",
            Rule::Metadata => "malformed metadata",
            Rule::RepeatedMetadata => "repeated metadata",
            Rule::MetadataAfterSamples => "metadata after samples",
            Rule::DuplicateFamily => "duplicate family",
            Rule::NameClash => "sample name clash",
            Rule::Unit => "bad unit",
            Rule::CounterName => "counter name",
            Rule::MetricName => "bad metric name",
            Rule::LabelSyntax => "malformed label set",
            Rule::LabelName => "bad label name",
            Rule::DuplicateLabel => "duplicate label",
            Rule::Escape => "bad escape",
            Rule::UnterminatedValue => "unterminated label value",
            Rule::Number => "bad number",
            Rule::Timestamp => "bad timestamp",
            Rule::Spacing => "bad spacing",
            Rule::Count => "bad count",
            Rule::Bucket => "bad bucket",
            Rule::MissingInfBucket => "missing +Inf bucket",
            Rule::HistogramTotals => "histogram totals",
            Rule::Quantile => "bad quantile",
            Rule::StateSet => "bad state",
            Rule::Info => "bad info value",
            Rule::Exemplar => "bad exemplar",
            Rule::Timestamps => "inconsistent timestamps",
            Rule::InterleavedSeries => "interleaved series",
            Rule::RepeatedSeries => "repeated series",
            Rule::ContentType => "unknown content type",
        }
    }
}

impl fmt::Display for Rule {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.summary())
    }
}

/// Why an exposition was rejected.
///
/// `Display` reads `line 3, column 9: bad escape: …`: the position, the [`Rule`], then what
/// was found and what the format wants instead. [`Violation::excerpt`] shows the offending
/// line with a caret under the column.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct Violation {
    /// 1-based line number; 0 when the violation is not on a line (the content type).
    pub line: usize,
    /// 1-based column, in characters; 0 when `line` is 0.
    pub column: usize,
    /// The rule broken.
    pub rule: Rule,
    /// What was found and what the format wants.
    pub message: String,
}

impl Violation {
    pub(crate) fn new(rule: Rule, line: usize, column: usize, message: String) -> Self {
        Violation {
            line,
            column,
            rule,
            message,
        }
    }

    /// The offending line of `exposition` with a caret under the column, for test output;
    /// empty when the violation is not on a line of it.
    pub fn excerpt(&self, exposition: &[u8]) -> String {
        let text = String::from_utf8_lossy(exposition);
        let Some(line) = self
            .line
            .checked_sub(1)
            .and_then(|index| text.split('\n').nth(index))
        else {
            return String::new();
        };
        // One character per character, so the caret stays under the column: control
        // characters (a tab, a carriage return, NUL) show as U+FFFD.
        let shown: String = line
            .chars()
            .map(|ch| if ch.is_control() { '\u{FFFD}' } else { ch })
            .collect();
        let pad = " ".repeat(self.column.saturating_sub(1));
        format!("{shown}\n{pad}^")
    }
}

impl fmt::Display for Violation {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.line > 0 {
            write!(f, "line {}, column {}: ", self.line, self.column)?;
        }
        write!(f, "{}: {}", self.rule, self.message)
    }
}

impl std::error::Error for Violation {}

/// A violation found inside one line, before the line number is known.
///
/// Line-level readers only see the slice of the line they are reading. Every such slice
/// borrows from the line, so its address says where in the line the fault is; the caller,
/// which knows the whole line, turns that into a column (`str::subslice_offset` in spirit,
/// with plain address arithmetic and no unsafe code). A slice of anything else (an unescaped
/// label value read back as a number) falls outside the line and gives column 1.
#[derive(Debug)]
pub(super) struct Fault {
    pub(super) rule: Rule,
    pub(super) message: String,
    /// The address of the slice the fault is at (`None`: the line as a whole).
    address: Option<usize>,
    /// The line it belongs to, when that is not the line being read (a family closed late).
    line: Option<usize>,
}

impl Fault {
    /// A fault of the line as a whole (column 1).
    pub(super) fn new(rule: Rule, message: impl Into<String>) -> Self {
        Fault {
            rule,
            message: message.into(),
            address: None,
            line: None,
        }
    }

    /// A fault at the start of `at`, a slice of the line being read.
    pub(super) fn at(rule: Rule, at: &str, message: impl Into<String>) -> Self {
        Fault {
            address: Some(at.as_ptr() as usize),
            ..Fault::new(rule, message)
        }
    }

    /// The fault belongs to line `line` (1-based), not to the line being read.
    pub(super) fn on_line(mut self, line: usize) -> Self {
        self.line = Some(line);
        self.address = None;
        self
    }

    /// The violation, given the line being read and its number.
    pub(super) fn locate(self, number: usize, text: &str) -> Violation {
        let start = text.as_ptr() as usize;
        let column = self
            .address
            .and_then(|address| address.checked_sub(start))
            .and_then(|offset| text.get(..offset))
            .map_or(1, |before| before.chars().count() + 1);
        Violation::new(self.rule, self.line.unwrap_or(number), column, self.message)
    }
}
