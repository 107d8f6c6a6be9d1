//! The exporter serves the protobuf exposition to the Accept headers Prometheus sends with
//! native histograms enabled (2.42 and 3.x, verbatim in `support/http.rs`), and everything it
//! adds to the table — namespace, constant labels, process metrics, build info, self-metrics —
//! decodes with the independent decoder.

#![cfg(feature = "exporter")]

// The shared helper, under this test module's own name for it.
#[path = "../support/protobuf.rs"]
mod protobuf_support;
use crate::support;
use protobuf_support as protobuf;

use promstatic::exporter::Exporter;
use promstatic::{Counter, NativeHistogram, metric};
use protobuf::MetricType;
use support::{PROMETHEUS_2_NATIVE_ACCEPT, PROMETHEUS_3_NATIVE_ACCEPT, request, start};

const PROTOBUF: &str =
    "application/vnd.google.protobuf; proto=io.prometheus.client.MetricFamily; encoding=delimited";

/// Jobs seen by the protobuf exporter test.
#[metric]
static PROTOBUF_JOBS_TOTAL: Counter = Counter::new();

/// Latency seen by the protobuf exporter test.
#[metric(native(schema = 3, range = 1e-4..10.0))]
static PROTOBUF_LATENCY_SECONDS: NativeHistogram = NativeHistogram::new();

fn scrape(accept: &str, gzip: bool) -> (String, Vec<protobuf::MetricFamily>) {
    let exporter = Exporter::new()
        .namespace("app_")
        .const_label("region", "eu \"west\"")
        .build_info("protobuf_test", "1.2.3")
        .gzip_min_bytes(if gzip { 0 } else { usize::MAX });
    let (handle, address) = start(exporter);
    let mut headers = vec![("Accept", accept)];
    if gzip {
        headers.push(("Accept-Encoding", "gzip"));
    }
    // Two scrapes: the second reports the first in the self-metrics.
    let _ = request(address, "GET", "/metrics", &headers);
    let response = request(address, "GET", "/metrics", &headers);
    handle.shutdown();
    assert_eq!(response.status, 200);
    let content_type = response.header("content-type").unwrap().to_owned();
    let body = if gzip {
        assert_eq!(response.header("content-encoding"), Some("gzip"));
        let mut plain = Vec::new();
        std::io::Read::read_to_end(
            &mut flate2::read::GzDecoder::new(&response.body[..]),
            &mut plain,
        )
        .unwrap();
        plain
    } else {
        response.body
    };
    let families = protobuf::decode_delimited(&body)
        .unwrap_or_else(|error| panic!("{error} in {} bytes", body.len()));
    (content_type, families)
}

fn find<'a>(families: &'a [protobuf::MetricFamily], name: &str) -> &'a protobuf::MetricFamily {
    families
        .iter()
        .find(|family| family.name == name)
        .unwrap_or_else(|| {
            let names: Vec<&str> = families.iter().map(|f| f.name.as_str()).collect();
            panic!("no family {name} in {names:?}")
        })
}

fn check(accept: &str, gzip: bool) {
    PROTOBUF_JOBS_TOTAL.inc();
    PROTOBUF_LATENCY_SECONDS.observe(0.25);
    let (content_type, families) = scrape(accept, gzip);
    assert_eq!(content_type, PROTOBUF, "for {accept}");
    let region = ("region".to_string(), "eu \"west\"".to_string());
    for family in &families {
        assert!(!family.metrics.is_empty(), "{}", family.name);
        for metric in &family.metrics {
            assert_eq!(metric.labels.first(), Some(&region), "{}", family.name);
        }
    }
    let jobs = find(&families, "app_protobuf_jobs_total");
    assert_eq!(jobs.kind, MetricType::Counter);
    assert!(jobs.metrics[0].counter.unwrap() >= 1.0);
    let latency = find(&families, "app_protobuf_latency_seconds");
    let histogram = latency.metrics[0].histogram.as_ref().unwrap();
    assert_eq!(histogram.schema, Some(3));
    assert!(histogram.sample_count >= 1);
    let buckets = histogram.positive_buckets().unwrap();
    assert!(
        buckets.iter().any(|&(index, _)| index == -16),
        "0.25 is 2^-2: index -2·8"
    );

    // Build info, self-metrics and (on Linux) process metrics keep their standard names.
    let build = find(&families, "protobuf_test_build_info");
    assert_eq!(build.kind, MetricType::Gauge);
    assert_eq!(build.metrics[0].gauge, Some(1.0));
    assert!(
        build.metrics[0]
            .labels
            .contains(&("version".to_string(), "1.2.3".to_string())),
        "{:?}",
        build.metrics[0].labels
    );
    let scrapes = find(&families, "promstatic_scrapes_total");
    assert_eq!(scrapes.metrics[0].counter, Some(2.0));
    let encode = find(&families, "promstatic_last_scrape_encode_seconds");
    assert!(encode.metrics[0].gauge.unwrap() > 0.0);
    if cfg!(target_os = "linux") {
        let cpu = find(&families, "process_cpu_seconds_total");
        assert_eq!(cpu.kind, MetricType::Counter);
        let memory = find(&families, "process_resident_memory_bytes");
        assert!(memory.metrics[0].gauge.unwrap() > 0.0);
    }
    find(
        &families,
        "promstatic_native_observations_out_of_range_total",
    );
}

#[test]
fn prometheus_2_42_with_native_histograms_gets_protobuf() {
    check(PROMETHEUS_2_NATIVE_ACCEPT, false);
}

#[test]
fn prometheus_3_with_native_histograms_gets_protobuf_gzipped() {
    check(PROMETHEUS_3_NATIVE_ACCEPT, true);
}
