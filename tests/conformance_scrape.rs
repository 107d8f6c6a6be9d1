//! The conformance kit's scrape helpers against a real exporter: over loopback from a running
//! `ExporterHandle`, and in-process from a mounted `MetricsService`; both formats; and a body
//! that breaks a rule is reported as such, not as a failed scrape.

use promstatic::conformance::{self, Rule};
use promstatic::encode::{Family, Format, Help, Kind};
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
fn a_scrape_hook_cannot_repeat_a_family_and_the_scrape_stays_valid() {
    // A hook that writes a family the static table already wrote would make an invalid
    // exposition; the encoder refuses it (typed error, nothing written), so the kit sees a
    // valid body in both formats, and the static's sample is there exactly once.
    let refused = std::sync::Arc::new(std::sync::atomic::AtomicUsize::new(0));
    let seen = refused.clone();
    let service = exporter()
        .on_scrape(move |encoder| {
            let family = Family::new(
                "scrape_kit_events_total",
                Kind::Counter,
                Help::Raw("Again."),
            )
            .expect("a valid name");
            if let Err(error) = encoder.family(&family) {
                assert!(error.to_string().contains("scrape_kit_events"), "{error}");
                seen.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
            }
        })
        .service()
        .expect("a valid configuration");
    for format in [Format::Text, Format::OpenMetrics] {
        let scraped =
            conformance::scrape_service(&service, format).unwrap_or_else(|error| panic!("{error}"));
        let samples = scraped
            .exposition
            .samples()
            .filter(|sample| sample.name == "scrape_kit_events_total")
            .count();
        assert_eq!(samples, 1, "{format:?}");
    }
    assert_eq!(refused.load(std::sync::atomic::Ordering::Relaxed), 2);
}

#[test]
fn a_body_that_breaks_a_rule_is_reported_as_a_violation() {
    // What a scrape of something mounted next to our endpoint could return: the kit reports
    // the rule, line and column instead of a failed scrape.
    let body = b"# TYPE x counter\nx_total 1\n# TYPE x counter\nx_total 2\n# EOF\n";
    let violation = conformance::check_scrape(body, Format::OpenMetrics.content_type())
        .expect_err("a family written twice");
    assert!(
        matches!(
            violation.rule,
            Rule::MetadataAfterSamples | Rule::DuplicateFamily
        ),
        "{violation}"
    );
    assert!(!violation.excerpt(body).is_empty());
}
