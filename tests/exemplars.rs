//! Exemplars in every format: exactly where OpenMetrics and protobuf allow them (a counter's
//! `_total` sample, histogram buckets), never in text 0.0.4; checked against golden lines,
//! the strict parser (`promstatic::conformance`), the independent protobuf decoder and the
//! Python client's OpenMetrics parser.

mod support;

use std::io::Write;
use std::process::{Command, Stdio};
use std::sync::Mutex;
use std::time::{SystemTime, UNIX_EPOCH};

use promstatic::exemplar::{ExemplarError, ExemplarName, ExemplarSlot, Stored, refused_total};
use promstatic::{Counter, Format, Histogram, conformance, metric};
use support::protobuf::{self, Exemplar};

const TRACE_ID: ExemplarName = ExemplarName::new("trace_id");

/// Orders placed.
#[metric]
static EX_ORDERS_TOTAL: Counter<ExemplarSlot> = Counter::with_exemplars();

/// Orders without exemplar slots.
#[metric]
static EX_PLAIN_TOTAL: Counter = Counter::new();

const BOUNDS: [f64; 3] = [0.1, 1.0, 10.0];

/// Checkout latency.
#[metric]
static EX_CHECKOUT_SECONDS: Histogram<3, ExemplarSlot> =
    Histogram::with_bounds_and_exemplars(&BOUNDS);

/// The statics are shared by the tests of this binary; each test sets them up the same way.
static SETUP: Mutex<()> = Mutex::new(());

fn now_seconds() -> f64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap()
        .as_secs_f64()
}

/// Stores the exemplars every test expects (idempotent: the same values each time), returning
/// the time window in which they were stored.
fn setup() -> (std::sync::MutexGuard<'static, ()>, f64, f64) {
    let guard = SETUP
        .lock()
        .unwrap_or_else(|poisoned| poisoned.into_inner());
    let before = now_seconds();
    EX_PLAIN_TOTAL.inc();
    assert_eq!(
        EX_ORDERS_TOTAL.inc_by_with_exemplar(2, &[(TRACE_ID, "4bf92f3577b34da6")]),
        Ok(Stored::Stored)
    );
    assert_eq!(
        EX_CHECKOUT_SECONDS.observe_with_exemplar(0.05, &[("trace_id", "aa\"b\\c"), ("span", "1")]),
        Ok(Stored::Stored)
    );
    EX_CHECKOUT_SECONDS.observe(0.5); // no exemplar in the second bucket
    assert_eq!(
        EX_CHECKOUT_SECONDS.observe_with_exemplar(42.0, &[("trace_id", "ff")]),
        Ok(Stored::Stored)
    );
    let after = now_seconds();
    (guard, before, after)
}

fn render(format: Format) -> Vec<u8> {
    let mut out = Vec::new();
    promstatic::render(&mut out, format);
    out
}

/// The sample line starting with `prefix`, split into the part before the exemplar's
/// timestamp and the timestamp.
fn line_with_timestamp<'t>(text: &'t str, prefix: &str) -> (&'t str, f64) {
    let line = text
        .lines()
        .find(|line| line.starts_with(prefix))
        .unwrap_or_else(|| panic!("no line starting with {prefix:?} in\n{text}"));
    let (head, timestamp) = line.rsplit_once(' ').unwrap();
    (head, timestamp.parse().unwrap())
}

#[test]
fn openmetrics_golden_lines() {
    let (_guard, before, after) = setup();
    let text = String::from_utf8(render(Format::OpenMetrics)).unwrap();
    let count = EX_ORDERS_TOTAL.get();
    let expected_counter = format!("ex_orders_total {count} # {{trace_id=\"4bf92f3577b34da6\"}} 2");
    let (head, timestamp) = line_with_timestamp(&text, "ex_orders_total ");
    assert_eq!(head, expected_counter);
    assert!(
        (before - 1e-6..=after + 1e-6).contains(&timestamp),
        "{timestamp}"
    );

    let (head, timestamp) = line_with_timestamp(&text, "ex_checkout_seconds_bucket{le=\"0.1\"}");
    let observed = EX_CHECKOUT_SECONDS.count() / 3;
    assert_eq!(
        head,
        format!(
            "ex_checkout_seconds_bucket{{le=\"0.1\"}} {observed} # {{trace_id=\"aa\\\"b\\\\c\",span=\"1\"}} 0.05"
        )
    );
    assert!(
        (before - 1e-6..=after + 1e-6).contains(&timestamp),
        "{timestamp}"
    );
    // No exemplar where none was stored, nor on a counter without slots.
    assert!(
        text.contains(&format!(
            "ex_checkout_seconds_bucket{{le=\"1.0\"}} {}\n",
            2 * observed
        )),
        "{text}"
    );
    assert!(text.contains(&format!(
        "ex_checkout_seconds_bucket{{le=\"10.0\"}} {}\n",
        2 * observed
    )));
    let (head, _) = line_with_timestamp(&text, "ex_checkout_seconds_bucket{le=\"+Inf\"}");
    assert_eq!(
        head,
        format!(
            "ex_checkout_seconds_bucket{{le=\"+Inf\"}} {} # {{trace_id=\"ff\"}} 42",
            3 * observed
        )
    );
    assert!(text.contains(&format!("ex_plain_total {}\n", EX_PLAIN_TOTAL.get())));
    for line in text.lines() {
        let allowed = line.starts_with("ex_orders_total ") || line.contains("_bucket{");
        assert!(
            allowed || !line.contains(" # {"),
            "exemplar on a sample that cannot carry one: {line}"
        );
    }

    // The strict parser (exemplar syntax, 128-character limit, placement rules).
    let model = conformance::parse(Format::OpenMetrics, text.as_bytes())
        .unwrap_or_else(|violation| panic!("{violation}\n{text}"));
    let samples: Vec<_> = model
        .families
        .iter()
        .flat_map(|family| family.samples.iter())
        .filter(|sample| sample.exemplar.is_some())
        .collect();
    assert_eq!(samples.len(), 3, "{samples:?}");
    let counter = samples
        .iter()
        .find(|sample| sample.name == "ex_orders_total")
        .unwrap();
    let exemplar = counter.exemplar.as_ref().unwrap();
    assert_eq!(
        exemplar.labels,
        [("trace_id".to_owned(), "4bf92f3577b34da6".to_owned())]
    );
    assert_eq!(exemplar.value, 2.0);
}

#[test]
fn text_0_0_4_has_no_exemplars() {
    let (_guard, _, _) = setup();
    let text = String::from_utf8(render(Format::Text)).unwrap();
    assert!(!text.contains("trace_id"), "{text}");
    assert!(text.contains(&format!("ex_orders_total {}\n", EX_ORDERS_TOTAL.get())));
    conformance::parse(Format::Text, text.as_bytes())
        .unwrap_or_else(|violation| panic!("{violation}\n{text}"));
}

#[test]
fn protobuf_carries_the_same_exemplars() {
    let (_guard, before, after) = setup();
    let families = protobuf::decode_delimited(&render(Format::Protobuf)).unwrap();
    let family = |name: &str| {
        families
            .iter()
            .find(|family| family.name == name)
            .unwrap_or_else(|| panic!("no {name}"))
    };
    let in_window = |exemplar: &Exemplar| {
        let (seconds, nanos) = exemplar.timestamp.expect("a timestamp");
        let at = seconds as f64 + f64::from(nanos) / 1e9;
        assert!((before - 1e-6..=after + 1e-6).contains(&at), "{at}");
    };
    let counter = &family("ex_orders_total").metrics[0];
    let exemplar = counter.counter_exemplar.as_ref().expect("counter exemplar");
    assert_eq!(
        exemplar.labels,
        [("trace_id".to_owned(), "4bf92f3577b34da6".to_owned())]
    );
    assert_eq!(exemplar.value, 2.0);
    in_window(exemplar);
    assert!(
        family("ex_plain_total").metrics[0]
            .counter_exemplar
            .is_none()
    );

    let histogram = family("ex_checkout_seconds").metrics[0]
        .histogram
        .clone()
        .unwrap();
    // The three finite buckets, then `+Inf`, sent explicitly because it has an exemplar.
    let bounds: Vec<f64> = histogram.buckets.iter().map(|&(_, bound)| bound).collect();
    assert_eq!(bounds, [0.1, 1.0, 10.0, f64::INFINITY]);
    assert_eq!(histogram.buckets[3].0, histogram.sample_count);
    let first = histogram.bucket_exemplars[0]
        .as_ref()
        .expect("first bucket's exemplar");
    assert_eq!(
        first.labels,
        [
            ("trace_id".to_owned(), "aa\"b\\c".to_owned()),
            ("span".to_owned(), "1".to_owned())
        ]
    );
    assert_eq!(first.value, 0.05);
    in_window(first);
    assert!(histogram.bucket_exemplars[1].is_none());
    assert!(histogram.bucket_exemplars[2].is_none());
    assert_eq!(histogram.bucket_exemplars[3].as_ref().unwrap().value, 42.0);
}

#[test]
fn refused_exemplars_are_counted_and_observations_kept() {
    let (_guard, _, _) = setup();
    let count = EX_ORDERS_TOTAL.get();
    let refused = refused_total();
    let long = "f".repeat(121);
    assert_eq!(
        EX_ORDERS_TOTAL.inc_with_exemplar(&[("trace_id", long.as_str())]),
        Err(ExemplarError::TooLong { chars: 129 })
    );
    let error = EX_CHECKOUT_SECONDS
        .observe_with_exemplar(0.01, &[("trace id", "1")])
        .unwrap_err();
    assert!(error.to_string().contains("invalid name"), "{error}");
    assert_eq!(EX_ORDERS_TOTAL.get(), count + 1);
    assert!(refused_total() >= refused + 2);
    // The stored exemplar is untouched by refused ones.
    let kept = EX_ORDERS_TOTAL.exemplar().unwrap();
    assert_eq!(kept.labels().next(), Some(("trace_id", "4bf92f3577b34da6")));
}

const PYTHON: &str = r#"
import sys
from prometheus_client.openmetrics.parser import text_string_to_metric_families
for family in text_string_to_metric_families(sys.stdin.read()):
    for sample in family.samples:
        if sample.exemplar is not None:
            labels = ",".join(k + "=" + v for k, v in sorted(sample.exemplar.labels.items()))
            print(sample.name, labels, float(sample.exemplar.value), sample.exemplar.timestamp is not None)
"#;

#[test]
fn python_openmetrics_parser_reads_the_exemplars() {
    let (_guard, _, _) = setup();
    let Some(python) = support::require_python_module("prometheus_client") else {
        return;
    };
    // prometheus_client 0.26's OpenMetrics parser rejects an escaped `"` inside an exemplar's
    // label value (valid OpenMetrics, accepted by the strict parser above), so this test
    // replaces that exemplar with plain text; `setup` restores it for the other tests.
    assert_eq!(
        EX_CHECKOUT_SECONDS.observe_with_exemplar(0.05, &[("trace_id", "aa-b/c"), ("span", "1")]),
        Ok(Stored::Stored)
    );
    let body = render(Format::OpenMetrics);
    let mut child = Command::new(python)
        .args(["-c", PYTHON])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    child.stdin.take().unwrap().write_all(&body).unwrap();
    let output = child.wait_with_output().unwrap();
    assert!(
        output.status.success(),
        "the Python parser rejected the exposition: {}\n{}",
        String::from_utf8_lossy(&output.stderr),
        String::from_utf8_lossy(&body)
    );
    let printed = String::from_utf8(output.stdout).unwrap();
    assert_eq!(
        printed,
        "ex_checkout_seconds_bucket span=1,trace_id=aa-b/c 0.05 True\n\
         ex_checkout_seconds_bucket trace_id=ff 42.0 True\n\
         ex_orders_total trace_id=4bf92f3577b34da6 2.0 True\n"
    );
}
