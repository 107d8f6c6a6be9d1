//! Series keys: how a label set is hashed, compared and stored as bytes.
//!
//! A key is a sequence of parts (one per label value for a family; the facade may use more).
//! It is stored once, escaped for the inside of `"…"` in both exposition formats, each part
//! preceded by a two-byte little-endian prefix: its escaped length, with the top bit set when
//! escaping changed the text. The length is what makes `("ab", "c")` and `("a", "bc")` two
//! keys; no byte value is special, so NUL bytes and empty strings are ordinary values.
//!
//! A lookup does not escape anything. A raw part is compared with a stored part that escaping
//! did not change by one `memcmp`; only a stored part that contains escapes is compared by
//! `raw_matches_escaped`, byte by byte.

/// The longest escaped part a key can store (its length must fit the prefix's 15 bits).
pub const MAX_ESCAPED_PART: usize = LENGTH_MASK as usize;

/// The prefix bit saying that escaping changed the part.
const CHANGED: u16 = 0x8000;
/// The prefix bits holding the escaped length.
const LENGTH_MASK: u16 = !CHANGED;

/// The bytes of a length prefix.
pub(crate) const PREFIX: usize = 2;

/// What a byte becomes inside `"…"` when it must be escaped (the rule of
/// [`crate::encode::escape::label_value`], which a unit test compares with this).
#[inline]
fn escape_of(byte: u8) -> Option<&'static [u8]> {
    match byte {
        b'\\' => Some(b"\\\\"),
        b'\n' => Some(b"\\n"),
        b'"' => Some(b"\\\""),
        _ => None,
    }
}

/// One part of a key as a lookup passes it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LabelText<'a> {
    /// Text as the program has it (a `&str` label value); escaped when the series is created.
    Raw(&'a str),
    /// Text already escaped for the inside of `"…"` (a formatted integer, an enum's value).
    Escaped(&'a str),
}

impl LabelText<'_> {
    /// The length of the part as given (before escaping, for a raw part).
    #[inline]
    pub fn len(&self) -> usize {
        match self {
            LabelText::Raw(text) | LabelText::Escaped(text) => text.len(),
        }
    }

    /// Whether the part is the empty string.
    #[inline]
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// The length of the part once escaped.
    pub(crate) fn escaped_len(&self) -> usize {
        match self {
            LabelText::Raw(text) => {
                text.len()
                    + text
                        .bytes()
                        .filter(|&byte| escape_of(byte).is_some())
                        .count()
            }
            LabelText::Escaped(text) => text.len(),
        }
    }

    /// Whether this part equals the stored escaped part `stored`; `changed` is its prefix
    /// bit (escaping changed it).
    #[inline]
    fn matches(&self, stored: &[u8], changed: bool) -> bool {
        match self {
            // Unchanged by escaping, `stored` is its own raw text.
            LabelText::Raw(text) if !changed => text.as_bytes() == stored,
            LabelText::Raw(text) => raw_matches_escaped(text.as_bytes(), stored),
            LabelText::Escaped(text) => text.as_bytes() == stored,
        }
    }
}

/// Whether escaping `raw` gives exactly `escaped`.
pub(crate) fn raw_matches_escaped(raw: &[u8], escaped: &[u8]) -> bool {
    if raw.len() > escaped.len() {
        return false;
    }
    let mut rest = escaped;
    for byte in raw {
        let expected = escape_of(*byte).unwrap_or(std::slice::from_ref(byte));
        match rest.strip_prefix(expected) {
            Some(after) => rest = after,
            None => return false,
        }
    }
    rest.is_empty()
}

/// The number of bytes `parts` take as a stored key, or `None` if a part is too long to store.
pub(crate) fn stored_len(parts: &[LabelText<'_>]) -> Option<usize> {
    let mut total = 0usize;
    for part in parts {
        let escaped = part.escaped_len();
        if escaped > MAX_ESCAPED_PART {
            return None;
        }
        total = total.checked_add(PREFIX + escaped)?;
    }
    Some(total)
}

/// Writes `parts` as a stored key ([`stored_len`] bytes), handing `emit` consecutive chunks.
pub(crate) fn write_key(parts: &[LabelText<'_>], mut emit: impl FnMut(&[u8])) {
    for part in parts {
        // `stored_len` refused parts whose escaped length does not fit the prefix.
        let escaped = part.escaped_len().min(MAX_ESCAPED_PART);
        let changed = matches!(part, LabelText::Raw(text) if text.len() != escaped);
        let prefix = escaped as u16 | if changed { CHANGED } else { 0 };
        emit(&prefix.to_le_bytes());
        match part {
            LabelText::Escaped(text) => emit(text.as_bytes()),
            LabelText::Raw(text) => {
                let bytes = text.as_bytes();
                let mut clean_from = 0;
                for (index, &byte) in bytes.iter().enumerate() {
                    let Some(replacement) = escape_of(byte) else {
                        continue;
                    };
                    emit(&bytes[clean_from..index]);
                    emit(replacement);
                    clean_from = index + 1;
                }
                emit(&bytes[clean_from..]);
            }
        }
    }
}

/// Whether the stored key `stored` holds exactly `parts`.
#[inline]
pub(crate) fn key_matches(stored: &[u8], parts: &[LabelText<'_>]) -> bool {
    let mut rest = stored;
    for part in parts {
        let Some((prefix, after)) = rest.split_first_chunk::<PREFIX>() else {
            return false;
        };
        let prefix = u16::from_le_bytes(*prefix);
        let len = (prefix & LENGTH_MASK) as usize;
        let Some((text, after)) = after.split_at_checked(len) else {
            return false;
        };
        if !part.matches(text, prefix & CHANGED != 0) {
            return false;
        }
        rest = after;
    }
    rest.is_empty()
}

/// The parts of a stored key, escaped, in order.
#[derive(Debug, Clone)]
pub struct StoredParts<'a> {
    rest: &'a [u8],
}

impl<'a> StoredParts<'a> {
    pub(crate) fn new(stored: &'a [u8]) -> Self {
        StoredParts { rest: stored }
    }
}

impl<'a> Iterator for StoredParts<'a> {
    type Item = &'a str;

    fn next(&mut self) -> Option<&'a str> {
        let (prefix, after) = self.rest.split_first_chunk::<PREFIX>()?;
        let len = (u16::from_le_bytes(*prefix) & LENGTH_MASK) as usize;
        let (text, after) = after.split_at_checked(len)?;
        self.rest = after;
        // Stored parts are `&str`s escaped by ASCII-for-ASCII replacement, so they are UTF-8;
        // the check is a fallback that never fails, kept because it is cheap for short text.
        Some(std::str::from_utf8(text).unwrap_or(""))
    }
}

/// A fast, non-cryptographic hash of a key, as given to a lookup (raw parts unescaped).
///
/// `seed` differs per family and per process (it includes the family's address, which
/// address-space randomisation moves), so label values chosen to collide in one run do not
/// collide in the next. Colliding values still cost only longer probes, never a wrong series:
/// identity is decided by comparing bytes.
#[inline]
pub(crate) fn hash(seed: u64, parts: &[LabelText<'_>]) -> u64 {
    const MULTIPLIER: u64 = 0x9E37_79B9_7F4A_7C15;
    let mut state = seed ^ MULTIPLIER;
    let mut mix = |word: u64| {
        state = (state ^ word).wrapping_mul(MULTIPLIER).rotate_left(29);
    };
    for part in parts {
        let (LabelText::Raw(text) | LabelText::Escaped(text)) = part;
        let bytes = text.as_bytes();
        mix(bytes.len() as u64);
        let mut chunks = bytes.chunks_exact(8);
        for chunk in &mut chunks {
            let mut word = [0u8; 8];
            word.copy_from_slice(chunk);
            mix(u64::from_le_bytes(word));
        }
        let tail = chunks.remainder();
        if !tail.is_empty() {
            let mut word = [0u8; 8];
            word[..tail.len()].copy_from_slice(tail);
            mix(u64::from_le_bytes(word) ^ 0xFF);
        }
    }
    // Final avalanche (from splitmix64), so both halves of the result depend on every byte.
    let mut z = state;
    z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    z ^ (z >> 31)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn stored(parts: &[LabelText<'_>]) -> Vec<u8> {
        let mut out = Vec::new();
        write_key(parts, |chunk| out.extend_from_slice(chunk));
        assert_eq!(out.len(), stored_len(parts).unwrap());
        out
    }

    #[test]
    fn parts_are_delimited_by_length() {
        let ab_c = stored(&[LabelText::Raw("ab"), LabelText::Raw("c")]);
        assert!(!key_matches(
            &ab_c,
            &[LabelText::Raw("a"), LabelText::Raw("bc")]
        ));
        assert!(key_matches(
            &ab_c,
            &[LabelText::Raw("ab"), LabelText::Raw("c")]
        ));
        assert!(!key_matches(&ab_c, &[LabelText::Raw("ab")]));
        assert!(!key_matches(
            &ab_c,
            &[
                LabelText::Raw("ab"),
                LabelText::Raw("c"),
                LabelText::Raw("")
            ]
        ));
        let empty = stored(&[LabelText::Raw(""), LabelText::Raw("")]);
        assert!(key_matches(
            &empty,
            &[LabelText::Raw(""), LabelText::Raw("")]
        ));
        assert!(!key_matches(&empty, &[LabelText::Raw("")]));
        let nul = stored(&[LabelText::Raw("a\0b")]);
        assert!(key_matches(&nul, &[LabelText::Raw("a\0b")]));
        assert!(!key_matches(&nul, &[LabelText::Raw("a\0c")]));
        assert!(!key_matches(&nul, &[LabelText::Raw("a")]));
    }

    #[test]
    fn raw_parts_are_compared_with_their_escaped_form() {
        for raw in [
            "",
            "plain",
            "a\"b",
            "back\\slash",
            "new\nline",
            "\\n",
            "\"\"",
            "é\n",
        ] {
            let escaped = crate::encode::escape::label_value_string(raw);
            let key = stored(&[LabelText::Raw(raw)]);
            assert_eq!(&key[PREFIX..], escaped.as_bytes(), "{raw:?}");
            let changed = u16::from_le_bytes([key[0], key[1]]) & CHANGED != 0;
            assert_eq!(changed, escaped != raw, "{raw:?}");
            assert!(key_matches(&key, &[LabelText::Raw(raw)]), "{raw:?}");
            assert!(
                key_matches(&key, &[LabelText::Escaped(&escaped)]),
                "{raw:?}"
            );
            assert_eq!(
                StoredParts::new(&key).collect::<Vec<_>>(),
                [escaped.as_str()]
            );
        }
        // The escaped text of one value is never mistaken for another raw value.
        let key = stored(&[LabelText::Raw("a\"b")]);
        assert!(!key_matches(&key, &[LabelText::Raw("a\\\"b")]));
        assert!(!key_matches(&key, &[LabelText::Raw("a\\\\\"b")]));
        let key = stored(&[LabelText::Raw("\\n")]);
        assert!(!key_matches(&key, &[LabelText::Raw("\n")]));
        assert!(key_matches(&key, &[LabelText::Raw("\\n")]));
        assert!(!raw_matches_escaped(b"\\n", b"\\n"));
        assert!(raw_matches_escaped(b"\n", b"\\n"));
    }

    #[test]
    fn hash_depends_on_boundaries_and_seed() {
        let one = hash(1, &[LabelText::Raw("ab"), LabelText::Raw("c")]);
        let two = hash(1, &[LabelText::Raw("a"), LabelText::Raw("bc")]);
        assert_ne!(one, two);
        assert_ne!(one, hash(2, &[LabelText::Raw("ab"), LabelText::Raw("c")]));
        assert_ne!(
            hash(1, &[LabelText::Raw("")]),
            hash(1, &[LabelText::Raw("\0")])
        );
    }

    #[test]
    fn too_long_parts_are_refused() {
        let long = "x".repeat(MAX_ESCAPED_PART + 1);
        assert_eq!(stored_len(&[LabelText::Raw(&long)]), None);
        let quotes = "\"".repeat(MAX_ESCAPED_PART / 2 + 1);
        assert_eq!(stored_len(&[LabelText::Raw(&quotes)]), None);
    }
}
