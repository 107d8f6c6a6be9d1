//! An independent decoder of the Prometheus protobuf exposition, for tests.
//!
//! Written from the protobuf wire-format specification and the field numbers of Prometheus'
//! `metrics.proto` (`io.prometheus.client`), not from promstatic's encoder: a generic
//! wire-level reader (varints of any length, minimal or not; fixed64; fixed32;
//! length-delimited; unknown fields skipped; repeated scalars packed or not, in any number of
//! chunks), then a typed reading of `MetricFamily` and what it contains. Every malformation
//! is an error, never a panic: truncated input, a varint longer than 10 bytes, a length past
//! the end, a wire type a field does not allow, a string that is not UTF-8.

#![allow(dead_code, unreachable_pub)]

use std::fmt;

/// A decoding error, with where it happened.
#[derive(Debug, Clone, PartialEq)]
pub struct DecodeError(pub String);

impl fmt::Display for DecodeError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

type Result<T> = std::result::Result<T, DecodeError>;

fn error<T>(message: impl Into<String>) -> Result<T> {
    Err(DecodeError(message.into()))
}

/// One field as read from the wire.
#[derive(Debug, Clone, Copy)]
enum Wire<'a> {
    Varint(u64),
    Fixed64(u64),
    Fixed32(#[allow(dead_code)] u32),
    Bytes(&'a [u8]),
}

struct Reader<'a> {
    bytes: &'a [u8],
    at: usize,
}

impl<'a> Reader<'a> {
    fn new(bytes: &'a [u8]) -> Self {
        Reader { bytes, at: 0 }
    }

    fn done(&self) -> bool {
        self.at >= self.bytes.len()
    }

    fn varint(&mut self) -> Result<u64> {
        let mut value = 0u64;
        for group in 0..10 {
            let Some(&byte) = self.bytes.get(self.at) else {
                return error(format!("truncated varint at byte {}", self.at));
            };
            self.at += 1;
            value |= u64::from(byte & 0x7f) << (7 * group);
            if byte & 0x80 == 0 {
                return Ok(value);
            }
        }
        error(format!(
            "varint longer than 10 bytes before byte {}",
            self.at
        ))
    }

    fn take(&mut self, length: usize) -> Result<&'a [u8]> {
        let end = self
            .at
            .checked_add(length)
            .filter(|&end| end <= self.bytes.len());
        let Some(end) = end else {
            return error(format!(
                "length {length} at byte {} runs past the end ({})",
                self.at,
                self.bytes.len()
            ));
        };
        let slice = &self.bytes[self.at..end];
        self.at = end;
        Ok(slice)
    }

    fn field(&mut self) -> Result<(u32, Wire<'a>)> {
        let key = self.varint()?;
        let number = u32::try_from(key >> 3).map_err(|_| DecodeError("field number".into()))?;
        if number == 0 {
            return error("field number 0");
        }
        let wire = match key & 7 {
            0 => Wire::Varint(self.varint()?),
            1 => Wire::Fixed64(u64::from_le_bytes(self.take(8)?.try_into().unwrap())),
            2 => {
                let length = self.varint()? as usize;
                Wire::Bytes(self.take(length)?)
            }
            5 => Wire::Fixed32(u32::from_le_bytes(self.take(4)?.try_into().unwrap())),
            other => return error(format!("unsupported wire type {other} (field {number})")),
        };
        Ok((number, wire))
    }
}

fn fields(bytes: &[u8]) -> Result<Vec<(u32, Wire<'_>)>> {
    let mut reader = Reader::new(bytes);
    let mut out = Vec::new();
    while !reader.done() {
        out.push(reader.field()?);
    }
    Ok(out)
}

fn as_double(field: u32, wire: Wire<'_>) -> Result<f64> {
    match wire {
        Wire::Fixed64(bits) => Ok(f64::from_bits(bits)),
        other => error(format!("field {field}: expected a double, got {other:?}")),
    }
}

fn as_varint(field: u32, wire: Wire<'_>) -> Result<u64> {
    match wire {
        Wire::Varint(value) => Ok(value),
        other => error(format!("field {field}: expected a varint, got {other:?}")),
    }
}

fn as_bytes<'a>(field: u32, wire: Wire<'a>) -> Result<&'a [u8]> {
    match wire {
        Wire::Bytes(bytes) => Ok(bytes),
        other => error(format!("field {field}: expected bytes, got {other:?}")),
    }
}

fn as_string(field: u32, wire: Wire<'_>) -> Result<String> {
    String::from_utf8(as_bytes(field, wire)?.to_vec())
        .map_err(|_| DecodeError(format!("field {field}: not UTF-8")))
}

fn unzigzag(value: u64) -> i64 {
    ((value >> 1) as i64) ^ -((value & 1) as i64)
}

/// Appends repeated varints: one unpacked value, or a packed chunk of them.
fn repeated_varints(field: u32, wire: Wire<'_>, into: &mut Vec<u64>) -> Result<()> {
    match wire {
        Wire::Varint(value) => into.push(value),
        Wire::Bytes(bytes) => {
            let mut reader = Reader::new(bytes);
            while !reader.done() {
                into.push(reader.varint()?);
            }
        }
        other => return error(format!("field {field}: expected varints, got {other:?}")),
    }
    Ok(())
}

/// `MetricType`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum MetricType {
    Counter,
    Gauge,
    Summary,
    Untyped,
    Histogram,
    GaugeHistogram,
}

/// `MetricFamily`.
#[derive(Debug, Clone, PartialEq)]
pub struct MetricFamily {
    pub name: String,
    pub help: String,
    pub kind: MetricType,
    pub metrics: Vec<Metric>,
}

/// `Exemplar`: labels, value, timestamp as `(seconds, nanos)`.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Exemplar {
    pub labels: Vec<(String, String)>,
    pub value: f64,
    pub timestamp: Option<(i64, i32)>,
}

/// `Metric`, with the one value message its family type uses.
#[derive(Debug, Clone, PartialEq)]
pub struct Metric {
    pub labels: Vec<(String, String)>,
    pub counter: Option<f64>,
    /// `Counter.exemplar`.
    pub counter_exemplar: Option<Exemplar>,
    pub gauge: Option<f64>,
    pub untyped: Option<f64>,
    pub histogram: Option<Histogram>,
}

/// `BucketSpan`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Span {
    pub offset: i32,
    pub length: u32,
}

/// `Histogram` (classic and native fields).
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Histogram {
    pub sample_count: u64,
    pub sample_sum: f64,
    /// `(cumulative_count, upper_bound)`.
    pub buckets: Vec<(u64, f64)>,
    /// `Bucket.exemplar` of each bucket in `buckets`.
    pub bucket_exemplars: Vec<Option<Exemplar>>,
    pub schema: Option<i32>,
    pub zero_threshold: f64,
    pub zero_count: u64,
    pub positive_spans: Vec<Span>,
    pub positive_deltas: Vec<i64>,
    pub negative_spans: Vec<Span>,
    pub negative_deltas: Vec<i64>,
    /// `Histogram.exemplars` (field 16, native histograms only).
    pub exemplars: Vec<Exemplar>,
}

impl Histogram {
    /// The absolute `(bucket index, count)` of every positive bucket, from spans and deltas.
    pub fn positive_buckets(&self) -> Result<Vec<(i32, u64)>> {
        let mut out = Vec::new();
        let mut index = 0i32;
        let mut count = 0i64;
        let mut deltas = self.positive_deltas.iter();
        for (number, span) in self.positive_spans.iter().enumerate() {
            index = if number == 0 {
                span.offset
            } else {
                index + span.offset
            };
            for _ in 0..span.length {
                let Some(delta) = deltas.next() else {
                    return error("fewer deltas than the spans cover");
                };
                count += delta;
                if count < 0 {
                    return error(format!("negative bucket count at index {index}"));
                }
                out.push((index, count as u64));
                index += 1;
            }
        }
        if deltas.next().is_some() {
            return error("more deltas than the spans cover");
        }
        Ok(out)
    }
}

/// Decodes a whole delimited exposition: `varint length, MetricFamily` repeated.
pub fn decode_delimited(bytes: &[u8]) -> Result<Vec<MetricFamily>> {
    let mut reader = Reader::new(bytes);
    let mut families = Vec::new();
    while !reader.done() {
        let length = reader.varint()? as usize;
        families.push(metric_family(reader.take(length)?)?);
    }
    Ok(families)
}

fn metric_family(bytes: &[u8]) -> Result<MetricFamily> {
    let mut family = MetricFamily {
        name: String::new(),
        help: String::new(),
        kind: MetricType::Counter,
        metrics: Vec::new(),
    };
    for (field, wire) in fields(bytes)? {
        match field {
            1 => family.name = as_string(field, wire)?,
            2 => family.help = as_string(field, wire)?,
            3 => {
                family.kind = match as_varint(field, wire)? {
                    0 => MetricType::Counter,
                    1 => MetricType::Gauge,
                    2 => MetricType::Summary,
                    3 => MetricType::Untyped,
                    4 => MetricType::Histogram,
                    5 => MetricType::GaugeHistogram,
                    other => return error(format!("unknown metric type {other}")),
                }
            }
            4 => family.metrics.push(metric(as_bytes(field, wire)?)?),
            _ => {}
        }
    }
    Ok(family)
}

fn value_message(bytes: &[u8]) -> Result<f64> {
    Ok(counter_message(bytes)?.0)
}

/// `Counter` (and `Gauge`, `Untyped`: field 1 only): the value and the exemplar.
fn counter_message(bytes: &[u8]) -> Result<(f64, Option<Exemplar>)> {
    let mut value = 0.0;
    let mut exemplar_found = None;
    for (field, wire) in fields(bytes)? {
        match field {
            1 => value = as_double(field, wire)?,
            2 => exemplar_found = Some(exemplar(as_bytes(field, wire)?)?),
            _ => {}
        }
    }
    Ok((value, exemplar_found))
}

fn label_pair(bytes: &[u8]) -> Result<(String, String)> {
    let mut name = String::new();
    let mut value = String::new();
    for (field, wire) in fields(bytes)? {
        match field {
            1 => name = as_string(field, wire)?,
            2 => value = as_string(field, wire)?,
            _ => {}
        }
    }
    Ok((name, value))
}

fn exemplar(bytes: &[u8]) -> Result<Exemplar> {
    let mut exemplar = Exemplar::default();
    for (field, wire) in fields(bytes)? {
        match field {
            1 => exemplar.labels.push(label_pair(as_bytes(field, wire)?)?),
            2 => exemplar.value = as_double(field, wire)?,
            3 => {
                let mut seconds = 0i64;
                let mut nanos = 0i32;
                for (field, wire) in fields(as_bytes(field, wire)?)? {
                    match field {
                        1 => seconds = as_varint(field, wire)? as i64,
                        2 => {
                            nanos = i32::try_from(as_varint(field, wire)?)
                                .map_err(|_| DecodeError("nanos out of int32".into()))?
                        }
                        _ => {}
                    }
                }
                exemplar.timestamp = Some((seconds, nanos));
            }
            _ => {}
        }
    }
    Ok(exemplar)
}

fn metric(bytes: &[u8]) -> Result<Metric> {
    let mut metric = Metric {
        labels: Vec::new(),
        counter: None,
        counter_exemplar: None,
        gauge: None,
        untyped: None,
        histogram: None,
    };
    for (field, wire) in fields(bytes)? {
        match field {
            1 => {
                let mut name = String::new();
                let mut value = String::new();
                for (field, wire) in fields(as_bytes(field, wire)?)? {
                    match field {
                        1 => name = as_string(field, wire)?,
                        2 => value = as_string(field, wire)?,
                        _ => {}
                    }
                }
                metric.labels.push((name, value));
            }
            2 => metric.gauge = Some(value_message(as_bytes(field, wire)?)?),
            3 => {
                let (value, exemplar) = counter_message(as_bytes(field, wire)?)?;
                metric.counter = Some(value);
                metric.counter_exemplar = exemplar;
            }
            5 => metric.untyped = Some(value_message(as_bytes(field, wire)?)?),
            7 => metric.histogram = Some(histogram(as_bytes(field, wire)?)?),
            _ => {}
        }
    }
    Ok(metric)
}

fn span(bytes: &[u8]) -> Result<Span> {
    let mut span = Span {
        offset: 0,
        length: 0,
    };
    for (field, wire) in fields(bytes)? {
        match field {
            1 => {
                span.offset = i32::try_from(unzigzag(as_varint(field, wire)?))
                    .map_err(|_| DecodeError("span offset out of sint32".into()))?
            }
            2 => {
                span.length = u32::try_from(as_varint(field, wire)?)
                    .map_err(|_| DecodeError("span length out of uint32".into()))?
            }
            _ => {}
        }
    }
    Ok(span)
}

fn histogram(bytes: &[u8]) -> Result<Histogram> {
    let mut histogram = Histogram::default();
    let mut positive = Vec::new();
    let mut negative = Vec::new();
    for (field, wire) in fields(bytes)? {
        match field {
            1 => histogram.sample_count = as_varint(field, wire)?,
            2 => histogram.sample_sum = as_double(field, wire)?,
            3 => {
                let mut count = 0;
                let mut bound = 0.0;
                let mut bucket_exemplar = None;
                for (field, wire) in fields(as_bytes(field, wire)?)? {
                    match field {
                        1 => count = as_varint(field, wire)?,
                        2 => bound = as_double(field, wire)?,
                        3 => bucket_exemplar = Some(exemplar(as_bytes(field, wire)?)?),
                        _ => {}
                    }
                }
                histogram.buckets.push((count, bound));
                histogram.bucket_exemplars.push(bucket_exemplar);
            }
            5 => {
                histogram.schema = Some(
                    i32::try_from(unzigzag(as_varint(field, wire)?))
                        .map_err(|_| DecodeError("schema out of sint32".into()))?,
                )
            }
            6 => histogram.zero_threshold = as_double(field, wire)?,
            7 => histogram.zero_count = as_varint(field, wire)?,
            9 => histogram.negative_spans.push(span(as_bytes(field, wire)?)?),
            10 => repeated_varints(field, wire, &mut negative)?,
            12 => histogram.positive_spans.push(span(as_bytes(field, wire)?)?),
            13 => repeated_varints(field, wire, &mut positive)?,
            16 => histogram.exemplars.push(exemplar(as_bytes(field, wire)?)?),
            _ => {}
        }
    }
    histogram.positive_deltas = positive.into_iter().map(unzigzag).collect();
    histogram.negative_deltas = negative.into_iter().map(unzigzag).collect();
    Ok(histogram)
}

/// A sample as text would write it: name, labels, value.
pub type TextSample = (String, Vec<(String, String)>, f64);

/// The text-format samples a family stands for (`name`, labels, value): a counter or gauge
/// sample, or a classic histogram's `_bucket` (with `+Inf` from `sample_count`), `_sum`
/// and `_count`. Native buckets have no text form and are left out.
pub fn text_samples(family: &MetricFamily) -> Vec<TextSample> {
    let mut out = Vec::new();
    for metric in &family.metrics {
        if let Some(histogram) = &metric.histogram {
            // An explicit `+Inf` bucket (sent to carry an exemplar) stands for the implied one.
            for &(count, bound) in histogram
                .buckets
                .iter()
                .filter(|(_, bound)| *bound != f64::INFINITY)
            {
                let mut labels = metric.labels.clone();
                labels.push(("le".into(), format_bound(bound)));
                out.push((format!("{}_bucket", family.name), labels, count as f64));
            }
            let mut labels = metric.labels.clone();
            labels.push(("le".into(), "+Inf".into()));
            let count = histogram.sample_count as f64;
            out.push((format!("{}_bucket", family.name), labels, count));
            out.push((
                format!("{}_sum", family.name),
                metric.labels.clone(),
                histogram.sample_sum,
            ));
            out.push((
                format!("{}_count", family.name),
                metric.labels.clone(),
                count,
            ));
        } else {
            let value = metric
                .counter
                .or(metric.gauge)
                .or(metric.untyped)
                .unwrap_or(f64::NAN);
            out.push((family.name.clone(), metric.labels.clone(), value));
        }
    }
    out
}

/// A bound as Go's `strconv.FormatFloat(b, 'g', -1, 64)` would write it for typical bounds;
/// tests compare bounds numerically, so this only needs to round-trip.
fn format_bound(bound: f64) -> String {
    format!("{bound}")
}
