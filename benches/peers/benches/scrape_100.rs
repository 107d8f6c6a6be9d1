//! Scrape encode of 100 series, every library, text 0.0.4 and OpenMetrics.

include!(concat!(env!("OUT_DIR"), "/series_100.rs"));

fn scrape(c: &mut criterion::Criterion) {
    promstatic_bench_peers::scrape::bench(c, &SERIES);
}

criterion::criterion_group!(benches, scrape);
criterion::criterion_main!(benches);
