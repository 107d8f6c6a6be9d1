//! Every form of `#[metric]` the foundation accepts.
use promstatic::{metric, Counter, FloatGauge, Gauge};

/// Requests served since start.
#[metric]
static HTTP_REQUESTS_TOTAL: Counter = Counter::new();

/// Connections currently open.
#[metric(name = "open_connections")]
pub static OPEN: Gauge = Gauge::new();

#[metric(help = "Fraction of the cache in use.")]
static CACHE_FILL_RATIO: FloatGauge = FloatGauge::new();

/// Doc lines
///   are trimmed and joined.
#[metric(crate = ::promstatic)]
static JOINED: promstatic::Gauge = promstatic::Gauge::new();

fn main() {
    // A metric declared inside a function body is a table entry too.
    /// Calls of main.
    #[metric]
    static MAIN_CALLS_TOTAL: Counter = Counter::new();

    HTTP_REQUESTS_TOTAL.inc();
    OPEN.set(1);
    CACHE_FILL_RATIO.set(0.5);
    JOINED.inc();
    MAIN_CALLS_TOTAL.inc();
    let mut out = Vec::new();
    promstatic::render_text(&mut out);
    let text = String::from_utf8(out).unwrap();
    assert!(text.contains("# HELP joined Doc lines are trimmed and joined.\n"), "{text}");
    assert!(text.contains("main_calls_total 1\n"), "{text}");
}
