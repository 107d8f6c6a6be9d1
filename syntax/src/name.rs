//! The one validator for metric and label names.
//!
//! `promstatic-macros` calls it on every `#[metric]` declaration and `promstatic` re-exports
//! it as `promstatic::name`, so a name that the attribute accepts at compile time is exactly
//! a name that the run-time encoder accepts. It depends on nothing but `core`.
//!
//! # The rules
//!
//! The Prometheus data model allows metric names matching `[a-zA-Z_:][a-zA-Z0-9_:]*` and label
//! names matching `[a-zA-Z_][a-zA-Z0-9_]*`. We are stricter in two ways:
//!
//! * `:` is reserved for recording rules written by the Prometheus server, never by exporters;
//! * names beginning with `__` are reserved for Prometheus' internal use.
//!
//! Each broken rule is one [`NameError`] variant, with the offending character and offset.
//!
//! # Checked at compile time
//!
//! The validators are `const fn`. [`assert_metric_name`] and [`assert_label_name`] return the
//! name or panic, and a panic during `const` evaluation is a compile error, so a name written
//! in the source (every built-in name of the exporter is written this way) is checked by the
//! compiler rather than by a test that lists it a second time:
//!
//! ```
//! # use promstatic_syntax::name::assert_metric_name;
//! const JOBS: &str = assert_metric_name("jobs_done_total");
//! let family = const { assert_metric_name("queue_depth") };
//! # assert_eq!((JOBS, family), ("jobs_done_total", "queue_depth"));
//! ```

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
pub const fn validate_metric_name(name: &str) -> Result<(), NameError> {
    validate(name)
}

/// Checks a label name: `[a-zA-Z_][a-zA-Z0-9_]*`, not starting with `__`.
///
/// Whether a specific label name is reserved for a metric type (`le` on histograms,
/// `quantile` on summaries) is checked where the metric type is known.
pub const fn validate_label_name(name: &str) -> Result<(), NameError> {
    validate(name)
}

/// Returns `name` if it is a valid metric name, and panics otherwise.
///
/// Meant for names written in the source: evaluated in a `const` context the panic is a
/// compile error, so an invalid name never reaches a build.
///
/// ```
/// use promstatic_syntax::name::assert_metric_name;
///
/// const REQUESTS: &str = assert_metric_name("requests_total");
/// assert_eq!(REQUESTS, "requests_total");
/// ```
///
/// ```compile_fail
/// use promstatic_syntax::name::assert_metric_name;
///
/// const BAD: &str = assert_metric_name("job:requests_total"); // error: `:` is reserved
/// ```
#[track_caller]
pub const fn assert_metric_name(name: &str) -> &str {
    match validate_metric_name(name) {
        Ok(()) => name,
        Err(error) => reject(error),
    }
}

/// Returns `name` if it is a valid label name, and panics otherwise; see
/// [`assert_metric_name`].
#[track_caller]
pub const fn assert_label_name(name: &str) -> &str {
    match validate_label_name(name) {
        Ok(()) => name,
        Err(error) => reject(error),
    }
}

/// The panic of the `assert_*` functions: a `const fn` panic takes only a literal, so there
/// is one message per rule (the same words as [`NameError`]'s `Display`).
#[track_caller]
const fn reject(error: NameError) -> ! {
    match error {
        NameError::Empty => panic!("invalid name: the name is empty"),
        NameError::InvalidFirst { .. } => {
            panic!("invalid name: a name must start with a letter or `_`")
        }
        NameError::InvalidChar { .. } => {
            panic!("invalid name: names use only ASCII letters, digits and `_`")
        }
        NameError::Colon { .. } => {
            panic!("invalid name: `:` is reserved for recording rules; exporters must not use it")
        }
        NameError::ReservedPrefix => {
            panic!(
                "invalid name: names starting with `__` are reserved for Prometheus' internal use"
            )
        }
    }
}

const fn validate(name: &str) -> Result<(), NameError> {
    let bytes = name.as_bytes();
    if bytes.is_empty() {
        return Err(NameError::Empty);
    }
    // `char_indices` is not available in a `const fn`: walk the bytes. Every allowed
    // character is ASCII, so only a rejected character needs decoding (for the message).
    let mut index = 0;
    while index < bytes.len() {
        match bytes[index] {
            b'a'..=b'z' | b'A'..=b'Z' | b'_' => {}
            b'0'..=b'9' if index > 0 => {}
            b':' => return Err(NameError::Colon { index }),
            _ if index == 0 => {
                return Err(NameError::InvalidFirst {
                    ch: decode(bytes, index),
                });
            }
            _ => {
                return Err(NameError::InvalidChar {
                    ch: decode(bytes, index),
                    index,
                });
            }
        }
        index += 1;
    }
    if bytes.len() >= 2 && bytes[0] == b'_' && bytes[1] == b'_' {
        return Err(NameError::ReservedPrefix);
    }
    Ok(())
}

/// The character starting at `bytes[at]`, where `bytes` is valid UTF-8 and `at` is a
/// character boundary (every byte before it was ASCII).
const fn decode(bytes: &[u8], at: usize) -> char {
    let lead = bytes[at] as u32;
    let (width, mut code) = match lead {
        0x00..=0x7f => (1, lead),
        0xc0..=0xdf => (2, lead & 0x1f),
        0xe0..=0xef => (3, lead & 0x0f),
        _ => (4, lead & 0x07),
    };
    let mut next = 1;
    while next < width && at + next < bytes.len() {
        code = (code << 6) | (bytes[at + next] as u32 & 0x3f);
        next += 1;
    }
    match char::from_u32(code) {
        Some(ch) => ch,
        None => char::REPLACEMENT_CHARACTER,
    }
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
        assert_eq!(
            validate_metric_name("\u{e9}t\u{e9}"),
            Err(NameError::InvalidFirst { ch: '\u{e9}' })
        );
        assert_eq!(
            validate_metric_name("a\u{1f600}"),
            Err(NameError::InvalidChar {
                ch: '\u{1f600}',
                index: 1
            })
        );
        assert_eq!(
            validate_metric_name("a\u{20ac}"),
            Err(NameError::InvalidChar {
                ch: '\u{20ac}',
                index: 1
            })
        );
        assert_eq!(validate_metric_name("_9"), Ok(()));
        assert_eq!(validate_metric_name("__"), Err(NameError::ReservedPrefix));
    }

    /// The byte-walking `const fn` agrees with the plain `char`-based definition of the rule,
    /// on every short string over an alphabet that covers each branch.
    #[test]
    fn agrees_with_the_char_definition() {
        fn reference(name: &str) -> Result<(), NameError> {
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
        let alphabet = [
            'a',
            'Z',
            '_',
            '0',
            ':',
            '-',
            ' ',
            '\u{e9}',
            '\u{20ac}',
            '\u{1f600}',
        ];
        let mut names = vec![String::new()];
        for _ in 0..3 {
            let longer: Vec<String> = names
                .iter()
                .flat_map(|name| alphabet.iter().map(move |ch| format!("{name}{ch}")))
                .collect();
            names.extend(longer);
        }
        for name in &names {
            assert_eq!(validate(name), reference(name), "{name:?}");
        }
    }

    #[test]
    fn assert_in_const_context() {
        const NAME: &str = assert_metric_name("process_threads");
        const LABEL: &str = assert_label_name("version");
        assert_eq!((NAME, LABEL), ("process_threads", "version"));
    }

    #[test]
    #[should_panic(expected = "reserved for Prometheus' internal use")]
    fn assert_label_name_panics_on_a_reserved_name() {
        let name = String::from("__name__");
        assert_label_name(&name);
    }

    #[test]
    #[should_panic(expected = "`:` is reserved")]
    fn assert_metric_name_panics_at_run_time_too() {
        let name = String::from("a:b");
        assert_metric_name(&name);
    }
}
