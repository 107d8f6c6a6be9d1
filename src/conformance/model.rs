//! What the parser read: families with their metadata and samples, as written.

use crate::encode::Format;

/// A family's declared type (`Unknown` is spelled `untyped` in text 0.0.4).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
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
    pub(super) fn from_word(word: &str, format: Format) -> Option<Self> {
        Some(match (word, format) {
            ("counter", _) => FamilyType::Counter,
            ("gauge", _) => FamilyType::Gauge,
            ("histogram", _) => FamilyType::Histogram,
            ("summary", _) => FamilyType::Summary,
            ("untyped", Format::Text) | ("unknown", Format::OpenMetrics) => FamilyType::Unknown,
            ("gaugehistogram", Format::OpenMetrics) => FamilyType::GaugeHistogram,
            ("info", Format::OpenMetrics) => FamilyType::Info,
            ("stateset", Format::OpenMetrics) => FamilyType::StateSet,
            _ => return None,
        })
    }

    /// The suffixes its sample names may add to the family name.
    pub(super) fn suffixes(self, format: Format) -> &'static [&'static str] {
        match (self, format) {
            (FamilyType::Counter, Format::Text | Format::Protobuf) => &[""],
            (FamilyType::Counter, Format::OpenMetrics) => &["_total", "_created"],
            (FamilyType::Gauge | FamilyType::Unknown | FamilyType::StateSet, _) => &[""],
            (FamilyType::Histogram, Format::Text | Format::Protobuf) => {
                &["_bucket", "_sum", "_count"]
            }
            (FamilyType::Histogram, Format::OpenMetrics) => {
                &["_bucket", "_sum", "_count", "_created"]
            }
            (FamilyType::GaugeHistogram, _) => &["_bucket", "_gsum", "_gcount"],
            (FamilyType::Summary, Format::Text | Format::Protobuf) => &["", "_sum", "_count"],
            (FamilyType::Summary, Format::OpenMetrics) => &["", "_sum", "_count", "_created"],
            (FamilyType::Info, _) => &["_info"],
        }
    }
}

/// A sample value: the float Go's `ParseFloat` would produce, plus the exact integer when the
/// token was written as one (so `u64::MAX` survives a round trip).
#[derive(Debug, Clone, Copy)]
pub struct Number {
    /// The value as a float.
    pub float: f64,
    /// The exact value when the token is `[sign] digits`.
    pub integer: Option<i128>,
}

/// Label pairs in the order written, values unescaped.
pub type Labels = Vec<(String, String)>;

/// An exemplar (OpenMetrics only).
#[derive(Debug, Clone)]
pub struct Exemplar {
    /// Its label set.
    pub labels: Labels,
    /// Its value.
    pub value: f64,
    /// Its timestamp in seconds, if given.
    pub timestamp: Option<f64>,
}

/// One sample line.
#[derive(Debug, Clone)]
pub struct Sample {
    /// The full sample name (`x_bucket`, `x_total`, …).
    pub name: String,
    /// Labels in the order written, unescaped.
    pub labels: Labels,
    /// The value.
    pub value: Number,
    /// Milliseconds (text 0.0.4) or seconds (OpenMetrics), if given.
    pub timestamp: Option<f64>,
    /// The exemplar, if any.
    pub exemplar: Option<Exemplar>,
    /// The 1-based line it was read from.
    pub line: usize,
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
    /// The 1-based line of its first line (metadata or sample).
    pub line: usize,
}

impl Family {
    /// Its samples named `suffix` after the family name (`""`, `"_total"`, `"_bucket"`, …).
    pub fn samples_named<'a>(&'a self, suffix: &'a str) -> impl Iterator<Item = &'a Sample> {
        self.samples.iter().filter(move |sample| {
            sample
                .name
                .strip_prefix(self.name.as_str())
                .is_some_and(|rest| rest == suffix)
        })
    }
}

/// A parsed exposition.
#[derive(Debug, Clone)]
pub struct Exposition {
    /// The format it was parsed as.
    pub format: Format,
    /// Families in the order written.
    pub families: Vec<Family>,
}

impl Exposition {
    /// The family named `name` (without `_total` for an OpenMetrics counter).
    pub fn family(&self, name: &str) -> Option<&Family> {
        self.families.iter().find(|family| family.name == name)
    }

    /// Every sample, in the order written.
    pub fn samples(&self) -> impl Iterator<Item = &Sample> {
        self.families.iter().flat_map(|family| &family.samples)
    }

    /// The value of the sample named `name` with exactly the labels `labels` (in any order).
    pub fn value(&self, name: &str, labels: &[(&str, &str)]) -> Option<f64> {
        self.samples()
            .find(|sample| {
                sample.name == name
                    && sample.labels.len() == labels.len()
                    && labels
                        .iter()
                        .all(|(label, value)| sample.label(label) == Some(*value))
            })
            .map(|sample| sample.value.float)
    }
}
