//! The Prometheus protobuf exposition: length-delimited `io.prometheus.client.MetricFamily`
//! messages, written by hand into the encoder's reused buffer.
//!
//! # Wire format
//!
//! A scrape is a sequence of `MetricFamily` messages, each preceded by its length as a varint
//! (`encoding=delimited`). Field numbers are those of Prometheus' `metrics.proto`
//! (`io.prometheus.client`, also vendored as `prompb/io/prometheus/client/metrics.proto`):
//!
//! | message | fields used here |
//! |---|---|
//! | `MetricFamily` | `name = 1`, `help = 2`, `type = 3` (enum), `metric = 4` |
//! | `Metric` | `label = 1`, `gauge = 2`, `counter = 3`, `untyped = 5`, `histogram = 7` |
//! | `LabelPair` | `name = 1`, `value = 2` |
//! | `Counter`, `Gauge`, `Untyped` | `value = 1` (double) |
//! | `Histogram` | `sample_count = 1`, `sample_sum = 2`, `bucket = 3`, `schema = 5` (sint32), `zero_threshold = 6`, `zero_count = 7`, `positive_span = 12`, `positive_delta = 13` (sint64, packed), `exemplars = 16` (native histograms) |
//! | `Bucket` | `cumulative_count = 1`, `upper_bound = 2`, `exemplar = 3` |
//! | `Counter` | `value = 1`, `exemplar = 2` |
//! | `Exemplar` | `label = 1` (`LabelPair`), `value = 2`, `timestamp = 3` (`google.protobuf.Timestamp`: `seconds = 1`, `nanos = 2`) |
//! | `BucketSpan` | `offset = 1` (sint32), `length = 2` (uint32) |
//!
//! # Length prefixes without a second buffer
//!
//! A nested message's length is known only once it is written. [`open`] writes the field's
//! tag and reserves **one** byte for the length, the body is written after it, and [`close`]
//! stores the length: when it fits one byte (below 128, the common case for a label pair, a
//! counter or a span) nothing moves; otherwise the body is shifted right by the few extra
//! bytes its varint needs (`copy_within`, no allocation once the buffer has grown). Every
//! length is therefore a minimal varint, which every decoder accepts; we do not rely on
//! decoders tolerating padded (non-minimal) varints, although Go's and Python's do. The cost
//! is at most one `memmove` of each message body per nesting level, measured in the benches.
//!
//! Values are written only where the field is set (proto3 style, default values omitted);
//! strings are written unescaped: HELP and label values that the macro escaped for the text
//! formats are unescaped here as they are copied.

use super::{Extra, Family, Help, Kind, Label, Text, Value};
use crate::exemplar::Snapshot;

/// Wire type of varint fields.
const VARINT: u32 = 0;
/// Wire type of `double` fields.
const FIXED64: u32 = 1;
/// Wire type of strings, messages and packed repeated fields.
const LEN: u32 = 2;

/// `MetricFamily.type` values.
pub(crate) mod metric_type {
    pub(crate) const COUNTER: u64 = 0;
    pub(crate) const GAUGE: u64 = 1;
    pub(crate) const UNTYPED: u64 = 3;
    pub(crate) const HISTOGRAM: u64 = 4;
}

/// Field numbers, named after `metrics.proto`.
pub(crate) mod field {
    pub(crate) const FAMILY_NAME: u32 = 1;
    pub(crate) const FAMILY_HELP: u32 = 2;
    pub(crate) const FAMILY_TYPE: u32 = 3;
    pub(crate) const FAMILY_METRIC: u32 = 4;

    pub(crate) const METRIC_LABEL: u32 = 1;
    pub(crate) const METRIC_GAUGE: u32 = 2;
    pub(crate) const METRIC_COUNTER: u32 = 3;
    pub(crate) const METRIC_UNTYPED: u32 = 5;
    pub(crate) const METRIC_HISTOGRAM: u32 = 7;

    pub(crate) const LABEL_NAME: u32 = 1;
    pub(crate) const LABEL_VALUE: u32 = 2;

    /// `Counter.value`, `Gauge.value`, `Untyped.value`.
    pub(crate) const VALUE: u32 = 1;

    pub(crate) const HISTOGRAM_SAMPLE_COUNT: u32 = 1;
    pub(crate) const HISTOGRAM_SAMPLE_SUM: u32 = 2;
    pub(crate) const HISTOGRAM_BUCKET: u32 = 3;
    pub(crate) const HISTOGRAM_SCHEMA: u32 = 5;
    pub(crate) const HISTOGRAM_ZERO_THRESHOLD: u32 = 6;
    pub(crate) const HISTOGRAM_ZERO_COUNT: u32 = 7;
    pub(crate) const HISTOGRAM_POSITIVE_SPAN: u32 = 12;
    pub(crate) const HISTOGRAM_POSITIVE_DELTA: u32 = 13;
    /// `Histogram.exemplars`: "only used for native histograms", each with a timestamp.
    pub(crate) const HISTOGRAM_EXEMPLARS: u32 = 16;

    pub(crate) const BUCKET_CUMULATIVE_COUNT: u32 = 1;
    pub(crate) const BUCKET_UPPER_BOUND: u32 = 2;
    pub(crate) const BUCKET_EXEMPLAR: u32 = 3;

    /// `Counter.exemplar`.
    pub(crate) const COUNTER_EXEMPLAR: u32 = 2;

    pub(crate) const EXEMPLAR_LABEL: u32 = 1;
    pub(crate) const EXEMPLAR_VALUE: u32 = 2;
    pub(crate) const EXEMPLAR_TIMESTAMP: u32 = 3;

    /// `google.protobuf.Timestamp`.
    pub(crate) const TIMESTAMP_SECONDS: u32 = 1;
    pub(crate) const TIMESTAMP_NANOS: u32 = 2;

    pub(crate) const SPAN_OFFSET: u32 = 1;
    pub(crate) const SPAN_LENGTH: u32 = 2;
}

/// Appends `value` as a base-128 varint (least significant group first).
#[inline]
pub(crate) fn varint(out: &mut Vec<u8>, mut value: u64) {
    while value >= 0x80 {
        out.push((value as u8) | 0x80);
        value >>= 7;
    }
    out.push(value as u8);
}

/// The number of bytes [`varint`] writes for `value`.
#[inline]
pub(crate) const fn varint_len(value: u64) -> usize {
    // 1 byte per started group of 7 bits; 0 still takes one byte.
    let bits = 64 - (value | 1).leading_zeros() as usize;
    bits.div_ceil(7)
}

/// Zigzag encoding of `sint32`/`sint64`: small magnitudes, either sign, give small varints.
#[inline]
pub(crate) const fn zigzag(value: i64) -> u64 {
    ((value << 1) ^ (value >> 63)) as u64
}

#[inline]
fn tag(out: &mut Vec<u8>, field: u32, wire_type: u32) {
    // Field numbers below 16 make one-byte tags; `Histogram.exemplars` (16) takes two.
    varint(out, u64::from(field << 3 | wire_type));
}

/// A varint field (`uint64`, enum), written even when zero (callers skip defaults).
#[inline]
pub(crate) fn uint_field(out: &mut Vec<u8>, field: u32, value: u64) {
    tag(out, field, VARINT);
    varint(out, value);
}

/// A `sint32`/`sint64` field.
#[inline]
pub(crate) fn sint_field(out: &mut Vec<u8>, field: u32, value: i64) {
    uint_field(out, field, zigzag(value));
}

/// A `double` field (little-endian IEEE 754 bits).
#[inline]
pub(crate) fn double_field(out: &mut Vec<u8>, field: u32, value: f64) {
    tag(out, field, FIXED64);
    out.extend_from_slice(&value.to_bits().to_le_bytes());
}

/// A `string` field from raw (unescaped) text.
#[inline]
pub(crate) fn string_field(out: &mut Vec<u8>, field: u32, text: &str) {
    tag(out, field, LEN);
    varint(out, text.len() as u64);
    out.extend_from_slice(text.as_bytes());
}

/// A `string` field from text escaped for the text formats (`\\`, `\"`, `\n`), unescaped as
/// it is copied. Any other backslash sequence is copied as is (the escapers never write one).
pub(crate) fn escaped_string_field(out: &mut Vec<u8>, field: u32, escaped: &str) {
    // Most HELP texts and label values have nothing escaped: copy them whole. (An inline
    // scan: these strings are short, and `memchr`'s set-up cost showed in the profile.)
    if !escaped.bytes().any(|byte| byte == b'\\') {
        string_field(out, field, escaped);
        return;
    }
    let at = open(out, field);
    let bytes = escaped.as_bytes();
    let mut index = 0;
    while let Some(&byte) = bytes.get(index) {
        match (byte, bytes.get(index + 1)) {
            (b'\\', Some(b'\\')) => out.push(b'\\'),
            (b'\\', Some(b'"')) => out.push(b'"'),
            (b'\\', Some(b'n')) => out.push(b'\n'),
            _ => {
                out.push(byte);
                index += 1;
                continue;
            }
        }
        index += 2;
    }
    close(out, at);
}

/// Starts a length-delimited field (a nested message or a packed array): writes the tag and
/// reserves one length byte. Returns the position of that byte, for [`close`].
#[inline]
pub(crate) fn open(out: &mut Vec<u8>, field: u32) -> usize {
    tag(out, field, LEN);
    open_delimited(out)
}

/// Reserves the length byte of a message with no tag (a top-level delimited `MetricFamily`).
#[inline]
pub(crate) fn open_delimited(out: &mut Vec<u8>) -> usize {
    let at = out.len();
    out.push(0);
    at
}

/// Ends the field opened at `at`: stores the body's length as a minimal varint, moving the
/// body right if the varint needs more than the one reserved byte (see the module docs).
#[inline]
pub(crate) fn close(out: &mut Vec<u8>, at: usize) {
    let body_start = at + 1;
    let length = out.len().saturating_sub(body_start);
    if length < 0x80 {
        if let Some(slot) = out.get_mut(at) {
            *slot = length as u8;
        }
        return;
    }
    close_long(out, at, length);
}

#[cold]
#[inline(never)]
fn close_long(out: &mut Vec<u8>, at: usize, length: usize) {
    let body_start = at + 1;
    let extra = varint_len(length as u64) - 1;
    let end = out.len();
    out.resize(end + extra, 0);
    out.copy_within(body_start..end, body_start + extra);
    let mut value = length as u64;
    for slot in &mut out[at..at + extra + 1] {
        *slot = (value as u8 & 0x7f) | if value >= 0x80 { 0x80 } else { 0 };
        value >>= 7;
    }
}

/// The state of one `MetricFamily` being written: where its length byte is, how many
/// `Metric`s it has, and the histogram series still open (text-style callers write a
/// histogram as `_bucket` samples, then `_sum`, then `_count`, which closes the series).
#[derive(Debug)]
pub(super) struct FamilyState {
    /// Where the family's length byte is; `usize::MAX` for a text family.
    family_at: usize,
    /// The buffer length before the family: a family with no metric is removed again.
    start: usize,
    kind: Kind,
    metrics: usize,
    /// `(metric length byte, histogram length byte)` of an open histogram series.
    series: Option<(usize, usize)>,
}

impl FamilyState {
    /// The state of a text family (nothing to do).
    pub(super) const NONE: FamilyState = FamilyState {
        family_at: usize::MAX,
        start: 0,
        kind: Kind::Unknown,
        metrics: 0,
        series: None,
    };

    /// Writes the family's name, HELP and type.
    pub(super) fn start(out: &mut Vec<u8>, namespace: &str, family: &Family<'_>) -> Self {
        let start = out.len();
        let family_at = open_delimited(out);
        tag(out, field::FAMILY_NAME, LEN);
        varint(out, (namespace.len() + family.name.len()) as u64);
        out.extend_from_slice(namespace.as_bytes());
        out.extend_from_slice(family.name.as_bytes());
        match family.help {
            Help::Raw(help) => string_field(out, field::FAMILY_HELP, help),
            // The text 0.0.4 escaping (`\\`, `\n`) is undone; OpenMetrics' is a superset.
            Help::Escaped(help) => escaped_string_field(out, field::FAMILY_HELP, help.text()),
        }
        let kind = match family.kind {
            Kind::Counter => metric_type::COUNTER,
            Kind::Gauge => metric_type::GAUGE,
            Kind::Histogram => metric_type::HISTOGRAM,
            Kind::Unknown => metric_type::UNTYPED,
        };
        uint_field(out, field::FAMILY_TYPE, kind);
        FamilyState {
            family_at,
            start,
            kind: family.kind,
            metrics: 0,
            series: None,
        }
    }

    /// One text-style sample: a whole `Metric` for counters, gauges and untyped samples; a
    /// piece of the open histogram series for `_bucket`, `_sum` and `_count`.
    // The parts of one text-style sample, as the text writer receives them; a struct for them
    // would only rename this list.
    #[allow(clippy::too_many_arguments)]
    pub(super) fn sample(
        &mut self,
        out: &mut Vec<u8>,
        const_labels: &[Label<'_>],
        suffix: &str,
        labels: &[Label<'_>],
        extra: Option<Extra>,
        value: Value,
        exemplar: Option<&Snapshot>,
    ) {
        let number = match value {
            Value::Unsigned(value) => value as f64,
            Value::Signed(value) => value as f64,
            Value::Float(value) => value,
        };
        if self.kind == Kind::Histogram {
            match suffix {
                "_bucket" => {
                    let bound = extra.map(|Extra::Le(bound)| bound);
                    // `+Inf` is implied by `sample_count` in protobuf (clients omit it), unless
                    // it carries an exemplar (as client_golang does).
                    let bound = bound.filter(|bound| *bound != f64::INFINITY || exemplar.is_some());
                    if let Some(bound) = bound {
                        self.open_series(out, const_labels, labels);
                        let at = open(out, field::HISTOGRAM_BUCKET);
                        uint_field(out, field::BUCKET_CUMULATIVE_COUNT, number as u64);
                        double_field(out, field::BUCKET_UPPER_BOUND, bound);
                        if let Some(exemplar) = exemplar {
                            exemplar_field(out, field::BUCKET_EXEMPLAR, exemplar);
                        }
                        close(out, at);
                    } else {
                        self.open_series(out, const_labels, labels);
                    }
                    return;
                }
                "_sum" => {
                    self.open_series(out, const_labels, labels);
                    double_field(out, field::HISTOGRAM_SAMPLE_SUM, number);
                    return;
                }
                "_count" => {
                    self.open_series(out, const_labels, labels);
                    uint_field(out, field::HISTOGRAM_SAMPLE_COUNT, number as u64);
                    self.close_series(out);
                    return;
                }
                // Anything else in a histogram family is written as an untyped sample.
                _ => {}
            }
        }
        self.close_series(out);
        let metric = open(out, field::FAMILY_METRIC);
        label_pairs(out, const_labels, labels);
        let inner = match self.kind {
            Kind::Counter => field::METRIC_COUNTER,
            Kind::Gauge => field::METRIC_GAUGE,
            Kind::Histogram | Kind::Unknown => field::METRIC_UNTYPED,
        };
        let at = open(out, inner);
        double_field(out, field::VALUE, number);
        if let (Some(exemplar), Kind::Counter) = (exemplar, self.kind) {
            exemplar_field(out, field::COUNTER_EXEMPLAR, exemplar);
        }
        close(out, at);
        close(out, metric);
        self.metrics += 1;
    }

    /// One `Metric` whose `Histogram` body `write` fills in.
    pub(super) fn histogram(
        &mut self,
        out: &mut Vec<u8>,
        const_labels: &[Label<'_>],
        labels: &[Label<'_>],
        write: impl FnOnce(&mut Vec<u8>),
    ) {
        self.close_series(out);
        let metric = open(out, field::FAMILY_METRIC);
        label_pairs(out, const_labels, labels);
        let histogram = open(out, field::METRIC_HISTOGRAM);
        write(out);
        close(out, histogram);
        close(out, metric);
        self.metrics += 1;
    }

    fn open_series(&mut self, out: &mut Vec<u8>, const_labels: &[Label<'_>], labels: &[Label<'_>]) {
        if self.series.is_some() {
            return;
        }
        let metric = open(out, field::FAMILY_METRIC);
        label_pairs(out, const_labels, labels);
        let histogram = open(out, field::METRIC_HISTOGRAM);
        self.series = Some((metric, histogram));
    }

    fn close_series(&mut self, out: &mut Vec<u8>) {
        if let Some((metric, histogram)) = self.series.take() {
            close(out, histogram);
            close(out, metric);
            self.metrics += 1;
        }
    }

    /// Ends the family: its length, or its removal if it has no metric (a family without
    /// metrics says nothing and some parsers reject it).
    pub(super) fn finish(&mut self, out: &mut Vec<u8>) {
        if self.family_at == usize::MAX {
            return;
        }
        self.close_series(out);
        if self.metrics == 0 {
            out.truncate(self.start);
        } else {
            close(out, self.family_at);
        }
        self.family_at = usize::MAX;
    }
}

/// An `Exemplar` message: its labels, value and (if known) timestamp.
pub(crate) fn exemplar_field(out: &mut Vec<u8>, field_number: u32, exemplar: &Snapshot) {
    let at = open(out, field_number);
    for (name, value) in exemplar.labels() {
        let pair = open(out, field::EXEMPLAR_LABEL);
        string_field(out, field::LABEL_NAME, name);
        string_field(out, field::LABEL_VALUE, value);
        close(out, pair);
    }
    double_field(out, field::EXEMPLAR_VALUE, exemplar.value());
    if let Some(nanos) = exemplar.timestamp_nanos() {
        let timestamp = open(out, field::EXEMPLAR_TIMESTAMP);
        uint_field(out, field::TIMESTAMP_SECONDS, nanos / 1_000_000_000);
        let fraction = nanos % 1_000_000_000;
        if fraction != 0 {
            uint_field(out, field::TIMESTAMP_NANOS, fraction);
        }
        close(out, timestamp);
    }
    close(out, at);
}

fn label_pairs(out: &mut Vec<u8>, const_labels: &[Label<'_>], labels: &[Label<'_>]) {
    for label in const_labels.iter().chain(labels) {
        label_pair(out, label);
    }
}

fn label_pair(out: &mut Vec<u8>, label: &Label<'_>) {
    let at = open(out, field::METRIC_LABEL);
    string_field(out, field::LABEL_NAME, label.name);
    match label.value {
        Text::Raw(value) => string_field(out, field::LABEL_VALUE, value),
        Text::Escaped(value) => escaped_string_field(out, field::LABEL_VALUE, value.as_str()),
    }
    close(out, at);
}

/// Calls `found` with the name of every complete delimited `MetricFamily` in `out` from
/// `from` on (a family's name is its first field, as `FamilyState::start` writes it);
/// returns where the scan stopped (the end of the last complete message).
pub(super) fn family_names(out: &[u8], from: usize, mut found: impl FnMut(&[u8])) -> usize {
    let mut at = from;
    while let Some((length, body)) = read_varint(out, at) {
        let Some(end) = body
            .checked_add(length as usize)
            .filter(|&end| end <= out.len())
        else {
            break;
        };
        let message = &out[body..end];
        if message.first() == Some(&((field::FAMILY_NAME << 3 | LEN) as u8))
            && let Some((name_length, name_start)) = read_varint(message, 1)
            && let Some(name) = message.get(name_start..name_start + name_length as usize)
        {
            found(name);
        }
        at = end;
    }
    at
}

/// The offset in `written` of every `Counter`/`Gauge`/`Untyped` value (`double`, 8 bytes) of
/// the delimited `MetricFamily` messages it holds, in order: where the exposition plan writes
/// each value (`encode::plan`). `None` if `written` is not such a sequence of messages.
#[cold]
#[inline(never)]
pub(super) fn value_offsets(written: &[u8]) -> Option<Vec<usize>> {
    let mut offsets = Vec::new();
    let mut at = 0;
    while at < written.len() {
        let (length, body) = read_varint(written, at)?;
        let end = body.checked_add(usize::try_from(length).ok()?)?;
        let family = written.get(body..end)?;
        let mut field_at = 0;
        while field_at < family.len() {
            let (key, value_at) = read_varint(family, field_at)?;
            let (number, wire) = (key >> 3, key & 7);
            let next = match wire {
                0 => read_varint(family, value_at)?.1,
                1 => value_at + 8,
                2 => {
                    let (size, start) = read_varint(family, value_at)?;
                    let stop = start.checked_add(usize::try_from(size).ok()?)?;
                    if number == u64::from(field::FAMILY_METRIC) {
                        offsets.push(body + start + metric_value(family.get(start..stop)?)?);
                    }
                    stop
                }
                _ => return None,
            };
            field_at = next;
        }
        at = end;
    }
    return Some(offsets);

    /// The offset of the value in one `Metric`: after its labels, one value message whose
    /// first field is the `double`.
    fn metric_value(metric: &[u8]) -> Option<usize> {
        let mut at = 0;
        while at < metric.len() {
            let (key, length_at) = read_varint(metric, at)?;
            let (size, start) = read_varint(metric, length_at)?;
            let number = (key >> 3) as u32;
            if key & 7 != u64::from(LEN) {
                return None;
            }
            if matches!(
                number,
                field::METRIC_COUNTER | field::METRIC_GAUGE | field::METRIC_UNTYPED
            ) {
                let value_tag = (field::VALUE << 3 | FIXED64) as u8;
                return (metric.get(start) == Some(&value_tag) && size >= 9).then_some(start + 1);
            }
            at = start.checked_add(usize::try_from(size).ok()?)?;
        }
        None
    }
}

/// The varint at `at` and the position after it, if complete.
fn read_varint(bytes: &[u8], at: usize) -> Option<(u64, usize)> {
    let mut value = 0u64;
    for (group, &byte) in bytes.get(at..)?.iter().take(10).enumerate() {
        value |= u64::from(byte & 0x7f) << (7 * group);
        if byte & 0x80 == 0 {
            return Some((value, at + group + 1));
        }
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn varints_and_lengths() {
        for value in [
            0u64,
            1,
            127,
            128,
            300,
            16_383,
            16_384,
            u32::MAX as u64,
            u64::MAX,
        ] {
            let mut out = Vec::new();
            varint(&mut out, value);
            assert_eq!(out.len(), varint_len(value), "{value}");
            // Decode it back.
            let mut decoded = 0u64;
            for (group, byte) in out.iter().enumerate() {
                decoded |= u64::from(byte & 0x7f) << (7 * group);
            }
            assert_eq!(decoded, value);
        }
        let mut out = Vec::new();
        varint(&mut out, 300);
        assert_eq!(out, [0xac, 0x02]);
    }

    #[test]
    fn zigzag_matches_the_spec_examples() {
        assert_eq!(zigzag(0), 0);
        assert_eq!(zigzag(-1), 1);
        assert_eq!(zigzag(1), 2);
        assert_eq!(zigzag(-2), 3);
        assert_eq!(zigzag(i64::MAX), u64::MAX - 1);
        assert_eq!(zigzag(i64::MIN), u64::MAX);
    }

    #[test]
    fn nested_lengths_short_and_long() {
        for body in [0usize, 1, 127, 128, 200, 16_384, 70_000] {
            let mut out = vec![0xff];
            let at = open(&mut out, 4);
            out.extend(std::iter::repeat_n(7u8, body));
            close(&mut out, at);
            assert_eq!(out[0], 0xff);
            assert_eq!(out[1], 4 << 3 | 2);
            let mut length = Vec::new();
            varint(&mut length, body as u64);
            assert_eq!(&out[2..2 + length.len()], &length[..], "{body}");
            assert_eq!(out.len(), 2 + length.len() + body);
            assert!(out[2 + length.len()..].iter().all(|&byte| byte == 7));
        }
    }

    #[test]
    fn escaped_strings_are_unescaped() {
        let mut out = Vec::new();
        escaped_string_field(&mut out, 2, r#"a\\b\"c\nd\x"#);
        assert_eq!(out[0], 2 << 3 | 2);
        assert_eq!(&out[2..], b"a\\b\"c\nd\\x");
        assert_eq!(usize::from(out[1]), out.len() - 2);
    }
}
