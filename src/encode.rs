//! The exposition encoder: Prometheus text 0.0.4 and OpenMetrics 1.0.0.
//!
//! One implementation serves two callers. The static table ([`crate::render`]) feeds it names
//! and HELP that the `#[metric]` macro validated and escaped at compile time, so a scrape only
//! formats numbers. Run-time callers (tests, bridges from other sources) build a [`Family`]
//! and [`Label`]s from strings; their constructors validate names, and their text is escaped as
//! it is written.
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
//! ```
//! use promstatic::encode::{Encoder, Family, Format, Help, Kind, Label, Value};
//!
//! let mut out = Vec::new();
//! let mut encoder = Encoder::new(&mut out, Format::Text);
//! let family = Family::new("jobs_done_total", Kind::Counter, Help::Raw("Jobs done.")).unwrap();
//! let label = Label::new("queue", "high \"prio\"").unwrap();
//! encoder.family(&family).sample("", &[label], None, Value::Unsigned(3));
//! encoder.finish();
//! let expected = "# HELP jobs_done_total Jobs done.\n# TYPE jobs_done_total counter\n\
//!     jobs_done_total{queue=\"high \\\"prio\\\"\"} 3\n";
//! assert_eq!(String::from_utf8(out).unwrap(), expected);
//! ```

#[doc(inline)]
pub use promstatic_syntax::escape;
pub mod number;
pub(crate) mod protobuf;

use crate::exemplar::Snapshot;
use crate::name::{self, NameError};

/// An exposition format.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Format {
    /// The Prometheus text format, version 0.0.4.
    Text,
    /// OpenMetrics text, version 1.0.0.
    OpenMetrics,
    /// Prometheus' protobuf exposition: length-delimited `io.prometheus.client.MetricFamily`
    /// messages (the only format that carries native histograms; see `encode::protobuf`).
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
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Help<'a> {
    /// Unescaped text; escaped for the target format as it is written.
    Raw(&'a str),
    /// Text escaped ahead of time (by the `#[metric]` macro) for each format.
    Escaped {
        /// Escaped per text 0.0.4 (`\\`, `\n`).
        text: &'a str,
        /// Escaped per OpenMetrics (`\\`, `\n`, `\"`).
        openmetrics: &'a str,
    },
}

/// Text that goes between the quotes of a label value.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Text<'a> {
    /// Unescaped; escaped as it is written.
    Raw(&'a str),
    /// Already escaped (label values prepared at compile time).
    Escaped(&'a str),
}

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
    /// A family with a validated metric name.
    pub fn new(name: &'a str, kind: Kind, help: Help<'a>) -> Result<Self, NameError> {
        name::validate_metric_name(name)?;
        Ok(Family { name, kind, help })
    }

    /// A family whose name the caller has already validated (the `#[metric]` macro).
    #[doc(hidden)]
    pub const fn prevalidated(name: &'a str, kind: Kind, help: Help<'a>) -> Self {
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
    pub fn new(name: &'a str, value: &'a str) -> Result<Self, NameError> {
        name::validate_label_name(name)?;
        Ok(Label {
            name,
            value: Text::Raw(value),
        })
    }

    /// A label whose name was validated and whose value was escaped ahead of time.
    #[doc(hidden)]
    pub const fn prevalidated(name: &'a str, value: Text<'a>) -> Self {
        Label { name, value }
    }
}

/// Writes one exposition into a buffer.
#[derive(Debug)]
pub struct Encoder<'a> {
    out: &'a mut Vec<u8>,
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
            out,
            format,
            namespace: "",
            const_labels: &[],
            protobuf: protobuf::FamilyState::NONE,
        }
    }

    /// Prefixes every metric name with `prefix` (written as given, e.g. `"myapp_"`).
    ///
    /// The prefix must itself be a valid metric name start; [`Encoder::checked_namespace`]
    /// validates it.
    pub fn with_namespace(mut self, prefix: &'a str) -> Self {
        self.namespace = prefix;
        self
    }

    /// Validates `prefix` and sets it as with [`Encoder::with_namespace`].
    pub fn checked_namespace(self, prefix: &'a str) -> Result<Self, NameError> {
        if !prefix.is_empty() {
            name::validate_metric_name(prefix)?;
        }
        Ok(self.with_namespace(prefix))
    }

    /// Adds these labels, first, to every sample.
    pub fn with_const_labels(mut self, labels: &'a [Label<'a>]) -> Self {
        self.const_labels = labels;
        self
    }

    /// The format being written.
    pub fn format(&self) -> Format {
        self.format
    }

    /// Writes a family's `# HELP` and `# TYPE` lines and returns a writer for its samples.
    pub fn family<'e>(&'e mut self, family: &Family<'e>) -> FamilyEncoder<'e, 'a> {
        let format = self.format;
        if format == Format::Protobuf {
            // The previous family's length is known now (or at `finish`).
            self.protobuf.finish(self.out);
            self.protobuf = protobuf::FamilyState::start(self.out, self.namespace, family);
            return FamilyEncoder {
                encoder: self,
                base: family.name,
                counter_total: false,
            };
        }
        let (base, counter_total) = match (family.kind, format) {
            // A counter named just `_total` keeps its name: stripping would leave none.
            (Kind::Counter, Format::OpenMetrics) => (
                family
                    .name
                    .strip_suffix("_total")
                    .filter(|base| !base.is_empty())
                    .unwrap_or(family.name),
                true,
            ),
            _ => (family.name, false),
        };
        let out = &mut *self.out;
        out.extend_from_slice(b"# HELP ");
        out.extend_from_slice(self.namespace.as_bytes());
        out.extend_from_slice(base.as_bytes());
        out.push(b' ');
        match (family.help, format) {
            (Help::Raw(help), Format::Text | Format::Protobuf) => escape::help_text(out, help),
            (Help::Raw(help), Format::OpenMetrics) => escape::help_openmetrics(out, help),
            (Help::Escaped { text, .. }, Format::Text | Format::Protobuf) => {
                out.extend_from_slice(text.as_bytes())
            }
            (Help::Escaped { openmetrics, .. }, Format::OpenMetrics) => {
                out.extend_from_slice(openmetrics.as_bytes())
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

/// Writes the samples of one family; see [`Encoder::family`].
#[derive(Debug)]
pub struct FamilyEncoder<'e, 'a> {
    encoder: &'e mut Encoder<'a>,
    base: &'e str,
    counter_total: bool,
}

impl FamilyEncoder<'_, '_> {
    /// The format being written.
    pub fn format(&self) -> Format {
        self.encoder.format
    }

    /// Writes one sample: the family name, then `suffix` (`""`, `"_bucket"`, `"_sum"`,
    /// `"_count"`), the constant labels, `labels`, then `extra` (a histogram's `le`), and
    /// the value.
    pub fn sample(
        &mut self,
        suffix: &str,
        labels: &[Label<'_>],
        extra: Option<Label<'_>>,
        value: Value,
    ) {
        self.write_sample(suffix, labels, extra.map(Extra::Label), value, None);
    }

    /// [`sample`](Self::sample) without an extra label, followed by an exemplar where the
    /// format has them (OpenMetrics and protobuf; dropped in text 0.0.4). Only counters call
    /// it: OpenMetrics allows exemplars on a counter's `_total` sample and on buckets only.
    pub(crate) fn sample_with_exemplar(
        &mut self,
        suffix: &str,
        labels: &[Label<'_>],
        value: Value,
        exemplar: Option<&Snapshot>,
    ) {
        self.write_sample(suffix, labels, None, value, exemplar);
    }

    /// [`bucket`](Self::bucket) followed by an exemplar where the format has them.
    pub(crate) fn bucket_with_exemplar(
        &mut self,
        labels: &[Label<'_>],
        le: f64,
        cumulative_count: u64,
        exemplar: Option<&Snapshot>,
    ) {
        self.write_sample(
            "_bucket",
            labels,
            Some(Extra::Le(le)),
            Value::Unsigned(cumulative_count),
            exemplar,
        );
    }

    /// Writes one `_bucket` sample of a histogram: `labels`, then `le` with the bound spelled
    /// as the format wants it (`0.5`, `1` in text 0.0.4; canonical `1.0` in OpenMetrics;
    /// `+Inf` in both), then the cumulative count.
    pub fn bucket(&mut self, labels: &[Label<'_>], le: f64, cumulative_count: u64) {
        self.write_sample(
            "_bucket",
            labels,
            Some(Extra::Le(le)),
            Value::Unsigned(cumulative_count),
            None,
        );
    }

    fn write_sample(
        &mut self,
        suffix: &str,
        labels: &[Label<'_>],
        extra: Option<Extra<'_>>,
        value: Value,
        exemplar: Option<&Snapshot>,
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
        let encoder = &mut *self.encoder;
        let out = &mut *encoder.out;
        out.extend_from_slice(encoder.namespace.as_bytes());
        out.extend_from_slice(self.base.as_bytes());
        if self.counter_total {
            out.extend_from_slice(b"_total");
        }
        out.extend_from_slice(suffix.as_bytes());
        let mut first = true;
        for label in encoder.const_labels.iter().chain(labels) {
            out.push(if first { b'{' } else { b',' });
            first = false;
            write_label(out, label);
        }
        match extra {
            None => {}
            Some(Extra::Label(label)) => {
                out.push(if first { b'{' } else { b',' });
                first = false;
                write_label(out, &label);
            }
            Some(Extra::Le(bound)) => {
                out.extend_from_slice(if first { b"{le=\"" } else { b",le=\"" });
                first = false;
                match format {
                    Format::Text | Format::Protobuf => number::write_f64(out, bound),
                    Format::OpenMetrics => number::write_f64_canonical(out, bound),
                }
                out.push(b'"');
            }
        }
        if !first {
            out.push(b'}');
        }
        out.push(b' ');
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
enum Extra<'l> {
    Label(Label<'l>),
    Le(f64),
}

fn write_label(out: &mut Vec<u8>, label: &Label<'_>) {
    out.extend_from_slice(label.name.as_bytes());
    out.extend_from_slice(b"=\"");
    match label.value {
        Text::Raw(value) => escape::label_value(out, value),
        Text::Escaped(value) => out.extend_from_slice(value.as_bytes()),
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
                .sample("", &[], None, Value::Unsigned(7))
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
            let mut writer = encoder.family(&family);
            writer.sample(
                "_bucket",
                &labels,
                Some(Label::prevalidated("le", Text::Escaped("+Inf"))),
                Value::Unsigned(1),
            );
            writer.sample("_sum", &labels, None, Value::Float(f64::NAN));
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
            let mut writer = encoder.family(&family);
            writer.bucket(&[], 1.0, 2);
            writer.bucket(&labels, 0.25, 3);
            writer.bucket(&labels, f64::INFINITY, 4);
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
                .sample("", &[], None, Value::Signed(-1))
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
