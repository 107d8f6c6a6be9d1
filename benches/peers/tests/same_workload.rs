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
        let from_statics = String::from_utf8(statics.scrape(format).to_vec()).unwrap();
        let from_encoder = String::from_utf8(encoder.scrape(format).to_vec()).unwrap();
        assert_eq!(from_statics, expected, "{format:?}");
        assert_eq!(from_encoder, expected, "{format:?}");
    }
}
