//! Memory per series: what each library keeps for the scrape workload, heap and static.
//!
//! Heap bytes are counted by [`CountingAllocator`](crate::allocations::CountingAllocator)
//! (the binary must install it) while the library is set up with the workload and scraped
//! once in every format it writes, so buffers and lazily built indexes are included.
//! promstatic's series also live in static memory, which no allocator sees: its table entry
//! and its counter, plus the name and HELP bytes the entry points to.
//!
//! The scrape benches with the most series write their rows to a file in criterion's
//! directory ([`write()`]); the report reads them back ([`read`]) next to the rows it measures
//! itself at 1,000 series.

use std::path::{Path, PathBuf};

use promstatic::Counter;

use crate::allocations::retained_bytes_in;
use crate::scrape::{Floor, Format, Measured, PrometheusClient, PromstaticStatic, Scraper};
use crate::workload::{series_help, series_name};

/// One library's memory for one series count.
#[derive(Debug, Clone, PartialEq)]
pub struct Row {
    /// The scraper's id.
    pub library: String,
    /// How many series it held.
    pub series: usize,
    /// Heap bytes kept after set-up and one scrape per format, per series.
    pub heap_per_series: f64,
    /// Static bytes per series (promstatic only; 0 for the others).
    pub static_per_series: f64,
}

/// Measures promstatic (its table must hold exactly `statics`, and not have been scraped
/// before in this process, so its first-scrape structures are counted), the floor and the two
/// fastest peers (`measured` for text, `prometheus-client` for OpenMetrics).
pub fn measure(statics: &'static [&'static Counter]) -> Vec<Row> {
    let count = statics.len();
    let mut rows = Vec::new();
    let mut heap = |build: &dyn Fn() -> Box<dyn Scraper>, static_bytes: usize| {
        let (scraper, bytes) = retained_bytes_in(|| {
            let mut scraper = build();
            for format in [Format::Text, Format::OpenMetrics] {
                if scraper.supports(format) {
                    std::hint::black_box(scraper.scrape(format));
                }
            }
            scraper
        });
        rows.push(Row {
            library: scraper.id().to_owned(),
            series: count,
            heap_per_series: bytes as f64 / count as f64,
            static_per_series: static_bytes as f64 / count as f64,
        });
        // Freed outside the counted region: what matters is what it holds while alive.
        drop(scraper);
    };
    let strings: usize = (0..count)
        .map(|index| series_name(index).len() + 2 * series_help(index).len())
        .sum();
    let promstatic_static = count
        * (std::mem::size_of::<promstatic::__private::Entry>() + std::mem::size_of::<Counter>())
        + strings;
    heap(
        &|| Box::new(PromstaticStatic::new(statics)),
        promstatic_static,
    );
    heap(&|| Box::new(Floor::new(count)), 0);
    heap(&|| Box::new(Measured::new(count)), 0);
    heap(&|| Box::new(PrometheusClient::new(count)), 0);
    rows
}

/// Where the rows for `series` series are kept, under criterion's directory.
pub fn path(criterion_dir: &Path, series: usize) -> PathBuf {
    criterion_dir.join(format!("promstatic-memory-{series}.tsv"))
}

/// criterion's directory as the bench binaries see it (`CARGO_TARGET_DIR`, else the
/// workspace's `target`).
pub fn criterion_dir() -> PathBuf {
    std::env::var_os("CARGO_TARGET_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| Path::new(env!("CARGO_MANIFEST_DIR")).join("../../target"))
        .join("criterion")
}

/// Writes `rows` (one series count) as tab-separated lines.
pub fn write(criterion_dir: &Path, rows: &[Row]) -> std::io::Result<()> {
    let Some(series) = rows.first().map(|row| row.series) else {
        return Ok(());
    };
    let mut text = String::new();
    for row in rows {
        text.push_str(&format!(
            "{}\t{}\t{}\t{}\n",
            row.library, row.series, row.heap_per_series, row.static_per_series
        ));
    }
    std::fs::create_dir_all(criterion_dir)?;
    std::fs::write(path(criterion_dir, series), text)
}

/// The rows [`write()`] wrote for `series`, or an empty list if there are none (not measured).
pub fn read(criterion_dir: &Path, series: usize) -> Vec<Row> {
    let text = std::fs::read_to_string(path(criterion_dir, series)).unwrap_or_default();
    text.lines()
        .filter_map(|line| {
            let mut fields = line.split('\t');
            Some(Row {
                library: fields.next()?.to_owned(),
                series: fields.next()?.parse().ok()?,
                heap_per_series: fields.next()?.parse().ok()?,
                static_per_series: fields.next()?.parse().ok()?,
            })
        })
        .collect()
}
