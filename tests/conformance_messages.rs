//! The strict parser's messages for common mistakes, as golden strings: what a user reads when
//! their exposition is rejected must name the rule, point at the line and column, and say what
//! to write instead.

use promstatic::conformance::{Rule, Violation, parse};
use promstatic::encode::Format;

fn rejected(format: Format, exposition: &str) -> Violation {
    match parse(format, exposition.as_bytes()) {
        Ok(model) => panic!("accepted {exposition:?}: {model:?}"),
        Err(violation) => violation,
    }
}

#[test]
fn duplicate_family() {
    let violation = rejected(
        Format::Text,
        "# TYPE a gauge\na 1\n# TYPE b gauge\nb 1\n# TYPE a gauge\na 2\n",
    );
    assert_eq!(violation.rule, Rule::DuplicateFamily);
    assert_eq!(
        violation.to_string(),
        "line 5, column 1: duplicate family: family \"a\" already appeared (from line 1) and \
         another family came between: write all of a family's lines together, once"
    );
}

#[test]
fn missing_inf_bucket() {
    let violation = rejected(
        Format::Text,
        "# TYPE h histogram\nh_bucket{path=\"/\",le=\"1\"} 0\nh_sum{path=\"/\"} 0\nh_count{path=\"/\"} 0\n",
    );
    assert_eq!(violation.rule, Rule::MissingInfBucket);
    assert_eq!(
        violation.to_string(),
        "line 4, column 1: missing +Inf bucket: histogram h{path=\"/\"} has no `le=\"+Inf\"` \
         bucket; every histogram ends with one, equal to its `_count`"
    );
}

#[test]
fn bad_escape_in_a_label_value() {
    let exposition = "# TYPE a gauge\na{path=\"C:\\temp\"} 1\n";
    let violation = rejected(Format::Text, exposition);
    assert_eq!(violation.rule, Rule::Escape);
    assert_eq!(
        violation.to_string(),
        "line 2, column 11: bad escape: `\\t` in a label value: text 0.0.4 knows only `\\\\`, \
         `\\\"` and `\\n`; write a backslash as `\\\\`"
    );
    // The excerpt puts the caret under the backslash.
    assert_eq!(
        violation.excerpt(exposition.as_bytes()),
        "a{path=\"C:\\temp\"} 1\n          ^"
    );
}

#[test]
fn bad_escape_in_help() {
    let violation = rejected(Format::Text, "# HELP a Say \\\"hi\\\".\na 1\n");
    assert_eq!(
        violation.to_string(),
        "line 1, column 14: bad escape: `\\\"` in HELP: text 0.0.4 knows only `\\\\` and `\\n` \
         there; write a backslash as `\\\\`"
    );
}

#[test]
fn nan_counter_in_openmetrics() {
    let violation = rejected(
        Format::OpenMetrics,
        "# TYPE jobs counter\njobs_total{queue=\"a\"} 3\njobs_total{queue=\"b\"} NaN\n# EOF\n",
    );
    assert_eq!(violation.rule, Rule::Count);
    assert_eq!(
        violation.to_string(),
        "line 3, column 1: bad count: jobs_total is NaN: a count is never NaN or negative"
    );
}

#[test]
fn missing_eof() {
    let violation = rejected(Format::OpenMetrics, "# TYPE up gauge\nup 1\n");
    assert_eq!(violation.rule, Rule::MissingEof);
    assert_eq!(
        violation.to_string(),
        "line 3, column 1: missing `# EOF`: an OpenMetrics exposition must end with the line \
         `# EOF` (the encoder's `finish` writes it)"
    );
}

#[test]
fn negative_histogram_sum_in_openmetrics() {
    let violation = rejected(
        Format::OpenMetrics,
        "# TYPE h histogram\nh_bucket{le=\"1.0\"} 1\nh_bucket{le=\"+Inf\"} 1\nh_sum -1\nh_count 1\n# EOF\n",
    );
    assert_eq!(
        violation.to_string(),
        "line 4, column 1: histogram totals: h_sum is -1: in OpenMetrics the sum of a histogram \
         or summary is never NaN or negative (one NaN or negative observation makes it so)"
    );
}

#[test]
fn the_column_counts_characters_not_bytes() {
    // `é` is two bytes; the bad value starts at character 13.
    let violation = rejected(Format::Text, "a{x=\"caf\u{e9}\"} one\n");
    assert_eq!(
        (violation.rule, violation.line, violation.column),
        (Rule::Number, 1, 13)
    );
}

#[test]
fn an_unknown_content_type_is_not_on_a_line() {
    let violation =
        promstatic::conformance::check_scrape(b"up 1\n", "application/json").unwrap_err();
    assert_eq!(
        violation.to_string(),
        "unknown content type: \"application/json\" is neither `text/plain` (text 0.0.4) nor \
         `application/openmetrics-text` (OpenMetrics 1.0)"
    );
}
