//! Every library's scrape holds the same workload: the series count, a known sample line and
//! its HELP, in every format the library writes.

use promstatic_bench_peers::scrape::{self, Format, check_exposition};

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
