//! Name claims: every name a family occupies in an exposition, in either format.
//!
//! Two families collide when one of them writes, or reserves, a name the other writes or
//! reserves. What a family of each type occupies, as the formats define it:
//!
//! | type | text 0.0.4 | OpenMetrics 1.0 |
//! |---|---|---|
//! | counter `x_total` | family and sample `x_total` | family `x`, samples `x_total`, reserved `x_created` |
//! | histogram `x` | family `x`, samples `x_bucket`, `x_sum`, `x_count` | the same, and reserved `x_created` |
//! | gauge, unknown `x` | `x` | `x` |
//!
//! The claim of a family is the union over both formats (the exporter serves both, to
//! whichever scraper asks), so a counter `jobs_total` and a gauge `jobs_created` collide —
//! the OpenMetrics spec's own example — although promstatic never writes `_created`: a
//! parser reads `jobs_created` as the counter's creation time. `_gsum`/`_gcount` (gauge
//! histograms) and `_info` (info families) are claimed by types promstatic never writes, so
//! no family claims them; a gauge named `x_info` is just a gauge.
//!
//! This is the one list of claims. The static table uses it to find declarations that collide
//! among themselves ([`crate::check`]); the exporter uses it, with its namespace applied, to
//! refuse a configuration whose declarations collide with its own families (`process_*`,
//! `*_build_info`, `promstatic_*`).

use crate::encode::Kind;

/// The names a family called `prefix` + `name` of type `kind` occupies, in either format.
///
/// A counter's OpenMetrics family name is its name without `_total`, as the encoder writes it
/// (a counter named just `_total` keeps its name, so its sample is `_total_total`).
pub(crate) fn claims(prefix: &str, name: &str, kind: Kind) -> Vec<String> {
    let (base, suffixes): (&str, &[&str]) = match kind {
        Kind::Counter => (
            name.strip_suffix("_total")
                .filter(|base| !base.is_empty())
                .unwrap_or(name),
            &["", "_total", "_created"],
        ),
        Kind::Histogram => (name, &["", "_bucket", "_sum", "_count", "_created"]),
        Kind::Gauge | Kind::Unknown => (name, &[""]),
    };
    let mut claims: Vec<String> = suffixes
        .iter()
        .map(|suffix| format!("{prefix}{base}{suffix}"))
        .collect();
    // The text 0.0.4 family name of a counter is its full name (the same as its OpenMetrics
    // sample name, except for the counter named `_total`).
    let full = format!("{prefix}{name}");
    if !claims.contains(&full) {
        claims.push(full);
    }
    claims
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The first name both families occupy, if any.
    fn collide(a: (&str, Kind), b: (&str, Kind)) -> Option<String> {
        let second = claims("", b.0, b.1);
        claims("", a.0, a.1)
            .into_iter()
            .find(|name| second.contains(name))
    }

    #[test]
    fn openmetrics_reserves_created_for_counters_and_histograms() {
        assert_eq!(
            collide(("jobs_total", Kind::Counter), ("jobs_created", Kind::Gauge)).as_deref(),
            Some("jobs_created")
        );
        assert_eq!(
            collide(("wait", Kind::Histogram), ("wait_created", Kind::Gauge)).as_deref(),
            Some("wait_created")
        );
        // A counter whose OpenMetrics family is `x_created` against `x_total`'s reservation.
        assert!(
            collide(
                ("x_total", Kind::Counter),
                ("x_created_total", Kind::Counter)
            )
            .is_some()
        );
    }

    #[test]
    fn suffixes_of_each_type() {
        assert!(collide(("x_total", Kind::Counter), ("x", Kind::Gauge)).is_some());
        assert!(collide(("h", Kind::Histogram), ("h_bucket", Kind::Gauge)).is_some());
        assert!(collide(("h", Kind::Histogram), ("h_sum", Kind::Histogram)).is_some());
        assert_eq!(
            collide(("h", Kind::Histogram), ("h_counts", Kind::Gauge)),
            None
        );
        assert_eq!(collide(("g", Kind::Gauge), ("g_info", Kind::Gauge)), None);
        assert_eq!(
            collide(("g", Kind::Gauge), ("g_created", Kind::Gauge)),
            None
        );
    }

    #[test]
    fn the_prefix_applies_to_every_claim() {
        let counter = claims("app_", "scrapes_total", Kind::Counter);
        assert_eq!(
            counter,
            ["app_scrapes", "app_scrapes_total", "app_scrapes_created"]
        );
        assert_eq!(
            claims("", "_total", Kind::Counter),
            ["_total", "_total_total", "_total_created"]
        );
    }
}
