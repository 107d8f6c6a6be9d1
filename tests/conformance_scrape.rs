//! The conformance kit's scrape helpers against a real exporter: over loopback from a running
//! `ExporterHandle`, and in-process from a mounted `MetricsService`; both formats; and a body
//! that breaks a rule is reported as such, not as a failed scrape.

use promstatic::conformance::{self, Rule, ScrapeError};
use promstatic::encode::{Family, Format, Help, Kind, Value};
use promstatic::exporter::Exporter;
use promstatic::{Counter, metric};

/// Scrapes of this test binary.
#[metric]
static SCRAPE_KIT_EVENTS_TOTAL: Counter = Counter::new();

fn exporter() -> Exporter {
    Exporter::new()
        .address("127.0.0.1:0".parse().expect("a loopback address"))
        .process_metrics(false)
}

#[test]
fn a_running_exporter_serves_valid_expositions_in_both_formats() {
    SCRAPE_KIT_EVENTS_TOTAL.inc();
    let handle = exporter().start().expect("a valid configuration");
    for format in [Format::Text, Format::OpenMetrics] {
        let scraped =
            conformance::scrape(&handle, format).unwrap_or_else(|error| panic!("{error}"));
        assert_eq!(scraped.exposition.format, format);
        let total = scraped
            .exposition
            .value("scrape_kit_events_total", &[])
            .expect("the counter of this test");
        assert!(total >= 1.0, "{total}");
        assert!(scraped.body.starts_with(b"# HELP"));
    }
    handle.shutdown();
}

#[test]
fn a_mounted_service_is_scraped_in_process() {
    let service = exporter()
        .namespace("kit_")
        .const_label("zone", "a \"b\" \\ c")
        .service()
        .expect("a valid configuration");
    for format in [Format::Text, Format::OpenMetrics] {
        let scraped =
            conformance::scrape_service(&service, format).unwrap_or_else(|error| panic!("{error}"));
        let sample = scraped
            .exposition
            .samples()
            .find(|sample| sample.name == "kit_scrape_kit_events_total")
            .expect("the namespaced counter");
        assert_eq!(sample.label("zone"), Some("a \"b\" \\ c"));
    }
}

#[test]
fn a_scrape_hook_that_repeats_a_family_is_caught() {
    let service = exporter()
        .on_scrape(|encoder| {
            let family = Family::new(
                "scrape_kit_events_total",
                Kind::Counter,
                Help::Raw("Again."),
            )
            .expect("a valid name");
            encoder
                .family(&family)
                .sample("", &[], None, Value::Unsigned(1));
        })
        .service()
        .expect("a valid configuration");
    for format in [Format::Text, Format::OpenMetrics] {
        match conformance::scrape_service(&service, format) {
            Err(ScrapeError::Invalid { violation, body }) => {
                // The hook's family follows the static of the same name at once, so its HELP
                // arrives after that family's samples.
                assert_eq!(violation.rule, Rule::MetadataAfterSamples, "{violation}");
                assert!(violation.message.contains("written twice"), "{violation}");
                assert!(!violation.excerpt(&body).is_empty());
            }
            other => panic!("{format:?}: expected a violation, got {other:?}"),
        }
    }
}
