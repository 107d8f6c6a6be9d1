//! A full HTTP round trip, `GET /metrics` of 1,000 series over one keep-alive loopback
//! connection, against each server that can serve the workload.

use criterion::{BenchmarkId, Criterion, Throughput, criterion_group, criterion_main};
use promstatic_bench_peers::http::{Client, PrerenderedServer};
use promstatic_bench_peers::peers;
use promstatic_bench_peers::scrape::{Floor, Format, PromstaticStatic, Scraper, check_exposition};

include!(concat!(env!("OUT_DIR"), "/series_1000.rs"));

fn round_trip(c: &mut Criterion) {
    let mut group = c.benchmark_group("http_get_metrics");
    group.throughput(Throughput::Elements(1));

    // The floor: a pre-rendered response from a blocking std server.
    let mut floor = Floor::new(SERIES.len());
    let server = PrerenderedServer::start(floor.scrape(Format::Text))
        .unwrap_or_else(|error| panic!("starting the floor server: {error}"));
    measure(
        &mut group,
        "floor: pre-rendered, std sockets",
        Client::connect_when_ready(server.address()),
    );

    // promstatic's exporter on its own thread (a current-thread runtime), serving this
    // binary's static table: exactly the workload's series (process metrics off).
    PromstaticStatic::new(&SERIES);
    let exporter = promstatic::exporter::Exporter::new()
        .address(std::net::SocketAddr::from(([127, 0, 0, 1], 0)))
        .process_metrics(false)
        .start()
        .unwrap_or_else(|error| panic!("promstatic exporter: {error}"));
    let address = exporter
        .local_addr()
        .unwrap_or_else(|| panic!("promstatic exporter not bound: {:?}", exporter.state()));
    measure(
        &mut group,
        "promstatic exporter",
        Client::connect_when_ready(address),
    );

    // metrics-exporter-prometheus and its own hyper listener, on a one-worker runtime (the
    // client takes the other core).
    let peer = peers::metrics_listener(SERIES.len());
    measure(
        &mut group,
        "metrics-exporter-prometheus (own listener)",
        Client::connect_when_ready(peer.address),
    );

    group.finish();
    drop(server);
    exporter.shutdown();
    drop(peer);
}

fn measure(
    group: &mut criterion::BenchmarkGroup<'_, criterion::measurement::WallTime>,
    id: &str,
    mut client: Client,
) {
    let body = client
        .get()
        .unwrap_or_else(|error| panic!("{id}: first GET /metrics: {error}"));
    check_exposition(id, body, SERIES.len());
    group.bench_function(BenchmarkId::new(id, SERIES.len()), |b| {
        b.iter(|| {
            client
                .get()
                .unwrap_or_else(|error| panic!("{id}: GET /metrics: {error}"))
                .len()
        })
    });
}

criterion_group!(benches, round_trip);
criterion_main!(benches);
