//! A label flood through the `metrics` facade: the series cap holds, the excess lands in the
//! name's overflow series (nothing is lost), the scrape stays valid, one warning is logged.

#![cfg(feature = "facade")]

mod support;

use std::sync::atomic::{AtomicUsize, Ordering};

use promstatic::Format;
use promstatic::facade::{Builder, OVERFLOW_LABEL};
use support::oracle::{self, Dialect};

const CAP: usize = 16;
const THREADS: usize = 4;
const DISTINCT: usize = 20_000;

struct CountingLogger;

static OVERFLOW_WARNINGS: AtomicUsize = AtomicUsize::new(0);

impl log::Log for CountingLogger {
    fn enabled(&self, _: &log::Metadata<'_>) -> bool {
        true
    }
    fn log(&self, record: &log::Record<'_>) {
        if record.args().to_string().contains("overflow series") {
            OVERFLOW_WARNINGS.fetch_add(1, Ordering::Relaxed);
        }
    }
    fn flush(&self) {}
}

static LOGGER: CountingLogger = CountingLogger;

#[test]
fn a_flood_of_label_values_is_capped_and_nothing_is_lost() {
    let _ = log::set_logger(&LOGGER);
    log::set_max_level(log::LevelFilter::Warn);
    Builder::new()
        .max_series(CAP)
        .install_recorder()
        .expect("the first install succeeds");
    let threads: Vec<_> = (0..THREADS)
        .map(|thread| {
            std::thread::spawn(move || {
                for value in 0..DISTINCT {
                    let user = (thread * DISTINCT + value).to_string();
                    metrics::counter!("flood_logins_total", "user" => user).increment(1);
                }
            })
        })
        .collect();
    for thread in threads {
        thread.join().unwrap();
    }
    // After the flood, a new name still has its overflow series (the cap is reached).
    metrics::gauge!("flood_late", "shard" => "1").set(2.0);

    for (format, dialect) in [
        (Format::Text, Dialect::Text),
        (Format::OpenMetrics, Dialect::OpenMetrics),
    ] {
        let mut out = Vec::new();
        promstatic::render(&mut out, format);
        let text = String::from_utf8(out).unwrap();
        oracle::parse(text.as_bytes(), dialect).unwrap_or_else(|error| panic!("{error}\n{text}"));
        let logins: Vec<(&str, u64)> = text
            .lines()
            .filter(|line| line.starts_with("flood_logins_total{"))
            .map(|line| {
                let (series, value) = line.rsplit_once(' ').unwrap();
                (series, value.parse().unwrap())
            })
            .collect();
        let overflow = format!("flood_logins_total{{{OVERFLOW_LABEL}=\"true\"}}");
        let overflowed: u64 = logins
            .iter()
            .filter(|(series, _)| *series == overflow)
            .map(|(_, value)| *value)
            .sum();
        assert_eq!(
            logins.len(),
            CAP + 1,
            "the cap, plus the overflow series:\n{text}"
        );
        let total: u64 = logins.iter().map(|(_, value)| value).sum();
        assert_eq!(total as usize, THREADS * DISTINCT, "every update counted");
        assert_eq!(overflowed as usize, THREADS * DISTINCT - CAP);
        assert!(
            text.contains(&format!(
                "promstatic_facade_refused_total{{reason=\"series_cap\"}} {}\n",
                THREADS * DISTINCT - CAP + 1
            )),
            "{text}"
        );
        assert!(
            text.contains(&format!("flood_late{{{OVERFLOW_LABEL}=\"true\"}} 2")),
            "{text}"
        );
    }
    // One warning per name: the flooded one and the late one.
    assert_eq!(OVERFLOW_WARNINGS.load(Ordering::Relaxed), 2);
}
