//! The exposition encoder: Prometheus text 0.0.4 and OpenMetrics 1.0.0.
//!
//! One implementation serves two callers. The static table ([`crate::render`]) feeds it names
//! and HELP that the `#[metric]` macro validated and escaped at compile time, so a scrape only
//! formats numbers. Run-time callers (tests, bridges from other sources, the exporter's
//! `on_scrape` hook) build a [`Family`] and [`Label`]s from strings; their constructors
//! validate names, and their text is escaped as it is written.
//!
//! # Nothing public writes an invalid exposition
//!
//! Every public path either cannot express a mistake or reports it as an [`EncodeError`]
//! before writing anything:
//!
//! * names are validated by [`Family::new`], [`Label::new`] and [`Encoder::checked_namespace`]
//!   (the only way to set a namespace);
//! * pre-escaped text is an [`EscapedHelp`] or [`EscapedLabelValue`], whose constructors check
//!   it, so HELP cannot end its line and inject samples or an early `# EOF`;
//! * a sample's suffix is a [`Suffix`] that must fit the family's [`Kind`], and buckets are
//!   written only by [`FamilyEncoder::bucket`], which spells `le` itself and refuses a NaN
//!   bound;
//! * [`FamilyEncoder::sample`] and [`FamilyEncoder::bucket`] refuse a label name given twice
//!   (constant labels included) and `le` on a histogram's samples;
//! * in OpenMetrics a counter's value (and a histogram's `_count`) must not be negative or
//!   NaN;
//! * [`Encoder::family`] refuses a family whose name this encoder has already written.
//!
//! The encoder writes into a caller-supplied `Vec<u8>` and never allocates on its own: once the
//! buffer has grown to the size of a scrape, later scrapes into it do not touch the heap.
//!
//! What the formats require and where it is done:
//!
//! * one space between tokens, no timestamps, every line ends with `\n`;
//! * `# HELP` then `# TYPE` then all samples of a family: the caller writes each family's
//!   samples before starting the next one ([`Encoder::family`] borrows the encoder mutably,
//!   so families cannot interleave through this API);
//! * in OpenMetrics a counter family is named without `_total` and its sample with it,
//!   `untyped` is spelled `unknown`, HELP also escapes `"`, bucket bounds are canonical
//!   (`1.0`), and the exposition ends with `# EOF` ([`Encoder::finish`]).
//!
//! The protobuf exposition ([`Format::Protobuf`]) goes through the same calls: each family
//! becomes one length-delimited `MetricFamily` message (the name written whole, counters
//! keeping `_total`; HELP and label values unescaped), each `sample` one `Metric`, and a
//! histogram's `_bucket`… `_sum`, `_count` samples one `Histogram` message (`_count` ends
//! it; `+Inf` is implied). Lengths are back-patched in place, so nothing is buffered twice;
//! a family's length is stored when the next family starts, at [`Encoder::end_part`] or at
//! [`Encoder::finish`], so a protobuf exposition is complete only after one of those.
//!
//! ```
//! use promstatic::encode::{Encoder, Family, Format, Help, Kind, Label, Suffix, Value};
//!
//! let mut out = Vec::new();
//! let mut encoder = Encoder::new(&mut out, Format::Text);
//! let family = Family::new("jobs_done_total", Kind::Counter, Help::Raw("Jobs done.")).unwrap();
//! let label = Label::new("queue", "high \"prio\"").unwrap();
//! encoder.family(&family)?.sample(Suffix::Bare, &[label], Value::Unsigned(3))?;
//! encoder.finish();
//! let expected = "# HELP jobs_done_total Jobs done.\n# TYPE jobs_done_total counter\n\
//!     jobs_done_total{queue=\"high \\\"prio\\\"\"} 3\n";
//! assert_eq!(String::from_utf8(out).unwrap(), expected);
//! # Ok::<(), promstatic::encode::EncodeError>(())
//! ```

#[doc(inline)]
pub use promstatic_syntax::escape;
mod escaped;
pub mod number;
pub(crate) mod plan;
pub(crate) mod protobuf;

use std::collections::HashSet;
use std::fmt;
use std::hash::{BuildHasherDefault, Hasher};

use crate::exemplar::Snapshot;
use crate::name::{self, NameError};

pub(crate) use self::escaped::all_label_values;
pub use self::escaped::{EscapeError, EscapedHelp, EscapedLabelValue};

/// An exposition format.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Format {
    /// The Prometheus text format, version 0.0.4.
    Text,
    /// OpenMetrics text, version 1.0.0.
    OpenMetrics,
    /// Prometheus' protobuf exposition: length-delimited `io.prometheus.client.MetricFamily`
    /// messages, the only format that carries native histograms (see the module docs).
    Protobuf,
}

impl Format {
    /// The exact `Content-Type` of an exposition in this format.
    pub const fn content_type(self) -> &'static str {
        match self {
            Format::Text => "text/plain; version=0.0.4; charset=utf-8",
            Format::OpenMetrics => "application/openmetrics-text; version=1.0.0; charset=utf-8",
            Format::Protobuf => {
                "application/vnd.google.protobuf; proto=io.prometheus.client.MetricFamily; \
                 encoding=delimited"
            }
        }
    }
}

/// The type of a metric family.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Kind {
    /// A monotonically increasing total.
    Counter,
    /// A value that goes up and down.
    Gauge,
    /// Cumulative buckets with `_sum` and `_count`.
    Histogram,
    /// No declared type (`untyped` in text 0.0.4, `unknown` in OpenMetrics).
    Unknown,
}

impl Kind {
    const fn type_word(self, format: Format) -> &'static str {
        match (self, format) {
            (Kind::Counter, _) => "counter",
            (Kind::Gauge, _) => "gauge",
            (Kind::Histogram, _) => "histogram",
            (Kind::Unknown, Format::Text | Format::Protobuf) => "untyped",
            (Kind::Unknown, Format::OpenMetrics) => "unknown",
        }
    }
}

/// HELP text, either as written by a person or already escaped for both formats.
///
/// The escaped form can only be built through [`EscapedHelp::new`], which checks it:
///
/// ```compile_fail,E0559
/// use promstatic::encode::Help;
/// // Unescaped text passed off as escaped: no longer expressible.
/// let help = Help::Escaped { text: "x\nevil 1\n# EOF", openmetrics: "x" };
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Help<'a> {
    /// Unescaped text; escaped for the target format as it is written.
    Raw(&'a str),
    /// Text escaped ahead of time for each format (the `#[metric]` macro's).
    Escaped(EscapedHelp<'a>),
}

/// Text that goes between the quotes of a label value.
///
/// ```compile_fail,E0308
/// use promstatic::encode::Text;
/// // A raw quote passed off as escaped: no longer expressible.
/// let value = Text::Escaped("a\"b");
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Text<'a> {
    /// Unescaped; escaped as it is written.
    Raw(&'a str),
    /// Already escaped (label values prepared at compile time), checked by
    /// [`EscapedLabelValue::new`].
    Escaped(EscapedLabelValue<'a>),
}

/// What follows the family name in a sample's name (buckets: [`FamilyEncoder::bucket`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum Suffix {
    /// None: the sample of a counter (`_total` in OpenMetrics is added by the encoder), a
    /// gauge or an unknown-type family.
    Bare,
    /// A histogram's `_sum`.
    Sum,
    /// A histogram's `_count`.
    Count,
}

impl Suffix {
    const fn as_str(self) -> &'static str {
        match self {
            Suffix::Bare => "",
            Suffix::Sum => "_sum",
            Suffix::Count => "_count",
        }
    }
}

/// A sample or family the run-time encoder API refused, because writing it would make the
/// exposition invalid. Nothing was written.
#[derive(Debug, Clone, PartialEq)]
#[non_exhaustive]
pub enum EncodeError {
    /// The family's name was already written by this encoder.
    DuplicateFamily {
        /// The name as exposed (namespace included).
        name: String,
    },
    /// The suffix does not exist for the family's type.
    SuffixForKind {
        /// The suffix given.
        suffix: Suffix,
        /// The family's type.
        kind: Kind,
    },
    /// `bucket` on a family that is not a histogram.
    BucketOfNonHistogram {
        /// The family's type.
        kind: Kind,
    },
    /// A label name appears twice in one sample (constant labels included).
    DuplicateLabel {
        /// The repeated name.
        name: String,
    },
    /// `le` given as a label of a histogram's sample (the encoder writes the bucket bound).
    ReservedLabel {
        /// The label name.
        name: String,
    },
    /// A NaN bucket bound.
    NanBound,
    /// A negative or NaN value where OpenMetrics requires a count (a counter's value, a
    /// histogram's `_count`).
    InvalidCount {
        /// The family's name as declared.
        family: String,
        /// The value given.
        value: Value,
    },
}

impl fmt::Display for EncodeError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            EncodeError::DuplicateFamily { name } => write!(
                f,
                "the family `{name}` was already written in this exposition; write each \
                 family once, with all its samples"
            ),
            EncodeError::SuffixForKind { suffix, kind } => write!(
                f,
                "a {} family has no `{}` sample; {}",
                kind.type_word(Format::Text),
                match suffix {
                    Suffix::Bare => "(no suffix)",
                    other => other.as_str(),
                },
                if *kind == Kind::Histogram {
                    "a histogram's samples are `bucket`, `Suffix::Sum` and `Suffix::Count`"
                } else {
                    "use `Suffix::Bare`"
                }
            ),
            EncodeError::BucketOfNonHistogram { kind } => write!(
                f,
                "a {} family has no buckets; only a histogram does",
                kind.type_word(Format::Text)
            ),
            EncodeError::DuplicateLabel { name } => write!(
                f,
                "the label `{name}` is given twice in one sample (constant labels included); \
                 give each label name once"
            ),
            EncodeError::ReservedLabel { name } => write!(
                f,
                "the label `{name}` is reserved on a histogram's samples: the encoder writes \
                 the bucket bound as `le` itself"
            ),
            EncodeError::NanBound => {
                f.write_str("a histogram bucket bound is NaN; bounds are numbers or +Inf")
            }
            EncodeError::InvalidCount { family, value } => write!(
                f,
                "`{family}`: OpenMetrics requires a count here, not negative or NaN, but the \
                 value is {value:?}"
            ),
        }
    }
}

impl std::error::Error for EncodeError {}

/// A sample value.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Value {
    /// An unsigned integer (counters, bucket counts).
    Unsigned(u64),
    /// A signed integer (integer gauges).
    Signed(i64),
    /// A float.
    Float(f64),
}

/// A metric family's name, type and HELP. Constructing one validates the name.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Family<'a> {
    name: &'a str,
    kind: Kind,
    help: Help<'a>,
}

impl<'a> Family<'a> {
    /// A family with a validated metric name. This is the only public constructor: the
    /// unchecked one the crate uses for its own constants is not reachable.
    ///
    /// ```compile_fail,E0624
    /// use promstatic::encode::{Family, Help, Kind};
    /// let family = Family::prevalidated("bad name\nevil 1", Kind::Gauge, Help::Raw("x"));
    /// ```
    pub fn new(name: &'a str, kind: Kind, help: Help<'a>) -> Result<Self, NameError> {
        name::validate_metric_name(name)?;
        Ok(Family { name, kind, help })
    }

    /// A family whose name the crate has already validated (the `#[metric]` macro's, the
    /// exporter's own constants).
    pub(crate) const fn prevalidated(name: &'a str, kind: Kind, help: Help<'a>) -> Self {
        Family { name, kind, help }
    }

    /// The metric name as declared.
    pub const fn name(&self) -> &'a str {
        self.name
    }

    /// The family's type.
    pub const fn kind(&self) -> Kind {
        self.kind
    }
}

/// A label pair. Constructing one from strings validates the name.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Label<'a> {
    name: &'a str,
    value: Text<'a>,
}

impl<'a> Label<'a> {
    /// A label with a validated name and an unescaped value.
    ///
    /// ```compile_fail,E0624
    /// use promstatic::encode::{Label, Text};
    /// let label = Label::prevalidated("le", Text::Raw("x"));
    /// ```
    pub fn new(name: &'a str, value: &'a str) -> Result<Self, NameError> {
        name::validate_label_name(name)?;
        Ok(Label {
            name,
            value: Text::Raw(value),
        })
    }

    /// A label with a validated name and a value that is either raw or checked escaped text.
    pub fn from_text(name: &'a str, value: Text<'a>) -> Result<Self, NameError> {
        name::validate_label_name(name)?;
        Ok(Label { name, value })
    }

    /// A label whose name the crate has already validated.
    pub(crate) const fn prevalidated(name: &'a str, value: Text<'a>) -> Self {
        Label { name, value }
    }

    /// The label name.
    pub const fn name(&self) -> &'a str {
        self.name
    }
}

/// Writes one exposition into a buffer.
#[derive(Debug)]
pub struct Encoder<'a> {
    out: &'a mut Vec<u8>,
    /// The families this exposition has written, for [`Encoder::family`]'s duplicate check.
    written: WrittenFamilies,
    format: Format,
    namespace: &'a str,
    const_labels: &'a [Label<'a>],
    /// The `MetricFamily` being written (protobuf only; its length is stored when the next
    /// family starts or at [`Encoder::finish`]).
    protobuf: protobuf::FamilyState,
}

impl<'a> Encoder<'a> {
    /// An encoder appending to `out`.
    pub fn new(out: &'a mut Vec<u8>, format: Format) -> Self {
        Encoder {
            written: WrittenFamilies {
                scanned_to: out.len(),
                start: out.len(),
                hashes: HashSet::default(),
            },
            out,
            format,
            namespace: "",
            const_labels: &[],
            protobuf: protobuf::FamilyState::NONE,
        }
    }

    /// An encoder appending to `out`, whose exposition began at `exposition_start` (earlier
    /// parts written by other encoders count for [`Encoder::family`]'s duplicate check).
    #[cfg(feature = "exporter")]
    pub(crate) fn resuming(out: &'a mut Vec<u8>, format: Format, exposition_start: usize) -> Self {
        let mut encoder = Encoder::new(out, format);
        let start = exposition_start.min(encoder.out.len());
        encoder.written.start = start;
        encoder.written.scanned_to = start;
        encoder
    }

    /// Prefixes every metric name with `prefix`, which the crate has validated (the
    /// exporter's configured namespace).
    pub(crate) fn with_namespace(mut self, prefix: &'a str) -> Self {
        self.namespace = prefix;
        self
    }

    /// Prefixes every metric name with `prefix` (written as given, e.g. `"myapp_"`), once it
    /// is validated as the start of a metric name. It is the only public way to set one:
    ///
    /// ```compile_fail,E0624
    /// use promstatic::encode::{Encoder, Format};
    /// let mut out = Vec::new();
    /// let encoder = Encoder::new(&mut out, Format::Text).with_namespace("not a prefix\n");
    /// ```
    ///
    /// ```
    /// use promstatic::encode::{Encoder, Format};
    ///
    /// let mut out = Vec::new();
    /// assert!(Encoder::new(&mut out, Format::Text).checked_namespace("bad prefix ").is_err());
    /// ```
    pub fn checked_namespace(self, prefix: &'a str) -> Result<Self, NameError> {
        if !prefix.is_empty() {
            name::validate_metric_name(prefix)?;
        }
        Ok(self.with_namespace(prefix))
    }

    /// Adds these labels, first, to every sample. A name repeated among them, or with a
    /// sample's own labels, makes that sample an [`EncodeError::DuplicateLabel`].
    pub fn with_const_labels(mut self, labels: &'a [Label<'a>]) -> Self {
        self.const_labels = labels;
        self
    }

    /// The format being written.
    pub fn format(&self) -> Format {
        self.format
    }

    /// Writes a family's `# HELP` and `# TYPE` lines and returns a writer for its samples;
    /// [`EncodeError::DuplicateFamily`] if this encoder has already written that family,
    /// through this API or from the static table.
    ///
    /// The check reads each `# TYPE` line this encoder wrote once (incrementally, from one
    /// call to the next) and keeps a set of their hashes, so it costs amortized O(1) per
    /// family; the set is allocated only by this method, never on the static table's path.
    pub fn family<'e>(
        &'e mut self,
        family: &Family<'e>,
    ) -> Result<FamilyEncoder<'e, 'a>, EncodeError> {
        let base = self.base_name(family);
        // In protobuf the previous family is completed first, so the scan sees it whole.
        self.protobuf.finish(self.out);
        if self
            .written
            .contains(self.out, self.format, self.namespace, base)
        {
            return Err(EncodeError::DuplicateFamily {
                name: format!("{}{base}", self.namespace),
            });
        }
        Ok(self.family_trusted(family))
    }

    /// The family name on the `# TYPE` line (a counter's without `_total` in OpenMetrics).
    fn base_name<'f>(&self, family: &Family<'f>) -> &'f str {
        match (family.kind, self.format) {
            // A counter named just `_total` keeps its name: stripping would leave none.
            (Kind::Counter, Format::OpenMetrics) => family
                .name
                .strip_suffix("_total")
                .filter(|base| !base.is_empty())
                .unwrap_or(family.name),
            _ => family.name,
        }
    }

    /// [`Encoder::family`] without the duplicate check, for families whose names the crate
    /// has checked already (the static table's, the exporter's own).
    pub(crate) fn family_trusted<'e>(&'e mut self, family: &Family<'e>) -> FamilyEncoder<'e, 'a> {
        let format = self.format;
        let base = self.base_name(family);
        if format == Format::Protobuf {
            // The previous family's length is known now (or at `finish`).
            self.protobuf.finish(self.out);
            self.protobuf = protobuf::FamilyState::start(self.out, self.namespace, family);
            return FamilyEncoder {
                encoder: self,
                base,
                kind: family.kind,
                counter_total: false,
            };
        }
        let counter_total = family.kind == Kind::Counter && format == Format::OpenMetrics;
        let out = &mut *self.out;
        out.extend_from_slice(b"# HELP ");
        out.extend_from_slice(self.namespace.as_bytes());
        out.extend_from_slice(base.as_bytes());
        out.push(b' ');
        match (family.help, format) {
            (Help::Raw(help), Format::Text | Format::Protobuf) => escape::help_text(out, help),
            (Help::Raw(help), Format::OpenMetrics) => escape::help_openmetrics(out, help),
            (Help::Escaped(help), Format::Text | Format::Protobuf) => {
                out.extend_from_slice(help.text().as_bytes())
            }
            (Help::Escaped(help), Format::OpenMetrics) => {
                out.extend_from_slice(help.openmetrics().as_bytes())
            }
        }
        out.extend_from_slice(b"\n# TYPE ");
        out.extend_from_slice(self.namespace.as_bytes());
        out.extend_from_slice(base.as_bytes());
        out.push(b' ');
        out.extend_from_slice(family.kind.type_word(format).as_bytes());
        out.push(b'\n');
        FamilyEncoder {
            encoder: self,
            base,
            kind: family.kind,
            counter_total,
        }
    }

    /// A writer for more samples of `family`, whose HELP and TYPE lines are already in the
    /// output (an exposition plan's static bytes), in text 0.0.4 or OpenMetrics: nothing is
    /// written here. Protobuf frames each family as one message, so a plan never splits
    /// one there; this writer would append samples to whatever message is open.
    pub(crate) fn family_continued<'e>(&'e mut self, family: &Family<'e>) -> FamilyEncoder<'e, 'a> {
        let base = self.base_name(family);
        let counter_total = family.kind == Kind::Counter && self.format == Format::OpenMetrics;
        FamilyEncoder {
            encoder: self,
            base,
            kind: family.kind,
            counter_total,
        }
    }

    /// Completes the families written so far without ending the exposition (no `# EOF`), so
    /// that another encoder can continue in the same buffer. Only protobuf needs it (the last
    /// family's length is stored here); in the text formats it does nothing.
    pub fn end_part(mut self) {
        self.protobuf.finish(self.out);
    }

    /// Ends the exposition: `# EOF` in OpenMetrics, nothing in text 0.0.4; in protobuf it
    /// completes the last family, so a protobuf exposition is valid only after `finish`.
    pub fn finish(mut self) {
        self.protobuf.finish(self.out);
        if self.format == Format::OpenMetrics {
            self.out.extend_from_slice(b"# EOF\n");
        }
    }
}

/// The names on the `# TYPE` lines an encoder has written, as hashes; see [`Encoder::family`].
#[derive(Debug)]
struct WrittenFamilies {
    /// Where the encoder's exposition starts in its buffer (what was there before is not ours).
    start: usize,
    /// How far the buffer has been read for `# TYPE` lines (always at a line start).
    scanned_to: usize,
    hashes: HashSet<u64, BuildHasherDefault<AlreadyHashed>>,
}

/// The hasher of a set whose keys are hashes already (FNV-1a of a name): passes them through,
/// so building an encoder touches no random-state thread-local.
#[derive(Debug, Default)]
struct AlreadyHashed(u64);

impl Hasher for AlreadyHashed {
    fn finish(&self) -> u64 {
        self.0
    }

    fn write(&mut self, bytes: &[u8]) {
        // Only `u64` keys are hashed; this is for completeness.
        self.0 = fnv1a(&[bytes]);
    }

    fn write_u64(&mut self, value: u64) {
        self.0 = value;
    }
}

impl WrittenFamilies {
    /// Whether `namespace` + `base` is the name of a `# TYPE` line in `out` (in protobuf: of
    /// a complete `MetricFamily` message).
    fn contains(&mut self, out: &[u8], format: Format, namespace: &str, base: &str) -> bool {
        if format == Format::Protobuf {
            let wanted = fnv1a(&[namespace.as_bytes(), base.as_bytes()]);
            let from = self.scanned_to.min(out.len());
            let hashes = &mut self.hashes;
            self.scanned_to = protobuf::family_names(out, from, |name| {
                hashes.insert(fnv1a(&[name]));
            });
            // Names are compared by hash only here: a 64-bit collision between two family
            // names of one exposition would refuse a family, never write an invalid one.
            return self.hashes.contains(&wanted);
        }
        for line in out[self.scanned_to.min(out.len())..].split(|&byte| byte == b'\n') {
            if let Some(name) = type_line_name(line) {
                self.hashes.insert(fnv1a(&[name]));
            }
        }
        self.scanned_to = out.len();
        if !self
            .hashes
            .contains(&fnv1a(&[namespace.as_bytes(), base.as_bytes()]))
        {
            return false;
        }
        // A hash can collide: confirm on the text (rare, so the full read does not matter).
        out[self.start.min(out.len())..]
            .split(|&byte| byte == b'\n')
            .filter_map(type_line_name)
            .any(|name| name.strip_prefix(namespace.as_bytes()) == Some(base.as_bytes()))
    }
}

/// The metric name of a `# TYPE name type` line.
fn type_line_name(line: &[u8]) -> Option<&[u8]> {
    let rest = line.strip_prefix(b"# TYPE ")?;
    let end = rest.iter().position(|&byte| byte == b' ')?;
    Some(&rest[..end])
}

/// FNV-1a over the concatenation of `parts`.
fn fnv1a(parts: &[&[u8]]) -> u64 {
    let mut hash: u64 = 0xcbf2_9ce4_8422_2325;
    for byte in parts.iter().flat_map(|part| part.iter()) {
        hash = (hash ^ u64::from(*byte)).wrapping_mul(0x0000_0100_0000_01b3);
    }
    hash
}

/// Writes the samples of one family; see [`Encoder::family`].
#[derive(Debug)]
pub struct FamilyEncoder<'e, 'a> {
    encoder: &'e mut Encoder<'a>,
    base: &'e str,
    kind: Kind,
    counter_total: bool,
}

impl FamilyEncoder<'_, '_> {
    /// The format being written.
    pub fn format(&self) -> Format {
        self.encoder.format
    }

    /// Writes one sample: the family name, then `suffix`, the constant labels, `labels`,
    /// and the value. The suffix is a [`Suffix`], not any text, and there is no free-form
    /// "extra" label any more (the old form below wrote whatever it was given):
    ///
    /// ```compile_fail,E0061
    /// use promstatic::encode::{Encoder, Family, Format, Help, Kind, Value};
    /// let mut out = Vec::new();
    /// let mut encoder = Encoder::new(&mut out, Format::Text);
    /// let family = Family::new("g", Kind::Gauge, Help::Raw("x")).unwrap();
    /// encoder.family(&family).unwrap().sample(" 1\nevil", &[], None, Value::Unsigned(1));
    /// ```
    /// Refused, with nothing written, if the suffix does not fit the family's
    /// type, a label name repeats (constant labels included), a histogram's sample carries
    /// `le`, or (OpenMetrics) a counter's value or a histogram's `_count` is negative or NaN.
    pub fn sample(
        &mut self,
        suffix: Suffix,
        labels: &[Label<'_>],
        value: Value,
    ) -> Result<(), EncodeError> {
        let fits = match self.kind {
            Kind::Histogram => suffix != Suffix::Bare,
            _ => suffix == Suffix::Bare,
        };
        if !fits {
            return Err(EncodeError::SuffixForKind {
                suffix,
                kind: self.kind,
            });
        }
        self.check_labels(labels)?;
        let is_count = self.kind == Kind::Counter || suffix == Suffix::Count;
        if is_count && self.encoder.format == Format::OpenMetrics && !is_a_count(value) {
            return Err(EncodeError::InvalidCount {
                family: self.base.to_owned(),
                value,
            });
        }
        self.sample_trusted(suffix, labels, value);
        Ok(())
    }

    /// Writes `# UNIT` for this family in OpenMetrics (nothing in text 0.0.4, which has no
    /// unit line); call it before the first sample. OpenMetrics requires the family name to
    /// end with `_` and the unit, so the line is written only when it does: `false` says it
    /// was not. `unit` must be a valid metric-name fragment (`[a-zA-Z0-9_]`), checked here.
    pub fn unit(&mut self, unit: &str) -> bool {
        let fits = !unit.is_empty()
            && unit
                .bytes()
                .all(|byte| byte.is_ascii_alphanumeric() || byte == b'_')
            && self
                .base
                .strip_suffix(unit)
                .is_some_and(|rest| rest.ends_with('_'));
        if !fits || self.encoder.format != Format::OpenMetrics {
            return fits;
        }
        let out = &mut *self.encoder.out;
        out.extend_from_slice(b"# UNIT ");
        out.extend_from_slice(self.encoder.namespace.as_bytes());
        out.extend_from_slice(self.base.as_bytes());
        out.push(b' ');
        out.extend_from_slice(unit.as_bytes());
        out.push(b'\n');
        true
    }

    /// Writes one `_bucket` sample of a histogram: `labels`, then `le` with the bound spelled
    /// as the format wants it (`0.5`, `1` in text 0.0.4; canonical `1.0` in OpenMetrics;
    /// `+Inf` in both), then the cumulative count. Refused, with nothing written, for a
    /// family that is not a histogram, a NaN bound, or labels that [`FamilyEncoder::sample`]
    /// would refuse.
    pub fn bucket(
        &mut self,
        labels: &[Label<'_>],
        le: f64,
        cumulative_count: u64,
    ) -> Result<(), EncodeError> {
        if self.kind != Kind::Histogram {
            return Err(EncodeError::BucketOfNonHistogram { kind: self.kind });
        }
        if le.is_nan() {
            return Err(EncodeError::NanBound);
        }
        self.check_labels(labels)?;
        self.bucket_trusted(labels, le, cumulative_count);
        Ok(())
    }

    /// No label name twice (constant labels included), no `le` on a histogram's samples.
    fn check_labels(&self, labels: &[Label<'_>]) -> Result<(), EncodeError> {
        let constant = self.encoder.const_labels;
        for (index, label) in constant.iter().chain(labels).enumerate() {
            if self.kind == Kind::Histogram && label.name == "le" {
                return Err(EncodeError::ReservedLabel {
                    name: label.name.to_owned(),
                });
            }
            let earlier = constant.iter().chain(labels).take(index);
            if earlier.into_iter().any(|other| other.name == label.name) {
                return Err(EncodeError::DuplicateLabel {
                    name: label.name.to_owned(),
                });
            }
        }
        Ok(())
    }

    /// [`FamilyEncoder::sample`] without the checks, for the crate's own metrics (whose
    /// labels the macro checked) on the scrape path.
    pub(crate) fn sample_trusted(&mut self, suffix: Suffix, labels: &[Label<'_>], value: Value) {
        self.write_sample(suffix.as_str(), labels, None, value, None, None);
    }

    /// [`sample_trusted`](Self::sample_trusted) for a line of a series whose other lines
    /// share `series` (the same `labels`): the label list is copied from the series' first
    /// line rather than written again.
    pub(crate) fn sample_in_series(
        &mut self,
        suffix: Suffix,
        labels: &[Label<'_>],
        value: Value,
        series: &mut SeriesLabels,
    ) {
        self.write_sample(suffix.as_str(), labels, None, value, None, Some(series));
    }

    /// [`bucket_trusted_with_exemplar`](Self::bucket_trusted_with_exemplar) for a line of a
    /// series whose other lines share `series`; see [`sample_in_series`](Self::sample_in_series).
    pub(crate) fn bucket_in_series(
        &mut self,
        labels: &[Label<'_>],
        le: f64,
        cumulative_count: u64,
        exemplar: Option<&Snapshot>,
        series: &mut SeriesLabels,
    ) {
        self.bucket_line(labels, le, cumulative_count, exemplar, Some(series));
    }

    /// [`FamilyEncoder::bucket`] without the checks (bounds checked at compile time).
    pub(crate) fn bucket_trusted(&mut self, labels: &[Label<'_>], le: f64, cumulative_count: u64) {
        self.bucket_trusted_with_exemplar(labels, le, cumulative_count, None);
    }

    /// A counter's sample, followed by its exemplar where the format has them (OpenMetrics
    /// and protobuf; left out in text 0.0.4). OpenMetrics allows exemplars on a counter's
    /// `_total` sample and on buckets only, so these two are the only ways to write one.
    pub(crate) fn counter_trusted_with_exemplar(
        &mut self,
        labels: &[Label<'_>],
        value: u64,
        exemplar: Option<&Snapshot>,
    ) {
        self.write_sample("", labels, None, Value::Unsigned(value), exemplar, None);
    }

    /// [`bucket_trusted`](Self::bucket_trusted) followed by an exemplar where the format has
    /// them.
    pub(crate) fn bucket_trusted_with_exemplar(
        &mut self,
        labels: &[Label<'_>],
        le: f64,
        cumulative_count: u64,
        exemplar: Option<&Snapshot>,
    ) {
        self.bucket_line(labels, le, cumulative_count, exemplar, None);
    }

    fn bucket_line(
        &mut self,
        labels: &[Label<'_>],
        le: f64,
        cumulative_count: u64,
        exemplar: Option<&Snapshot>,
        series: Option<&mut SeriesLabels>,
    ) {
        let value = Value::Unsigned(cumulative_count);
        let le = Some(Extra::Le(le));
        self.write_sample("_bucket", labels, le, value, exemplar, series);
    }

    fn write_sample(
        &mut self,
        suffix: &str,
        labels: &[Label<'_>],
        extra: Option<Extra>,
        value: Value,
        exemplar: Option<&Snapshot>,
        series: Option<&mut SeriesLabels>,
    ) {
        let format = self.encoder.format;
        if format == Format::Protobuf {
            let encoder = &mut *self.encoder;
            encoder.protobuf.sample(
                encoder.out,
                encoder.const_labels,
                suffix,
                labels,
                extra,
                value,
                exemplar,
            );
            return;
        }
        self.write_prefix(suffix, labels, extra, series);
        let out = &mut *self.encoder.out;
        match value {
            Value::Unsigned(value) => number::write_u64(out, value),
            Value::Signed(value) => number::write_i64(out, value),
            Value::Float(value) => number::write_f64(out, value),
        }
        if let (Some(exemplar), Format::OpenMetrics) = (exemplar, format) {
            write_exemplar(out, exemplar);
        }
        out.push(b'\n');
    }

    /// A text sample's line up to its value: name, suffix, labels, the space. The exposition
    /// plan (`encode::plan`) keeps these bytes and writes only the value per scrape.
    fn write_prefix(
        &mut self,
        suffix: &str,
        labels: &[Label<'_>],
        extra: Option<Extra>,
        mut series: Option<&mut SeriesLabels>,
    ) {
        let format = self.encoder.format;
        let encoder = &mut *self.encoder;
        let out = &mut *encoder.out;
        let line_start = out.len();
        let bucket_head = series
            .as_ref()
            .and_then(|series| series.bucket_head.clone());
        if let (Some(head), Some(Extra::Le(bound))) = (bucket_head, &extra) {
            // Every bucket line of a series starts the same, up to `le="`: copy the first's.
            out.extend_from_within(head);
            write_bound(out, format, *bound);
            out.extend_from_slice(b"\"} ");
            return;
        }
        out.extend_from_slice(encoder.namespace.as_bytes());
        out.extend_from_slice(self.base.as_bytes());
        if self.counter_total {
            out.extend_from_slice(b"_total");
        }
        out.extend_from_slice(suffix.as_bytes());
        let mut first = true;
        match series.as_ref().and_then(|series| series.written.clone()) {
            // The series' first line wrote the list: copy it (the output only grew since).
            Some(written) => {
                if !written.is_empty() {
                    out.push(b'{');
                    out.extend_from_within(written);
                    first = false;
                }
            }
            None => {
                let start = out.len() + 1;
                for label in encoder.const_labels.iter().chain(labels) {
                    out.push(if first { b'{' } else { b',' });
                    first = false;
                    write_label(out, label);
                }
                if let Some(series) = series.as_mut() {
                    series.written = Some(if first { 0..0 } else { start..out.len() });
                }
            }
        }
        match extra {
            None => {}
            Some(Extra::Le(bound)) => {
                out.extend_from_slice(if first { b"{le=\"" } else { b",le=\"" });
                first = false;
                if let Some(series) = series {
                    series.bucket_head = Some(line_start..out.len());
                }
                write_bound(out, format, bound);
                out.push(b'"');
            }
        }
        if !first {
            out.push(b'}');
        }
        out.push(b' ');
    }
}

/// Where a series' label list (constant labels, then its own, comma-separated, without the
/// braces) lies in the output once the series' first line wrote it, so that its other lines
/// (a histogram's buckets, sum and count) copy those bytes instead of writing and escaping
/// every label again. Positions stay valid because the output only grows while one series
/// is written; a new series starts with a new `SeriesLabels`.
#[derive(Debug, Default)]
pub(crate) struct SeriesLabels {
    written: Option<std::ops::Range<usize>>,
    /// The first bucket line up to `le="`, which every bucket line of the series repeats.
    bucket_head: Option<std::ops::Range<usize>>,
}

/// A bucket's `le` value as the format spells it.
fn write_bound(out: &mut Vec<u8>, format: Format, bound: f64) {
    match format {
        Format::Text | Format::Protobuf => number::write_f64(out, bound),
        Format::OpenMetrics => number::write_f64_canonical(out, bound),
    }
}

/// An OpenMetrics exemplar after a sample's value: ` # {labels} value timestamp`.
fn write_exemplar(out: &mut Vec<u8>, exemplar: &Snapshot) {
    out.extend_from_slice(b" # {");
    for (index, (name, value)) in exemplar.labels().enumerate() {
        if index > 0 {
            out.push(b',');
        }
        out.extend_from_slice(name.as_bytes());
        out.extend_from_slice(b"=\"");
        escape::label_value(out, value);
        out.push(b'"');
    }
    out.extend_from_slice(b"} ");
    number::write_f64(out, exemplar.value());
    if let Some(nanos) = exemplar.timestamp_nanos() {
        out.push(b' ');
        number::write_u64(out, nanos / 1_000_000_000);
        // Seconds with all nine decimals: exact, and a float to every parser.
        let fraction = nanos % 1_000_000_000;
        out.push(b'.');
        let mut divisor = 100_000_000;
        while divisor > 0 {
            out.push(b'0' + ((fraction / divisor) % 10) as u8);
            divisor /= 10;
        }
    }
}

impl FamilyEncoder<'_, '_> {
    /// In protobuf, writes one `Metric` with the constant labels and `labels` whose
    /// `Histogram` message body `write` fills in (field helpers in `encode::protobuf`); the
    /// native histogram's encoder uses it. Returns `false`, writing nothing, in text formats.
    pub(crate) fn protobuf_histogram(
        &mut self,
        labels: &[Label<'_>],
        write: impl FnOnce(&mut Vec<u8>),
    ) -> bool {
        if self.encoder.format != Format::Protobuf {
            return false;
        }
        let encoder = &mut *self.encoder;
        encoder
            .protobuf
            .histogram(encoder.out, encoder.const_labels, labels, write);
        true
    }
}

/// What follows the labels of a sample.
enum Extra {
    Le(f64),
}

/// Whether `value` is a valid OpenMetrics count: not negative, not NaN.
fn is_a_count(value: Value) -> bool {
    match value {
        Value::Unsigned(_) => true,
        Value::Signed(value) => value >= 0,
        Value::Float(value) => value >= 0.0,
    }
}

fn write_label(out: &mut Vec<u8>, label: &Label<'_>) {
    out.extend_from_slice(label.name.as_bytes());
    out.extend_from_slice(b"=\"");
    match label.value {
        Text::Raw(value) => escape::label_value(out, value),
        Text::Escaped(value) => out.extend_from_slice(value.as_str().as_bytes()),
    }
    out.push(b'"');
}

#[cfg(test)]
mod tests {
    use super::*;

    fn render(format: Format, write: impl FnOnce(&mut Encoder<'_>)) -> String {
        let mut out = Vec::new();
        let mut encoder = Encoder::new(&mut out, format);
        write(&mut encoder);
        encoder.finish();
        String::from_utf8(out).unwrap()
    }

    #[test]
    fn counter_in_both_formats() {
        let family = Family::new("a_total", Kind::Counter, Help::Raw("say \"hi\"\\\n")).unwrap();
        let write = |encoder: &mut Encoder<'_>| {
            encoder
                .family(&family)
                .unwrap()
                .sample(Suffix::Bare, &[], Value::Unsigned(7))
                .unwrap()
        };
        assert_eq!(
            render(Format::Text, write),
            "# HELP a_total say \"hi\"\\\\\\n\n# TYPE a_total counter\na_total 7\n"
        );
        assert_eq!(
            render(Format::OpenMetrics, write),
            "# HELP a say \\\"hi\\\"\\\\\\n\n# TYPE a counter\na_total 7\n# EOF\n"
        );
    }

    #[test]
    fn namespace_const_labels_and_extra() {
        let constant = [Label::new("env", "prod").unwrap()];
        let labels = [Label::new("path", "/a\"b").unwrap()];
        let family = Family::new("latency", Kind::Histogram, Help::Raw("x")).unwrap();
        let text = {
            let mut out = Vec::new();
            let mut encoder = Encoder::new(&mut out, Format::Text)
                .checked_namespace("app_")
                .unwrap()
                .with_const_labels(&constant);
            let mut writer = encoder.family(&family).unwrap();
            writer.bucket(&labels, f64::INFINITY, 1).unwrap();
            writer
                .sample(Suffix::Sum, &labels, Value::Float(f64::NAN))
                .unwrap();
            String::from_utf8(out).unwrap()
        };
        assert_eq!(
            text,
            "# HELP app_latency x\n# TYPE app_latency histogram\n\
             app_latency_bucket{env=\"prod\",path=\"/a\\\"b\",le=\"+Inf\"} 1\n\
             app_latency_sum{env=\"prod\",path=\"/a\\\"b\"} NaN\n"
        );
    }

    #[test]
    fn bucket_bounds_per_format() {
        let family = Family::new("h", Kind::Histogram, Help::Raw("x")).unwrap();
        let labels = [Label::new("a", "b").unwrap()];
        let write = |encoder: &mut Encoder<'_>| {
            let mut writer = encoder.family(&family).unwrap();
            writer.bucket(&[], 1.0, 2).unwrap();
            writer.bucket(&labels, 0.25, 3).unwrap();
            writer.bucket(&labels, f64::INFINITY, 4).unwrap();
        };
        assert_eq!(
            render(Format::Text, write),
            "# HELP h x\n# TYPE h histogram\nh_bucket{le=\"1\"} 2\n\
             h_bucket{a=\"b\",le=\"0.25\"} 3\nh_bucket{a=\"b\",le=\"+Inf\"} 4\n"
        );
        assert_eq!(
            render(Format::OpenMetrics, write),
            "# HELP h x\n# TYPE h histogram\nh_bucket{le=\"1.0\"} 2\n\
             h_bucket{a=\"b\",le=\"0.25\"} 3\nh_bucket{a=\"b\",le=\"+Inf\"} 4\n# EOF\n"
        );
    }

    #[test]
    fn unknown_is_untyped_in_text() {
        let family = Family::new("u", Kind::Unknown, Help::Raw("")).unwrap();
        let write = |encoder: &mut Encoder<'_>| {
            encoder
                .family(&family)
                .unwrap()
                .sample(Suffix::Bare, &[], Value::Signed(-1))
                .unwrap()
        };
        assert_eq!(
            render(Format::Text, write),
            "# HELP u \n# TYPE u untyped\nu -1\n"
        );
        assert_eq!(
            render(Format::OpenMetrics, write),
            "# HELP u \n# TYPE u unknown\nu -1\n# EOF\n"
        );
    }

    #[test]
    fn names_are_validated() {
        assert!(Family::new("bad name", Kind::Gauge, Help::Raw("")).is_err());
        assert!(Label::new("__x", "v").is_err());
        let mut out = Vec::new();
        assert!(
            Encoder::new(&mut out, Format::Text)
                .checked_namespace("a:")
                .is_err()
        );
    }
}
