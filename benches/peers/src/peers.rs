//! Set-up of the peers' metrics for the update benches, with the workload's names.

use std::sync::OnceLock;

use metrics_exporter_prometheus::{PrometheusBuilder, PrometheusHandle, PrometheusRecorder};

use crate::workload::{LATENCY_BUCKETS, LATENCY_NAME, series_help, series_name, series_value};

/// A `prometheus` `IntCounter` (not registered: registration does not change `inc`).
pub fn prometheus_counter(name: &str, help: &str) -> prometheus::IntCounter {
    prometheus::IntCounter::with_opts(prometheus::Opts::new(name, help))
        .unwrap_or_else(|error| panic!("prometheus counter {name:?}: {error}"))
}

/// A `prometheus` `IntGauge`.
pub fn prometheus_gauge(name: &str, help: &str) -> prometheus::IntGauge {
    prometheus::IntGauge::with_opts(prometheus::Opts::new(name, help))
        .unwrap_or_else(|error| panic!("prometheus gauge {name:?}: {error}"))
}

/// A `prometheus` `Histogram` with the workload's buckets.
pub fn prometheus_histogram(name: &str, help: &str) -> prometheus::Histogram {
    prometheus::Histogram::with_opts(
        prometheus::HistogramOpts::new(name, help).buckets(LATENCY_BUCKETS.to_vec()),
    )
    .unwrap_or_else(|error| panic!("prometheus histogram {name:?}: {error}"))
}

/// A `prometheus` `IntCounterVec` with one label.
pub fn prometheus_counter_vec(name: &str, help: &str, label: &str) -> prometheus::IntCounterVec {
    prometheus::IntCounterVec::new(prometheus::Opts::new(name, help), &[label])
        .unwrap_or_else(|error| panic!("prometheus counter vec {name:?}: {error}"))
}

/// A `prometheus-client` histogram with the workload's buckets.
pub fn prometheus_client_histogram() -> prometheus_client::metrics::histogram::Histogram {
    prometheus_client::metrics::histogram::Histogram::new(LATENCY_BUCKETS)
}

/// The process-wide `metrics` recorder (a `PrometheusRecorder` with the workload's histogram
/// buckets), installed on first use; its handle.
///
/// The `counter!`/`gauge!`/`histogram!` macros reach only the global recorder, so every
/// `metrics` row of the update benches goes through this one.
pub fn metrics_global() -> &'static PrometheusHandle {
    static HANDLE: OnceLock<PrometheusHandle> = OnceLock::new();
    HANDLE.get_or_init(|| {
        let recorder = metrics_recorder();
        let handle = recorder.handle();
        metrics::set_global_recorder(recorder)
            .unwrap_or_else(|error| panic!("installing the metrics recorder: {error}"));
        handle
    })
}

/// A fresh `metrics-exporter-prometheus` recorder with the workload's histogram buckets.
pub fn metrics_recorder() -> PrometheusRecorder {
    metrics_builder().build_recorder()
}

/// A `PrometheusBuilder` with the workload's histogram buckets (without them the exporter
/// keeps summaries).
pub fn metrics_builder() -> PrometheusBuilder {
    PrometheusBuilder::new()
        .set_buckets_for_metric(
            metrics_exporter_prometheus::Matcher::Full(LATENCY_NAME.to_owned()),
            &LATENCY_BUCKETS,
        )
        .unwrap_or_else(|error| panic!("histogram buckets: {error}"))
}

/// `metrics-exporter-prometheus` behind its own hyper listener on a free loopback port, on a
/// one-worker runtime (the client takes the other core), holding the workload's `count`
/// series. Keep the runtime alive while scraping.
#[derive(Debug)]
pub struct MetricsListener {
    /// Runs the exporter's listener.
    pub runtime: tokio::runtime::Runtime,
    /// The recorder the listener serves.
    pub recorder: PrometheusRecorder,
    /// Where it listens.
    pub address: std::net::SocketAddr,
}

/// Starts a [`MetricsListener`]; a bench set-up step, so failures panic with their reason.
pub fn metrics_listener(count: usize) -> MetricsListener {
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(1)
        .enable_all()
        .build()
        .unwrap_or_else(|error| panic!("tokio runtime: {error}"));
    let address = crate::http::free_loopback_address()
        .unwrap_or_else(|error| panic!("no free port: {error}"));
    let recorder = {
        let _context = runtime.enter();
        let (recorder, exporter) = metrics_builder()
            .with_http_listener(address)
            .build()
            .unwrap_or_else(|error| panic!("metrics-exporter-prometheus listener: {error}"));
        runtime.spawn(exporter);
        recorder
    };
    metrics_fill(&recorder, count);
    MetricsListener {
        runtime,
        recorder,
        address,
    }
}

/// Registers the scrape workload's `count` series on `recorder`, through the `metrics`
/// macros run against it as a local recorder.
pub fn metrics_fill(recorder: &PrometheusRecorder, count: usize) {
    metrics::with_local_recorder(recorder, || {
        for index in 0..count {
            let name = series_name(index);
            metrics::describe_counter!(name.clone(), series_help(index));
            metrics::counter!(name).absolute(series_value(index));
        }
    });
}

/// The `method` label of the family bench, as `prometheus-client` types it.
#[derive(
    Debug, Clone, Copy, Hash, PartialEq, Eq, prometheus_client::encoding::EncodeLabelValue,
)]
#[allow(missing_docs)]
pub enum ClientMethod {
    Get,
    Post,
    Put,
    Delete,
}

/// `prometheus-client`'s label set for the family bench.
#[derive(Debug, Clone, Copy, Hash, PartialEq, Eq, prometheus_client::encoding::EncodeLabelSet)]
pub struct ClientLabels {
    /// The request method.
    pub method: ClientMethod,
}

/// [`ClientLabels`] in the workload's order of `METHODS`.
pub const CLIENT_LABELS: [ClientLabels; 4] = [
    ClientLabels {
        method: ClientMethod::Get,
    },
    ClientLabels {
        method: ClientMethod::Post,
    },
    ClientLabels {
        method: ClientMethod::Put,
    },
    ClientLabels {
        method: ClientMethod::Delete,
    },
];

pub use measured_labels::{MEASURED_LABELS, MeasuredLabelSet, MeasuredLabels, MeasuredMethod};

/// `measured`'s label types; its derives generate public items without docs.
#[allow(missing_docs)]
mod measured_labels {
    /// The `method` label of the family bench, as `measured` types it.
    #[derive(Debug, Clone, Copy, PartialEq, measured::FixedCardinalityLabel)]
    #[allow(missing_docs)]
    pub enum MeasuredMethod {
        Get,
        Post,
        Put,
        Delete,
    }

    /// `measured`'s label group for the family bench.
    #[derive(Debug, Clone, Copy, measured::LabelGroup)]
    #[label(set = MeasuredLabelSet)]
    pub struct MeasuredLabels {
        /// The request method.
        pub method: MeasuredMethod,
    }

    /// [`MeasuredLabels`] in the workload's order of `METHODS`.
    pub const MEASURED_LABELS: [MeasuredLabels; 4] = [
        MeasuredLabels {
            method: MeasuredMethod::Get,
        },
        MeasuredLabels {
            method: MeasuredMethod::Post,
        },
        MeasuredLabels {
            method: MeasuredMethod::Put,
        },
        MeasuredLabels {
            method: MeasuredMethod::Delete,
        },
    ];
}

/// The least a recording `metrics` recorder can do: every registration returns a clone of
/// one shared handle, with no lookup at all. `metrics` 0.24 hands a recorder's handle back as
/// an `Arc` (`Counter::from_arc`), so even this pays an `Arc` clone and drop per macro call;
/// with the `metrics` dispatch around it, that is the floor of the macro path for any
/// recorder (the facade bench and `facade_calls` measure it beside `NoopRecorder`).
#[derive(Debug, Default)]
pub struct FloorRecorder {
    handle: std::sync::Arc<FloorHandle>,
}

/// The one handle of [`FloorRecorder`]: a counter, gauge and histogram count in one atomic.
#[derive(Debug, Default)]
pub struct FloorHandle {
    value: std::sync::atomic::AtomicU64,
}

impl FloorHandle {
    /// The sum of every update so far (histograms count observations).
    pub fn value(&self) -> u64 {
        self.value.load(std::sync::atomic::Ordering::Relaxed)
    }

    fn add(&self, delta: u64) {
        self.value
            .fetch_add(delta, std::sync::atomic::Ordering::Relaxed);
    }
}

impl FloorRecorder {
    /// The shared handle, to check that updates arrived.
    pub fn handle(&self) -> &FloorHandle {
        &self.handle
    }
}

impl metrics::CounterFn for FloorHandle {
    fn increment(&self, value: u64) {
        self.add(value);
    }

    fn absolute(&self, value: u64) {
        self.value
            .fetch_max(value, std::sync::atomic::Ordering::Relaxed);
    }
}

impl metrics::GaugeFn for FloorHandle {
    fn increment(&self, _value: f64) {
        self.add(1);
    }

    fn decrement(&self, _value: f64) {
        self.add(1);
    }

    fn set(&self, _value: f64) {
        self.add(1);
    }
}

impl metrics::HistogramFn for FloorHandle {
    fn record(&self, _value: f64) {
        self.add(1);
    }
}

impl metrics::Recorder for FloorRecorder {
    fn describe_counter(
        &self,
        _: metrics::KeyName,
        _: Option<metrics::Unit>,
        _: metrics::SharedString,
    ) {
    }

    fn describe_gauge(
        &self,
        _: metrics::KeyName,
        _: Option<metrics::Unit>,
        _: metrics::SharedString,
    ) {
    }

    fn describe_histogram(
        &self,
        _: metrics::KeyName,
        _: Option<metrics::Unit>,
        _: metrics::SharedString,
    ) {
    }

    fn register_counter(&self, _: &metrics::Key, _: &metrics::Metadata<'_>) -> metrics::Counter {
        metrics::Counter::from_arc(std::sync::Arc::clone(&self.handle))
    }

    fn register_gauge(&self, _: &metrics::Key, _: &metrics::Metadata<'_>) -> metrics::Gauge {
        metrics::Gauge::from_arc(std::sync::Arc::clone(&self.handle))
    }

    fn register_histogram(
        &self,
        _: &metrics::Key,
        _: &metrics::Metadata<'_>,
    ) -> metrics::Histogram {
        metrics::Histogram::from_arc(std::sync::Arc::clone(&self.handle))
    }
}
