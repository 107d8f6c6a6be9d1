//! The text 0.0.4 rules of the conformance kit's strict parser (`promstatic::conformance`),
//! one table row at least per rule: expositions it must accept and expositions it must reject
//! (the OpenMetrics rules are covered by the official corpus in `oracle_corpus.rs`).

use promstatic::conformance::{FamilyType, Format, Rule, parse};

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

/// (rule, the [`Rule`] the violation names, exposition) triples that must be rejected.
const BAD: &[(&str, Rule, &str)] = &[
    ("the last line ends with a line feed", Rule::LineEnd, "a 1"),
    (
        "HELP knows no \\\" escape",
        Rule::Escape,
        "# HELP a say \\\"hi\\\"\na 1\n",
    ),
    (
        "HELP knows no \\t escape",
        Rule::Escape,
        "# HELP a tab\\t\na 1\n",
    ),
    (
        "HELP may not end in a lone backslash",
        Rule::Escape,
        "# HELP a x\\\na 1\n",
    ),
    (
        "label values know no \\t escape",
        Rule::Escape,
        "a{x=\"\\t\"} 1\n",
    ),
    (
        "label values are closed",
        Rule::UnterminatedValue,
        "a{x=\"1} 1\n",
    ),
    ("label values are quoted", Rule::LabelSyntax, "a{x=1} 1\n"),
    (
        "label values use double quotes",
        Rule::LabelSyntax,
        "a{x='1'} 1\n",
    ),
    ("labels have `=`", Rule::LabelSyntax, "a{x\"1\"} 1\n"),
    (
        "labels are separated by commas",
        Rule::LabelSyntax,
        "a{x=\"1\" y=\"2\"} 1\n",
    ),
    (
        "a label set has one trailing comma at most",
        Rule::LabelName,
        "a{x=\"1\",,} 1\n",
    ),
    ("label names are valid", Rule::LabelName, "a{0x=\"1\"} 1\n"),
    (
        "label names have no dashes",
        Rule::LabelSyntax,
        "a{x-y=\"1\"} 1\n",
    ),
    (
        "label names do not start with __",
        Rule::LabelName,
        "a{__x=\"1\"} 1\n",
    ),
    (
        "label names appear once",
        Rule::DuplicateLabel,
        "a{x=\"1\",x=\"2\"} 1\n",
    ),
    (
        "metric names do not start with a digit",
        Rule::MetricName,
        "0a 1\n",
    ),
    ("metric names have no dashes", Rule::Number, "a-b 1\n"),
    (
        "metadata names are valid",
        Rule::MetricName,
        "# HELP 0a x\n",
    ),
    ("a sample has a value", Rule::Number, "a\n"),
    ("no hex floats", Rule::Number, "a 0x1p-3\n"),
    ("no hex integers", Rule::Number, "a 0x10\n"),
    ("no digit separators", Rule::Number, "a 1_000\n"),
    ("NaN has no sign", Rule::Number, "a -NaN\n"),
    ("NaN has no plus sign", Rule::Number, "a +nan\n"),
    ("values fit in an f64", Rule::Number, "a 1e999\n"),
    ("one decimal point", Rule::Number, "a 1.2.3\n"),
    ("a mantissa has digits", Rule::Number, "a .e5\n"),
    ("an exponent has digits", Rule::Number, "a 1e\n"),
    ("no words as values", Rule::Number, "a one\n"),
    (
        "timestamps are int64 milliseconds",
        Rule::Timestamp,
        "a 1 1.5\n",
    ),
    ("nothing follows the timestamp", Rule::Spacing, "a 1 2 3\n"),
    ("no blanks after the value", Rule::Spacing, "a 1 \n"),
    ("no blanks after the timestamp", Rule::Spacing, "a 1 2\t\n"),
    (
        "no blanks after the type",
        Rule::Spacing,
        "# TYPE a gauge \na 1\n",
    ),
    (
        "families are not interleaved",
        Rule::DuplicateFamily,
        "a 1\nb 1\na 2\n",
    ),
    (
        "a family's samples are not split by metadata",
        Rule::DuplicateFamily,
        "# TYPE a gauge\na{x=\"1\"} 1\n# HELP b b\nb 1\na{x=\"2\"} 1\n",
    ),
    ("a series appears once", Rule::RepeatedSeries, "a 1\na 1\n"),
    (
        "HELP appears once",
        Rule::RepeatedMetadata,
        "# HELP a x\n# HELP a y\na 1\n",
    ),
    (
        "TYPE appears once",
        Rule::RepeatedMetadata,
        "# TYPE a gauge\n# TYPE a gauge\na 1\n",
    ),
    (
        "TYPE comes before samples",
        Rule::MetadataAfterSamples,
        "a 1\n# TYPE a gauge\n",
    ),
    (
        "HELP comes before samples",
        Rule::MetadataAfterSamples,
        "a 1\n# HELP a late\n",
    ),
    (
        "types are text 0.0.4 types",
        Rule::Metadata,
        "# TYPE a gaugehistogram\n",
    ),
    (
        "`unknown` is spelled `untyped`",
        Rule::Metadata,
        "# TYPE a unknown\n",
    ),
    (
        "TYPE has nothing after the type",
        Rule::Spacing,
        "# TYPE a gauge extra\n",
    ),
    (
        "a histogram has a +Inf bucket",
        Rule::MissingInfBucket,
        "# TYPE h histogram\nh_bucket{le=\"1\"} 1\nh_sum 1\nh_count 1\n",
    ),
    (
        "+Inf is spelled `+Inf`",
        Rule::Bucket,
        "# TYPE h histogram\nh_bucket{le=\"Inf\"} 1\nh_sum 1\nh_count 1\n",
    ),
    (
        "+Inf equals _count",
        Rule::HistogramTotals,
        "# TYPE h histogram\nh_bucket{le=\"+Inf\"} 2\nh_sum 1\nh_count 1\n",
    ),
    (
        "a histogram has _count",
        Rule::HistogramTotals,
        "# TYPE h histogram\nh_bucket{le=\"+Inf\"} 1\nh_sum 1\n",
    ),
    (
        "a histogram has _sum with _count",
        Rule::HistogramTotals,
        "# TYPE h histogram\nh_bucket{le=\"+Inf\"} 1\nh_count 1\n",
    ),
    (
        "le increases",
        Rule::Bucket,
        "# TYPE h histogram\nh_bucket{le=\"2\"} 1\nh_bucket{le=\"1\"} 1\nh_bucket{le=\"+Inf\"} 1\nh_sum 1\nh_count 1\n",
    ),
    (
        "le does not repeat",
        Rule::Bucket,
        "# TYPE h histogram\nh_bucket{le=\"1\",x=\"a\"} 1\nh_bucket{x=\"a\",le=\"1.0\"} 1\nh_bucket{x=\"a\",le=\"+Inf\"} 1\nh_sum{x=\"a\"} 1\nh_count{x=\"a\"} 1\n",
    ),
    (
        "buckets are cumulative",
        Rule::Bucket,
        "# TYPE h histogram\nh_bucket{le=\"1\"} 2\nh_bucket{le=\"+Inf\"} 1\nh_sum 1\nh_count 1\n",
    ),
    (
        "bucket counts are integers",
        Rule::Count,
        "# TYPE h histogram\nh_bucket{le=\"+Inf\"} 1.5\nh_sum 1\nh_count 1.5\n",
    ),
    (
        "bucket counts are not negative",
        Rule::Count,
        "# TYPE h histogram\nh_bucket{le=\"+Inf\"} -1\nh_sum 1\nh_count -1\n",
    ),
    (
        "bucket counts are not NaN",
        Rule::Count,
        "# TYPE h histogram\nh_bucket{le=\"+Inf\"} NaN\nh_sum 1\nh_count NaN\n",
    ),
    (
        "a bucket has `le`",
        Rule::Bucket,
        "# TYPE h histogram\nh_bucket 1\nh_sum 1\nh_count 1\n",
    ),
    (
        "le is a number",
        Rule::Bucket,
        "# TYPE h histogram\nh_bucket{le=\"one\"} 1\nh_bucket{le=\"+Inf\"} 1\nh_sum 1\nh_count 1\n",
    ),
    (
        "le is not NaN",
        Rule::Bucket,
        "# TYPE h histogram\nh_bucket{le=\"NaN\"} 1\nh_bucket{le=\"+Inf\"} 1\nh_sum 1\nh_count 1\n",
    ),
    (
        "one histogram's label sets are not interleaved",
        Rule::InterleavedSeries,
        "# TYPE h histogram\nh_bucket{x=\"a\",le=\"+Inf\"} 1\nh_bucket{x=\"b\",le=\"+Inf\"} 1\nh_sum{x=\"a\"} 1\nh_count{x=\"a\"} 1\nh_sum{x=\"b\"} 1\nh_count{x=\"b\"} 1\n",
    ),
    (
        "a histogram's samples stay in its family",
        Rule::NameClash,
        "# TYPE h histogram\nh_bucket{le=\"+Inf\"} 1\nh_sum 1\nh_count 1\nb 1\nh_count 1\n",
    ),
    (
        "sample names do not clash with another family's",
        Rule::NameClash,
        "# TYPE h histogram\nh_bucket{le=\"+Inf\"} 1\nh_sum 1\nh_count 1\n# TYPE h_sum gauge\nh_sum 1\n",
    ),
    (
        "counters are named _total",
        Rule::CounterName,
        "# TYPE requests counter\nrequests 1\n",
    ),
    (
        "counters are not negative",
        Rule::Count,
        "# TYPE c_total counter\nc_total -1\n",
    ),
    (
        "counters are not NaN",
        Rule::Count,
        "# TYPE c_total counter\nc_total NaN\n",
    ),
    (
        "quantiles are within [0, 1]",
        Rule::Quantile,
        "# TYPE s summary\ns{quantile=\"1.5\"} 1\n",
    ),
    (
        "quantiles increase",
        Rule::Quantile,
        "# TYPE s summary\ns{quantile=\"0.9\"} 1\ns{quantile=\"0.5\"} 1\n",
    ),
    (
        "a quantile sample has `quantile`",
        Rule::Quantile,
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
fn rejects_each_broken_rule_and_names_it() {
    let wrong: Vec<_> = BAD
        .iter()
        .filter_map(
            |(what, rule, exposition)| match parse(Format::Text, exposition.as_bytes()) {
                Err(violation) if violation.rule == *rule => None,
                Err(violation) => Some(format!(
                    "{what}: named {:?}, not {rule:?} ({violation})\n{exposition}",
                    violation.rule
                )),
                Ok(_) => Some(format!("{what}: accepted\n{exposition}")),
            },
        )
        .collect();
    assert!(wrong.is_empty(), "{}", wrong.join("\n"));
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
