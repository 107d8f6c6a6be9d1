//! The run-time encoder API cannot write an invalid exposition (issue #19, item 4): each
//! misuse that the old API wrote straight into the exposition is now refused with a typed
//! error whose `Display` says what is wrong, and nothing is written. (The misuses that are
//! now unrepresentable are `compile_fail` doctests on the items concerned: `Help`, `Text`,
//! `Family::new`, `Label::new`, `Encoder::checked_namespace`, `FamilyEncoder::sample`,
//! `Metric`, `LabelSet`, `Series`, `LabelValue`, `ShardedCounter::SHARDS`, `ExporterBody`.)

use promstatic::encode::{
    EncodeError, Encoder, EscapedHelp, EscapedLabelValue, Family, Format, Help, Kind, Label,
    Suffix, Text, Value,
};
use promstatic::{Counter, metric};

/// A counter in the static table, for the check that a run-time family cannot repeat it.
#[metric]
static STATIC_JOBS_TOTAL: Counter = Counter::new();

const BOTH: [Format; 2] = [Format::Text, Format::OpenMetrics];

fn family(name: &'static str, kind: Kind) -> Family<'static> {
    Family::new(name, kind, Help::Raw("A family.")).unwrap()
}

/// Runs `misuse` on a fresh family of `kind`, after one valid sample, and returns its error
/// and whether the buffer is unchanged by it.
fn refused(
    format: Format,
    kind: Kind,
    const_labels: &[Label<'_>],
    misuse: impl FnOnce(&mut promstatic::encode::FamilyEncoder<'_, '_>) -> Result<(), EncodeError>,
) -> (EncodeError, String) {
    let mut out = Vec::new();
    let mut encoder = Encoder::new(&mut out, format).with_const_labels(const_labels);
    let name = if kind == Kind::Counter {
        "x_total"
    } else {
        "x"
    };
    let mut writer = encoder.family(&family(name, kind)).unwrap();
    let before = match kind {
        Kind::Histogram => writer.bucket(&[], f64::INFINITY, 1),
        _ => writer.sample(Suffix::Bare, &[], Value::Unsigned(1)),
    };
    before.unwrap();
    let error = misuse(&mut writer).expect_err("the misuse was written");
    drop(encoder);
    let written = String::from_utf8(out).unwrap();
    // HELP, TYPE and the one valid sample: the refused one wrote nothing.
    let lines = written.lines().count();
    assert_eq!(lines, 3, "the refused sample wrote something:\n{written}");
    (error, written)
}

#[test]
fn a_label_name_twice_in_one_sample_is_refused() {
    for format in BOTH {
        let (a, b) = (Label::new("a", "1").unwrap(), Label::new("a", "2").unwrap());
        let (error, _) = refused(format, Kind::Gauge, &[], |writer| {
            writer.sample(Suffix::Bare, &[a, b], Value::Signed(1))
        });
        assert_eq!(error, EncodeError::DuplicateLabel { name: "a".into() });
        assert!(error.to_string().contains("`a` is given twice"), "{error}");
    }
}

#[test]
fn a_sample_label_repeating_a_constant_label_is_refused() {
    let constant = [Label::new("env", "prod").unwrap()];
    let again = Label::new("env", "dev").unwrap();
    let (error, _) = refused(Format::Text, Kind::Counter, &constant, |writer| {
        writer.sample(Suffix::Bare, &[again], Value::Unsigned(2))
    });
    assert_eq!(error, EncodeError::DuplicateLabel { name: "env".into() });
    assert!(
        error.to_string().contains("constant labels included"),
        "{error}"
    );
}

#[test]
fn le_on_a_bucket_or_any_histogram_sample_is_refused() {
    for format in BOTH {
        let le = Label::new("le", "0.5").unwrap();
        let (error, _) = refused(format, Kind::Histogram, &[], |writer| {
            writer.bucket(&[le], 1.0, 1)
        });
        assert_eq!(error, EncodeError::ReservedLabel { name: "le".into() });
        assert!(
            error.to_string().contains("writes the bucket bound"),
            "{error}"
        );
        let (error, _) = refused(format, Kind::Histogram, &[], |writer| {
            writer.sample(Suffix::Count, &[le], Value::Unsigned(1))
        });
        assert_eq!(error, EncodeError::ReservedLabel { name: "le".into() });
    }
}

#[test]
fn a_nan_bucket_bound_is_refused() {
    for format in BOTH {
        let (error, _) = refused(format, Kind::Histogram, &[], |writer| {
            writer.bucket(&[], f64::NAN, 1)
        });
        assert_eq!(error, EncodeError::NanBound);
        assert!(error.to_string().contains("NaN"), "{error}");
    }
}

#[test]
fn negative_or_nan_counter_values_are_refused_in_openmetrics() {
    for value in [
        Value::Signed(-1),
        Value::Float(-0.5),
        Value::Float(f64::NAN),
    ] {
        let (error, _) = refused(Format::OpenMetrics, Kind::Counter, &[], |writer| {
            writer.sample(Suffix::Bare, &[], value)
        });
        assert!(
            matches!(error, EncodeError::InvalidCount { .. }),
            "{value:?}: {error:?}"
        );
        assert!(error.to_string().contains("not negative or NaN"), "{error}");
        // A histogram's `_count` is a count too.
        let (error, _) = refused(Format::OpenMetrics, Kind::Histogram, &[], |writer| {
            writer.sample(Suffix::Count, &[], value)
        });
        assert!(
            matches!(error, EncodeError::InvalidCount { .. }),
            "{error:?}"
        );
    }
    // Text 0.0.4 has no such rule: the value is written as given.
    let mut out = Vec::new();
    let mut encoder = Encoder::new(&mut out, Format::Text);
    let mut writer = encoder.family(&family("x_total", Kind::Counter)).unwrap();
    writer.sample(Suffix::Bare, &[], Value::Signed(-1)).unwrap();
}

#[test]
fn a_suffix_that_does_not_fit_the_type_is_refused() {
    let (error, _) = refused(Format::Text, Kind::Gauge, &[], |writer| {
        writer.sample(Suffix::Sum, &[], Value::Float(1.0))
    });
    assert_eq!(
        error,
        EncodeError::SuffixForKind {
            suffix: Suffix::Sum,
            kind: Kind::Gauge
        }
    );
    assert!(
        error.to_string().contains("gauge family has no `_sum`"),
        "{error}"
    );
    let (error, _) = refused(Format::Text, Kind::Histogram, &[], |writer| {
        writer.sample(Suffix::Bare, &[], Value::Float(1.0))
    });
    assert!(
        matches!(error, EncodeError::SuffixForKind { .. }),
        "{error:?}"
    );
    let (error, _) = refused(Format::Text, Kind::Counter, &[], |writer| {
        writer.bucket(&[], 1.0, 1)
    });
    assert_eq!(
        error,
        EncodeError::BucketOfNonHistogram {
            kind: Kind::Counter
        }
    );
}

#[test]
fn the_same_family_twice_is_refused() {
    for format in BOTH {
        let mut out = Vec::new();
        let mut encoder = Encoder::new(&mut out, format)
            .checked_namespace("app_")
            .unwrap();
        let jobs = family("jobs_total", Kind::Counter);
        encoder
            .family(&jobs)
            .unwrap()
            .sample(Suffix::Bare, &[], Value::Unsigned(1))
            .unwrap();
        let other = family("other", Kind::Gauge);
        encoder.family(&other).unwrap();
        let Err(error) = encoder.family(&jobs) else {
            panic!("{format:?}: the family was written twice");
        };
        assert_eq!(
            error,
            EncodeError::DuplicateFamily {
                name: if format == Format::Text {
                    "app_jobs_total"
                } else {
                    "app_jobs"
                }
                .into()
            }
        );
        assert!(error.to_string().contains("already written"), "{error}");
        // OpenMetrics names a counter's family without `_total`: a gauge `jobs` is the same
        // family there, and a different one in text 0.0.4.
        let gauge = encoder.family(&family("jobs", Kind::Gauge));
        assert_eq!(gauge.is_err(), format == Format::OpenMetrics, "{format:?}");
    }
}

#[test]
fn a_run_time_family_cannot_repeat_a_static_one() {
    STATIC_JOBS_TOTAL.inc();
    let mut out = Vec::new();
    let mut encoder = Encoder::new(&mut out, Format::Text);
    promstatic::render_into(&mut encoder);
    let error = encoder
        .family(&family("static_jobs_total", Kind::Counter))
        .map(|_| ())
        .unwrap_err();
    assert_eq!(
        error,
        EncodeError::DuplicateFamily {
            name: "static_jobs_total".into()
        }
    );
    // A different name is fine.
    encoder
        .family(&family("dynamic_jobs_total", Kind::Counter))
        .unwrap();
}

#[test]
fn help_cannot_inject_a_metric_or_an_early_eof() {
    let injection = "x\n# TYPE evil counter\nevil_total 1\n# EOF";
    // As pre-escaped text it is refused.
    let error = EscapedHelp::new(injection, injection).unwrap_err();
    assert!(
        error.to_string().contains("raw newline at byte 1"),
        "{error}"
    );
    // As raw text it is escaped: one HELP line, no extra sample, no early EOF.
    for format in BOTH {
        let mut out = Vec::new();
        let mut encoder = Encoder::new(&mut out, format);
        let hostile = Family::new("g", Kind::Gauge, Help::Raw(injection)).unwrap();
        encoder
            .family(&hostile)
            .unwrap()
            .sample(Suffix::Bare, &[], Value::Signed(1))
            .unwrap();
        encoder.finish();
        let text = String::from_utf8(out).unwrap();
        assert!(!text.contains("\nevil_total"), "{text}");
        let eofs = text.lines().filter(|line| *line == "# EOF").count();
        assert_eq!(eofs, usize::from(format == Format::OpenMetrics), "{text}");
    }
}

#[test]
fn pre_escaped_label_values_are_checked() {
    let error = EscapedLabelValue::new("a\"} 1\nevil 2").unwrap_err();
    assert!(error.to_string().contains("raw `\"` at byte 1"), "{error}");
    let checked = EscapedLabelValue::new("a\\\"b").unwrap();
    let label = Label::from_text("quote", Text::Escaped(checked)).unwrap();
    let mut out = Vec::new();
    let mut encoder = Encoder::new(&mut out, Format::Text);
    encoder
        .family(&family("g", Kind::Gauge))
        .unwrap()
        .sample(Suffix::Bare, &[label], Value::Signed(1))
        .unwrap();
    assert!(
        String::from_utf8(out)
            .unwrap()
            .ends_with("g{quote=\"a\\\"b\"} 1\n")
    );
    assert!(Label::from_text("bad name", Text::Raw("x")).is_err());
}

/// Polls an exporter response body to its end.
fn body_text(mut body: promstatic::exporter::ExporterBody) -> String {
    use bytes::Buf;
    use http_body::Body;
    let mut context = std::task::Context::from_waker(std::task::Waker::noop());
    let mut bytes = Vec::new();
    while let std::task::Poll::Ready(Some(Ok(frame))) =
        std::pin::Pin::new(&mut body).poll_frame(&mut context)
    {
        if let Ok(mut data) = frame.into_data() {
            while data.has_remaining() {
                let chunk = data.chunk();
                bytes.extend_from_slice(chunk);
                let length = chunk.len();
                data.advance(length);
            }
        }
    }
    String::from_utf8(bytes).unwrap()
}

#[test]
fn a_scrape_hook_cannot_repeat_the_exporters_own_families() {
    use std::sync::{Arc, Mutex};
    let refused: Arc<Mutex<Vec<String>>> = Arc::default();
    let seen = Arc::clone(&refused);
    let service = promstatic::exporter::Exporter::new()
        .process_metrics(false)
        .on_scrape(move |encoder| {
            for name in ["promstatic_scrapes_total", "promstatic_build_info"] {
                let kind = if name.ends_with("_total") {
                    Kind::Counter
                } else {
                    Kind::Gauge
                };
                let mine = Family::new(name, kind, Help::Raw("Mine.")).unwrap();
                if let Err(error) = encoder.family(&mine) {
                    seen.lock().unwrap().push(error.to_string());
                }
            }
            encoder
                .family(&family("hook_sessions", Kind::Gauge))?
                .sample(Suffix::Bare, &[], Value::Signed(2))
        })
        .service()
        .unwrap();
    let request = hyper::Request::get("/metrics").body(String::new()).unwrap();
    let text = body_text(service.respond(&request).into_body());
    let refused = refused.lock().unwrap().clone();
    assert_eq!(refused.len(), 2, "{refused:?}");
    assert!(refused[0].contains("`promstatic_scrapes_total` was already written"));
    for name in ["promstatic_scrapes_total", "promstatic_build_info"] {
        let headers = text
            .lines()
            .filter(|line| line.starts_with(&format!("# TYPE {name} ")))
            .count();
        assert_eq!(headers, 1, "{name}:\n{text}");
    }
    assert!(text.contains("\nhook_sessions 2\n"), "{text}");
}
