//! Every library's scrape holds the same workload: the series count, a known sample line and
//! its HELP, in every format the library writes.

use promstatic_bench_peers::scrape::{self, Format, Scraper, check_exposition};

include!(concat!(env!("OUT_DIR"), "/series_1000.rs"));

#[test]
fn every_library_scrapes_the_same_series() {
    let mut formats_seen = 0;
    for mut scraper in scrape::all(SERIES.len(), &SERIES) {
        for format in [Format::Text, Format::OpenMetrics] {
            if scraper.supports(format) {
                let id = scraper.id();
                check_exposition(id, scraper.scrape(format), SERIES.len());
                formats_seen += 1;
            }
        }
    }
    // floor and promstatic's two paths write both formats; four peers write one each.
    assert_eq!(formats_seen, 3 * 2 + 4);
}

#[test]
fn openmetrics_scrapes_end_with_eof() {
    for mut scraper in scrape::all(SERIES.len(), &SERIES) {
        if scraper.supports(Format::OpenMetrics) {
            let id = scraper.id();
            assert!(
                scraper.scrape(Format::OpenMetrics).ends_with(b"# EOF\n"),
                "{id}"
            );
        }
    }
}

#[test]
fn promstatic_writes_exactly_the_floor_bytes() {
    let mut floor = scrape::Floor::new(SERIES.len());
    let mut statics = scrape::PromstaticStatic::new(&SERIES);
    let mut encoder = scrape::PromstaticEncoder::new(SERIES.len());
    for format in [Format::Text, Format::OpenMetrics] {
        let expected = String::from_utf8(floor.scrape(format).to_vec()).unwrap();
        let from_statics = workload_families(core::str::from_utf8(statics.scrape(format)).unwrap());
        let from_encoder = String::from_utf8(encoder.scrape(format).to_vec()).unwrap();
        assert_eq!(from_statics, expected, "{format:?}");
        assert_eq!(from_encoder, expected, "{format:?}");
    }
}

/// The workload's families of a scrape of the static table, in their order (and `# EOF`).
///
/// The bench crate links promstatic with the `tower` and `facade` features (for the
/// `http_layer` and `facade` benches), so its table also holds the library's own families:
/// the tower layer's `http_*` families and `promstatic_*` self-metrics. Those are dropped here,
/// and only those: any other family fails the test.
fn workload_families(exposition: &str) -> String {
    let mut kept = String::new();
    let mut keep = true;
    for line in exposition.split_inclusive('\n') {
        if let Some(rest) = line.strip_prefix("# HELP ") {
            let name = rest.split(' ').next().unwrap_or_default();
            keep = name.starts_with("bench_series_");
            assert!(
                keep || name.starts_with("http_") || name.starts_with("promstatic_"),
                "a family that is neither the workload nor the library's own: {name}"
            );
        } else if line == "# EOF\n" {
            keep = true;
        }
        if keep {
            kept.push_str(line);
        }
    }
    kept
}
