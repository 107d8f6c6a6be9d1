//! The text 0.0.4 rules of the conformance kit's strict parser (`promstatic::conformance`),
//! one table row at least per rule: expositions it must accept and expositions it must reject
//! (the OpenMetrics rules are covered by the official corpus in `oracle_corpus.rs`).

use promstatic::conformance::{FamilyType, Format, parse};

const HISTOGRAM: &str = "# TYPE h histogram\n\
h_bucket{le=\"0.5\"} 1\nh_bucket{le=\"1\"} 2\nh_bucket{le=\"+Inf\"} 3\nh_sum 2.5\nh_count 3\n";

/// (what it shows, exposition) pairs that must parse.
const GOOD: &[(&str, &str)] = &[
    ("an empty exposition", ""),
    (
        "a counter",
        "# HELP c_total Done.\n# TYPE c_total counter\nc_total 1\n",
    ),
    (
        "TYPE before HELP",
        "# TYPE c_total counter\n# HELP c_total Done.\nc_total 0\n",
    ),
    ("no metadata at all", "a 1\n"),
    (
        "comments and blank lines",
        "# hello\n\n  # indented comment\na 1\n\n",
    ),
    (
        "blanks and tabs between tokens",
        "  a \t{ x = \"1\" , y=\"2\" }\t 1 \t 1700000000000\n",
    ),
    ("a trailing comma in a label set", "a{x=\"1\",} 1\n"),
    ("empty braces", "a{} 1\n"),
    (
        "HELP escapes and a raw quote",
        "# HELP a one\\ntwo \\\\ \"quoted\"\na 1\n",
    ),
    ("an empty HELP", "# HELP a\na 1\n"),
    ("label value escapes", "a{x=\"\\\"\\\\\\n\"} 1\n"),
    (
        "a label value with any Unicode and NUL",
        "a{x=\"caf\u{e9} \u{0} \u{1F600} \t\"} 1\n",
    ),
    (
        "special floats",
        "a{v=\"1\"} NaN\na{v=\"2\"} +Inf\na{v=\"3\"} -Inf\na{v=\"4\"} inf\na{v=\"5\"} -Infinity\n",
    ),
    (
        "float spellings",
        "a{v=\"1\"} .5\na{v=\"2\"} 5.\na{v=\"3\"} -0\na{v=\"4\"} 1E5\na{v=\"5\"} 1e-324\na{v=\"6\"} 007\n",
    ),
    ("a negative timestamp", "a 1 -1000\n"),
    ("a histogram", HISTOGRAM),
    (
        "a histogram with labels",
        "# TYPE h histogram\nh_bucket{a=\"x\",le=\"+Inf\"} 0\nh_sum{a=\"x\"} 0\nh_count{a=\"x\"} 0\nh_bucket{a=\"y\",le=\"1e-05\"} 1\nh_bucket{a=\"y\",le=\"+Inf\"} 1\nh_sum{a=\"y\"} 0\nh_count{a=\"y\"} 1\n",
    ),
    (
        "a summary",
        "# TYPE s summary\ns{quantile=\"0.5\"} 1\ns{quantile=\"0.99\"} NaN\ns_sum 3\ns_count 2\n",
    ),
    (
        "a gauge with many label sets",
        "# TYPE g gauge\ng{a=\"1\"} -1\ng{a=\"2\"} 2\ng{a=\"1\",b=\"2\"} 3\n",
    ),
    ("untyped", "# TYPE u untyped\nu -5.5\n"),
    ("a name with a colon", "job:rate 1\n"),
    (
        "u64 max",
        "# TYPE c_total counter\nc_total 18446744073709551615\n",
    ),
];

/// (rule, exposition) pairs that must be rejected.
const BAD: &[(&str, &str)] = &[
    ("the last line ends with a line feed", "a 1"),
    (
        "HELP knows no \\\" escape",
        "# HELP a say \\\"hi\\\"\na 1\n",
    ),
    ("HELP knows no \\t escape", "# HELP a tab\\t\na 1\n"),
    (
        "HELP may not end in a lone backslash",
        "# HELP a x\\\na 1\n",
    ),
    ("label values know no \\t escape", "a{x=\"\\t\"} 1\n"),
    ("label values are closed", "a{x=\"1} 1\n"),
    ("label values are quoted", "a{x=1} 1\n"),
    ("label values use double quotes", "a{x='1'} 1\n"),
    ("labels have `=`", "a{x\"1\"} 1\n"),
    ("labels are separated by commas", "a{x=\"1\" y=\"2\"} 1\n"),
    (
        "a label set has one trailing comma at most",
        "a{x=\"1\",,} 1\n",
    ),
    ("label names are valid", "a{0x=\"1\"} 1\n"),
    ("label names have no dashes", "a{x-y=\"1\"} 1\n"),
    ("label names do not start with __", "a{__x=\"1\"} 1\n"),
    ("label names appear once", "a{x=\"1\",x=\"2\"} 1\n"),
    ("metric names do not start with a digit", "0a 1\n"),
    ("metric names have no dashes", "a-b 1\n"),
    ("metadata names are valid", "# HELP 0a x\n"),
    ("a sample has a value", "a\n"),
    ("no hex floats", "a 0x1p-3\n"),
    ("no hex integers", "a 0x10\n"),
    ("no digit separators", "a 1_000\n"),
    ("NaN has no sign", "a -NaN\n"),
    ("NaN has no plus sign", "a +nan\n"),
    ("values fit in an f64", "a 1e999\n"),
    ("one decimal point", "a 1.2.3\n"),
    ("a mantissa has digits", "a .e5\n"),
    ("an exponent has digits", "a 1e\n"),
    ("no words as values", "a one\n"),
    ("timestamps are int64 milliseconds", "a 1 1.5\n"),
    ("nothing follows the timestamp", "a 1 2 3\n"),
    ("no blanks after the value", "a 1 \n"),
    ("no blanks after the timestamp", "a 1 2\t\n"),
    ("no blanks after the type", "# TYPE a gauge \na 1\n"),
    ("families are not interleaved", "a 1\nb 1\na 2\n"),
    (
        "a family's samples are not split by metadata",
        "# TYPE a gauge\na{x=\"1\"} 1\n# HELP b b\nb 1\na{x=\"2\"} 1\n",
    ),
    ("a series appears once", "a 1\na 1\n"),
    ("HELP appears once", "# HELP a x\n# HELP a y\na 1\n"),
    ("TYPE appears once", "# TYPE a gauge\n# TYPE a gauge\na 1\n"),
    ("TYPE comes before samples", "a 1\n# TYPE a gauge\n"),
    ("HELP comes before samples", "a 1\n# HELP a late\n"),
    ("types are text 0.0.4 types", "# TYPE a gaugehistogram\n"),
    ("`unknown` is spelled `untyped`", "# TYPE a unknown\n"),
    ("TYPE has nothing after the type", "# TYPE a gauge extra\n"),
    (
        "a histogram has a +Inf bucket",
        "# TYPE h histogram\nh_bucket{le=\"1\"} 1\nh_sum 1\nh_count 1\n",
    ),
    (
        "+Inf is spelled `+Inf`",
        "# TYPE h histogram\nh_bucket{le=\"Inf\"} 1\nh_sum 1\nh_count 1\n",
    ),
    (
        "+Inf equals _count",
        "# TYPE h histogram\nh_bucket{le=\"+Inf\"} 2\nh_sum 1\nh_count 1\n",
    ),
    (
        "a histogram has _count",
        "# TYPE h histogram\nh_bucket{le=\"+Inf\"} 1\nh_sum 1\n",
    ),
    (
        "a histogram has _sum with _count",
        "# TYPE h histogram\nh_bucket{le=\"+Inf\"} 1\nh_count 1\n",
    ),
    (
        "le increases",
        "# TYPE h histogram\nh_bucket{le=\"2\"} 1\nh_bucket{le=\"1\"} 1\nh_bucket{le=\"+Inf\"} 1\nh_sum 1\nh_count 1\n",
    ),
    (
        "le does not repeat",
        "# TYPE h histogram\nh_bucket{le=\"1\",x=\"a\"} 1\nh_bucket{x=\"a\",le=\"1.0\"} 1\nh_bucket{x=\"a\",le=\"+Inf\"} 1\nh_sum{x=\"a\"} 1\nh_count{x=\"a\"} 1\n",
    ),
    (
        "buckets are cumulative",
        "# TYPE h histogram\nh_bucket{le=\"1\"} 2\nh_bucket{le=\"+Inf\"} 1\nh_sum 1\nh_count 1\n",
    ),
    (
        "bucket counts are integers",
        "# TYPE h histogram\nh_bucket{le=\"+Inf\"} 1.5\nh_sum 1\nh_count 1.5\n",
    ),
    (
        "bucket counts are not negative",
        "# TYPE h histogram\nh_bucket{le=\"+Inf\"} -1\nh_sum 1\nh_count -1\n",
    ),
    (
        "bucket counts are not NaN",
        "# TYPE h histogram\nh_bucket{le=\"+Inf\"} NaN\nh_sum 1\nh_count NaN\n",
    ),
    (
        "a bucket has `le`",
        "# TYPE h histogram\nh_bucket 1\nh_sum 1\nh_count 1\n",
    ),
    (
        "le is a number",
        "# TYPE h histogram\nh_bucket{le=\"one\"} 1\nh_bucket{le=\"+Inf\"} 1\nh_sum 1\nh_count 1\n",
    ),
    (
        "le is not NaN",
        "# TYPE h histogram\nh_bucket{le=\"NaN\"} 1\nh_bucket{le=\"+Inf\"} 1\nh_sum 1\nh_count 1\n",
    ),
    (
        "one histogram's label sets are not interleaved",
        "# TYPE h histogram\nh_bucket{x=\"a\",le=\"+Inf\"} 1\nh_bucket{x=\"b\",le=\"+Inf\"} 1\nh_sum{x=\"a\"} 1\nh_count{x=\"a\"} 1\nh_sum{x=\"b\"} 1\nh_count{x=\"b\"} 1\n",
    ),
    (
        "a histogram's samples stay in its family",
        "# TYPE h histogram\nh_bucket{le=\"+Inf\"} 1\nh_sum 1\nh_count 1\nb 1\nh_count 1\n",
    ),
    (
        "sample names do not clash with another family's",
        "# TYPE h histogram\nh_bucket{le=\"+Inf\"} 1\nh_sum 1\nh_count 1\n# TYPE h_sum gauge\nh_sum 1\n",
    ),
    (
        "counters are named _total",
        "# TYPE requests counter\nrequests 1\n",
    ),
    (
        "counters are not negative",
        "# TYPE c_total counter\nc_total -1\n",
    ),
    (
        "counters are not NaN",
        "# TYPE c_total counter\nc_total NaN\n",
    ),
    (
        "quantiles are within [0, 1]",
        "# TYPE s summary\ns{quantile=\"1.5\"} 1\n",
    ),
    (
        "quantiles increase",
        "# TYPE s summary\ns{quantile=\"0.9\"} 1\ns{quantile=\"0.5\"} 1\n",
    ),
    (
        "a quantile sample has `quantile`",
        "# TYPE s summary\ns 1\n",
    ),
];

#[test]
fn accepts_valid_text_expositions() {
    for (what, exposition) in GOOD {
        if let Err(error) = parse(Format::Text, exposition.as_bytes()) {
            panic!("rejected {what}: {error}\n{exposition}");
        }
    }
}

#[test]
fn rejects_each_broken_rule() {
    let accepted: Vec<_> = BAD
        .iter()
        .filter(|(_, exposition)| parse(Format::Text, exposition.as_bytes()).is_ok())
        .map(|(rule, exposition)| format!("{rule}:\n{exposition}"))
        .collect();
    assert!(
        accepted.is_empty(),
        "accepted despite a broken rule:\n{}",
        accepted.join("\n")
    );
}

#[test]
fn rejects_invalid_utf8() {
    assert!(parse(Format::Text, b"a{x=\"\xff\"} 1\n").is_err());
}

#[test]
fn the_model_holds_what_was_written() {
    let text = "# HELP c_total Jobs \\\\ done\\n.\n# TYPE c_total counter\n\
                c_total{q=\"a\\\"b\\n\"} 18446744073709551615\n# TYPE g gauge\ng -0\ng{x=\"1\"} NaN\n";
    let model = parse(Format::Text, text.as_bytes()).unwrap();
    assert_eq!(model.families.len(), 2);
    let counter = &model.families[0];
    assert_eq!(counter.name, "c_total");
    assert_eq!(counter.kind, FamilyType::Counter);
    assert_eq!(counter.help.as_deref(), Some("Jobs \\ done\n."));
    assert_eq!(counter.samples[0].label("q"), Some("a\"b\n"));
    assert_eq!(counter.samples[0].value.integer, Some(i128::from(u64::MAX)));
    let gauge = &model.families[1];
    assert_eq!(gauge.help, None);
    assert!(gauge.samples[0].value.float.is_sign_negative());
    assert!(gauge.samples[1].value.float.is_nan());
}
