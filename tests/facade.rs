//! The `metrics` facade recorder: semantics, names, collisions, installs, and the exposition
//! (exact text, the strict oracle, promtool, one exposition with the statics, served by an
//! exporter mounted separately).

#![cfg(feature = "facade")]

mod support;

use std::sync::{Mutex, OnceLock};

use promstatic::exporter::Exporter;
use promstatic::facade::{Builder, DEFAULT_HELP, InstallError, Matcher, REFUSED_METRIC};
use promstatic::{Counter, Format, metric};
use support::http;
use support::oracle::{self, Dialect};
use support::protobuf::{self, MetricType};

/// A static the facade also tries to define.
#[metric]
static FACADE_CLASH_TOTAL: Counter = Counter::new();

/// A static beside the facade's metrics in one exposition.
#[metric]
static FACADE_STATIC_REQUESTS_TOTAL: Counter = Counter::new();

/// Every log record, for the once-per-name checks.
struct Capture;

static LOGS: Mutex<Vec<String>> = Mutex::new(Vec::new());

impl log::Log for Capture {
    fn enabled(&self, _: &log::Metadata<'_>) -> bool {
        true
    }
    fn log(&self, record: &log::Record<'_>) {
        LOGS.lock().unwrap().push(format!("{}", record.args()));
    }
    fn flush(&self) {}
}

static CAPTURE: Capture = Capture;

/// The facade, installed once for this test process (without an endpoint).
fn facade() {
    static FACADE: OnceLock<()> = OnceLock::new();
    FACADE.get_or_init(|| {
        let _ = log::set_logger(&CAPTURE);
        log::set_max_level(log::LevelFilter::Trace);
        Builder::new()
            .buckets_for(Matcher::Suffix("_bytes".into()), &[100.0, 1000.0])
            .buckets_for(Matcher::Full("facade_tiny_seconds".into()), &[0.5])
            .install_recorder()
            .expect("the first install succeeds");
        // Without an endpoint the handle holds nothing; the recorder stays installed.
    });
}

fn render(format: Format) -> String {
    let mut out = Vec::new();
    promstatic::render(&mut out, format);
    String::from_utf8(out).unwrap()
}

/// The lines of the family `name` (from its `# HELP` to the next family's).
fn family(exposition: &str, name: &str) -> String {
    let start = exposition
        .find(&format!("# HELP {name} "))
        .unwrap_or_else(|| panic!("no family {name} in\n{exposition}"));
    let rest = &exposition[start..];
    let end = rest[1..].find("# HELP ").map_or(rest.len(), |end| end + 1);
    let end = rest[..end].find("# EOF").unwrap_or(end);
    rest[..end].to_owned()
}

fn refused(reason: &str) -> u64 {
    let text = render(Format::Text);
    let line = format!("{REFUSED_METRIC}{{reason=\"{reason}\"}} ");
    let value = text
        .lines()
        .find_map(|candidate| candidate.strip_prefix(line.as_str()))
        .unwrap_or_else(|| panic!("no {line} in\n{text}"));
    value.parse().unwrap()
}

fn logs_mentioning(text: &str) -> usize {
    LOGS.lock()
        .unwrap()
        .iter()
        .filter(|line| line.contains(text))
        .count()
}

#[test]
fn counters_get_total_in_both_formats_and_labels_in_any_order_are_one_series() {
    facade();
    metrics::describe_counter!("facade_frames", "Frames \"rendered\".\nBy scene.");
    metrics::counter!("facade_frames", "scene" => "intro", "gpu" => "0").increment(2);
    metrics::counter!("facade_frames", "gpu" => "0", "scene" => "intro").increment(3);
    metrics::counter!("facade_frames", "scene" => "a\"b\\c\nd").increment(1);
    assert_eq!(
        family(&render(Format::Text), "facade_frames_total"),
        "# HELP facade_frames_total Frames \"rendered\".\\nBy scene.\n\
         # TYPE facade_frames_total counter\n\
         facade_frames_total{scene=\"a\\\"b\\\\c\\nd\"} 1\n\
         facade_frames_total{gpu=\"0\",scene=\"intro\"} 5\n"
    );
    assert_eq!(
        family(&render(Format::OpenMetrics), "facade_frames"),
        "# HELP facade_frames Frames \\\"rendered\\\".\\nBy scene.\n\
         # TYPE facade_frames counter\n\
         facade_frames_total{scene=\"a\\\"b\\\\c\\nd\"} 1\n\
         facade_frames_total{gpu=\"0\",scene=\"intro\"} 5\n"
    );
}

#[test]
fn one_counter_name_has_one_spelling() {
    facade();
    metrics::counter!("facade_spelled_total").increment(1);
    let before = refused("name_conflict");
    metrics::counter!("facade_spelled").increment(100);
    metrics::counter!("facade_spelled").increment(100);
    assert_eq!(refused("name_conflict"), before + 2);
    let text = render(Format::Text);
    assert!(text.contains("\nfacade_spelled_total 1\n"), "{text}");
    assert_eq!(logs_mentioning("counter `facade_spelled` recorded"), 1);
}

#[test]
fn absolute_sets_a_counter_to_at_least_the_value() {
    facade();
    let counter = metrics::counter!("facade_mirrored_total");
    counter.absolute(10);
    counter.absolute(4); // older, smaller: ignored
    counter.increment(1);
    let text = render(Format::Text);
    assert!(text.contains("\nfacade_mirrored_total 11\n"), "{text}");
    assert!(
        text.contains(&format!("# HELP facade_mirrored_total {DEFAULT_HELP}\n")),
        "{text}"
    );
}

#[test]
fn gauges_are_floats_with_increment_decrement_and_set() {
    facade();
    let gauge = metrics::gauge!("facade_temperature_celsius", "room" => "main");
    gauge.set(20.0);
    gauge.increment(1.5);
    gauge.decrement(0.25);
    assert_eq!(
        family(&render(Format::Text), "facade_temperature_celsius"),
        format!(
            "# HELP facade_temperature_celsius {DEFAULT_HELP}\n\
             # TYPE facade_temperature_celsius gauge\n\
             facade_temperature_celsius{{room=\"main\"}} 21.25\n"
        )
    );
}

#[test]
fn histograms_are_classic_histograms_with_buckets_per_pattern() {
    facade();
    metrics::describe_histogram!(
        "facade_payload_bytes",
        metrics::Unit::Bytes,
        "Payload sizes."
    );
    let payload = metrics::histogram!("facade_payload_bytes");
    for value in [50.0, 100.0, 500.0, 5000.0] {
        payload.record(value);
    }
    assert_eq!(
        family(&render(Format::Text), "facade_payload_bytes"),
        "# HELP facade_payload_bytes Payload sizes.\n\
         # TYPE facade_payload_bytes histogram\n\
         facade_payload_bytes_bucket{le=\"100\"} 2\n\
         facade_payload_bytes_bucket{le=\"1000\"} 3\n\
         facade_payload_bytes_bucket{le=\"+Inf\"} 4\n\
         facade_payload_bytes_sum 5650\n\
         facade_payload_bytes_count 4\n"
    );
    assert_eq!(
        family(&render(Format::OpenMetrics), "facade_payload_bytes"),
        "# HELP facade_payload_bytes Payload sizes.\n\
         # TYPE facade_payload_bytes histogram\n\
         # UNIT facade_payload_bytes bytes\n\
         facade_payload_bytes_bucket{le=\"100.0\"} 2\n\
         facade_payload_bytes_bucket{le=\"1000.0\"} 3\n\
         facade_payload_bytes_bucket{le=\"+Inf\"} 4\n\
         facade_payload_bytes_sum 5650\n\
         facade_payload_bytes_count 4\n"
    );

    // No pattern: Prometheus' default bounds; `record_many` counts each.
    metrics::histogram!("facade_wait_seconds", "queue" => "io").record_many(0.3, 4);
    let text = family(&render(Format::Text), "facade_wait_seconds");
    assert!(
        text.contains("facade_wait_seconds_bucket{queue=\"io\",le=\"0.25\"} 0\n"),
        "{text}"
    );
    assert!(
        text.contains("facade_wait_seconds_bucket{queue=\"io\",le=\"0.5\"} 4\n"),
        "{text}"
    );
    assert!(
        text.contains("facade_wait_seconds_bucket{queue=\"io\",le=\"10\"} 4\n"),
        "{text}"
    );
    assert!(
        text.contains("facade_wait_seconds_sum{queue=\"io\"} 1.2\n"),
        "{text}"
    );
    assert!(!text.contains("quantile"), "never a summary: {text}");

    metrics::histogram!("facade_tiny_seconds").record(1.0);
    let text = family(&render(Format::Text), "facade_tiny_seconds");
    assert!(
        text.contains("facade_tiny_seconds_bucket{le=\"0.5\"} 0\n"),
        "{text}"
    );
    assert!(
        text.contains("facade_tiny_seconds_bucket{le=\"+Inf\"} 1\n"),
        "{text}"
    );
}

#[test]
fn a_unit_the_name_does_not_end_with_is_not_declared() {
    facade();
    metrics::describe_gauge!("facade_queue_depth", metrics::Unit::Seconds, "Depth.");
    metrics::gauge!("facade_queue_depth").set(3.0);
    let text = family(&render(Format::OpenMetrics), "facade_queue_depth");
    assert!(!text.contains("# UNIT"), "{text}");
    assert!(
        text.contains("facade_queue_depth 3.0\n") || text.contains("facade_queue_depth 3\n"),
        "{text}"
    );
}

#[test]
fn invalid_names_are_refused_counted_and_logged_once_never_mangled() {
    facade();
    let before_name = refused("invalid_name");
    let before_label = refused("invalid_label");
    for _ in 0..3 {
        metrics::counter!("facade.bad-name").increment(1);
        metrics::counter!("facade_good_total", "bad label" => "x").increment(1);
        metrics::counter!("facade_good_total", "k" => "1", "k" => "2").increment(1);
        metrics::histogram!("facade_le_seconds", "le" => "1").record(1.0);
    }
    assert_eq!(refused("invalid_name"), before_name + 3);
    assert_eq!(refused("invalid_label"), before_label + 9);
    let text = render(Format::Text);
    for absent in [
        "facade_bad_name",
        "facade.bad",
        "facade_good_total",
        "facade_le_seconds",
    ] {
        assert!(!text.contains(absent), "{absent} in\n{text}");
    }
    assert_eq!(logs_mentioning("`facade.bad-name`"), 1);
    assert_eq!(logs_mentioning("label name `bad label` is invalid"), 1);
}

#[test]
fn a_name_both_a_static_and_the_facade_define_is_reported_by_check() {
    facade();
    FACADE_CLASH_TOTAL.inc();
    let before = refused("static_duplicate");
    metrics::counter!("facade_clash").increment(7);
    metrics::counter!("facade_clash").increment(7);
    assert_eq!(refused("static_duplicate"), before + 2);
    let text = render(Format::Text);
    assert!(
        text.contains("\nfacade_clash_total 1\n"),
        "the static is kept: {text}"
    );
    assert!(!text.contains("facade_clash_total 7"), "{text}");
    let error = promstatic::check().expect_err("the collision is reported");
    let collision = error
        .collisions
        .iter()
        .find(|collision| collision.dropped_name == "facade_clash_total")
        .unwrap_or_else(|| panic!("{error}"));
    assert_eq!(collision.kept_name, "facade_clash_total");
    let message = error.to_string();
    assert!(
        message.contains("recorded through the `metrics` facade")
            && message.contains("tests/facade.rs"),
        "{message}"
    );
}

#[test]
fn facade_names_that_write_the_same_samples_are_refused_after_the_first() {
    facade();
    metrics::gauge!("facade_mixed").set(1.0);
    let before = refused("name_conflict");
    metrics::histogram!("facade_mixed").record(1.0);
    metrics::counter!("facade_mixed").increment(1); // writes `facade_mixed` in OpenMetrics
    assert_eq!(refused("name_conflict"), before + 2);
    let text = render(Format::Text);
    assert!(
        text.contains("# TYPE facade_mixed gauge\nfacade_mixed 1\n"),
        "{text}"
    );
    assert!(!text.contains("facade_mixed_bucket"), "{text}");
    assert!(!text.contains("facade_mixed_total"), "{text}");
}

#[test]
fn a_second_install_is_an_error_and_bad_configurations_are_errors() {
    facade();
    let error = Builder::new().install_recorder().unwrap_err();
    assert_eq!(error, InstallError::AlreadyInstalled);
    assert!(error.to_string().contains("already installed"), "{error}");
    let error = Builder::new().listen("127.0.0.1:0").install().unwrap_err();
    assert_eq!(error, InstallError::AlreadyInstalled);
    let error = Builder::new().build_recorder().unwrap_err();
    assert_eq!(error, InstallError::AlreadyInstalled);

    let error = Builder::new()
        .listen("localhost:notaport")
        .install()
        .unwrap_err();
    assert!(matches!(error, InstallError::Address { .. }), "{error:?}");
    assert!(error.to_string().contains("localhost:notaport"), "{error}");
    let error = Builder::new().max_series(0).install_recorder().unwrap_err();
    assert_eq!(error, InstallError::MaxSeries { given: 0 });
    let error = Builder::new()
        .buckets_for(Matcher::Prefix("rpc_".into()), &[1.0, 0.5])
        .install_recorder()
        .unwrap_err();
    assert!(
        error.to_string().contains("prefix `rpc_`") && error.to_string().contains("increase"),
        "{error}"
    );
}

#[test]
fn statics_and_facade_metrics_are_one_valid_exposition() {
    facade();
    FACADE_STATIC_REQUESTS_TOTAL.inc();
    metrics::counter!("facade_oracle_total", "path" => "/q\"\n").increment(1);
    metrics::gauge!("facade_oracle_ratio").set(0.5);
    metrics::histogram!("facade_oracle_seconds", "op" => "read").record(0.02);
    for (format, dialect) in [
        (Format::Text, Dialect::Text),
        (Format::OpenMetrics, Dialect::OpenMetrics),
    ] {
        let text = render(format);
        let exposition = oracle::parse(text.as_bytes(), dialect)
            .unwrap_or_else(|error| panic!("{error} in\n{text}"));
        let names: Vec<&str> = exposition
            .families
            .iter()
            .map(|f| f.name.as_str())
            .collect();
        assert!(
            names
                .iter()
                .any(|name| name.starts_with("facade_static_requests")),
            "{names:?}"
        );
        assert!(
            names
                .iter()
                .any(|name| name.starts_with("facade_oracle_seconds")),
            "{names:?}"
        );
        assert!(
            names
                .iter()
                .any(|name| *name == REFUSED_METRIC || REFUSED_METRIC.starts_with(name)),
            "{names:?}"
        );
    }
    if let Some(promtool) = http::require_tool("promtool") {
        let body = render(Format::Text);
        let mut child = std::process::Command::new(promtool)
            .args(["check", "metrics"])
            .stdin(std::process::Stdio::piped())
            .stdout(std::process::Stdio::piped())
            .stderr(std::process::Stdio::piped())
            .spawn()
            .unwrap();
        use std::io::Write;
        child
            .stdin
            .take()
            .unwrap()
            .write_all(body.as_bytes())
            .unwrap();
        let output = child.wait_with_output().unwrap();
        let findings = format!(
            "{}{}",
            String::from_utf8_lossy(&output.stdout),
            String::from_utf8_lossy(&output.stderr)
        );
        assert!(
            output.status.success() && findings.trim().is_empty(),
            "promtool: {findings}\non:\n{body}"
        );
    }
}

#[test]
fn an_exporter_mounted_separately_serves_the_facade_with_negotiation() {
    facade();
    metrics::counter!("facade_served_total", "via" => "service").increment(4);
    let (handle, address) = http::start(Exporter::new().namespace("game_"));
    let text = http::request(address, "GET", "/metrics", &[]).text();
    assert!(
        text.contains("\ngame_facade_served_total{via=\"service\"} 4\n"),
        "{text}"
    );
    let open = http::request(
        address,
        "GET",
        "/metrics",
        &[("Accept", http::PROMETHEUS_2_ACCEPT)],
    );
    assert!(
        open.header("content-type")
            .unwrap()
            .starts_with("application/openmetrics-text")
    );
    let open = open.text();
    assert!(
        open.contains("# TYPE game_facade_served counter\n"),
        "{open}"
    );
    assert!(open.ends_with("# EOF\n"), "{open}");
    handle.shutdown();
}

/// The family `name` of a protobuf exposition.
fn protobuf_family(families: &[protobuf::MetricFamily], name: &str) -> protobuf::MetricFamily {
    families
        .iter()
        .find(|family| family.name == name)
        .cloned()
        .unwrap_or_else(|| {
            let names: Vec<&str> = families.iter().map(|family| family.name.as_str()).collect();
            panic!("no family {name} among {names:?}")
        })
}

/// Label pairs as the protobuf decoder gives them.
type Labels = Vec<(String, String)>;

fn labels(pairs: &[(&str, &str)]) -> Labels {
    pairs
        .iter()
        .map(|(name, value)| ((*name).to_owned(), (*value).to_owned()))
        .collect()
}

#[test]
fn counters_gauges_and_histograms_decode_from_the_protobuf_exposition() {
    facade();
    metrics::describe_counter!("facade_proto_jobs", "Jobs \"done\".\nBy queue.");
    metrics::counter!("facade_proto_jobs", "queue" => "io", "host" => "a").increment(3);
    metrics::counter!("facade_proto_jobs", "host" => "a", "queue" => "io").increment(4);
    metrics::counter!("facade_proto_jobs", "queue" => "cpu\n\"x\"").absolute(9);
    metrics::gauge!("facade_proto_queue_depth").set(-2.5);
    metrics::gauge!("facade_proto_queue_depth").increment(0.75);
    metrics::describe_histogram!(
        "facade_proto_frame_bytes",
        metrics::Unit::Bytes,
        "Frame sizes."
    );
    let frames = metrics::histogram!("facade_proto_frame_bytes", "codec" => "h264");
    for value in [10.0, 100.0, 700.0, 20_000.0] {
        frames.record(value);
    }
    frames.record_many(1.0, 2);

    let mut body = Vec::new();
    promstatic::render(&mut body, Format::Protobuf);
    let families = protobuf::decode_delimited(&body)
        .unwrap_or_else(|error| panic!("the facade's protobuf exposition decodes: {error:?}"));

    let jobs = protobuf_family(&families, "facade_proto_jobs_total");
    assert_eq!(jobs.kind, MetricType::Counter);
    // Unescaped in protobuf: the text as given to `describe_counter!`.
    assert_eq!(jobs.help, "Jobs \"done\".\nBy queue.");
    let mut series: Vec<(Labels, Option<f64>)> = jobs
        .metrics
        .iter()
        .map(|metric| (metric.labels.clone(), metric.counter))
        .collect();
    series.sort_by(|left, right| left.0.cmp(&right.0));
    assert_eq!(
        series,
        [
            (labels(&[("host", "a"), ("queue", "io")]), Some(7.0)),
            (labels(&[("queue", "cpu\n\"x\"")]), Some(9.0)),
        ]
    );

    let depth = protobuf_family(&families, "facade_proto_queue_depth");
    assert_eq!(depth.kind, MetricType::Gauge);
    assert_eq!(depth.help, DEFAULT_HELP);
    assert_eq!(depth.metrics.len(), 1);
    assert_eq!(depth.metrics[0].labels, labels(&[]));
    assert_eq!(depth.metrics[0].gauge, Some(-1.75));

    let sizes = protobuf_family(&families, "facade_proto_frame_bytes");
    assert_eq!(sizes.kind, MetricType::Histogram);
    assert_eq!(sizes.help, "Frame sizes.");
    assert_eq!(sizes.metrics.len(), 1);
    let metric = &sizes.metrics[0];
    assert_eq!(metric.labels, labels(&[("codec", "h264")]));
    let histogram = metric
        .histogram
        .as_ref()
        .expect("a histogram family's metric carries a histogram");
    // The `_bytes` pattern's bounds (see `facade()`), cumulative, `+Inf` implied by the count.
    assert_eq!(histogram.buckets, [(4, 100.0), (5, 1000.0)]);
    assert_eq!(histogram.sample_count, 6);
    assert_eq!(histogram.sample_sum, 20_812.0);
    assert_eq!(histogram.schema, None, "classic buckets only, never native");

    // The same series as the text exposition writes.
    let text = render(Format::Text);
    for family in [&jobs, &depth, &sizes] {
        for (name, labels, value) in protobuf::text_samples(family) {
            let line = if labels.is_empty() {
                format!("\n{name} {value}\n")
            } else {
                let labels: Vec<String> = labels
                    .iter()
                    .map(|(label, value)| format!("{label}=\"{}\"", value.escape_debug()))
                    .collect();
                format!("\n{name}{{{}}} {value}\n", labels.join(","))
            };
            assert!(text.contains(&line), "{line:?} not in\n{text}");
        }
    }
}

/// The facade's histograms follow the static histograms' rules (see `promstatic::histogram`):
/// `NaN` and the infinities are counted but not summed, so one `NaN` cannot poison `_sum`;
/// a series that observed a value below zero has no `_sum`/`_count` in OpenMetrics, where
/// `_sum` is a counter. Before, `_sum` became `NaN` for good and a negative sum was written
/// in OpenMetrics, and either made every OpenMetrics scrape invalid.
#[test]
fn histogram_sums_skip_nan_and_infinities_and_leave_openmetrics_when_negative() {
    facade();
    let odd = metrics::histogram!("facade_odd_bytes");
    for value in [f64::NAN, f64::INFINITY, 50.0] {
        odd.record(value);
    }
    odd.record_many(f64::NEG_INFINITY, 0);
    assert_eq!(
        family(&render(Format::Text), "facade_odd_bytes"),
        format!(
            "# HELP facade_odd_bytes {DEFAULT_HELP}\n\
             # TYPE facade_odd_bytes histogram\n\
             facade_odd_bytes_bucket{{le=\"100\"}} 1\n\
             facade_odd_bytes_bucket{{le=\"1000\"}} 1\n\
             facade_odd_bytes_bucket{{le=\"+Inf\"}} 3\n\
             facade_odd_bytes_sum 50\n\
             facade_odd_bytes_count 3\n"
        )
    );
    assert_eq!(
        family(&render(Format::OpenMetrics), "facade_odd_bytes"),
        format!(
            "# HELP facade_odd_bytes {DEFAULT_HELP}\n\
             # TYPE facade_odd_bytes histogram\n\
             facade_odd_bytes_bucket{{le=\"100.0\"}} 1\n\
             facade_odd_bytes_bucket{{le=\"1000.0\"}} 1\n\
             facade_odd_bytes_bucket{{le=\"+Inf\"}} 3\n\
             facade_odd_bytes_sum 50\n\
             facade_odd_bytes_count 3\n"
        )
    );

    let signed = metrics::histogram!("facade_signed_bytes");
    signed.record(-5.0);
    signed.record(500.0);
    assert_eq!(
        family(&render(Format::Text), "facade_signed_bytes"),
        format!(
            "# HELP facade_signed_bytes {DEFAULT_HELP}\n\
             # TYPE facade_signed_bytes histogram\n\
             facade_signed_bytes_bucket{{le=\"100\"}} 1\n\
             facade_signed_bytes_bucket{{le=\"1000\"}} 2\n\
             facade_signed_bytes_bucket{{le=\"+Inf\"}} 2\n\
             facade_signed_bytes_sum 495\n\
             facade_signed_bytes_count 2\n"
        )
    );
    assert_eq!(
        family(&render(Format::OpenMetrics), "facade_signed_bytes"),
        format!(
            "# HELP facade_signed_bytes {DEFAULT_HELP}\n\
             # TYPE facade_signed_bytes histogram\n\
             facade_signed_bytes_bucket{{le=\"100.0\"}} 1\n\
             facade_signed_bytes_bucket{{le=\"1000.0\"}} 2\n\
             facade_signed_bytes_bucket{{le=\"+Inf\"}} 2\n"
        )
    );
    let text = render(Format::OpenMetrics);
    if let Err(error) = oracle::parse(text.as_bytes(), Dialect::OpenMetrics) {
        panic!("{error} in\n{text}");
    }
}

/// A facade name that, with an exporter's namespace, would occupy a name of the exporter's
/// own families (here the process metrics' `process_cpu_seconds_total`) is left out of that
/// exporter's scrapes, with an error logged; an exporter without the clash (process metrics
/// off, or a namespace) and `promstatic::render` keep it. Before, the scrape held two
/// families of one name, which every parser refuses.
#[test]
fn a_facade_name_an_exporters_own_family_has_is_left_out_of_that_exporters_scrapes() {
    facade();
    metrics::counter!("process_cpu_seconds_total").increment(3);
    let scrape = |service: &promstatic::exporter::MetricsService| {
        // The kit parses the scrape strictly: two families of one name are an error.
        let scraped = promstatic::conformance::scrape_service(service, Format::Text)
            .unwrap_or_else(|error| panic!("{error}"));
        String::from_utf8(scraped.body).unwrap()
    };
    let service = |exporter: Exporter| exporter.service().unwrap();
    if cfg!(target_os = "linux") {
        let clashing = service(Exporter::new());
        for _ in 0..2 {
            let text = scrape(&clashing);
            assert_eq!(
                text.matches("# TYPE process_cpu_seconds_total counter\n")
                    .count(),
                1,
                "{text}"
            );
            assert!(!text.contains("\nprocess_cpu_seconds_total 3\n"), "{text}");
        }
        let logged = LOGS.lock().unwrap().iter().any(|line| {
            line.starts_with(
                "metric `process_cpu_seconds_total` recorded through the `metrics` facade would \
                 occupy `process_cpu_seconds",
            ) && line.contains(
                ", as does `process_cpu_seconds_total` of the exporter's process metrics; the \
                 exporter leaves the facade metric out of its scrapes",
            )
        });
        assert!(logged, "{:#?}", LOGS.lock().unwrap());
    }
    let without_process = scrape(&service(Exporter::new().process_metrics(false)));
    assert!(
        without_process.contains("\nprocess_cpu_seconds_total 3\n"),
        "{without_process}"
    );
    let namespaced = scrape(&service(Exporter::new().namespace("game_")));
    assert!(
        namespaced.contains("\ngame_process_cpu_seconds_total 3\n"),
        "{namespaced}"
    );
    assert!(render(Format::Text).contains("\nprocess_cpu_seconds_total 3\n"));
}
