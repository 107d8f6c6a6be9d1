//! Runs a large generated exposition (every kind, hostile HELP and label values) through the
//! independent parsers available: `promtool check metrics` and Python `prometheus_client`'s
//! text parser for text 0.0.4, its OpenMetrics parser for OpenMetrics.
//!
//! A missing tool skips its check with a printed reason; `PROMSTATIC_REQUIRE_TOOLS=1` (CI)
//! turns that into a failure.

mod support;

use std::io::Write as _;
use std::process::{Command, Output, Stdio};

use promstatic::conformance::proptest::strategy::{Strategy, ValueTree};
use promstatic::conformance::proptest::test_runner::TestRunner;
use promstatic::conformance::{self, Rule};
use promstatic::encode::Format;
use support::metric_set::{self, Body, MetricSet};

/// A deterministic set of about 150 families, renamed so that promtool's linter has
/// nothing to say about the names (snake case, `_total` on counters only, base units, no
/// type in the name) and every HELP is non-empty; HELP and label values stay hostile.
fn large_set() -> MetricSet {
    let mut runner = TestRunner::deterministic();
    let mut set = MetricSet {
        families: Vec::new(),
        namespace: "promstatic_".into(),
        const_labels: vec![("instance".into(), "host \"a\" \\ \n \u{0} \u{e9}".into())],
    };
    while set.families.len() < 150 {
        let batch = metric_set::metric_set(12)
            .new_tree(&mut runner)
            .unwrap()
            .current();
        set.families.extend(batch.families);
    }
    for (index, family) in set.families.iter_mut().enumerate() {
        let suffix = match family.body {
            Body::Counter(_) => "events_total",
            Body::Gauge(_) => "level",
            Body::Unknown(_) => "misc",
            Body::Histogram { .. } => "latency_seconds",
        };
        family.name = format!("conformance_{index}_{suffix}");
        family.help = format!("Family {index}: {}", family.help);
        for (position, name) in family.label_names.iter_mut().enumerate() {
            *name = format!("label_{position}");
        }
    }
    let kinds = |pick: fn(&Body) -> bool| set.families.iter().any(|family| pick(&family.body));
    assert!(kinds(|body| matches!(body, Body::Counter(_))));
    assert!(kinds(|body| matches!(body, Body::Gauge(_))));
    assert!(kinds(|body| matches!(body, Body::Unknown(_))));
    assert!(kinds(|body| matches!(body, Body::Histogram { .. })));
    set
}

/// Renders `set` and checks it with our own strict parser first, so a tool failure is news.
fn render(set: &MetricSet, format: Format) -> Vec<u8> {
    let bytes = metric_set::encode(set, format);
    let model = promstatic::assert_valid_exposition!(format, bytes);
    metric_set::compare(set, format, &model).unwrap();
    bytes
}

/// Runs `program args` with `input` on stdin; `None` when the program cannot be started.
fn run(program: &str, args: &[&str], input: &[u8]) -> Option<Output> {
    let mut child = Command::new(program)
        .args(args)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .ok()?;
    let mut stdin = child.stdin.take().unwrap();
    let input = input.to_vec();
    // Write from another thread: the child may fill its stdout pipe before reading all input.
    let writer = std::thread::spawn(move || stdin.write_all(&input));
    let output = child.wait_with_output().unwrap();
    writer.join().unwrap().unwrap();
    Some(output)
}

fn report(output: &Output) -> String {
    format!(
        "status {}\nstdout:\n{}\nstderr:\n{}",
        output.status,
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    )
}

#[test]
fn promtool_accepts_text_without_lint_findings() {
    let text = render(&large_set(), Format::Text);
    let Some(output) = run("promtool", &["check", "metrics"], &text) else {
        return support::skip("promtool is not installed (apt install prometheus)");
    };
    assert!(
        output.status.success() && output.stdout.is_empty() && output.stderr.is_empty(),
        "promtool check metrics: {}",
        report(&output)
    );
}

/// Parses stdin with the module's `text_string_to_metric_families`, fails on a repeated
/// family name, and prints the family and sample counts.
const PYTHON: &str = r#"
import importlib, sys
module = importlib.import_module(sys.argv[1])
families = list(module.text_string_to_metric_families(sys.stdin.buffer.read().decode("utf-8")))
names = [family.name for family in families]
repeated = sorted({name for name in names if names.count(name) > 1})
if repeated:
    sys.exit("repeated families: %r" % repeated)
print(len(families), sum(len(family.samples) for family in families))
"#;

fn python_parse(module: &str, format: Format) {
    let set = large_set();
    let exposition = render(&set, format);
    if support::require_python_module("prometheus_client").is_none() {
        return;
    }
    let output = run("python3", &["-c", PYTHON, module], &exposition).unwrap();
    assert!(output.status.success(), "{module}: {}", report(&output));
    let samples: usize = set
        .families
        .iter()
        .map(|family| match &family.body {
            Body::Counter(series) | Body::Gauge(series) | Body::Unknown(series) => series.len(),
            Body::Histogram { bounds, series } => series.len() * (bounds.len() + 3),
        })
        .sum();
    let counts = String::from_utf8(output.stdout).unwrap();
    println!(
        "{module}: {} bytes, families and samples {}",
        exposition.len(),
        counts.trim()
    );
    assert_eq!(
        counts.trim(),
        format!("{} {samples}", set.families.len()),
        "{module}: families and samples parsed"
    );
}

#[test]
fn python_text_parser_accepts_text_with_unique_families() {
    python_parse("prometheus_client.parser", Format::Text);
}

#[test]
fn python_openmetrics_parser_accepts_openmetrics() {
    python_parse("prometheus_client.openmetrics.parser", Format::OpenMetrics);
}

/// A small deterministic generator of near-valid OpenMetrics expositions: right and wrong
/// names, suffixes, types, label sets, numbers, timestamps, exemplars and histogram shapes,
/// mixed so that a few percent parse and the rest fail for many different reasons.
struct NearValid(u64);

const OPENMETRICS_TYPES: [&str; 8] = [
    "counter",
    "gauge",
    "histogram",
    "gaugehistogram",
    "summary",
    "unknown",
    "info",
    "stateset",
];

impl NearValid {
    fn next(&mut self) -> u64 {
        // xorshift64
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0
    }

    fn pick<'a>(&mut self, choices: &[&'a str]) -> &'a str {
        choices[(self.next() % choices.len() as u64) as usize]
    }

    fn chance(&mut self, percent: u64) -> bool {
        self.next() % 100 < percent
    }

    fn label(&mut self) -> String {
        let name = self.pick(&["x", "le", "le", "y", "quantile", "a", "h", "s"]);
        let value = self.pick(&[
            "1", "+Inf", "+Inf", "0.5", "1.0", "2", "0", "-1", "NaN", "a\\\\b", "a\\\"b", "a\\nb",
            "\\t", "\u{e9}", "",
        ]);
        format!("{name}=\"{value}\"")
    }

    /// A sample line; `name` or a name picked from a fixed list.
    fn sample(&mut self, name: Option<String>) -> String {
        let names = [
            "a",
            "a_total",
            "a_created",
            "h",
            "h_bucket",
            "h_sum",
            "h_count",
            "h_gsum",
            "h_gcount",
            "a_info",
            "s",
            "s_sum",
            "s_count",
        ];
        let mut line = name.unwrap_or_else(|| self.pick(&names).to_owned());
        if self.chance(60) {
            let labels: Vec<String> = (0..self.pick(&["0", "1", "2", "3"]).parse().unwrap())
                .map(|_| self.label())
                .collect();
            let comma = if self.chance(10) { "," } else { "" };
            line += &format!("{{{}{comma}}}", labels.join(","));
        }
        line += if self.chance(5) { "  " } else { " " };
        line += self.pick(&[
            "1", "-1", "1.5", "NaN", "+Inf", "-Inf", "Inf", "nan", "1e3", ".5", "5.", "0x1p3",
            "1_0", "+1", "-0", "1e", "00", "0", "2", "1.0",
        ]);
        if self.chance(15) {
            line += " ";
            line += self.pick(&["123", "-5", "1.5", "+7", "", "NaN"]);
        }
        if self.chance(15) {
            let labels = self.pick(&["{}", "{a=\"b\"}", "{x=\"1\"}"]);
            let value = self.pick(&["1", "0.5", "NaN"]);
            line += &format!(" # {labels} {value}");
        }
        line
    }

    fn metadata(&mut self) -> String {
        let name = self.pick(&["a", "a_total", "h", "h_bucket", "s", "a_info", "s_count"]);
        match self.pick(&["HELP", "TYPE", "TYPE", "UNIT"]) {
            "HELP" => format!(
                "# HELP {name} {}",
                self.pick(&["x", "a\\\\b", "a\\nb", "\"q\"", ""])
            ),
            "UNIT" => format!(
                "# UNIT {name} {}",
                self.pick(&["total", "count", "", "info"])
            ),
            _ => format!("# TYPE {name} {}", self.pick(&OPENMETRICS_TYPES)),
        }
    }

    /// A histogram-shaped family: buckets (mostly in order), `_count` and `_sum` for one or
    /// two label sets, with values that are often but not always consistent.
    fn histogram(&mut self) -> String {
        let kind = self.pick(&["histogram", "gaugehistogram"]);
        let (sum, count) = if kind == "histogram" {
            ("_sum", "_count")
        } else {
            ("_gsum", "_gcount")
        };
        let mut text = format!("# TYPE h {kind}\n");
        for group in ["x=\"1\"", "x=\"2\""] {
            if group.contains('2') && self.chance(50) {
                break;
            }
            let mut bounds: Vec<&str> = ["-1.0", "0.5", "1.0", "2.0", "+Inf"]
                .into_iter()
                .filter(|_| self.chance(70))
                .collect();
            if self.chance(10) {
                bounds.reverse();
            }
            for le in bounds {
                let value = self.pick(&["0", "1", "2", "2", "3", "3", "1.5"]);
                text += &format!("h_bucket{{{group},le=\"{le}\"}} {value}\n");
            }
            if self.chance(70) {
                let value = self.pick(&["0", "2", "3", "3"]);
                text += &format!("h{count}{{{group}}} {value}\n");
            }
            if self.chance(70) {
                let value = self.pick(&["0", "1.5", "-1", "NaN"]);
                text += &format!("h{sum}{{{group}}} {value}\n");
            }
        }
        text
    }

    /// One to three families, each mostly a TYPE line and samples named after it, with the
    /// occasional stray metadata or sample line.
    fn exposition(&mut self) -> String {
        let mut text = String::new();
        for _ in 0..self.pick(&["1", "2", "3"]).parse().unwrap() {
            if self.chance(35) {
                text += &self.histogram();
                continue;
            }
            let base = self.pick(&["a", "h", "s"]);
            if self.chance(85) {
                let kind = self.pick(&OPENMETRICS_TYPES);
                text += &format!("# TYPE {base} {kind}\n");
            }
            for _ in 0..self.pick(&["1", "2", "3", "4", "5"]).parse().unwrap() {
                let line = if self.chance(10) {
                    self.metadata()
                } else {
                    let suffix = self.pick(&[
                        "", "_total", "_created", "_bucket", "_bucket", "_sum", "_count", "_gsum",
                        "_gcount", "_info",
                    ]);
                    self.sample(Some(format!("{base}{suffix}")))
                };
                text += &line;
                text.push('\n');
            }
        }
        text + "# EOF\n"
    }
}

/// Reads expositions separated by U+001E and prints 1 (parsed) or 0 (rejected) for each.
const PYTHON_VERDICTS: &str = r#"
import sys
from prometheus_client.openmetrics.parser import text_string_to_metric_families
for case in sys.stdin.buffer.read().decode("utf-8").split("\x1e"):
    try:
        list(text_string_to_metric_families(case))
        print(1)
    except Exception:
        print(0)
"#;

#[test]
fn oracle_agrees_with_the_python_openmetrics_parser_on_generated_cases() {
    let mut generator = NearValid(0x2545_F491_4F6C_DD1D);
    let cases: Vec<String> = (0..15000).map(|_| generator.exposition()).collect();
    if support::require_python_module("prometheus_client").is_none() {
        return;
    }
    let input = cases.join("\u{1e}");
    let output = run("python3", &["-c", PYTHON_VERDICTS], input.as_bytes()).unwrap();
    assert!(output.status.success(), "{}", report(&output));
    let verdicts = String::from_utf8(output.stdout).unwrap();
    let verdicts: Vec<bool> = verdicts.lines().map(|line| line == "1").collect();
    assert_eq!(verdicts.len(), cases.len());
    let mut disagreements = Vec::new();
    let mut repeated_series = 0;
    for (case, python) in cases.iter().zip(&verdicts) {
        let ours = conformance::parse(Format::OpenMetrics, case.as_bytes());
        match (&ours, python) {
            (Ok(_), true) | (Err(_), false) => {}
            // The one place the oracle is stricter on purpose: a series repeated without
            // timestamps (two values for one MetricPoint) is rejected; Python keeps the first.
            (Err(error), true) if error.rule == Rule::RepeatedSeries => repeated_series += 1,
            _ => disagreements.push(format!("python {python}, oracle {ours:?}:\n{case}")),
        }
    }
    let parsed = verdicts.iter().filter(|parsed| **parsed).count();
    println!(
        "{} generated cases, {parsed} parse in Python; {} disagreements, {repeated_series} \
         repeated series the oracle rejects by design",
        cases.len(),
        disagreements.len()
    );
    assert!(
        parsed > 100,
        "the generator should produce valid cases too: {parsed}"
    );
    assert!(
        disagreements.is_empty(),
        "{} disagreements:\n{}",
        disagreements.len(),
        disagreements.join("\n")
    );
}
