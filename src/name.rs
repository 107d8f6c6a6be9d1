//! The one validator for metric and label names.
//!
//! This file is compiled twice: into `promstatic` (as `promstatic::name`) and into
//! `promstatic-macros` (through the symlink `macros/src/name.rs`), so a name that the
//! `#[metric]` attribute accepts at compile time is exactly a name that the run-time encoder
//! accepts. It depends on nothing but `core`.
//!
//! The Prometheus data model allows metric names matching `[a-zA-Z_:][a-zA-Z0-9_:]*` and label
//! names matching `[a-zA-Z_][a-zA-Z0-9_]*`. We are stricter in two ways:
//!
//! * `:` is reserved for recording rules written by the Prometheus server, never by exporters;
//! * names beginning with `__` are reserved for Prometheus' internal use.

use core::fmt;

/// Why a metric or label name was rejected.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum NameError {
    /// The name is the empty string.
    Empty,
    /// The first character may not start a name (digits may not).
    InvalidFirst {
        /// The offending character.
        ch: char,
    },
    /// A character outside `[a-zA-Z0-9_]`.
    InvalidChar {
        /// The offending character.
        ch: char,
        /// Its byte offset in the name.
        index: usize,
    },
    /// A `:`, which Prometheus reserves for recording rules.
    Colon {
        /// Its byte offset in the name.
        index: usize,
    },
    /// A leading `__`, which Prometheus reserves for internal use.
    ReservedPrefix,
}

impl fmt::Display for NameError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match *self {
            NameError::Empty => f.write_str("the name is empty"),
            NameError::InvalidFirst { ch } => {
                write!(f, "a name must start with a letter or `_`, not {ch:?}")
            }
            NameError::InvalidChar { ch, index } => write!(
                f,
                "{ch:?} at byte {index} is not allowed: names use only ASCII letters, digits and `_`"
            ),
            NameError::Colon { index } => write!(
                f,
                "`:` at byte {index} is reserved for recording rules; exporters must not use it \
                 (use `_` instead)"
            ),
            NameError::ReservedPrefix => {
                f.write_str("names starting with `__` are reserved for Prometheus' internal use")
            }
        }
    }
}

/// Checks a metric name: `[a-zA-Z_][a-zA-Z0-9_]*`, not starting with `__`.
pub fn validate_metric_name(name: &str) -> Result<(), NameError> {
    validate(name)
}

/// Checks a label name: `[a-zA-Z_][a-zA-Z0-9_]*`, not starting with `__`.
///
/// Whether a specific label name is reserved for a metric type (`le` on histograms,
/// `quantile` on summaries) is checked where the metric type is known.
pub fn validate_label_name(name: &str) -> Result<(), NameError> {
    validate(name)
}

/// Whether `name` is a valid label (or metric) name, in const context: exactly the names
/// [`validate_label_name`] accepts (a unit test checks that the two agree). It exists so
/// that a name written as a literal can be checked when a constant is evaluated, e.g.
/// `promstatic::exemplar::ExemplarName::new("trace_id")`.
pub const fn is_valid_name(name: &str) -> bool {
    let bytes = name.as_bytes();
    if bytes.is_empty() || (bytes.len() >= 2 && bytes[0] == b'_' && bytes[1] == b'_') {
        return false;
    }
    let mut index = 0;
    while index < bytes.len() {
        let byte = bytes[index];
        let ok = byte.is_ascii_alphabetic() || byte == b'_' || (index > 0 && byte.is_ascii_digit());
        if !ok {
            return false;
        }
        index += 1;
    }
    true
}

fn validate(name: &str) -> Result<(), NameError> {
    let mut chars = name.char_indices();
    let Some((_, first)) = chars.next() else {
        return Err(NameError::Empty);
    };
    match first {
        'a'..='z' | 'A'..='Z' | '_' => {}
        ':' => return Err(NameError::Colon { index: 0 }),
        ch => return Err(NameError::InvalidFirst { ch }),
    }
    for (index, ch) in chars {
        match ch {
            'a'..='z' | 'A'..='Z' | '0'..='9' | '_' => {}
            ':' => return Err(NameError::Colon { index }),
            ch => return Err(NameError::InvalidChar { ch, index }),
        }
    }
    if name.starts_with("__") {
        return Err(NameError::ReservedPrefix);
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn accepts_the_data_model_minus_reserved() {
        for good in ["a", "_", "_a", "A9", "http_requests_total", "x_1_2", "Z"] {
            assert_eq!(validate_metric_name(good), Ok(()), "{good}");
            assert_eq!(validate_label_name(good), Ok(()), "{good}");
        }
    }

    #[test]
    fn const_check_agrees_with_validate() {
        let samples = [
            "",
            "a",
            "_",
            "__",
            "__a",
            "_a_",
            "9",
            "a9",
            "a-b",
            "caf\u{e9}",
            "a:b",
            ":",
            "A_Z",
            "x y",
            "\u{e9}",
            "_9",
            "a__b",
        ];
        for name in samples {
            assert_eq!(is_valid_name(name), validate(name).is_ok(), "{name:?}");
        }
        // Every one- and two-byte ASCII name.
        for first in 0u8..128 {
            for second in 0u8..128 {
                let two = [first, second];
                let name = std::str::from_utf8(&two).unwrap_or("");
                assert_eq!(is_valid_name(name), validate(name).is_ok(), "{name:?}");
                let one = [first];
                let name = std::str::from_utf8(&one).unwrap_or("");
                assert_eq!(is_valid_name(name), validate(name).is_ok(), "{name:?}");
            }
        }
    }

    #[test]
    fn rejects_each_rule() {
        assert_eq!(validate_metric_name(""), Err(NameError::Empty));
        assert_eq!(
            validate_metric_name("9lives"),
            Err(NameError::InvalidFirst { ch: '9' })
        );
        assert_eq!(
            validate_metric_name("a-b"),
            Err(NameError::InvalidChar { ch: '-', index: 1 })
        );
        assert_eq!(
            validate_metric_name("caf\u{e9}"),
            Err(NameError::InvalidChar {
                ch: '\u{e9}',
                index: 3
            })
        );
        assert_eq!(
            validate_metric_name("job:rate"),
            Err(NameError::Colon { index: 3 })
        );
        assert_eq!(
            validate_metric_name(":a"),
            Err(NameError::Colon { index: 0 })
        );
        assert_eq!(validate_metric_name("__x"), Err(NameError::ReservedPrefix));
        assert_eq!(
            validate_label_name("__name__"),
            Err(NameError::ReservedPrefix)
        );
        assert_eq!(
            validate_label_name("a b"),
            Err(NameError::InvalidChar { ch: ' ', index: 1 })
        );
    }
}
