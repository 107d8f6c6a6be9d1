//! Constant labels that some samples already carry are refused at `start()`, naming the
//! collision: `le` (histogram buckets), `quantile`, the build-info gauge's labels, and a
//! label of a declared family. Before, each produced samples with one label twice.

use promstatic::exporter::{ConfigError, Exporter};
use promstatic::{CounterFamily, Histogram, LabelValue, metric};

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

fn refused(name: &str) -> ConfigError {
    REQUESTS_TOTAL.with(Method::Get).inc();
    LATENCY_SECONDS.observe(0.1);
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
