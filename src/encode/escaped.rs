//! Text already escaped for an exposition: [`EscapedHelp`] and [`EscapedLabelValue`].
//!
//! Each is a newtype with a private field whose only public constructor checks that the text
//! is a well-formed escaped string of its context (the rules of [`escape`](super::escape)):
//! no raw newline, no raw `"` where the format needs it escaped, and every `\` starting one of
//! the context's escapes. So escaped text can never end a line early, and HELP can never
//! inject a sample or an early `# EOF`. The constructors are `const fn`, so a constant is
//! checked at compile time (see [`EscapedLabelValue`]).

use std::fmt;

/// Why a string is not well-formed escaped text (a raw newline, a raw `"` where it must be
/// escaped, a `\\` that starts no escape of the context).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct EscapeError {
    position: usize,
    problem: Problem,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Problem {
    RawNewline,
    RawQuote,
    UnknownEscape(u8),
    TrailingBackslash,
    /// The two forms of an [`EscapedHelp`] do not say the same thing.
    Different,
}

impl EscapeError {
    /// The byte offset of the problem in the text given.
    pub const fn position(&self) -> usize {
        self.position
    }
}

impl fmt::Display for EscapeError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let at = self.position;
        match self.problem {
            Problem::RawNewline => write!(
                f,
                "escaped text has a raw newline at byte {at}: it would end the line; write `\\n`"
            ),
            Problem::RawQuote => write!(
                f,
                "escaped text has a raw `\"` at byte {at}: this context needs `\\\"`"
            ),
            Problem::UnknownEscape(byte) => write!(
                f,
                "escaped text has `\\{}` at byte {at}, which is no escape of this context \
                 (a literal backslash is `\\\\`)",
                char::from(byte).escape_default()
            ),
            Problem::TrailingBackslash => write!(
                f,
                "escaped text ends in a lone `\\` (byte {at}); a literal backslash is `\\\\`"
            ),
            Problem::Different => write!(
                f,
                "the text 0.0.4 and OpenMetrics forms of the escaped HELP differ from byte {at} \
                 of the text form: both must escape the same HELP"
            ),
        }
    }
}

impl std::error::Error for EscapeError {}

/// The escapes of one context.
#[derive(Clone, Copy)]
struct Rules {
    /// `\"` is an escape, and a raw `"` is not allowed.
    quote: bool,
}

/// HELP in text 0.0.4: `\\` and `\n`; a `"` stays raw.
const HELP_TEXT: Rules = Rules { quote: false };
/// HELP in OpenMetrics and label values in both formats: `\\`, `\n`, `\"`.
const QUOTED: Rules = Rules { quote: true };

/// The unescaped byte at `at` and where the next one starts, or why the text is malformed.
const fn next(bytes: &[u8], at: usize, rules: Rules) -> Result<(u8, usize), EscapeError> {
    const fn fail(position: usize, problem: Problem) -> EscapeError {
        EscapeError { position, problem }
    }
    match bytes[at] {
        b'\n' => Err(fail(at, Problem::RawNewline)),
        b'"' if rules.quote => Err(fail(at, Problem::RawQuote)),
        b'\\' => {
            if at + 1 >= bytes.len() {
                return Err(fail(at, Problem::TrailingBackslash));
            }
            match bytes[at + 1] {
                b'\\' => Ok((b'\\', at + 2)),
                b'n' => Ok((b'\n', at + 2)),
                b'"' if rules.quote => Ok((b'"', at + 2)),
                other => Err(fail(at, Problem::UnknownEscape(other))),
            }
        }
        other => Ok((other, at + 1)),
    }
}

const fn check(text: &str, rules: Rules) -> Result<(), EscapeError> {
    let bytes = text.as_bytes();
    let mut at = 0;
    while at < bytes.len() {
        match next(bytes, at, rules) {
            Ok((_, following)) => at = following,
            Err(error) => return Err(error),
        }
    }
    Ok(())
}

/// HELP text escaped for both formats, checked by its only constructor; see
/// [the encoder's guarantees](crate::encode#nothing-public-writes-an-invalid-exposition).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct EscapedHelp<'a> {
    text: &'a str,
    openmetrics: &'a str,
}

impl<'a> EscapedHelp<'a> {
    /// HELP escaped per text 0.0.4 (`\\`, `\n`) and per OpenMetrics (`\\`, `\n`, `\"`).
    /// Fails unless each is well-formed for its format and both unescape to the same text.
    pub const fn new(text: &'a str, openmetrics: &'a str) -> Result<Self, EscapeError> {
        if let Err(error) = check(text, HELP_TEXT) {
            return Err(error);
        }
        if let Err(error) = check(openmetrics, QUOTED) {
            return Err(error);
        }
        let (a, b) = (text.as_bytes(), openmetrics.as_bytes());
        let (mut i, mut j) = (0, 0);
        while i < a.len() && j < b.len() {
            // Both were checked above, so neither fails here.
            let (Ok((x, next_i)), Ok((y, next_j))) = (next(a, i, HELP_TEXT), next(b, j, QUOTED))
            else {
                break;
            };
            if x != y {
                break;
            }
            i = next_i;
            j = next_j;
        }
        if i < a.len() || j < b.len() {
            return Err(EscapeError {
                position: i,
                problem: Problem::Different,
            });
        }
        Ok(EscapedHelp { text, openmetrics })
    }

    /// For text the crate escaped itself (the `#[metric]` macro's, checked again in
    /// [`Descriptor`](crate::table::Descriptor)'s const constructor).
    pub(crate) const fn trusted(text: &'a str, openmetrics: &'a str) -> Self {
        EscapedHelp { text, openmetrics }
    }

    /// The text 0.0.4 form.
    pub const fn text(&self) -> &'a str {
        self.text
    }

    /// The OpenMetrics form.
    pub const fn openmetrics(&self) -> &'a str {
        self.openmetrics
    }
}

/// A label value escaped for the inside of `"…"` (`\\`, `\n`, `\"`, the same in both
/// formats), checked by its only constructor, a `const fn`, so a constant is checked at
/// compile time:
///
/// ```
/// use promstatic::encode::EscapedLabelValue;
///
/// const QUOTED: EscapedLabelValue<'static> = match EscapedLabelValue::new(r#"say \"hi\""#) {
///     Ok(value) => value,
///     Err(_) => panic!("not escaped"),
/// };
/// assert_eq!(QUOTED.as_str(), r#"say \"hi\""#);
/// assert!(EscapedLabelValue::new("two\nlines").is_err());
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct EscapedLabelValue<'a>(&'a str);

impl<'a> EscapedLabelValue<'a> {
    /// The empty value.
    pub const EMPTY: EscapedLabelValue<'static> = EscapedLabelValue("");

    /// `value`, if it is well-formed escaped label-value text.
    pub const fn new(value: &'a str) -> Result<Self, EscapeError> {
        match check(value, QUOTED) {
            Ok(()) => Ok(EscapedLabelValue(value)),
            Err(error) => Err(error),
        }
    }

    /// For values the crate escaped itself: those of a `LabelValue`, whose `VALUES` a family
    /// checks at compile time (see [`crate::label`]).
    pub(crate) const fn trusted(value: &'a str) -> Self {
        EscapedLabelValue(value)
    }

    /// The escaped text.
    pub const fn as_str(&self) -> &'a str {
        self.0
    }
}

/// Whether every value is well-formed escaped label-value text (for compile-time checks).
pub(crate) const fn all_label_values(values: &[&str]) -> bool {
    let mut index = 0;
    while index < values.len() {
        if check(values[index], QUOTED).is_err() {
            return false;
        }
        index += 1;
    }
    true
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn label_values() {
        assert!(EscapedLabelValue::new(r#"a\\b\n\"c\""#).is_ok());
        assert_eq!(
            EscapedLabelValue::new("a\"b").unwrap_err().problem,
            Problem::RawQuote
        );
        assert_eq!(
            EscapedLabelValue::new("a\\tb").unwrap_err().problem,
            Problem::UnknownEscape(b't')
        );
        assert_eq!(EscapedLabelValue::new("ab\\").unwrap_err().position(), 2);
        assert_eq!(
            EscapedLabelValue::new("\n").unwrap_err().problem,
            Problem::RawNewline
        );
    }

    #[test]
    fn help_in_both_forms() {
        assert!(EscapedHelp::new(r#"say "hi"\n"#, r#"say \"hi\"\n"#).is_ok());
        // A raw `"` is fine in text 0.0.4 HELP, not in OpenMetrics.
        assert!(EscapedHelp::new(r#"say "hi""#, r#"say "hi""#).is_err());
        // `\"` is no escape in text 0.0.4 HELP.
        assert!(EscapedHelp::new(r#"say \"hi\""#, r#"say \"hi\""#).is_err());
        // Two different texts.
        let error = EscapedHelp::new("abc", "abd").unwrap_err();
        assert_eq!((error.problem, error.position), (Problem::Different, 2));
        assert!(EscapedHelp::new("ab", "abc").is_err());
        // The injection of a sample and an early EOF needs a raw newline.
        assert!(EscapedHelp::new("x\nevil 1\n# EOF", "x\nevil 1\n# EOF").is_err());
    }

    #[test]
    fn errors_say_what_is_wrong() {
        let message = EscapedLabelValue::new("a\nb").unwrap_err().to_string();
        assert!(message.contains("raw newline at byte 1"), "{message}");
        let message = EscapedLabelValue::new("a\\x").unwrap_err().to_string();
        assert!(message.contains("`\\x`"), "{message}");
    }

    #[test]
    fn whatever_escape_writes_is_accepted() {
        for raw in [
            "",
            "plain",
            "a\\b",
            "two\nlines",
            "\"quoted\"",
            "\\n literal",
        ] {
            let (mut text, mut openmetrics, mut value) = (Vec::new(), Vec::new(), Vec::new());
            super::super::escape::help_text(&mut text, raw);
            super::super::escape::help_openmetrics(&mut openmetrics, raw);
            super::super::escape::label_value(&mut value, raw);
            let text = String::from_utf8(text).unwrap();
            let openmetrics = String::from_utf8(openmetrics).unwrap();
            let value = String::from_utf8(value).unwrap();
            assert!(EscapedHelp::new(&text, &openmetrics).is_ok(), "{raw:?}");
            assert!(EscapedLabelValue::new(&value).is_ok(), "{raw:?}");
        }
    }
}
