//! Escaping, one function per context.
//!
//! | context | format | escaped |
//! |---|---|---|
//! | HELP text | text 0.0.4 | `\` → `\\`, newline → `\n` (a `"` stays raw: older promtool rejects `\"` in HELP) |
//! | HELP text | OpenMetrics 1.0 | `\` → `\\`, newline → `\n`, `"` → `\"` |
//! | label value | both | `\` → `\\`, newline → `\n`, `"` → `\"` |
//!
//! The `#[metric]` macro runs these same functions at compile time, so a scrape of a static
//! metric never escapes anything; only the run-time encoder API does
//! (`promstatic::encode::escape` re-exports this module).

/// Appends `help` escaped for a text 0.0.4 `# HELP` line.
pub fn help_text(out: &mut Vec<u8>, help: &str) {
    escape_into(out, help, false);
}

/// Appends `help` escaped for an OpenMetrics `# HELP` line.
pub fn help_openmetrics(out: &mut Vec<u8>, help: &str) {
    escape_into(out, help, true);
}

/// Appends a label value escaped for the inside of `"…"` (both formats).
pub fn label_value(out: &mut Vec<u8>, value: &str) {
    escape_into(out, value, true);
}

/// `help_text` into a fresh `String`, for code generation.
pub fn help_text_string(help: &str) -> String {
    escape_string(help, false)
}

/// `help_openmetrics` into a fresh `String`, for code generation.
pub fn help_openmetrics_string(help: &str) -> String {
    escape_string(help, true)
}

/// `label_value` into a fresh `String`, for code generation.
pub fn label_value_string(value: &str) -> String {
    escape_string(value, true)
}

fn escape_string(input: &str, quote: bool) -> String {
    let mut out = Vec::with_capacity(input.len());
    escape_into(&mut out, input, quote);
    // Only ASCII bytes were replaced by ASCII sequences, so the result is still UTF-8.
    String::from_utf8(out).unwrap_or_default()
}

fn escape_into(out: &mut Vec<u8>, input: &str, quote: bool) {
    let bytes = input.as_bytes();
    let mut clean_from = 0;
    for (index, &byte) in bytes.iter().enumerate() {
        let replacement: &[u8] = match byte {
            b'\\' => b"\\\\",
            b'\n' => b"\\n",
            b'"' if quote => b"\\\"",
            _ => continue,
        };
        out.extend_from_slice(&bytes[clean_from..index]);
        out.extend_from_slice(replacement);
        clean_from = index + 1;
    }
    out.extend_from_slice(&bytes[clean_from..]);
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn help_in_text_keeps_quotes_raw() {
        assert_eq!(help_text_string(r#"a "b" \ c"#), r#"a "b" \\ c"#);
        assert_eq!(help_text_string("one\ntwo"), r"one\ntwo");
        assert_eq!(help_text_string("tab\tand\rcr"), "tab\tand\rcr");
    }

    #[test]
    fn help_in_openmetrics_escapes_quotes() {
        assert_eq!(help_openmetrics_string(r#"a "b" \ c"#), r#"a \"b\" \\ c"#);
        assert_eq!(help_openmetrics_string("x\n"), r"x\n");
    }

    #[test]
    fn label_values() {
        assert_eq!(label_value_string(r#"\"#), r#"\\"#);
        assert_eq!(label_value_string("\"\n\\"), r#"\"\n\\"#);
        assert_eq!(label_value_string("caf\u{e9} \u{0}"), "caf\u{e9} \u{0}");
        assert_eq!(label_value_string(""), "");
        let mut out = b"k=\"".to_vec();
        label_value(&mut out, "a\"b");
        assert_eq!(out, br#"k="a\"b"#);
    }
}
