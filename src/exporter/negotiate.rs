//! Content negotiation: which exposition format and whether to gzip, read from the request's
//! `Accept` and `Accept-Encoding` headers without allocating.
//!
//! OpenMetrics 1.0.0 is chosen only when the client names `application/openmetrics-text`
//! (with no `version`, or `version=1.0.0`) and ranks it at least as high as anything that
//! text 0.0.4 would satisfy (`text/plain` with no version or `version=0.0.4`, `text/*`,
//! `*/*`). Every other request, including one with no `Accept` at all or one that accepts
//! nothing we produce, gets text 0.0.4: a scraper always gets *something* it can parse.
//!
//! The headers Prometheus sends, which the tests replay verbatim:
//!
//! * 2.x before 2.49: `application/openmetrics-text;version=1.0.0,application/openmetrics-text;
//!   version=0.0.1;q=0.75,text/plain;version=0.0.4;q=0.5,*/*;q=0.1`
//! * 2.49 to 2.55: the same types with `q=0.5`, `0.4`, `0.3`, `0.2`;
//! * 3.x: `application/openmetrics-text;version=1.0.0;escaping=allow-utf-8;q=0.5,…,
//!   text/plain;version=1.0.0;escaping=allow-utf-8;q=0.3,text/plain;version=0.0.4;q=0.2,*/*;q=0.1`
//!   (the `escaping` parameter is irrelevant to us: our names are valid in the legacy charset).
//!
//! The protobuf exposition (the only one that carries native histograms) is chosen when the
//! client names `application/vnd.google.protobuf` with `proto=io.prometheus.client.MetricFamily`
//! and `encoding=delimited` and ranks it at least as high as every text format it accepts.
//! Prometheus asks for it only with native histograms enabled, and then first:
//!
//! * 2.40 to 2.48 with `--enable-feature=native-histograms`:
//!   `application/vnd.google.protobuf;proto=io.prometheus.client.MetricFamily;encoding=delimited,
//!   application/openmetrics-text;version=1.0.0;q=0.8,application/openmetrics-text;
//!   version=0.0.1;q=0.75,text/plain;version=0.0.4;q=0.5,*/*;q=0.1`
//! * 3.x with native histograms (`scrape_protocols` defaulting to protobuf first):
//!   `application/vnd.google.protobuf;proto=io.prometheus.client.MetricFamily;encoding=delimited;
//!   q=0.6,application/openmetrics-text;version=1.0.0;escaping=allow-utf-8;q=0.5,
//!   application/openmetrics-text;version=0.0.1;q=0.4,text/plain;version=1.0.0;
//!   escaping=allow-utf-8;q=0.3,text/plain;version=0.0.4;q=0.2,*/*;q=0.1` (3.0 to 3.4 add
//!   `escaping=allow-utf-8` to every entry, protobuf included, with one protocol fewer).

use crate::encode::Format;

/// Picks the exposition format for an `Accept` header value (`None`: no header).
pub(crate) fn format(accept: Option<&[u8]>) -> Format {
    let Some(accept) = accept else {
        return Format::Text;
    };
    // Quality values are compared in thousandths, as RFC 9110 defines them (three decimals).
    let mut openmetrics = 0u16;
    let mut text = 0u16;
    let mut protobuf = 0u16;
    for range in accept.split(|&byte| byte == b',') {
        let mut parts = range.split(|&byte| byte == b';');
        let media_type = trim(parts.next().unwrap_or_default());
        let mut quality = 1000u16;
        let mut version: Option<&[u8]> = None;
        let mut proto: Option<&[u8]> = None;
        let mut encoding: Option<&[u8]> = None;
        for parameter in parts {
            let parameter = trim(parameter);
            let (name, value) = match parameter.iter().position(|&byte| byte == b'=') {
                Some(at) => (trim(&parameter[..at]), unquote(trim(&parameter[at + 1..]))),
                None => (parameter, &b""[..]),
            };
            if name.eq_ignore_ascii_case(b"q") {
                quality = parse_quality(value).unwrap_or(0);
            } else if name.eq_ignore_ascii_case(b"version") {
                version = Some(value);
            } else if name.eq_ignore_ascii_case(b"proto") {
                proto = Some(value);
            } else if name.eq_ignore_ascii_case(b"encoding") {
                encoding = Some(value);
            }
        }
        if media_type.eq_ignore_ascii_case(b"application/vnd.google.protobuf") {
            // Only the delimited MetricFamily stream; other protobuf encodings are not ours.
            if proto == Some(b"io.prometheus.client.MetricFamily")
                && encoding.is_some_and(|encoding| encoding.eq_ignore_ascii_case(b"delimited"))
            {
                protobuf = protobuf.max(quality);
            }
        } else if media_type.eq_ignore_ascii_case(b"application/openmetrics-text") {
            if version.is_none_or(|version| version == b"1.0.0") {
                openmetrics = openmetrics.max(quality);
            }
        } else if media_type.eq_ignore_ascii_case(b"text/plain") {
            if version.is_none_or(|version| version == b"0.0.4") {
                text = text.max(quality);
            }
        } else if media_type == b"*/*" || media_type.eq_ignore_ascii_case(b"text/*") {
            text = text.max(quality);
        }
    }
    if protobuf > 0 && protobuf >= openmetrics && protobuf >= text {
        Format::Protobuf
    } else if openmetrics > 0 && openmetrics >= text {
        Format::OpenMetrics
    } else {
        Format::Text
    }
}

/// Whether an `Accept-Encoding` header value allows gzip (`gzip` or `x-gzip` or `*` with a
/// non-zero quality, and gzip not refused explicitly).
pub(crate) fn accepts_gzip(accept_encoding: Option<&[u8]>) -> bool {
    let Some(accept_encoding) = accept_encoding else {
        return false;
    };
    let mut gzip: Option<u16> = None;
    let mut any: Option<u16> = None;
    for coding in accept_encoding.split(|&byte| byte == b',') {
        let mut parts = coding.split(|&byte| byte == b';');
        let name = trim(parts.next().unwrap_or_default());
        let mut quality = 1000u16;
        for parameter in parts {
            let parameter = trim(parameter);
            if let Some(value) = parameter
                .strip_prefix(b"q=")
                .or_else(|| parameter.strip_prefix(b"Q="))
            {
                quality = parse_quality(trim(value)).unwrap_or(0);
            }
        }
        if name.eq_ignore_ascii_case(b"gzip") || name.eq_ignore_ascii_case(b"x-gzip") {
            gzip = Some(gzip.map_or(quality, |seen| seen.max(quality)));
        } else if name == b"*" {
            any = Some(quality);
        }
    }
    match (gzip, any) {
        (Some(quality), _) => quality > 0,
        (None, Some(quality)) => quality > 0,
        (None, None) => false,
    }
}

/// A quality value in thousandths: `1`, `1.0`, `0.5`, `0.125`. `None` if malformed.
fn parse_quality(value: &[u8]) -> Option<u16> {
    let (whole, fraction) = match value.iter().position(|&byte| byte == b'.') {
        Some(at) => (&value[..at], &value[at + 1..]),
        None => (value, &b""[..]),
    };
    if fraction.len() > 3 || !fraction.iter().all(u8::is_ascii_digit) {
        return None;
    }
    let mut thousandths = 0u16;
    for position in 0..3 {
        let digit = fraction
            .get(position)
            .map_or(0, |&byte| u16::from(byte - b'0'));
        thousandths = thousandths * 10 + digit;
    }
    match whole {
        b"0" => Some(thousandths),
        b"1" if thousandths == 0 => Some(1000),
        _ => None,
    }
}

fn trim(bytes: &[u8]) -> &[u8] {
    bytes.trim_ascii()
}

fn unquote(value: &[u8]) -> &[u8] {
    value
        .strip_prefix(b"\"")
        .and_then(|inner| inner.strip_suffix(b"\""))
        .unwrap_or(value)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn qualities() {
        assert_eq!(parse_quality(b"1"), Some(1000));
        assert_eq!(parse_quality(b"1.000"), Some(1000));
        assert_eq!(parse_quality(b"0.5"), Some(500));
        assert_eq!(parse_quality(b"0.125"), Some(125));
        assert_eq!(parse_quality(b"0"), Some(0));
        assert_eq!(parse_quality(b"1.5"), None);
        assert_eq!(parse_quality(b"0.1234"), None);
        assert_eq!(parse_quality(b"2"), None);
        assert_eq!(parse_quality(b""), None);
    }

    #[test]
    fn formats() {
        let om = Some(Format::OpenMetrics);
        let text = Some(Format::Text);
        let cases: &[(&str, Option<Format>)] = &[
            ("application/openmetrics-text", om),
            ("application/openmetrics-text; version=1.0.0", om),
            (
                "application/openmetrics-text; version=\"1.0.0\"; charset=utf-8",
                om,
            ),
            ("APPLICATION/OpenMetrics-Text", om),
            ("application/openmetrics-text;version=0.0.1", text),
            ("application/openmetrics-text;version=2.0.0", text),
            ("text/plain", text),
            ("*/*", text),
            ("application/json", text),
            ("", text),
            ("application/openmetrics-text;q=0.2,text/plain;q=0.8", text),
            ("application/openmetrics-text;q=0", text),
            ("text/plain;q=0.5, application/openmetrics-text;q=0.5", om),
        ];
        for (accept, expected) in cases {
            assert_eq!(Some(format(Some(accept.as_bytes()))), *expected, "{accept}");
        }
        assert_eq!(format(None), Format::Text);
    }

    /// The Accept headers Prometheus sends, verbatim (see the module docs for their sources).
    #[test]
    fn prometheus_headers() {
        let cases: &[(&str, Format)] = &[
            // 2.42 (2.x before 2.49) without native histograms.
            (
                "application/openmetrics-text;version=1.0.0,application/openmetrics-text;\
                 version=0.0.1;q=0.75,text/plain;version=0.0.4;q=0.5,*/*;q=0.1",
                Format::OpenMetrics,
            ),
            // 2.42 with --enable-feature=native-histograms.
            (
                "application/vnd.google.protobuf;proto=io.prometheus.client.MetricFamily;\
                 encoding=delimited,application/openmetrics-text;version=1.0.0;q=0.8,\
                 application/openmetrics-text;version=0.0.1;q=0.75,text/plain;version=0.0.4;\
                 q=0.5,*/*;q=0.1",
                Format::Protobuf,
            ),
            // 3.x with native histograms (protobuf first).
            (
                "application/vnd.google.protobuf;proto=io.prometheus.client.MetricFamily;\
                 encoding=delimited;q=0.6,application/openmetrics-text;version=1.0.0;\
                 escaping=allow-utf-8;q=0.5,application/openmetrics-text;version=0.0.1;q=0.4,\
                 text/plain;version=1.0.0;escaping=allow-utf-8;q=0.3,text/plain;\
                 version=0.0.4;q=0.2,*/*;q=0.1",
                Format::Protobuf,
            ),
            // 3.0 style: `escaping=allow-utf-8` on every protocol, protobuf included.
            (
                "application/vnd.google.protobuf;proto=io.prometheus.client.MetricFamily;\
                 encoding=delimited;escaping=allow-utf-8;q=0.5,application/openmetrics-text;\
                 version=1.0.0;escaping=allow-utf-8;q=0.4,application/openmetrics-text;\
                 version=0.0.1;escaping=allow-utf-8;q=0.3,text/plain;version=0.0.4;\
                 escaping=allow-utf-8;q=0.2,*/*;q=0.1",
                Format::Protobuf,
            ),
            // 3.x without: the default protocols, OpenMetrics first.
            (
                "application/openmetrics-text;version=1.0.0;escaping=allow-utf-8;q=0.6,\
                 application/openmetrics-text;version=0.0.1;q=0.5,text/plain;version=1.0.0;\
                 escaping=allow-utf-8;q=0.4,text/plain;version=0.0.4;q=0.3,*/*;q=0.2",
                Format::OpenMetrics,
            ),
            // Protobuf but not the delimited MetricFamily stream, or ranked below text.
            (
                "application/vnd.google.protobuf;proto=io.prometheus.client.MetricFamily;\
                 encoding=text,text/plain;q=0.5",
                Format::Text,
            ),
            (
                "application/vnd.google.protobuf;proto=other.Message;encoding=delimited",
                Format::Text,
            ),
            (
                "application/vnd.google.protobuf;proto=io.prometheus.client.MetricFamily;\
                 encoding=delimited;q=0.4,text/plain;q=0.5",
                Format::Text,
            ),
        ];
        for (accept, expected) in cases {
            assert_eq!(format(Some(accept.as_bytes())), *expected, "{accept}");
        }
    }

    #[test]
    fn gzip() {
        let yes = ["gzip", "deflate, gzip", "GZIP;q=0.5", "*", "br;q=1, x-gzip"];
        let no = ["", "identity", "gzip;q=0", "br", "*;q=0", "gzip;q=0, *"];
        for value in yes {
            assert!(accepts_gzip(Some(value.as_bytes())), "{value}");
        }
        for value in no {
            assert!(!accepts_gzip(Some(value.as_bytes())), "{value}");
        }
        assert!(!accepts_gzip(None));
    }
}
