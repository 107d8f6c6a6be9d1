//! Line-level syntax shared by both formats: names, label sets, escapes, numbers.
//!
//! Every function takes the unparsed rest of a line and returns what it read plus the rest, or
//! a [`Fault`] at the position where the specification wanted something else.

use super::model::{Labels, Number};
use super::violation::{Fault, Rule};
use crate::encode::Format;

/// `[a-zA-Z_:]`: may start a metric name (both specifications).
fn metric_name_start(ch: char) -> bool {
    ch.is_ascii_alphabetic() || ch == '_' || ch == ':'
}

/// `[a-zA-Z_]`: may start a label name (both specifications).
fn label_name_start(ch: char) -> bool {
    ch.is_ascii_alphabetic() || ch == '_'
}

/// Splits the longest metric name off the front of `input`; the name may be empty.
pub(super) fn take_metric_name(input: &str) -> (&str, &str) {
    let end = input
        .char_indices()
        .find(|&(index, ch)| !(metric_name_start(ch) || (index > 0 && ch.is_ascii_digit())))
        .map_or(input.len(), |(index, _)| index);
    input.split_at(end)
}

/// Splits the longest label name off the front of `input`; the name may be empty.
fn take_label_name(input: &str) -> (&str, &str) {
    let end = input
        .char_indices()
        .find(|&(index, ch)| !(label_name_start(ch) || (index > 0 && ch.is_ascii_digit())))
        .map_or(input.len(), |(index, _)| index);
    input.split_at(end)
}

/// A metric name that fills the whole of `input`.
pub(super) fn is_metric_name(input: &str) -> bool {
    let (name, rest) = take_metric_name(input);
    !name.is_empty() && rest.is_empty()
}

/// Text 0.0.4 separates tokens with any run of blanks and tabs.
pub(super) fn after_blanks(input: &str) -> &str {
    input.trim_start_matches([' ', '\t'])
}

/// Reads a label set starting at `{`; returns the labels in order and the rest of the line.
///
/// OpenMetrics: no whitespace anywhere, no trailing comma. Text 0.0.4: blanks around tokens and
/// one trailing comma are allowed. Both: label names per the data model, not starting with
/// `__` (reserved), each name at most once, values in double quotes with the format's escapes.
pub(super) fn take_labels(input: &str, format: Format) -> Result<(Labels, &str), Fault> {
    let mut rest = input
        .strip_prefix('{')
        .ok_or_else(|| Fault::at(Rule::LabelSyntax, input, "expected `{` to open the labels"))?;
    let blanks = |s| match format {
        Format::Text | Format::Protobuf => after_blanks(s),
        Format::OpenMetrics => s,
    };
    let mut labels: Labels = Vec::new();
    rest = blanks(rest);
    if let Some(after) = rest.strip_prefix('}') {
        return Ok((labels, after));
    }
    loop {
        let (name, after_name) = take_label_name(rest);
        if name.is_empty() {
            return Err(Fault::at(
                Rule::LabelName,
                rest,
                "expected a label name matching `[a-zA-Z_][a-zA-Z0-9_]*`",
            ));
        }
        if name.starts_with("__") {
            return Err(Fault::at(
                Rule::LabelName,
                rest,
                format!(
                    "label name {name:?} uses the `__` prefix, reserved for Prometheus; rename it"
                ),
            ));
        }
        if labels.iter().any(|(seen, _)| seen == name) {
            return Err(Fault::at(
                Rule::DuplicateLabel,
                rest,
                format!("label name {name:?} appears twice in one label set"),
            ));
        }
        let after_name = blanks(after_name);
        let after_equals = after_name.strip_prefix('=').ok_or_else(|| {
            Fault::at(
                Rule::LabelSyntax,
                after_name,
                format!("expected `=` after label name {name:?}"),
            )
        })?;
        let after_equals = blanks(after_equals);
        let quoted = after_equals.strip_prefix('"').ok_or_else(|| {
            Fault::at(
                Rule::LabelSyntax,
                after_equals,
                format!("expected `\"` to open the value of label {name:?}"),
            )
        })?;
        let (value, after_value) = take_label_value(quoted, format)?;
        labels.push((name.to_owned(), value));
        rest = blanks(after_value);
        if let Some(after) = rest.strip_prefix('}') {
            return Ok((labels, after));
        }
        rest = rest.strip_prefix(',').ok_or_else(|| {
            Fault::at(
                Rule::LabelSyntax,
                rest,
                format!("expected `,` or `}}` after label {name:?}"),
            )
        })?;
        rest = blanks(rest);
        if format == Format::Text
            && let Some(after) = rest.strip_prefix('}')
        {
            return Ok((labels, after));
        }
    }
}

/// Reads a label value up to its closing quote (already past the opening one).
///
/// Text 0.0.4 knows exactly `\\`, `\"` and `\n`. OpenMetrics' ABNF also allows a backslash
/// before any other character, which then stands for itself (`\z` is the two characters).
fn take_label_value(input: &str, format: Format) -> Result<(String, &str), Fault> {
    let mut value = String::new();
    let mut chars = input.char_indices();
    while let Some((index, ch)) = chars.next() {
        match ch {
            '"' => return Ok((value, &input[index + 1..])),
            '\\' => match chars.next() {
                Some((_, '\\')) => value.push('\\'),
                Some((_, '"')) => value.push('"'),
                Some((_, 'n')) => value.push('\n'),
                Some((_, other)) if format == Format::OpenMetrics => {
                    value.push('\\');
                    value.push(other);
                }
                Some((_, other)) => {
                    return Err(Fault::at(
                        Rule::Escape,
                        &input[index..],
                        format!(
                            "`\\{other}` in a label value: text 0.0.4 knows only `\\\\`, `\\\"` and \
                             `\\n`; write a backslash as `\\\\`"
                        ),
                    ));
                }
                None => {
                    return Err(Fault::at(
                        Rule::Escape,
                        &input[index..],
                        "the label value ends in a lone backslash; write it as `\\\\`",
                    ));
                }
            },
            _ => value.push(ch),
        }
    }
    Err(Fault::at(
        Rule::UnterminatedValue,
        input,
        "the label value is not closed by `\"` on this line (a line feed in a value is written `\\n`)",
    ))
}

/// Unescapes HELP text.
///
/// Text 0.0.4: only `\\` and `\n` are escapes, any other backslash sequence is an error (so
/// `\"` is rejected, as Prometheus' own parser does). OpenMetrics: `\\`, `\n`, `\"`, and a
/// backslash before anything else stands for itself; a raw `"` is accepted as the official
/// corpus does (`help_escaping` must parse), though the ABNF's `normal-char` excludes it.
pub(super) fn unescape_help(input: &str, format: Format) -> Result<String, Fault> {
    let mut help = String::new();
    let mut chars = input.char_indices();
    while let Some((index, ch)) = chars.next() {
        if ch != '\\' {
            help.push(ch);
            continue;
        }
        match (chars.next(), format) {
            (Some((_, '\\')), _) => help.push('\\'),
            (Some((_, 'n')), _) => help.push('\n'),
            (Some((_, '"')), Format::OpenMetrics) => help.push('"'),
            (Some((_, other)), Format::OpenMetrics) => {
                help.push('\\');
                help.push(other);
            }
            (Some((_, other)), Format::Text | Format::Protobuf) => {
                return Err(Fault::at(
                    Rule::Escape,
                    &input[index..],
                    format!(
                        "`\\{other}` in HELP: text 0.0.4 knows only `\\\\` and `\\n` there; write a \
                         backslash as `\\\\`"
                    ),
                ));
            }
            (None, _) => {
                return Err(Fault::at(
                    Rule::Escape,
                    &input[index..],
                    "HELP ends in a lone backslash; write it as `\\\\`",
                ));
            }
        }
    }
    Ok(help)
}

/// `[sign] (digits [. digits*] | . digits) [(e|E) [sign] digits]`: the decimal part of Go's
/// `ParseFloat` without hex and `_`, which is exactly OpenMetrics' `realnumber`.
fn is_real_number(token: &str) -> bool {
    let unsigned = token.strip_prefix(['+', '-']).unwrap_or(token);
    let (mantissa, exponent) = match unsigned.find(['e', 'E']) {
        Some(at) => (&unsigned[..at], Some(&unsigned[at + 1..])),
        None => (unsigned, None),
    };
    let all_digits = |s: &str| s.bytes().all(|b| b.is_ascii_digit());
    let mantissa_ok = match mantissa.split_once('.') {
        Some((whole, fraction)) => {
            all_digits(whole) && all_digits(fraction) && !(whole.is_empty() && fraction.is_empty())
        }
        None => !mantissa.is_empty() && all_digits(mantissa),
    };
    let exponent_ok = exponent.is_none_or(|exponent| {
        let digits = exponent.strip_prefix(['+', '-']).unwrap_or(exponent);
        !digits.is_empty() && all_digits(digits)
    });
    mantissa_ok && exponent_ok
}

/// Reads a number token (faults point at `token`): a real
/// number, `[sign] inf|infinity` or unsigned `nan` (case insensitive, as both Go's
/// `ParseFloat` and the OpenMetrics ABNF have it). A finite token too large for an `f64` is
/// out of range (Go returns `ErrRange`) and rejected.
pub(super) fn parse_number(token: &str) -> Result<Number, Fault> {
    let fault = |message: String| Fault::at(Rule::Number, token, message);
    let unsigned = token.strip_prefix(['+', '-']).unwrap_or(token);
    let lower = unsigned.to_ascii_lowercase();
    if lower == "inf" || lower == "infinity" {
        let float = if token.starts_with('-') {
            f64::NEG_INFINITY
        } else {
            f64::INFINITY
        };
        return Ok(Number {
            float,
            integer: None,
        });
    }
    if lower == "nan" {
        if unsigned.len() != token.len() {
            return Err(fault(format!("{token:?}: NaN takes no sign; write `NaN`")));
        }
        return Ok(Number {
            float: f64::NAN,
            integer: None,
        });
    }
    if !is_real_number(token) {
        return Err(fault(format!(
            "{token:?} is not a number (decimal digits with an optional `.` and exponent, or \
             `NaN`, `+Inf`, `-Inf`)"
        )));
    }
    let float: f64 = token
        .parse()
        .map_err(|error| fault(format!("{token:?} is not a number: {error}")))?;
    if float.is_infinite() {
        return Err(fault(format!(
            "{token:?} is out of the range of a 64-bit float"
        )));
    }
    let integer = if unsigned.bytes().all(|b| b.is_ascii_digit()) {
        token.parse::<i128>().ok()
    } else {
        None
    };
    Ok(Number { float, integer })
}

/// Reads a timestamp: an `int64` of milliseconds in text
/// 0.0.4 (as Go's `ParseInt` reads it), a real number of seconds (never infinite or NaN) in
/// OpenMetrics.
pub(super) fn parse_timestamp(token: &str, format: Format) -> Result<f64, Fault> {
    let fault = |message: String| Fault::at(Rule::Timestamp, token, message);
    match format {
        Format::Text | Format::Protobuf => token
            .parse::<i64>()
            .ok()
            .map(|ms| ms as f64)
            .ok_or_else(|| {
                fault(format!(
                    "{token:?} is not a timestamp: text 0.0.4 wants whole milliseconds (an int64)"
                ))
            }),
        Format::OpenMetrics if is_real_number(token) => {
            let seconds: f64 = token
                .parse()
                .map_err(|error| fault(format!("{token:?} is not a timestamp: {error}")))?;
            if seconds.is_finite() {
                Ok(seconds)
            } else {
                Err(fault(format!("timestamp {token:?} is out of range")))
            }
        }
        Format::OpenMetrics => Err(fault(format!(
            "{token:?} is not a timestamp: OpenMetrics wants seconds as a decimal number"
        ))),
    }
}

/// Splits `input` at the first character in `stops` (or its end).
pub(super) fn take_until<'a>(input: &'a str, stops: &[char]) -> (&'a str, &'a str) {
    input.split_at(input.find(stops).unwrap_or(input.len()))
}

/// Splits off the next blank-separated token of a text 0.0.4 line, skipping blanks before it.
pub(super) fn take_text_token(input: &str) -> (&str, &str) {
    take_until(after_blanks(input), &[' ', '\t'])
}
