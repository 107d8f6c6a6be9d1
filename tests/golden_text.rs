//! The whole text-0.0.4 exposition of this test binary, byte for byte.

use promstatic::{Counter, FloatGauge, Gauge, metric};

/// Requests served since start.
#[metric]
static HTTP_REQUESTS_TOTAL: Counter = Counter::new();

/// Connections currently open.
#[metric(name = "open_connections")]
static OPEN: Gauge = Gauge::new();

/// Temperature in "degrees" Celsius,
/// with a backslash \ and a second line.
#[metric]
static TEMPERATURE_CELSIUS: FloatGauge = FloatGauge::new();

#[metric(help = "Line one\nline two.")]
static A_RATIO: FloatGauge = FloatGauge::new();

/// Never touched.
#[metric]
static BACKLOG: Gauge = Gauge::new();

fn render(format: promstatic::Format) -> String {
    let mut out = Vec::new();
    promstatic::render(&mut out, format);
    String::from_utf8(out).unwrap()
}

#[test]
fn golden_exposition() {
    HTTP_REQUESTS_TOTAL.inc_by(u64::MAX);
    OPEN.set(-3);
    TEMPERATURE_CELSIUS.set(f64::NEG_INFINITY);
    A_RATIO.set(1e-7);

    // Sorted by name; HELP escaped per format; `"` raw in text HELP.
    assert_eq!(
        render(promstatic::Format::Text),
        r#"# HELP a_ratio Line one\nline two.
# TYPE a_ratio gauge
a_ratio 1e-7
# HELP backlog Never touched.
# TYPE backlog gauge
backlog 0
# HELP http_requests_total Requests served since start.
# TYPE http_requests_total counter
http_requests_total 18446744073709551615
# HELP open_connections Connections currently open.
# TYPE open_connections gauge
open_connections -3
# HELP temperature_celsius Temperature in "degrees" Celsius, with a backslash \\ and a second line.
# TYPE temperature_celsius gauge
temperature_celsius -Inf
"#
    );

    assert_eq!(
        render(promstatic::Format::OpenMetrics),
        r#"# HELP a_ratio Line one\nline two.
# TYPE a_ratio gauge
a_ratio 1e-7
# HELP backlog Never touched.
# TYPE backlog gauge
backlog 0
# HELP http_requests Requests served since start.
# TYPE http_requests counter
http_requests_total 18446744073709551615
# HELP open_connections Connections currently open.
# TYPE open_connections gauge
open_connections -3
# HELP temperature_celsius Temperature in \"degrees\" Celsius, with a backslash \\ and a second line.
# TYPE temperature_celsius gauge
temperature_celsius -Inf
# EOF
"#
    );
}
