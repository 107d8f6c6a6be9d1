//! Fuzzes escaping and encoding: arbitrary HELP text, label names and values and numbers go
//! through the run-time encoder in both formats, and the strict parser of the conformance kit
//! (`promstatic::conformance`) must accept the result and read back exactly what went in.
//!
//! Input layout: byte 0 picks the metric kind, bytes 1..9 are a value's bits, the rest is
//! split at 0xFF into HELP, then label name/value pairs.

#![no_main]

use libfuzzer_sys::fuzz_target;
use promstatic::conformance;
use promstatic::encode::{Encoder, Family, Format, Help, Kind, Label, Value};

fuzz_target!(|data: &[u8]| {
    let Some((&selector, rest)) = data.split_first() else {
        return;
    };
    let Some((bits, text)) = rest.split_first_chunk::<8>() else {
        return;
    };
    let Ok(text) = std::str::from_utf8(text) else {
        return;
    };
    let mut parts = text.split('\u{FF}');
    let help = parts.next().unwrap_or("");
    let rest: Vec<&str> = parts.collect();
    let mut labels = Vec::new();
    for pair in rest.chunks(2) {
        let [name, value] = pair else { break };
        // A name the encoder accepts must be one the parser accepts; others are skipped.
        let Ok(label) = Label::new(name, value) else {
            continue;
        };
        if name == &"le"
            || labels
                .iter()
                .any(|(seen, _, _): &(&str, &str, Label<'_>)| seen == name)
        {
            continue;
        }
        labels.push((*name, *value, label));
    }
    let float = f64::from_bits(u64::from_le_bytes(*bits));
    let (kind, value) = match selector % 3 {
        0 => (Kind::Counter, Value::Unsigned(u64::from_le_bytes(*bits))),
        1 => (Kind::Gauge, Value::Float(float)),
        _ => (Kind::Unknown, Value::Signed(i64::from_le_bytes(*bits))),
    };
    let name = if kind == Kind::Counter {
        "fuzz_total"
    } else {
        "fuzz"
    };
    let family = Family::new(name, kind, Help::Raw(help)).unwrap();
    let encoder_labels: Vec<Label<'_>> = labels.iter().map(|(_, _, label)| *label).collect();
    for format in [Format::Text, Format::OpenMetrics] {
        let mut out = Vec::new();
        let mut encoder = Encoder::new(&mut out, format);
        encoder
            .family(&family)
            .sample("", &encoder_labels, None, value);
        encoder.finish();
        let model = match conformance::parse(format, &out) {
            Ok(model) => model,
            Err(error) => panic!(
                "{format:?}: {error}\n{}\n{}",
                error.excerpt(&out),
                String::from_utf8_lossy(&out)
            ),
        };
        let parsed = &model.families[0];
        let expected_help = match format {
            Format::Text => Some(help.trim_start_matches([' ', '\t'])),
            Format::OpenMetrics => Some(help).filter(|help| !help.is_empty()),
        };
        assert_eq!(parsed.help.as_deref(), expected_help, "{format:?} HELP");
        let sample = &parsed.samples[0];
        let written: Vec<(&str, &str)> = labels
            .iter()
            .map(|(name, value, _)| (*name, *value))
            .collect();
        let read: Vec<(&str, &str)> = sample
            .labels
            .iter()
            .map(|(name, value)| (name.as_str(), value.as_str()))
            .collect();
        assert_eq!(read, written, "{format:?} labels");
        let same = match value {
            Value::Unsigned(number) => sample.value.integer == Some(i128::from(number)),
            Value::Signed(number) => sample.value.integer == Some(i128::from(number)),
            Value::Float(number) => {
                number.to_bits() == sample.value.float.to_bits()
                    || (number.is_nan() && sample.value.float.is_nan())
            }
        };
        assert!(
            same,
            "{format:?}: {value:?} read back as {:?}",
            sample.value
        );
    }
});
