//! The exporter's own metrics (`promstatic_*`): their counters, and the one list of their
//! names, types and HELP that both the scrape and the tests read.

use std::sync::atomic::{AtomicU64, Ordering};

use crate::encode::{EscapedHelp, Kind, Value};
use crate::name::assert_metric_name;

/// The counters behind the self-metrics, updated by the server and the scrape path with
/// relaxed atomic operations (each is one location; no ordering with anything else is needed).
#[derive(Debug, Default)]
pub(crate) struct Stats {
    pub(crate) scrapes: AtomicU64,
    pub(crate) last_encode_nanos: AtomicU64,
    pub(crate) encode_nanos_total: AtomicU64,
    pub(crate) bind_attempts: AtomicU64,
    pub(crate) rejected_connections: AtomicU64,
    pub(crate) evicted_connections: AtomicU64,
    pub(crate) failed_scrapes: AtomicU64,
    pub(crate) refused_peers: AtomicU64,
    pub(crate) auth_failures: AtomicU64,
    pub(crate) tls_handshake_failures: AtomicU64,
}

/// One self-metric: its family and how its value is read.
#[derive(Debug, Clone, Copy)]
pub(crate) struct SelfMetric {
    pub(crate) name: &'static str,
    pub(crate) kind: Kind,
    /// Written as is: checked at compile time to need no escaping in either format, so a
    /// scrape does not escape the same fixed text again ([`plain_help`]).
    pub(crate) help: EscapedHelp<'static>,
    /// The value for the scrape numbered `scrape` (that scrape included).
    pub(crate) read: fn(stats: &Stats, scrape: u64) -> Value,
}

/// The build-info gauge's name when the host does not name its application.
pub(crate) const DEFAULT_BUILD_INFO: &str = assert_metric_name("promstatic_build_info");

/// Every self-metric, in exposition order (each name checked by the compiler,
/// `assert_metric_name` in constant evaluation) (the build-info gauge is written separately: its
/// name and labels come from the configuration).
pub(crate) const SELF_METRICS: [SelfMetric; 11] = [
    SelfMetric {
        name: assert_metric_name("promstatic_scrapes_total"),
        kind: Kind::Counter,
        help: plain_help("Scrapes served by this exporter, this one included."),
        read: |_, scrape| Value::Unsigned(scrape),
    },
    SelfMetric {
        name: assert_metric_name("promstatic_scrape_encode_seconds_total"),
        kind: Kind::Counter,
        help: plain_help("Time spent encoding expositions before this one."),
        read: |stats, _| seconds(&stats.encode_nanos_total),
    },
    SelfMetric {
        name: assert_metric_name("promstatic_last_scrape_encode_seconds"),
        kind: Kind::Gauge,
        help: plain_help("Time spent encoding the previous exposition."),
        read: |stats, _| seconds(&stats.last_encode_nanos),
    },
    SelfMetric {
        name: assert_metric_name("promstatic_bind_attempts_total"),
        kind: Kind::Counter,
        help: plain_help("Attempts to bind the exporter's listening socket."),
        read: |stats, _| count(&stats.bind_attempts),
    },
    SelfMetric {
        name: assert_metric_name("promstatic_rejected_connections_total"),
        kind: Kind::Counter,
        help: plain_help(
            "Connections closed at once because the connection limit was reached and \
               every connection was being answered.",
        ),
        read: |stats, _| count(&stats.rejected_connections),
    },
    SelfMetric {
        name: assert_metric_name("promstatic_evicted_connections_total"),
        kind: Kind::Counter,
        help: plain_help(
            "Connections still waiting for a request head, closed at the connection limit \
               to make room for a new one.",
        ),
        read: |stats, _| count(&stats.evicted_connections),
    },
    SelfMetric {
        name: assert_metric_name("promstatic_failed_scrapes_total"),
        kind: Kind::Counter,
        help: plain_help("Scrapes answered 500 because rendering the exposition panicked."),
        read: |stats, _| count(&stats.failed_scrapes),
    },
    SelfMetric {
        name: assert_metric_name("promstatic_refused_peers_total"),
        kind: Kind::Counter,
        help: plain_help(
            "Connections closed unread because the peer address is not in the allowlist.",
        ),
        read: |stats, _| count(&stats.refused_peers),
    },
    SelfMetric {
        name: assert_metric_name("promstatic_auth_failures_total"),
        kind: Kind::Counter,
        help: plain_help(
            "Requests answered 401 or 429 because their credentials were missing or wrong, \
               or could not be checked at once.",
        ),
        read: |stats, _| count(&stats.auth_failures),
    },
    SelfMetric {
        name: assert_metric_name("promstatic_tls_handshake_failures_total"),
        kind: Kind::Counter,
        help: plain_help(
            "Connections closed because their TLS handshake failed or did not finish \
               within the header timeout.",
        ),
        read: |stats, _| count(&stats.tls_handshake_failures),
    },
    SelfMetric {
        name: assert_metric_name("promstatic_exemplars_refused_total"),
        kind: Kind::Counter,
        help: plain_help(
            "Exemplars not stored because a label name was invalid or the labels exceeded \
               128 characters (the observations were counted).",
        ),
        read: |_, _| Value::Unsigned(crate::exemplar::refused_total()),
    },
];

/// `help` as escaped HELP, for text that reads the same escaped: a constant with a backslash or
/// a line break (or, for OpenMetrics, a quote) fails to compile here.
pub(crate) const fn plain_help(help: &'static str) -> EscapedHelp<'static> {
    match EscapedHelp::new(help, help) {
        Ok(help) => help,
        Err(_) => panic!("a self-metric HELP needs escaping: write it without \\, \n or \""),
    }
}

fn count(counter: &AtomicU64) -> Value {
    Value::Unsigned(counter.load(Ordering::Relaxed))
}

fn seconds(nanos: &AtomicU64) -> Value {
    Value::Float(nanos.load(Ordering::Relaxed) as f64 / 1e9)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::name::validate_metric_name;

    #[test]
    fn self_metric_names_are_valid() {
        for metric in SELF_METRICS {
            validate_metric_name(metric.name).unwrap();
            assert_eq!(
                metric.name.ends_with("_total"),
                metric.kind == Kind::Counter,
                "{}",
                metric.name
            );
        }
        validate_metric_name(DEFAULT_BUILD_INFO).unwrap();
    }
}
