//! Constant labels that some samples already carry are refused at `start()`, naming the
//! collision: `le` (histogram buckets), `quantile`, the labels of the exporter's own families,
//! and a label of a declared family. Before, each produced samples with one label twice.

use promstatic::exporter::{ConfigError, Exporter};
use promstatic::{CounterFamily, DynCounterFamily, Format, Histogram, LabelValue, metric};

#[derive(LabelValue, Clone, Copy)]
enum Method {
    Get,
}

/// Requests by method.
#[metric(labels(method: Method))]
static REQUESTS_TOTAL: CounterFamily = CounterFamily::new();

/// Request latency.
#[metric]
static LATENCY_SECONDS: Histogram = Histogram::new();

/// Jobs by tenant: a dynamic family, so every scrape also holds
/// `promstatic_label_overflows_total{metric="…",reason="…"}`.
#[metric(labels(tenant: &str), capacity = 4)]
static TENANT_JOBS_TOTAL: DynCounterFamily = DynCounterFamily::new();

fn refused(name: &str) -> ConfigError {
    REQUESTS_TOTAL.with(Method::Get).inc();
    LATENCY_SECONDS.observe(0.1);
    TENANT_JOBS_TOTAL.with(("acme",)).inc();
    match Exporter::new().const_label(name, "x").start() {
        Ok(handle) => {
            handle.shutdown();
            panic!("const label `{name}` was accepted")
        }
        Err(error) => error,
    }
}

#[test]
fn le_quantile_and_build_info_labels_are_reserved() {
    for (name, why) in [
        ("le", "the bucket bound label of every histogram bucket"),
        ("quantile", "reserved for summaries' quantiles"),
        ("version", "a label of the build-info gauge"),
        ("promstatic_version", "a label of the build-info gauge"),
    ] {
        let error = refused(name);
        assert_eq!(
            error,
            ConfigError::ReservedLabel {
                name: name.to_owned(),
                reason: why,
            }
        );
        assert_eq!(
            error.to_string(),
            format!(
                "constant label `{name}` cannot be used: `{name}` is {why}, so those samples \
                 would carry it twice; choose another name"
            )
        );
    }
}

#[test]
fn a_label_of_a_declared_family_is_refused() {
    let error = refused("method");
    assert_eq!(
        error.to_string(),
        "constant label `method` is also a label of family `requests_total` (declared at \
         config_labels (tests/config_labels.rs:15)), whose samples would carry it twice; \
         rename one of them"
    );
}

#[test]
fn other_constant_labels_are_accepted() {
    let service = Exporter::new().const_label("region", "eu").service();
    assert!(service.is_ok(), "{service:?}");
}

/// The exporter's own families carry labels too: `metric` and `reason` on
/// `promstatic_label_overflows_total` (written whenever the binary has a dynamic family),
/// `histogram` and `reason` on the native histograms' out-of-range counter, `reason` and
/// `promstatic_overflow` on the `metrics` facade's families. A constant label of one of these
/// names would write it twice on those samples, so it is refused like `le`.
#[test]
fn labels_of_the_exporters_own_families_are_reserved() {
    for (name, family) in [
        ("metric", "`promstatic_label_overflows_total`"),
        ("reason", "`promstatic_facade_refused_total`"),
        (
            "histogram",
            "`promstatic_native_observations_out_of_range_total`",
        ),
        (
            "promstatic_overflow",
            "the `metrics` facade's overflow series",
        ),
    ] {
        let error = refused(name);
        assert!(
            matches!(&error, ConfigError::ReservedLabel { name: refused, .. } if refused == name),
            "{name}: {error:?}"
        );
        let message = error.to_string();
        assert!(
            message.starts_with(&format!(
                "constant label `{name}` cannot be used: `{name}` is "
            )) && message.contains(family)
                && message.ends_with("so those samples would carry it twice; choose another name"),
            "{message}"
        );
    }
}

/// What an accepted constant label produces is a valid exposition, in every format the
/// conformance kit parses, with the dynamic family's self-metric in it.
#[test]
fn an_accepted_constant_label_makes_a_valid_exposition() {
    TENANT_JOBS_TOTAL.with(("acme",)).inc();
    let service = match Exporter::new().const_label("region", "eu").service() {
        Ok(service) => service,
        Err(error) => panic!("{error}"),
    };
    for format in [Format::Text, Format::OpenMetrics] {
        let scraped = promstatic::conformance::scrape_service(&service, format)
            .unwrap_or_else(|error| panic!("{format:?}: {error}"));
        let body = String::from_utf8_lossy(&scraped.body);
        assert!(
            body.contains(
                "promstatic_label_overflows_total{region=\"eu\",metric=\"tenant_jobs_total\""
            ),
            "{body}"
        );
        promstatic::assert_valid_exposition!(format, &scraped.body);
    }
}
