//! Series keys: how a label set is hashed, compared and stored as bytes.
//!
//! A key is a sequence of parts (one per label value for a family; the facade may use more).
//! It is stored once, escaped for the inside of `"…"` in both exposition formats, each part
//! preceded by a two-byte little-endian prefix: its escaped length, with the top bit set when
//! escaping changed the text. The length is what makes `("ab", "c")` and `("a", "bc")` two
//! keys; no byte value is special, so NUL bytes and empty strings are ordinary values.
//!
//! A lookup does not escape anything. A raw part is compared with a stored part that escaping
//! did not change as plain bytes (short ones by word, without a call to `memcmp`); only a
//! stored part that contains escapes is compared by `raw_matches_escaped`, byte by byte.

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
///
/// One pass over the key, inlined into the lookup. A family's key has a length known where
/// it is inlined, so the `match` leaves one arm of straight-line code: no loop over parts,
/// no match on a part's kind (see [`part_end`]).
#[inline(always)]
pub(crate) fn key_matches(stored: &[u8], parts: &[LabelText<'_>]) -> bool {
    let end = match parts {
        [one] => part_end(stored, 0, one),
        [one, two] => part_end(stored, 0, one).and_then(|at| part_end(stored, at, two)),
        [one, two, three] => part_end(stored, 0, one)
            .and_then(|at| part_end(stored, at, two))
            .and_then(|at| part_end(stored, at, three)),
        _ => parts
            .iter()
            .try_fold(0, |at, part| part_end(stored, at, part)),
    };
    end == Some(stored.len())
}

/// Where the stored part at `at` ends, if it is `part`.
///
/// A stored prefix equal to the part's length (escaping did not change the stored text, the
/// usual case) leaves the bytes to decide, with one bounds check for prefix and text;
/// anything else goes out of line to [`part_end_changed`].
#[inline(always)]
fn part_end(stored: &[u8], at: usize, part: &LabelText<'_>) -> Option<usize> {
    let (LabelText::Raw(text) | LabelText::Escaped(text)) = *part;
    // No overflow: `at` is at most `stored.len()`, which fits in 32 bits (`BYTES` does).
    let end = at + PREFIX + text.len();
    if let Some((prefix, stored_text)) = stored
        .get(at..end)
        .and_then(<[u8]>::split_first_chunk::<PREFIX>)
    {
        let prefix = u16::from_le_bytes(*prefix);
        if usize::from(prefix) == text.len() && prefix & CHANGED == 0 {
            return bytes_equal(text.as_bytes(), stored_text).then_some(end);
        }
    }
    part_end_changed(stored, at, text, matches!(part, LabelText::Escaped(_)))
}

/// [`part_end`] when the stored part is not the part's plain text: another length, or text
/// that escaping changed, which a raw part may still be the unescaped form of (and an
/// escaped part the very bytes of).
#[inline(never)]
fn part_end_changed(stored: &[u8], at: usize, text: &str, escaped: bool) -> Option<usize> {
    let (prefix, rest) = stored.get(at..)?.split_first_chunk::<PREFIX>()?;
    let prefix = u16::from_le_bytes(*prefix);
    let len = usize::from(prefix & LENGTH_MASK);
    let stored_text = rest.get(..len)?;
    let equal = if escaped {
        bytes_equal(text.as_bytes(), stored_text)
    } else {
        prefix & CHANGED != 0 && raw_matches_escaped(text.as_bytes(), stored_text)
    };
    equal.then_some(at + PREFIX + len)
}

/// The parts of a stored key, escaped, in order.
#[derive(Debug, Clone)]
pub struct StoredParts<'a> {
    rest: &'a [u8],
}

impl<'a> StoredParts<'a> {
    /// The parts of `stored`.
    ///
    /// # Safety
    ///
    /// `stored` is a whole key as [`write_key`] wrote it: every part then is the UTF-8 of a
    /// `&str` (raw text escaped by ASCII-for-ASCII replacement, which keeps it UTF-8), cut at
    /// the lengths its prefixes give, so [`Iterator::next`] may skip the UTF-8 check (a scrape
    /// would otherwise validate every label value of every series, every time).
    pub(crate) unsafe fn new(stored: &'a [u8]) -> Self {
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
        debug_assert!(std::str::from_utf8(text).is_ok());
        // SAFETY: `text` is one whole part of a key written by `write_key` (the contract of
        // `StoredParts::new`), so it is the UTF-8 of a `&str`, escaped ASCII-for-ASCII.
        Some(unsafe { std::str::from_utf8_unchecked(text) })
    }
}

/// A fast, non-cryptographic hash of a key, as given to a lookup (raw parts unescaped).
///
/// Each part costs one 64×64→128-bit multiply, folded (the high half XORed into the low
/// one), over two words read from the part: for a part of up to 16 bytes, two overlapping
/// loads of its first and last bytes (its length is mixed in, so the overlap loses nothing);
/// a longer part folds each 16-byte block the same way. No `memcpy`, no per-byte loop: label
/// values are short, and the hash is most of the cost of a hit.
///
/// The parts are hashed independently, each with its position mixed in (so `("a", "b")` and
/// `("b", "a")` differ), and their hashes XORed: the multiplies of a three-label key run side
/// by side instead of one after another, which is what a hit waits for before it can probe.
/// As for the comparison, the `match` leaves straight-line code for a key of known length.
///
/// # Why not SipHash (HashDoS)
///
/// SipHash exists so that an attacker who chooses keys cannot make an unbounded hash table
/// degrade into a list. Here the table is bounded: at most `CAPACITY` entries are ever filled
/// out of at least `2 × CAPACITY`, so the longest probe a flood of colliding values can cause
/// is `CAPACITY` comparisons of one lookup, and only values that got a series cost anything
/// at all (a miss on a full family stops at the first empty entry or refuses at once).
/// Identity is decided by comparing bytes, so a collision never merges two label sets. The
/// seed (`seed` here: the address of a static, which address-space randomisation moves from
/// run to run) makes values chosen to collide in one run unlikely to collide in the next; it
/// is not a secret an attacker cannot learn, and it does not need to be.
#[inline(always)]
pub(crate) fn hash(seed: u64, parts: &[LabelText<'_>]) -> u64 {
    let seeds = Seeds {
        low: seed ^ SEED_MIX,
        high: seed.rotate_left(32) ^ BLOCK_MIX,
    };
    let combined = match parts {
        [one] => seeds.part(0, one),
        [one, two] => seeds.part(0, one) ^ seeds.part(1, two),
        [one, two, three] => seeds.part(0, one) ^ seeds.part(1, two) ^ seeds.part(2, three),
        _ => parts
            .iter()
            .enumerate()
            .fold(0, |combined, (position, part)| {
                combined ^ seeds.part(position, part)
            }),
    };
    // Each part's folded product already depends on all its input bits, in the low bits
    // (the table position) and the high ones (the tag) alike: no final mix to wait for.
    combined ^ parts.len() as u64
}

/// The seeded words a part's two loads are XORed with before their multiply.
#[derive(Clone, Copy)]
struct Seeds {
    low: u64,
    high: u64,
}

impl Seeds {
    /// The hash of the part at `position` of a key.
    #[inline(always)]
    fn part(self, position: usize, part: &LabelText<'_>) -> u64 {
        let (LabelText::Raw(text) | LabelText::Escaped(text)) = *part;
        let bytes = text.as_bytes();
        let len = bytes.len();
        // The position keeps equal values at different positions from cancelling out.
        let mut low_seed = self
            .low
            .wrapping_add((position as u64).wrapping_mul(LENGTH_MIX));
        // The length separates `("ab", "c")` from `("a", "bc")`, and covers the overlap below.
        let high_seed = self.high.wrapping_add(len as u64);
        let (low, high) = if len <= 16 {
            if len >= 8 {
                (word(bytes, 0), word(bytes, len - 8))
            } else if len >= 4 {
                (half_word(bytes, 0), half_word(bytes, len - 4))
            } else if len > 0 {
                // One, two or three bytes: the first, the middle and the last cover them all.
                let first = u64::from(bytes.first().copied().unwrap_or(0));
                let middle = u64::from(bytes.get(len / 2).copied().unwrap_or(0));
                let last = u64::from(bytes.last().copied().unwrap_or(0));
                ((first << 16) | (middle << 8) | last, 0)
            } else {
                (0, 0)
            }
        } else {
            let mut at = 0;
            while at + 16 < len {
                low_seed =
                    folded_multiply(word(bytes, at) ^ low_seed, word(bytes, at + 8) ^ high_seed);
                at += 16;
            }
            // The last 16 bytes, overlapping the previous block when `len` is not a multiple.
            (word(bytes, len - 16), word(bytes, len - 8))
        };
        folded_multiply(low ^ low_seed, high ^ high_seed)
    }
}

/// Constants of the hash (digits of π, as foldhash and others use): odd, with bits spread.
const SEED_MIX: u64 = 0x243F_6A88_85A3_08D3;
const LENGTH_MIX: u64 = 0x1319_8A2E_0370_7345;
const BLOCK_MIX: u64 = 0xA409_3822_299F_31D0;
const FINISH_MIX: u64 = 0x082E_FA98_EC4E_6C89;

/// The 128-bit product of `a` and `b`, its halves XORed: every output bit depends on many
/// input bits, for the price of one multiply.
#[inline(always)]
fn folded_multiply(a: u64, b: u64) -> u64 {
    let product = u128::from(a) * u128::from(b);
    (product as u64) ^ ((product >> 64) as u64)
}

/// The eight bytes at `at` (little-endian); zero if they run past the end, which the callers'
/// length checks rule out (the check then compiles away).
#[inline(always)]
fn word(bytes: &[u8], at: usize) -> u64 {
    bytes
        .get(at..)
        .and_then(<[u8]>::first_chunk::<8>)
        .map_or(0, |chunk| u64::from_le_bytes(*chunk))
}

/// The four bytes at `at`, as [`word`].
#[inline(always)]
fn half_word(bytes: &[u8], at: usize) -> u64 {
    bytes
        .get(at..)
        .and_then(<[u8]>::first_chunk::<4>)
        .map_or(0, |chunk| u64::from(u32::from_le_bytes(*chunk)))
}

/// The final mix, so the table position (low bits) and the tag (high bits) both depend on
/// every part; also applied to the facade's own hashes (`SeriesIndex::find_or_insert_hashed`).
#[inline]
pub(crate) fn finish(state: u64) -> u64 {
    folded_multiply(state ^ FINISH_MIX, LENGTH_MIX ^ state.rotate_left(32))
}

/// Whether two byte strings are equal; short ones (label names and values usually are)
/// by a few overlapping word loads, without a call to `memcmp` or a byte loop.
#[inline(always)]
fn bytes_equal(left: &[u8], right: &[u8]) -> bool {
    let len = left.len();
    if len != right.len() {
        return false;
    }
    match len {
        0 => true,
        1..4 => {
            // First, middle and last byte cover one to three bytes.
            left.first() == right.first()
                && left.get(len / 2) == right.get(len / 2)
                && left.last() == right.last()
        }
        4..8 => {
            half_word(left, 0) == half_word(right, 0)
                && half_word(left, len - 4) == half_word(right, len - 4)
        }
        8..=16 => word(left, 0) == word(right, 0) && word(left, len - 8) == word(right, len - 8),
        17..=32 => {
            word(left, 0) == word(right, 0)
                && word(left, 8) == word(right, 8)
                && word(left, len - 16) == word(right, len - 16)
                && word(left, len - 8) == word(right, len - 8)
        }
        _ => left == right,
    }
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
                // SAFETY: `key` was written by `write_key`.
                unsafe { StoredParts::new(&key) }.collect::<Vec<_>>(),
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
    fn short_comparisons_see_every_byte() {
        // Every length the word-load paths cover, a difference at every position.
        for len in 0..48 {
            let base: Vec<u8> = (0..len as u8).map(|i| i.wrapping_mul(37) ^ 0x5A).collect();
            assert!(bytes_equal(&base, &base.clone()), "{len}");
            for at in 0..len {
                let mut other = base.clone();
                other[at] ^= 0x01;
                assert!(!bytes_equal(&base, &other), "len {len}, at {at}");
            }
            if len > 0 {
                assert!(!bytes_equal(&base, &base[..len - 1]), "{len}");
            }
        }
    }

    #[test]
    fn hash_sees_every_byte_of_every_length() {
        // A one-byte change anywhere changes the hash (seed fixed: the test is deterministic).
        for len in 0..48 {
            let base = "k".repeat(len);
            let base_hash = hash(7, &[LabelText::Raw(&base)]);
            for at in 0..len {
                let mut other = base.clone().into_bytes();
                other[at] = b'j';
                let other = String::from_utf8(other).unwrap();
                assert_ne!(
                    base_hash,
                    hash(7, &[LabelText::Raw(&other)]),
                    "len {len}, at {at}"
                );
            }
            let longer = "k".repeat(len + 1);
            assert_ne!(base_hash, hash(7, &[LabelText::Raw(&longer)]), "{len}");
        }
    }

    #[test]
    fn too_long_parts_are_refused() {
        let long = "x".repeat(MAX_ESCAPED_PART + 1);
        assert_eq!(stored_len(&[LabelText::Raw(&long)]), None);
        let quotes = "\"".repeat(MAX_ESCAPED_PART / 2 + 1);
        assert_eq!(stored_len(&[LabelText::Raw(&quotes)]), None);
    }
}
