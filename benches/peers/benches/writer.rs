//! Writer throughput: one thread incrementing a scraped counter, alone and while another
//! thread scrapes all 1,000 series in a loop (in process, and over HTTP where the library
//! has a server). The writer increments series 0, which every scrape reads.
//!
//! The floor rows separate what the machine costs from what a library costs: the floor's
//! writer next to a thread that only computes in registers (no shared memory at all), next
//! to the floor scraper (copy + itoa), and next to a pre-rendered HTTP server and its client.

use std::sync::atomic::Ordering;

use criterion::{BenchmarkId, Criterion, criterion_group, criterion_main};
use promstatic_bench_peers::http::{Client, PrerenderedServer};
use promstatic_bench_peers::peers;
use promstatic_bench_peers::scrape::{
    Floor, Format, MetricsExporter, Prometheus, PromstaticStatic, Scraper,
};
use promstatic_bench_peers::threads::with_background;

include!(concat!(env!("OUT_DIR"), "/series_1000.rs"));

/// Parameter of the row without a scraper.
const ALONE: &str = "alone";
/// Parameter of the rows with an in-process scraper.
const IN_PROCESS: &str = "in-process scraper";
/// Parameter of the row with a busy thread that touches no shared memory.
const BUSY_CORE: &str = "arithmetic-only thread";
/// Parameter of the rows with an HTTP scraper.
const OVER_HTTP: &str = "HTTP scraper";

fn writer(c: &mut Criterion) {
    let mut group = c.benchmark_group("writer_inc");

    let mut floor = Floor::new(SERIES.len());
    let values = floor.values();
    let inc = |_| {
        values[0].fetch_add(1, Ordering::Relaxed);
    };
    group.bench_function(BenchmarkId::new("floor: fetch_add", ALONE), |b| {
        b.iter(|| inc(0))
    });
    group.bench_function(BenchmarkId::new("floor: fetch_add", IN_PROCESS), |b| {
        b.iter_custom(|iterations| {
            with_background(
                iterations,
                || {
                    std::hint::black_box(floor.scrape(Format::Text));
                },
                inc,
            )
        })
    });
    // The machine's own floor: a thread that only does arithmetic in registers, sharing no
    // memory with the writer. Any slowdown here comes from the cores, not from a library.
    group.bench_function(BenchmarkId::new("floor: fetch_add", BUSY_CORE), |b| {
        b.iter_custom(|iterations| {
            with_background(
                iterations,
                || {
                    let mut state = 1u64;
                    for _ in 0..1_000 {
                        state = state
                            .wrapping_mul(6_364_136_223_846_793_005)
                            .wrapping_add(1_442_695_040_888_963_407);
                    }
                    std::hint::black_box(state);
                },
                inc,
            )
        })
    });
    // Over HTTP the floor is a pre-rendered std-socket server: a client and a server thread
    // busy next to the writer, reading none of its memory. What remains is the cost of
    // sharing two cores among three busy threads.
    let server = PrerenderedServer::start(floor.scrape(Format::Text))
        .unwrap_or_else(|error| panic!("starting the floor server: {error}"));
    let mut client = Client::connect_when_ready(server.address());
    group.bench_function(BenchmarkId::new("floor: fetch_add", OVER_HTTP), |b| {
        b.iter_custom(|iterations| {
            with_background(
                iterations,
                || {
                    client
                        .get()
                        .unwrap_or_else(|error| panic!("GET /metrics: {error}"));
                },
                inc,
            )
        })
    });
    drop(client);
    drop(server);

    let mut promstatic = PromstaticStatic::new(&SERIES);
    let inc = |_| SERIES[0].inc();
    group.bench_function(BenchmarkId::new("promstatic", ALONE), |b| b.iter(|| inc(0)));
    group.bench_function(BenchmarkId::new("promstatic", IN_PROCESS), |b| {
        b.iter_custom(|iterations| {
            with_background(
                iterations,
                || {
                    std::hint::black_box(promstatic.scrape(Format::Text));
                },
                inc,
            )
        })
    });
    // Its exporter serves this binary's table: exactly the workload (process metrics off).
    let exporter = promstatic::exporter::Exporter::new()
        .address(std::net::SocketAddr::from(([127, 0, 0, 1], 0)))
        .process_metrics(false)
        .start()
        .unwrap_or_else(|error| panic!("promstatic exporter: {error}"));
    let address = exporter
        .local_addr()
        .unwrap_or_else(|| panic!("promstatic exporter not bound: {:?}", exporter.state()));
    let mut client = Client::connect_when_ready(address);
    group.bench_function(BenchmarkId::new("promstatic", OVER_HTTP), |b| {
        b.iter_custom(|iterations| {
            with_background(
                iterations,
                || {
                    client
                        .get()
                        .unwrap_or_else(|error| panic!("GET /metrics: {error}"));
                },
                inc,
            )
        })
    });
    exporter.shutdown();

    let mut prometheus = Prometheus::new(SERIES.len());
    let counter = prometheus.counter(0);
    let inc = |_| counter.inc();
    group.bench_function(BenchmarkId::new("prometheus", ALONE), |b| b.iter(|| inc(0)));
    group.bench_function(BenchmarkId::new("prometheus", IN_PROCESS), |b| {
        b.iter_custom(|iterations| {
            with_background(
                iterations,
                || {
                    std::hint::black_box(prometheus.scrape(Format::Text));
                },
                inc,
            )
        })
    });

    let mut metrics = MetricsExporter::new(SERIES.len());
    let counter = metrics.counter(0);
    let inc = |_| counter.increment(1);
    let id = "metrics-exporter-prometheus";
    group.bench_function(BenchmarkId::new(id, ALONE), |b| b.iter(|| inc(0)));
    group.bench_function(BenchmarkId::new(id, IN_PROCESS), |b| {
        b.iter_custom(|iterations| {
            with_background(
                iterations,
                || {
                    std::hint::black_box(metrics.scrape(Format::Text));
                },
                inc,
            )
        })
    });

    // The same library behind its own listener, scraped over loopback.
    let peer = peers::metrics_listener(SERIES.len());
    let counter = metrics::with_local_recorder(&peer.recorder, || {
        metrics::counter!(promstatic_bench_peers::workload::series_name(0))
    });
    let inc = |_| counter.increment(1);
    let mut client = Client::connect_when_ready(peer.address);
    group.bench_function(BenchmarkId::new(id, OVER_HTTP), |b| {
        b.iter_custom(|iterations| {
            with_background(
                iterations,
                || {
                    client
                        .get()
                        .unwrap_or_else(|error| panic!("GET /metrics: {error}"));
                },
                inc,
            )
        })
    });
    group.finish();
    drop(peer);
}

criterion_group!(benches, writer);
criterion_main!(benches);
