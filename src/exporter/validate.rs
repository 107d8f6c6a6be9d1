//! The checks that a configuration, together with the declarations it will serve, makes a
//! valid exposition: run once when the exporter is built, so a mistake is a [`ConfigError`]
//! at `start()` rather than an invalid scrape.
//!
//! * **Names.** Every family the exposition will contain — the table's declarations with the
//!   namespace applied, `process_*`, the build-info gauge and the `promstatic_*`
//!   self-metrics — claims its names in both formats (`src/claim.rs`); a declaration that
//!   claims a name one of the exporter's own families claims is refused, naming both. (The
//!   declarations among themselves are checked by the table: the first is kept and
//!   [`crate::check`] names both, as without an exporter.)
//! * **Constant labels.** A constant label goes on every sample, so its name may not be one
//!   another label of some sample already has: `le` (every histogram bucket), `quantile`
//!   (reserved for summaries, as `#[metric]` reserves it), the build-info gauge's `version`
//!   and `promstatic_version`, the labels of the exporter's other own families (`metric`,
//!   `reason`, `histogram`, `promstatic_overflow`), or a label of any declared family. Each
//!   is refused, naming the collision, rather than left to write `le="x",le="0.1"`.
//! * **Limits.** A limit under which no scrape can ever be served — no connection allowed,
//!   a request head cap below the shortest request for `/metrics`, no time to read a request
//!   head or to send a response — is refused rather than reported as `Bound`.

use std::collections::HashMap;

use super::builder::Config;
use super::error::ConfigError;
use crate::claim;
use crate::encode::Kind;
use crate::table::Table;

/// Which part of the exporter writes a family of its own.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum OwnFamily {
    /// The `process_*` metrics ([`super::Exporter::process_metrics`]).
    Process,
    /// The build-info gauge ([`super::Exporter::build_info`]).
    BuildInfo,
    /// The exporter's `promstatic_*` self-metrics.
    SelfMetric,
}

/// The families the exporter itself writes under `config` (no namespace applies to them).
fn own_families<'c>(config: &Config, build_info_name: &'c str) -> Vec<(&'c str, Kind, OwnFamily)> {
    let mut families = Vec::new();
    #[cfg(target_os = "linux")]
    if config.process_metrics {
        families.extend(
            crate::process::FAMILIES
                .iter()
                .map(|&(name, kind)| (name, kind, OwnFamily::Process)),
        );
    }
    #[cfg(not(target_os = "linux"))]
    let _ = config;
    families.push((build_info_name, Kind::Gauge, OwnFamily::BuildInfo));
    families.extend(
        super::self_metrics::SELF_METRICS
            .iter()
            .map(|metric| (metric.name, metric.kind, OwnFamily::SelfMetric)),
    );
    families
}

/// Every name the exporter's own families claim (in both formats), with the family and its
/// part of the exporter.
pub(crate) type OwnClaims = HashMap<String, (String, OwnFamily)>;

/// The claims of the families the exporter itself writes under `config`.
pub(super) fn own_claims(config: &Config, build_info_name: &str) -> OwnClaims {
    let mut owners = OwnClaims::new();
    for (name, kind, owner) in own_families(config, build_info_name) {
        for claim in claim::claims("", name, kind) {
            owners
                .entry(claim)
                .or_insert_with(|| (name.to_owned(), owner));
        }
    }
    owners
}

/// Refuses a declaration of `table` that, with the namespace, claims a name one of the
/// exporter's own families claims.
pub(super) fn names(
    config: &Config,
    table: &'static Table,
    owners: &OwnClaims,
) -> Result<(), ConfigError> {
    for descriptor in table.exported() {
        let claims = claim::claims(&config.namespace, descriptor.name(), descriptor.kind());
        if let Some((claim, (family, owner))) = claims
            .iter()
            .find_map(|claim| owners.get(claim).map(|owner| (claim, owner)))
        {
            let (file, line) = descriptor.location();
            return Err(ConfigError::NameClash {
                metric: descriptor.name().to_owned(),
                declared_at: format!("{} ({file}:{line})", descriptor.module_path()),
                namespace: config.namespace.clone(),
                name: claim.clone(),
                family: family.clone(),
                owner: *owner,
            });
        }
    }
    Ok(())
}

/// The `metrics` facade's names, checked like the declarations but at scrape time (a facade
/// name first appears when some code records it, long after `start()`): a name that, with
/// the namespace, would occupy a name of the exporter's own families (a facade counter
/// `process_cpu_seconds_total` beside the process metrics) is left out of this exporter's
/// scrapes, with one error logged, so the exposition never holds two families of one name.
/// Each name is checked once, at its first scrape, and its verdict kept in an atomic: later
/// scrapes read it and allocate nothing.
#[cfg(all(feature = "facade", not(promstatic_loom)))]
#[derive(Debug)]
pub(crate) struct FacadeNames {
    owners: OwnClaims,
    /// Per facade name slot: `UNCHECKED`, `KEPT` or `LEFT_OUT`.
    verdicts: Box<[std::sync::atomic::AtomicU8]>,
}

#[cfg(all(feature = "facade", not(promstatic_loom)))]
impl FacadeNames {
    const UNCHECKED: u8 = 0;
    const KEPT: u8 = 1;
    const LEFT_OUT: u8 = 2;

    pub(super) fn new(owners: OwnClaims) -> Self {
        FacadeNames {
            owners,
            verdicts: (0..crate::facade::MAX_NAMES)
                .map(|_| std::sync::atomic::AtomicU8::new(Self::UNCHECKED))
                .collect(),
        }
    }

    /// Whether the facade name in `slot`, exported as `exported`, goes into a scrape with
    /// `namespace`.
    pub(crate) fn keeps(&self, namespace: &str, slot: usize, kind: Kind, exported: &str) -> bool {
        use std::sync::atomic::Ordering;
        // A slot beyond the table cannot be: the facade has `MAX_NAMES` of them.
        let Some(verdict) = self.verdicts.get(slot) else {
            return true;
        };
        // Relaxed: the verdict is the whole message; a scrape that races the first one
        // just checks again and comes to the same verdict.
        match verdict.load(Ordering::Relaxed) {
            Self::KEPT => return true,
            Self::LEFT_OUT => return false,
            _ => {}
        }
        let claims = claim::claims(namespace, exported, kind);
        let Some((claim, (family, owner))) = claims
            .iter()
            .find_map(|claim| self.owners.get(claim).map(|owner| (claim, owner)))
        else {
            verdict.store(Self::KEPT, Ordering::Relaxed);
            return true;
        };
        if verdict.swap(Self::LEFT_OUT, Ordering::Relaxed) != Self::LEFT_OUT {
            let (part, fix) = owner.part_and_fix();
            let namespaced = if namespace.is_empty() {
                String::new()
            } else {
                format!(" with namespace `{namespace}`")
            };
            log::error!(
                target: "promstatic",
                "metric `{exported}` recorded through the `metrics` facade{namespaced} would \
                 occupy `{claim}`, as does `{family}` of the exporter's {part}; the exporter \
                 leaves the facade metric out of its scrapes so that no scrape holds two \
                 families of one name: rename the metric or change the namespace, {fix}"
            );
        }
        false
    }
}

/// The shortest request head that asks for `/metrics`: `GET /metrics HTTP/1.0` and the blank
/// line, CRLF-terminated. A cap below it answers every request 431.
pub(crate) const MIN_HEADER_BYTES: usize = "GET /metrics HTTP/1.0\r\n\r\n".len();

/// Refuses a limit under which no scrape can be served.
pub(super) fn limits(config: &Config) -> Result<(), ConfigError> {
    let limits = &config.limits;
    let impossible = |setting: &'static str, value: String, why: &'static str| {
        Err(ConfigError::ImpossibleLimit {
            setting,
            value,
            why,
        })
    };
    if limits.max_connections == 0 {
        return impossible(
            "max_connections",
            "0".into(),
            "no connection could ever be accepted; give at least 1",
        );
    }
    if limits.max_header_bytes < MIN_HEADER_BYTES {
        return impossible(
            "max_header_bytes",
            limits.max_header_bytes.to_string(),
            "every request head is longer (`GET /metrics HTTP/1.0` alone takes 25 bytes), so \
             every request would be answered 431; give at least 25 (the default is 8 KiB)",
        );
    }
    if limits.header_read.is_zero() {
        return impossible(
            "header_read_timeout",
            "0 s".into(),
            "every connection would time out before its request head arrives",
        );
    }
    if limits.response.is_zero() {
        return impossible(
            "response_timeout",
            "0 s".into(),
            "every response would time out before it is sent",
        );
    }
    Ok(())
}

/// Label names that some sample of the exposition carries besides the constant labels, and
/// why; a constant label may use none of them.
///
/// The exporter's own families are written whether or not their labels are known when the
/// exporter is built (a dynamic family's overflow counter, a native histogram's out-of-range
/// counter, the `metrics` facade's families, installed at any time), so their labels are
/// reserved outright rather than only when such a family is declared.
pub(crate) const RESERVED_LABELS: [(&str, &str); 8] = [
    ("le", "the bucket bound label of every histogram bucket"),
    ("quantile", "reserved for summaries' quantiles"),
    ("version", "a label of the build-info gauge"),
    ("promstatic_version", "a label of the build-info gauge"),
    (
        "metric",
        "a label of the exporter's `promstatic_label_overflows_total` (dynamic families)",
    ),
    (
        "reason",
        "a label of the exporter's self-metrics that count by reason \
         (`promstatic_label_overflows_total`, `promstatic_native_observations_out_of_range_total`, \
         `promstatic_facade_refused_total`)",
    ),
    (
        "histogram",
        "a label of the exporter's `promstatic_native_observations_out_of_range_total`",
    ),
    (
        "promstatic_overflow",
        "the label of the `metrics` facade's overflow series",
    ),
];

/// Refuses a constant label whose name another label of some sample already has.
pub(super) fn const_labels(config: &Config, table: &'static Table) -> Result<(), ConfigError> {
    for (label, _) in &config.const_labels {
        if let Some((_, why)) = RESERVED_LABELS.iter().find(|(name, _)| name == label) {
            return Err(ConfigError::ReservedLabel {
                name: label.clone(),
                reason: why,
            });
        }
        if let Some(descriptor) = table
            .exported()
            .find(|descriptor| descriptor.labels().contains(&label.as_str()))
        {
            let (file, line) = descriptor.location();
            return Err(ConfigError::LabelClash {
                name: label.clone(),
                metric: descriptor.name().to_owned(),
                declared_at: format!("{} ({file}:{line})", descriptor.module_path()),
            });
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::encode::Format;
    use crate::exporter::Exporter;

    /// Every family of the exporter's own part of a scrape (after the table's) is in the list
    /// the name check uses, and nothing else is. (The conformance kit, on for this package's
    /// tests, scrapes the service in-process.)
    #[cfg(feature = "conformance")]
    #[test]
    fn own_families_are_the_ones_written() {
        let table = Table::leak(Vec::new());
        let service = Exporter::new()
            .build_info("checked_app", "1.0")
            .table(table)
            .service()
            .unwrap();
        let scraped = crate::conformance::scrape_service(&service, Format::Text).unwrap();
        let text = String::from_utf8(scraped.body).unwrap();
        let mut written: Vec<(String, String)> = text
            .lines()
            .filter_map(|line| line.strip_prefix("# TYPE "))
            .filter_map(|rest| rest.split_once(' '))
            .map(|(name, kind)| (name.to_owned(), kind.to_owned()))
            .collect();
        written.sort();
        let config = Exporter::new().config;
        let mut listed: Vec<(String, String)> = own_families(&config, "checked_app_build_info")
            .into_iter()
            .map(|(name, kind, _)| (name.to_owned(), format!("{kind:?}").to_lowercase()))
            .collect();
        listed.sort();
        assert_eq!(written, listed);
    }
}
