//! Scrape encode of 100,000 series, text 0.0.4 and OpenMetrics: promstatic, the floor and the
//! two fastest peers (`measured` for text, `prometheus-client` for OpenMetrics), to show how
//! the per-series cost grows from 1,000 series (`scrape_1k`). Also records the memory each
//! keeps per series, for the report.
//!
//! The slower peers are left out: at 100,000 series one of their scrapes takes tens of
//! milliseconds and would add minutes to the suite without changing any verdict.

use criterion::{BenchmarkId, Criterion, SamplingMode, Throughput};
use promstatic_bench_peers::allocations::CountingAllocator;
use promstatic_bench_peers::memory;
use promstatic_bench_peers::scrape::{
    Floor, Format, Measured, PrometheusClient, PromstaticStatic, Scraper, check_exposition,
};

// Counts heap bytes for the memory rows; it only counts inside `memory::measure`, so the
// scrapes measured below pay one thread-local check per allocation (they make none warm).
#[global_allocator]
static GLOBAL: CountingAllocator = CountingAllocator;

include!(concat!(env!("OUT_DIR"), "/series_100000.rs"));

fn scrape(c: &mut Criterion) {
    // First, while promstatic's table has never been scraped in this process, so the
    // structures its first scrape builds are counted.
    let rows = memory::measure(&SERIES);
    if let Err(error) = memory::write(&memory::criterion_dir(), &rows) {
        eprintln!("scrape_100k: cannot write the memory rows: {error}");
    }
    let count = SERIES.len();
    let mut scrapers: Vec<Box<dyn Scraper>> = vec![
        Box::new(Floor::new(count)),
        Box::new(PromstaticStatic::new(&SERIES)),
        Box::new(Measured::new(count)),
        Box::new(PrometheusClient::new(count)),
    ];
    for (format, group_name) in [
        (Format::Text, "scrape_text"),
        (Format::OpenMetrics, "scrape_openmetrics"),
    ] {
        let mut group = c.benchmark_group(group_name);
        group.throughput(Throughput::Elements(count as u64));
        // One scrape takes milliseconds: criterion's default linear sampling would need
        // thousands of them per library; flat sampling with 10 samples keeps the file short.
        group.sampling_mode(SamplingMode::Flat);
        group.sample_size(10);
        for scraper in scrapers.iter_mut() {
            if !scraper.supports(format) {
                continue;
            }
            check_exposition(scraper.id(), scraper.scrape(format), count);
            group.bench_function(BenchmarkId::new(scraper.id(), count), |b| {
                b.iter(|| std::hint::black_box(scraper.scrape(format)).len())
            });
        }
        group.finish();
    }
}

criterion::criterion_group!(benches, scrape);
criterion::criterion_main!(benches);
