//! Every metric type in the protobuf exposition, decoded by an independent decoder
//! (`tests/support/protobuf.rs`, written from the wire-format spec and `metrics.proto`) and
//! compared exactly: with the text exposition of the same statics (parsed by the strict
//! oracle) for everything text can say, and with the observed values for native buckets.

mod support;

use promstatic::encode::{Encoder, Label};
use promstatic::native::bucket_index;
use promstatic::{
    Counter, CounterFamily, FloatGauge, Format, Gauge, Histogram, LabelValue, NativeHistogram,
    NativeHistogramFamily, ShardedCounter, metric,
};
use support::oracle::{self, Dialect};
use support::protobuf::{self, MetricFamily, MetricType};

#[derive(LabelValue, Clone, Copy)]
enum Path {
    #[label(rename = "/a\"b\\c\nd")]
    Odd,
    Plain,
}

/// Jobs done, with "quotes" and a \ backslash
/// and a second line.
#[metric]
static JOBS_TOTAL: Counter = Counter::new();

/// Queue depth.
#[metric]
static QUEUE_DEPTH: Gauge = Gauge::new();

/// Fill ratio.
#[metric]
static FILL_RATIO: FloatGauge = FloatGauge::new();

/// Hits from every thread.
#[metric]
static HITS_TOTAL: ShardedCounter = ShardedCounter::new();

/// Classic latency.
#[metric(buckets = [0.1, 1.0, 10.0])]
static CLASSIC_SECONDS: Histogram = Histogram::new();

/// Requests by path.
#[metric(labels(path: Path))]
static BY_PATH_TOTAL: CounterFamily = CounterFamily::new();

/// Native latency.
#[metric(native(schema = 2, range = 0.001..100.0, zero_threshold = 1e-6))]
static NATIVE_SECONDS: NativeHistogram = NativeHistogram::new();

/// Native and classic.
#[metric(native(schema = 0, range = 1..1024), buckets = [10, 100])]
static BOTH_BYTES: NativeHistogram = NativeHistogram::new();

/// Native by path.
#[metric(labels(path: Path), native(schema = -1, range = 1..65536))]
static NATIVE_BY_PATH: NativeHistogramFamily = NativeHistogramFamily::new();

/// Never observed.
#[metric(native(schema = 8, range = 1e-3..1.0))]
static EMPTY_SECONDS: NativeHistogram = NativeHistogram::new();

const NATIVE_VALUES: [f64; 9] = [0.0, 5e-7, 0.002, 0.002, 0.0021, 0.5, 3.0, 3.0, 250.0];

fn observe_everything() {
    JOBS_TOTAL.inc_by(7);
    QUEUE_DEPTH.set(-3);
    FILL_RATIO.set(0.25);
    HITS_TOTAL.inc_by(11);
    for value in [0.05, 0.5, 5.0, 50.0] {
        CLASSIC_SECONDS.observe(value);
    }
    BY_PATH_TOTAL.with(Path::Odd).inc_by(2);
    for value in NATIVE_VALUES {
        NATIVE_SECONDS.observe(value);
    }
    NATIVE_SECONDS.observe(-1.0); // rejected
    for value in [1.0, 3.0, 50.0, 700.0, 5000.0] {
        BOTH_BYTES.observe(value);
    }
    NATIVE_BY_PATH.with(Path::Plain).observe(1000.0);
    NATIVE_BY_PATH.with(Path::Plain).observe(3.0);
}

fn render(format: Format) -> Vec<u8> {
    let mut out = Vec::new();
    promstatic::render(&mut out, format);
    out
}

fn family<'a>(families: &'a [MetricFamily], name: &str) -> &'a MetricFamily {
    families
        .iter()
        .find(|family| family.name == name)
        .unwrap_or_else(|| panic!("no family {name}"))
}

fn non_empty(buckets: &[(i32, u64)]) -> Vec<(i32, u64)> {
    buckets.iter().copied().filter(|b| b.1 > 0).collect()
}

/// The counts per bucket index that `values` must produce, from the public index function,
/// clamped into the covered indices `(first, last)`.
fn expected_buckets(
    schema: i8,
    values: &[f64],
    zero_threshold: f64,
    (first, last): (i32, i32),
) -> Vec<(i32, u64)> {
    let mut buckets: Vec<(i32, u64)> = Vec::new();
    for &value in values {
        if value <= zero_threshold {
            continue;
        }
        let index = bucket_index(schema, value).clamp(first, last);
        match buckets.iter_mut().find(|(i, _)| *i == index) {
            Some((_, count)) => *count += 1,
            None => buckets.push((index, 1)),
        }
    }
    buckets.sort();
    buckets
}

#[test]
fn protobuf_matches_text_and_the_observations() {
    observe_everything();
    let text = render(Format::Text);
    let bytes = render(Format::Protobuf);
    let families = protobuf::decode_delimited(&bytes).expect("decodes");
    let model = oracle::parse(&text, Dialect::Text).expect("text parses");

    // The same families, in the same order, with the same HELP and type.
    let names: Vec<&str> = families.iter().map(|f| f.name.as_str()).collect();
    let text_names: Vec<&str> = model.families.iter().map(|f| f.name.as_str()).collect();
    assert_eq!(names, text_names);
    for (decoded, parsed) in families.iter().zip(&model.families) {
        assert_eq!(
            Some(decoded.help.as_str()),
            parsed.help.as_deref(),
            "{}",
            decoded.name
        );
        let kind = match parsed.kind {
            oracle::FamilyType::Counter => MetricType::Counter,
            oracle::FamilyType::Gauge => MetricType::Gauge,
            oracle::FamilyType::Histogram => MetricType::Histogram,
            _ => MetricType::Untyped,
        };
        assert_eq!(decoded.kind, kind, "{}", decoded.name);
        // Every sample text has, protobuf has with the same value (native buckets aside,
        // which text cannot carry; native histograms' text view is their count and sum).
        let from_protobuf = protobuf::text_samples(decoded);
        let from_text: Vec<protobuf::TextSample> = parsed
            .samples
            .iter()
            .map(|s| (s.name.clone(), s.labels.clone(), s.value.float))
            .collect();
        let native = decoded
            .metrics
            .iter()
            .any(|m| m.histogram.as_ref().is_some_and(|h| h.schema.is_some()));
        if native {
            // Text has classic buckets only where declared; protobuf carries the same ones.
            for sample in &from_text {
                let found = from_protobuf.iter().any(|p| {
                    p.0 == sample.0
                        && p.1 == sample.1
                        && (p.2 == sample.2 || (p.2.is_nan() && sample.2.is_nan()))
                });
                assert!(
                    found,
                    "{}: {sample:?} not in {from_protobuf:?}",
                    decoded.name
                );
            }
        } else {
            assert_eq!(from_protobuf.len(), from_text.len(), "{}", decoded.name);
            for (p, t) in from_protobuf.iter().zip(&from_text) {
                assert_eq!((&p.0, &p.1), (&t.0, &t.1), "{}", decoded.name);
                assert!(
                    p.2 == t.2 || (p.2.is_nan() && t.2.is_nan()),
                    "{p:?} vs {t:?}"
                );
            }
        }
    }

    // Exact values of the plain types.
    let jobs = family(&families, "jobs_total");
    assert_eq!(jobs.kind, MetricType::Counter);
    assert_eq!(jobs.metrics[0].counter, Some(7.0));
    assert_eq!(
        jobs.help,
        "Jobs done, with \"quotes\" and a \\ backslash and a second line."
    );
    assert_eq!(
        family(&families, "queue_depth").metrics[0].gauge,
        Some(-3.0)
    );
    assert_eq!(family(&families, "fill_ratio").metrics[0].gauge, Some(0.25));
    assert_eq!(
        family(&families, "hits_total").metrics[0].counter,
        Some(11.0)
    );
    let by_path = family(&families, "by_path_total");
    assert_eq!(by_path.metrics.len(), 2);
    assert_eq!(
        by_path.metrics[0].labels,
        [("path".to_string(), "/a\"b\\c\nd".to_string())]
    );
    assert_eq!(by_path.metrics[0].counter, Some(2.0));
    let classic = family(&families, "classic_seconds").metrics[0]
        .histogram
        .as_ref()
        .unwrap();
    assert_eq!(classic.schema, None);
    assert_eq!(classic.buckets, [(1, 0.1), (2, 1.0), (3, 10.0)]);
    assert_eq!((classic.sample_count, classic.sample_sum), (4, 55.55));

    // The native histogram: schema, zero bucket, every bucket at its index, count and sum.
    let native = family(&families, "native_seconds");
    assert_eq!(native.kind, MetricType::Histogram);
    let h = native.metrics[0].histogram.as_ref().unwrap();
    assert_eq!(h.schema, Some(2));
    assert_eq!(h.zero_threshold, 1e-6);
    assert_eq!(h.zero_count, 2, "0.0 and 5e-7");
    assert!(h.buckets.is_empty());
    let buckets = h.positive_buckets().unwrap();
    assert_eq!(
        buckets,
        expected_buckets(2, &NATIVE_VALUES, 1e-6, NATIVE_SECONDS.covered_indices())
    );
    assert!(
        buckets.iter().all(|&(_, count)| count > 0),
        "empty buckets are skipped"
    );
    assert_eq!(
        h.sample_count,
        NATIVE_VALUES.len() as u64,
        "the rejected -1 is not counted"
    );
    assert_eq!(
        h.sample_count,
        h.zero_count + buckets.iter().map(|b| b.1).sum::<u64>()
    );
    assert_eq!(h.sample_sum, NATIVE_VALUES.iter().sum::<f64>());
    // 0.002 and 0.0021 share a bucket; 0.5, 3.0 and 250 are far apart: several spans.
    assert!(h.positive_spans.len() >= 3, "{:?}", h.positive_spans);

    // Native and classic together: both views in one message.
    let both = family(&families, "both_bytes").metrics[0]
        .histogram
        .as_ref()
        .unwrap();
    assert_eq!(both.schema, Some(0));
    assert_eq!(both.buckets, [(2, 10.0), (3, 100.0)]);
    // 5000 is above the range: clamped into the last bucket (1024 is index 10).
    assert_eq!(
        both.positive_buckets().unwrap(),
        [(0, 1), (1, 0), (2, 1), (6, 1), (10, 2)],
        "a gap of one bucket is sent as a zero inside the span"
    );
    assert_eq!(both.positive_spans.len(), 3);
    assert_eq!(both.sample_count, 5);

    // The family: one native histogram per label value, the unobserved one empty but native.
    let by_path = family(&families, "native_by_path");
    assert_eq!(by_path.metrics.len(), 2);
    let odd = by_path.metrics[0].histogram.as_ref().unwrap();
    assert_eq!(odd.sample_count, 0);
    assert_eq!(
        odd.positive_spans,
        [protobuf::Span {
            offset: 0,
            length: 0
        }]
    );
    let plain = by_path.metrics[1].histogram.as_ref().unwrap();
    assert_eq!(plain.schema, Some(-1));
    assert_eq!(
        non_empty(&plain.positive_buckets().unwrap()),
        [(1, 1), (5, 1)]
    );

    // Never observed: the no-op span marks it as native.
    let empty = family(&families, "empty_seconds").metrics[0]
        .histogram
        .as_ref()
        .unwrap();
    assert_eq!(empty.schema, Some(8));
    assert_eq!(
        empty.positive_spans,
        [protobuf::Span {
            offset: 0,
            length: 0
        }]
    );
    assert!(empty.positive_deltas.is_empty());

    // The self-metric names every native histogram, with what it clamped and rejected.
    let out_of_range = family(
        &families,
        "promstatic_native_observations_out_of_range_total",
    );
    let value = |histogram: &str, reason: &str| {
        out_of_range
            .metrics
            .iter()
            .find(|m| {
                m.labels
                    == [
                        ("histogram".to_string(), histogram.to_string()),
                        ("reason".to_string(), reason.to_string()),
                    ]
            })
            .and_then(|m| m.counter)
    };
    assert_eq!(value("native_seconds", "rejected"), Some(1.0));
    assert_eq!(value("native_seconds", "clamped"), Some(1.0), "250 > 100");
    assert_eq!(value("both_bytes", "clamped"), Some(1.0));
    assert_eq!(value("native_by_path", "clamped"), Some(0.0));
}

#[test]
fn namespace_and_constant_labels() {
    let constant = [Label::new("env", "prod \"eu\"").unwrap()];
    let mut out = Vec::new();
    let mut encoder = Encoder::new(&mut out, Format::Protobuf)
        .checked_namespace("app_")
        .unwrap()
        .with_const_labels(&constant);
    promstatic::render_into(&mut encoder);
    encoder.finish();
    let families = protobuf::decode_delimited(&out).unwrap();
    assert!(!families.is_empty());
    for family in &families {
        assert!(family.name.starts_with("app_"), "{}", family.name);
        for metric in &family.metrics {
            assert_eq!(
                metric.labels.first(),
                Some(&("env".to_string(), "prod \"eu\"".to_string())),
                "{}",
                family.name
            );
        }
    }
}

#[test]
fn large_messages_have_exact_lengths() {
    // A family above 16 KiB needs a 3-byte length: the encoder moves the body; the decoder
    // must find every family after it intact.
    let families = protobuf::decode_delimited(&render(Format::Protobuf)).unwrap();
    let mut out = Vec::new();
    let mut encoder = Encoder::new(&mut out, Format::Protobuf);
    let family = promstatic::encode::Family::new(
        "big",
        promstatic::encode::Kind::Gauge,
        promstatic::encode::Help::Raw("x"),
    )
    .unwrap();
    {
        let mut writer = encoder.family(&family).unwrap();
        let values: Vec<String> = (0..2000).map(|i| format!("value-{i}")).collect();
        for value in &values {
            let label = [Label::new("n", value).unwrap()];
            writer
                .sample(
                    promstatic::encode::Suffix::Bare,
                    &label,
                    promstatic::encode::Value::Signed(-7),
                )
                .unwrap();
        }
    }
    promstatic::render_into(&mut encoder);
    promstatic::render_native_out_of_range(&mut encoder);
    // The checked API refuses a family the protobuf exposition already holds.
    assert!(encoder.family(&family).is_err());
    encoder.finish();
    let decoded = protobuf::decode_delimited(&out).unwrap();
    assert_eq!(decoded[0].metrics.len(), 2000);
    assert_eq!(decoded[0].metrics[1999].labels[0].1, "value-1999");
    assert_eq!(decoded[0].metrics[1999].gauge, Some(-7.0));
    assert_eq!(decoded.len(), families.len() + 1);
}
