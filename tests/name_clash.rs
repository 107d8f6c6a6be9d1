//! Names that collide only through a reserved suffix of one format, or with the exporter's own
//! families once the namespace is applied: `check()` or `start()` reports each, naming both
//! sides, and no scrape ever holds two families of one name.

mod support;

use promstatic::exporter::{ConfigError, Exporter, OwnFamily};
use promstatic::{Counter, Format, Gauge, metric};
use support::oracle::{self, Dialect};

/// Jobs done.
#[metric]
static JOBS_TOTAL: Counter = Counter::new();

/// OpenMetrics reads this as the creation time of `jobs_total`.
#[metric]
static JOBS_CREATED: Gauge = Gauge::new();

/// Named like a process metric once the namespace `process_` is applied.
#[metric]
static OPEN_FDS: Gauge = Gauge::new();

/// Named like a self-metric under the namespace `promstatic_`.
#[metric]
static SCRAPES_TOTAL: Counter = Counter::new();

/// Named like the build-info gauge of an application called `shop`.
#[metric]
static SHOP_BUILD_INFO: Gauge = Gauge::new();

fn clash(exporter: Exporter) -> ConfigError {
    match exporter.service() {
        Ok(_) => panic!("the configuration was accepted"),
        Err(error) => error,
    }
}

#[test]
fn a_counter_and_its_openmetrics_created_name_collide() {
    JOBS_TOTAL.inc();
    JOBS_CREATED.set(5);
    let error = promstatic::check().unwrap_err();
    let message = error.to_string();
    assert!(
        message.contains("metrics `jobs_created` and `jobs_total` produce the same series names"),
        "{message}"
    );
    // The one kept is exported alone, and both formats stay valid.
    for (format, dialect) in [
        (Format::Text, Dialect::Text),
        (Format::OpenMetrics, Dialect::OpenMetrics),
    ] {
        let mut out = Vec::new();
        promstatic::render(&mut out, format);
        oracle::parse(&out, dialect).unwrap_or_else(|error| {
            panic!("{format:?}: {error}\n{}", String::from_utf8_lossy(&out))
        });
        let text = String::from_utf8(out).unwrap();
        assert!(text.contains("jobs_created 5\n"), "{text}");
        assert!(
            !text
                .lines()
                .any(|line| line.starts_with("jobs_total") || line.starts_with("# TYPE jobs ")),
            "{text}"
        );
    }
}

#[test]
fn a_namespace_that_makes_a_process_metric_is_refused() {
    let error = clash(Exporter::new().namespace("process_"));
    match &error {
        ConfigError::NameClash {
            metric,
            name,
            family,
            owner,
            ..
        } => {
            assert_eq!(metric, "open_fds");
            assert_eq!(name, "process_open_fds");
            assert_eq!(family, "process_open_fds");
            assert_eq!(*owner, OwnFamily::Process);
        }
        other => panic!("{other:?}"),
    }
    let message = error.to_string();
    assert!(
        message.starts_with(
            "metric `open_fds` (declared at name_clash (tests/name_clash.rs:21)) with namespace \
             `process_` would occupy `process_open_fds`, as does `process_open_fds` of the \
             exporter's process metrics"
        ),
        "{message}"
    );
    assert!(message.contains("process_metrics(false)"), "{message}");
    // Without process metrics the same namespace is fine.
    Exporter::new()
        .namespace("process_")
        .process_metrics(false)
        .service()
        .unwrap();
}

#[test]
fn a_namespace_that_makes_a_self_metric_is_refused() {
    let error = clash(Exporter::new().namespace("promstatic_"));
    assert!(
        matches!(&error, ConfigError::NameClash { name, owner: OwnFamily::SelfMetric, .. }
            if name == "promstatic_scrapes"),
        "{error:?}"
    );
}

#[test]
fn a_build_info_name_taken_by_a_declaration_is_refused() {
    let error = clash(Exporter::new().build_info("shop", "1.2.3"));
    assert!(
        matches!(&error, ConfigError::NameClash { metric, owner: OwnFamily::BuildInfo, .. }
            if metric == "shop_build_info"),
        "{error:?}"
    );
    assert!(
        error.to_string().contains("another application name"),
        "{error}"
    );
    Exporter::new()
        .build_info("store", "1.2.3")
        .service()
        .unwrap();
}
