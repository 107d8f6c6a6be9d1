//! One scrape of the workload's N counter series, per library.
//!
//! Each series is its own family (`# HELP`, `# TYPE`, one sample) because that is the shape
//! promstatic's static table has until label families land, and every peer can produce it.
//! Every scraper keeps its own output buffer across scrapes where its API allows, so a warm
//! scrape is measured the way a careful user would run it.

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

use promstatic::Counter;
use promstatic::encode::{Encoder, Family, Help, Kind, Suffix};

pub use promstatic::Format;

use crate::workload::{series_base_name, series_help, series_name, series_value};

/// A library set up with the workload, ready to scrape.
pub trait Scraper {
    /// The benchmark function id: `floor…`, `promstatic…`, or the peer's name.
    fn id(&self) -> &'static str;

    /// Whether the library can write `format` at all.
    fn supports(&self, format: Format) -> bool;

    /// One scrape in `format` (which it [supports](Scraper::supports)); the exposition.
    fn scrape(&mut self, format: Format) -> &[u8];
}

/// Every library's scraper for `count` series; `statics` are promstatic's generated statics
/// for that count (the bench binary owns them, so its table holds exactly these series).
pub fn all(count: usize, statics: &'static [&'static Counter]) -> Vec<Box<dyn Scraper>> {
    vec![
        Box::new(Floor::new(count)),
        Box::new(PromstaticStatic::new(statics)),
        Box::new(PromstaticEncoder::new(count)),
        Box::new(Prometheus::new(count)),
        Box::new(PrometheusClient::new(count)),
        Box::new(MetricsExporter::new(count)),
        Box::new(Measured::new(count)),
    ]
}

/// The floor: pre-rendered lines, copied, with each value written by `itoa`.
#[derive(Debug)]
pub struct Floor {
    text: Vec<Vec<u8>>,
    openmetrics: Vec<Vec<u8>>,
    values: Arc<[AtomicU64]>,
    out: Vec<u8>,
}

impl Floor {
    /// The series values, shared with writers.
    pub fn values(&self) -> Arc<[AtomicU64]> {
        Arc::clone(&self.values)
    }

    /// The floor with `count` series.
    pub fn new(count: usize) -> Self {
        let text = (0..count)
            .map(|index| {
                let name = series_name(index);
                let help = series_help(index);
                format!("# HELP {name} {help}\n# TYPE {name} counter\n{name} ").into_bytes()
            })
            .collect();
        let openmetrics = (0..count)
            .map(|index| {
                let base = series_base_name(index);
                let help = series_help(index);
                format!("# HELP {base} {help}\n# TYPE {base} counter\n{base}_total ").into_bytes()
            })
            .collect();
        Floor {
            text,
            openmetrics,
            values: (0..count)
                .map(|index| AtomicU64::new(series_value(index)))
                .collect::<Vec<_>>()
                .into(),
            out: Vec::new(),
        }
    }
}

impl Scraper for Floor {
    fn id(&self) -> &'static str {
        "floor: copy + itoa"
    }

    fn supports(&self, format: Format) -> bool {
        // Pre-rendered text lines: no protobuf floor.
        format != Format::Protobuf
    }

    fn scrape(&mut self, format: Format) -> &[u8] {
        let lines = match format {
            Format::Text | Format::Protobuf => &self.text,
            Format::OpenMetrics => &self.openmetrics,
        };
        self.out.clear();
        let mut digits = itoa::Buffer::new();
        for (line, value) in lines.iter().zip(self.values.iter()) {
            self.out.extend_from_slice(line);
            self.out
                .extend_from_slice(digits.format(value.load(Ordering::Relaxed)).as_bytes());
            self.out.push(b'\n');
        }
        if format == Format::OpenMetrics {
            self.out.extend_from_slice(b"# EOF\n");
        }
        &self.out
    }
}

/// promstatic's static table: `#[metric]` statics rendered by `promstatic::render`.
#[derive(Debug)]
pub struct PromstaticStatic {
    out: Vec<u8>,
}

impl PromstaticStatic {
    /// Sets the statics to the workload's values. The calling binary must declare no other
    /// `#[metric]` statics, or they are scraped too.
    pub fn new(statics: &'static [&'static Counter]) -> Self {
        // Counters only go up: a second set-up in one process finds them already set, and two
        // set-ups at once (tests run in parallel) must not both add the difference.
        static SETUP: std::sync::Mutex<()> = std::sync::Mutex::new(());
        let _one_at_a_time = SETUP
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        for (index, counter) in statics.iter().enumerate() {
            counter.inc_by(series_value(index).saturating_sub(counter.get()));
        }
        PromstaticStatic { out: Vec::new() }
    }
}

impl Scraper for PromstaticStatic {
    fn id(&self) -> &'static str {
        "promstatic"
    }

    fn supports(&self, _format: Format) -> bool {
        true
    }

    fn scrape(&mut self, format: Format) -> &[u8] {
        self.out.clear();
        promstatic::render(&mut self.out, format);
        &self.out
    }
}

/// promstatic's run-time encoder API (`promstatic::encode`), fed from a list built at run
/// time: what a bridge from another metrics source would do. HELP is escaped per scrape.
#[derive(Debug)]
pub struct PromstaticEncoder {
    families: Vec<Family<'static>>,
    values: Vec<AtomicU64>,
    out: Vec<u8>,
}

impl PromstaticEncoder {
    /// The encoder path with `count` series.
    pub fn new(count: usize) -> Self {
        let families = (0..count)
            .map(|index| {
                // Leaked once per set-up: the families borrow their strings for the whole run.
                let name: &'static str = Box::leak(series_name(index).into_boxed_str());
                let help: &'static str = Box::leak(series_help(index).into_boxed_str());
                Family::new(name, Kind::Counter, Help::Raw(help))
                    .unwrap_or_else(|error| panic!("workload name {name:?} is invalid: {error}"))
            })
            .collect();
        PromstaticEncoder {
            families,
            values: (0..count)
                .map(|index| AtomicU64::new(series_value(index)))
                .collect(),
            out: Vec::new(),
        }
    }
}

impl Scraper for PromstaticEncoder {
    fn id(&self) -> &'static str {
        "promstatic (run-time encoder)"
    }

    fn supports(&self, _format: Format) -> bool {
        true
    }

    fn scrape(&mut self, format: Format) -> &[u8] {
        self.out.clear();
        let mut encoder = Encoder::new(&mut self.out, format);
        for (family, value) in self.families.iter().zip(&self.values) {
            let written = encoder.family(family).and_then(|mut writer| {
                writer.sample(
                    Suffix::Bare,
                    &[],
                    promstatic::encode::Value::Unsigned(value.load(Ordering::Relaxed)),
                )
            });
            if let Err(error) = written {
                panic!("the workload's families are distinct and valid: {error}");
            }
        }
        encoder.finish();
        &self.out
    }
}

/// The `prometheus` crate: a `Registry` of `IntCounter`s, `gather` + `TextEncoder`.
#[derive(Debug)]
pub struct Prometheus {
    registry: prometheus::Registry,
    counters: Vec<prometheus::IntCounter>,
    out: Vec<u8>,
}

impl Prometheus {
    /// A registry with `count` series.
    pub fn new(count: usize) -> Self {
        let registry = prometheus::Registry::new();
        let mut counters = Vec::with_capacity(count);
        for index in 0..count {
            let counter =
                crate::peers::prometheus_counter(&series_name(index), &series_help(index));
            counter.inc_by(series_value(index));
            registry
                .register(Box::new(counter.clone()))
                .unwrap_or_else(|error| panic!("workload series {index}: {error}"));
            counters.push(counter);
        }
        Prometheus {
            registry,
            counters,
            out: Vec::new(),
        }
    }

    /// A handle to series `index`, for writers.
    pub fn counter(&self, index: usize) -> prometheus::IntCounter {
        self.counters[index].clone()
    }
}

impl Scraper for Prometheus {
    fn id(&self) -> &'static str {
        "prometheus"
    }

    fn supports(&self, format: Format) -> bool {
        // The crate writes text 0.0.4 and protobuf, not OpenMetrics.
        matches!(format, Format::Text | Format::Protobuf)
    }

    fn scrape(&mut self, format: Format) -> &[u8] {
        use prometheus::Encoder as _;
        self.out.clear();
        let families = self.registry.gather();
        let written = if format == Format::Protobuf {
            prometheus::ProtobufEncoder::new().encode(&families, &mut self.out)
        } else {
            prometheus::TextEncoder::new().encode(&families, &mut self.out)
        };
        written.unwrap_or_else(|error| panic!("prometheus encode: {error}"));
        &self.out
    }
}

/// `prometheus-client`: a `Registry` of `Counter`s, `encoding::text::encode`.
#[derive(Debug)]
pub struct PrometheusClient {
    registry: prometheus_client::registry::Registry,
    out: String,
    protobuf: Vec<u8>,
}

impl PrometheusClient {
    /// A registry with `count` series.
    pub fn new(count: usize) -> Self {
        let mut registry = prometheus_client::registry::Registry::default();
        for index in 0..count {
            let counter = prometheus_client::metrics::counter::Counter::<u64>::default();
            counter.inc_by(series_value(index));
            // The crate appends `_total` to a counter's name and `.` to its HELP itself.
            let help = series_help(index);
            let help = help.strip_suffix('.').unwrap_or(&help);
            registry.register(series_base_name(index), help, counter);
        }
        PrometheusClient {
            registry,
            out: String::new(),
            protobuf: Vec::new(),
        }
    }
}

impl Scraper for PrometheusClient {
    fn id(&self) -> &'static str {
        "prometheus-client"
    }

    fn supports(&self, format: Format) -> bool {
        // The crate writes OpenMetrics text and (feature `prometheus_protobuf`) protobuf.
        matches!(format, Format::OpenMetrics | Format::Protobuf)
    }

    fn scrape(&mut self, format: Format) -> &[u8] {
        if format == Format::Protobuf {
            use prost::Message as _;
            // The crate builds the messages; writing them delimited is what a server adds.
            self.protobuf.clear();
            let families = prometheus_client::encoding::prometheus_protobuf::encode(&self.registry)
                .unwrap_or_else(|error| panic!("prometheus-client protobuf encode: {error}"));
            for family in &families {
                family
                    .encode_length_delimited(&mut self.protobuf)
                    .unwrap_or_else(|error| panic!("prometheus-client protobuf write: {error}"));
            }
            return &self.protobuf;
        }
        self.out.clear();
        prometheus_client::encoding::text::encode(&mut self.out, &self.registry)
            .unwrap_or_else(|error| panic!("prometheus-client encode: {error}"));
        self.out.as_bytes()
    }
}

/// `metrics` + `metrics-exporter-prometheus`: a recorder of its own (not the global one),
/// rendered through `PrometheusHandle::render_to_write` into a reused buffer.
#[derive(Debug)]
pub struct MetricsExporter {
    recorder: metrics_exporter_prometheus::PrometheusRecorder,
    handle: metrics_exporter_prometheus::PrometheusHandle,
    out: Vec<u8>,
}

impl MetricsExporter {
    /// A recorder holding `count` series.
    pub fn new(count: usize) -> Self {
        let recorder = crate::peers::metrics_recorder();
        let handle = recorder.handle();
        crate::peers::metrics_fill(&recorder, count);
        MetricsExporter {
            recorder,
            handle,
            out: Vec::new(),
        }
    }

    /// A held handle to series `index`, for writers.
    pub fn counter(&self, index: usize) -> metrics::Counter {
        metrics::with_local_recorder(&self.recorder, || metrics::counter!(series_name(index)))
    }
}

impl Scraper for MetricsExporter {
    fn id(&self) -> &'static str {
        "metrics-exporter-prometheus"
    }

    fn supports(&self, format: Format) -> bool {
        // The exporter writes text 0.0.4 (and protobuf), not OpenMetrics.
        format == Format::Text
    }

    fn scrape(&mut self, _format: Format) -> &[u8] {
        self.out.clear();
        self.handle
            .render_to_write(&mut self.out)
            .unwrap_or_else(|error| panic!("metrics-exporter-prometheus render: {error}"));
        &self.out
    }
}

/// `measured`: `Counter`s written family by family into a reused `BufferedTextEncoder`, as
/// its `MetricGroup` derive does.
pub struct Measured {
    series: Vec<(
        &'static measured::metric::name::MetricName,
        String,
        measured::Counter,
    )>,
    encoder: measured::text::BufferedTextEncoder,
    out: bytes::Bytes,
}

impl std::fmt::Debug for Measured {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Measured")
            .field("series", &self.series.len())
            .finish_non_exhaustive()
    }
}

impl Measured {
    /// `count` counters.
    pub fn new(count: usize) -> Self {
        let series = (0..count)
            .map(|index| {
                let name: &'static str = Box::leak(series_name(index).into_boxed_str());
                let name = measured::metric::name::MetricName::try_from_str(name)
                    .unwrap_or_else(|error| panic!("workload name {name:?}: {error}"));
                let counter = measured::Counter::new();
                counter.inc_by(series_value(index));
                (name, series_help(index), counter)
            })
            .collect();
        Measured {
            series,
            encoder: measured::text::BufferedTextEncoder::new(),
            out: bytes::Bytes::new(),
        }
    }
}

impl Scraper for Measured {
    fn id(&self) -> &'static str {
        "measured"
    }

    fn supports(&self, format: Format) -> bool {
        // The crate writes text 0.0.4 only.
        format == Format::Text
    }

    fn scrape(&mut self, _format: Format) -> &[u8] {
        use measured::metric::MetricFamilyEncoding as _;
        use measured::metric::group::Encoding as _;
        // Release the previous scrape first, so the encoder can reuse its buffer.
        self.out = bytes::Bytes::new();
        for (name, help, counter) in &self.series {
            let _ = self.encoder.write_help(*name, help);
            let _ = counter.collect_family_into(*name, &mut self.encoder);
        }
        self.out = self.encoder.finish();
        &self.out
    }
}

/// The scrape benches for `count` series: groups `scrape_text` and `scrape_openmetrics`, one
/// function per library, the series count as parameter.
///
/// Before measuring, checks that every library's exposition has the workload's series count
/// and a known sample line, so a library that silently wrote less would fail the run.
pub fn bench(c: &mut criterion::Criterion, statics: &'static [&'static Counter]) {
    let count = statics.len();
    let mut scrapers = all(count, statics);
    for format in [Format::Text, Format::OpenMetrics, Format::Protobuf] {
        let group_name = match format {
            Format::Text => "scrape_text",
            Format::OpenMetrics => "scrape_openmetrics",
            Format::Protobuf => "scrape_protobuf",
        };
        let mut group = c.benchmark_group(group_name);
        group.throughput(criterion::Throughput::Elements(count as u64));
        for scraper in scrapers.iter_mut() {
            if !scraper.supports(format) {
                continue;
            }
            if format == Format::Protobuf {
                check_protobuf(scraper.id(), scraper.scrape(format), count);
            } else {
                check_exposition(scraper.id(), scraper.scrape(format), count);
            }
            group.bench_function(criterion::BenchmarkId::new(scraper.id(), count), |b| {
                b.iter(|| std::hint::black_box(scraper.scrape(format)).len())
            });
        }
        group.finish();
    }
}

/// Panics unless a protobuf exposition holds exactly `count` delimited `MetricFamily`
/// messages of the workload, one of them the probe series with its name and value. Other
/// families are not counted, as `check_exposition` ignores other lines: promstatic's table
/// in these binaries also holds the `tower` feature's HTTP families, which a scrape writes
/// once a layer has wrapped a service (none does in the scrape benches, but a bench binary
/// that builds one would see them).
pub fn check_protobuf(library: &str, exposition: &[u8], count: usize) {
    let mut at = 0;
    let mut families = 0;
    let probe = count / 2;
    let name = series_name(probe);
    let value = (series_value(probe) as f64).to_le_bytes();
    let mut probe_found = false;
    while at < exposition.len() {
        let mut length = 0usize;
        let mut shift = 0;
        loop {
            let byte = exposition[at];
            at += 1;
            length |= usize::from(byte & 0x7f) << shift;
            shift += 7;
            if byte & 0x80 == 0 {
                break;
            }
        }
        let message = &exposition[at..at + length];
        // The name field (1) of the probe family, then its counter value somewhere after.
        let mut tag = vec![0x0a, name.len() as u8];
        tag.extend_from_slice(name.as_bytes());
        if message.starts_with(&tag) {
            probe_found = message.windows(8).any(|window| window == value);
        }
        // The name field (1) of every workload family: `bench_series_…`.
        let workload = message
            .get(2..)
            .is_some_and(|name| name.starts_with(b"bench_series_"));
        at += length;
        families += usize::from(workload);
    }
    assert_eq!(families, count, "{library}: wrong number of families");
    assert!(
        probe_found,
        "{library}: no family {name} with value {}",
        series_value(probe)
    );
}

/// Panics unless `exposition` holds exactly `count` workload samples with their values.
pub fn check_exposition(library: &str, exposition: &[u8], count: usize) {
    let text = String::from_utf8_lossy(exposition);
    let samples = text
        .lines()
        .filter(|line| line.starts_with("bench_series_") && !line.starts_with('#'))
        .count();
    assert_eq!(samples, count, "{library}: wrong number of samples");
    let probe = count / 2;
    let line = format!("{} {}\n", series_name(probe), series_value(probe));
    assert!(
        text.contains(&line),
        "{library}: the exposition lacks {line:?}"
    );
    let help = format!(" {}\n", series_help(probe));
    assert!(
        text.contains(&help),
        "{library}: the exposition lacks HELP {help:?}"
    );
}
