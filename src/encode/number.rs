//! Number writers for both exposition formats.
//!
//! Integers go through `itoa`. Floats use the shortest decimal that reads back to the same
//! `f64` (Rust's `Display`/`LowerExp` are shortest-round-trip), with three spellings fixed by
//! the formats: `NaN`, `+Inf` and `-Inf` (Rust prints `NaN`, `inf` and `-inf`, and `inf` is
//! not a number to a Prometheus parser). Very large and very small magnitudes switch to
//! exponent notation (`1e21`, `1e-7`), which Go's `ParseFloat` reads, instead of writing
//! hundreds of digits. Nothing here allocates beyond growing the output buffer.

use std::io::Write as _;

/// Magnitudes in `[SMALL, LARGE)` are written positionally; the rest with an exponent.
const SMALL: f64 = 1e-6;
const LARGE: f64 = 1e21;

/// Appends an unsigned integer.
#[inline]
pub fn write_u64(out: &mut Vec<u8>, value: u64) {
    out.extend_from_slice(itoa::Buffer::new().format(value).as_bytes());
}

/// Appends a signed integer.
#[inline]
pub fn write_i64(out: &mut Vec<u8>, value: i64) {
    out.extend_from_slice(itoa::Buffer::new().format(value).as_bytes());
}

/// Appends a float as the text format 0.0.4 spells it.
pub fn write_f64(out: &mut Vec<u8>, value: f64) {
    if value.is_nan() {
        out.extend_from_slice(b"NaN");
    } else if value == f64::INFINITY {
        out.extend_from_slice(b"+Inf");
    } else if value == f64::NEG_INFINITY {
        out.extend_from_slice(b"-Inf");
    } else {
        let magnitude = value.abs();
        // Writing into a `Vec<u8>` cannot fail; the result is ignored for that reason only.
        let _ = if magnitude == 0.0 || (SMALL..LARGE).contains(&magnitude) {
            write!(out, "{value}")
        } else {
            write!(out, "{value:e}")
        };
    }
}

/// Appends a float in OpenMetrics' canonical form, as `le` and `quantile` values must be
/// written ("Canonical Numbers"): Go's `%g` with the shortest digits and `.0` added to a bare
/// integer. Exponent notation for decimal exponents below -4 or from 6 up, with a signed,
/// two-digit exponent (`1e-05`, `0.0001`, `100000.0`, `1e+06`); `+Inf`, `-Inf`, `NaN`.
pub fn write_f64_canonical(out: &mut Vec<u8>, value: f64) {
    if !value.is_finite() {
        return write_f64(out, value);
    }
    if value == 0.0 {
        let zero: &[u8] = if value.is_sign_negative() {
            b"-0.0"
        } else {
            b"0.0"
        };
        return out.extend_from_slice(zero);
    }
    // Rust's `LowerExp` gives the shortest round-trip digits and the decimal exponent
    // (`1.2345e-7`); they are copied to the stack and laid out again the way Go does.
    let start = out.len();
    // Writing into a `Vec<u8>` cannot fail; the result is ignored for that reason only.
    let _ = write!(out, "{:e}", value.abs());
    let mut digits = [0u8; 24];
    let mut count = 0;
    let mut exponent: i32 = 0;
    let mut exponent_negative = false;
    let mut in_exponent = false;
    for &byte in &out[start..] {
        match byte {
            b'e' => in_exponent = true,
            b'-' => exponent_negative = true,
            b'0'..=b'9' if in_exponent => exponent = exponent * 10 + i32::from(byte - b'0'),
            b'0'..=b'9' if count < digits.len() => {
                digits[count] = byte;
                count += 1;
            }
            _ => {}
        }
    }
    if exponent_negative {
        exponent = -exponent;
    }
    let digits = &digits[..count];
    out.truncate(start);
    if value < 0.0 {
        out.push(b'-');
    }
    if !(-4..6).contains(&exponent) {
        out.push(digits[0]);
        if digits.len() > 1 {
            out.push(b'.');
            out.extend_from_slice(&digits[1..]);
        }
        out.extend_from_slice(if exponent < 0 { b"e-" } else { b"e+" });
        let magnitude = exponent.unsigned_abs();
        if magnitude < 10 {
            out.push(b'0');
        }
        write_u64(out, u64::from(magnitude));
    } else if exponent < 0 {
        out.extend_from_slice(b"0.");
        for _ in 1..-exponent {
            out.push(b'0');
        }
        out.extend_from_slice(digits);
    } else {
        let whole = exponent as usize + 1;
        if digits.len() <= whole {
            out.extend_from_slice(digits);
            for _ in digits.len()..whole {
                out.push(b'0');
            }
            out.extend_from_slice(b".0");
        } else {
            out.extend_from_slice(&digits[..whole]);
            out.push(b'.');
            out.extend_from_slice(&digits[whole..]);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn text(value: f64) -> String {
        let mut out = Vec::new();
        write_f64(&mut out, value);
        String::from_utf8(out).unwrap()
    }

    fn canonical(value: f64) -> String {
        let mut out = Vec::new();
        write_f64_canonical(&mut out, value);
        String::from_utf8(out).unwrap()
    }

    #[test]
    fn special_values_are_spelled_as_the_format_wants() {
        assert_eq!(text(f64::NAN), "NaN");
        assert_eq!(text(-f64::NAN), "NaN");
        assert_eq!(text(f64::INFINITY), "+Inf");
        assert_eq!(text(f64::NEG_INFINITY), "-Inf");
        assert_eq!(canonical(f64::INFINITY), "+Inf");
        assert_eq!(canonical(f64::NAN), "NaN");
    }

    #[test]
    fn ordinary_values() {
        assert_eq!(text(0.0), "0");
        assert_eq!(text(-0.0), "-0");
        assert_eq!(text(1.0), "1");
        assert_eq!(text(0.25), "0.25");
        assert_eq!(text(-2.5), "-2.5");
        assert_eq!(text(0.1 + 0.2), "0.30000000000000004");
        assert_eq!(text(123456789.0), "123456789");
        assert_eq!(text(1e20), "100000000000000000000");
    }

    #[test]
    fn extremes_use_an_exponent() {
        assert_eq!(text(1e21), "1e21");
        assert_eq!(text(1e-7), "1e-7");
        assert_eq!(text(1.5e-7), "1.5e-7");
        assert_eq!(text(f64::MAX), "1.7976931348623157e308");
        assert_eq!(text(f64::MIN), "-1.7976931348623157e308");
        assert_eq!(text(f64::MIN_POSITIVE), "2.2250738585072014e-308");
        // The smallest subnormal.
        assert_eq!(text(5e-324), "5e-324");
        assert_eq!(text(u64::MAX as f64), "18446744073709552000");
    }

    #[test]
    fn canonical_keeps_a_fraction() {
        assert_eq!(canonical(1.0), "1.0");
        assert_eq!(canonical(0.0), "0.0");
        assert_eq!(canonical(-0.0), "-0.0");
        assert_eq!(canonical(0.5), "0.5");
        assert_eq!(canonical(100.0), "100.0");
        assert_eq!(canonical(-2.5), "-2.5");
    }

    #[test]
    fn canonical_follows_go_g_formatting() {
        // Go's `%g`: exponent below -4 or from 6 up; the full list of the specification's
        // examples is checked in `tests/roundtrip.rs`.
        assert_eq!(canonical(0.0001), "0.0001");
        assert_eq!(canonical(1e-5), "1e-05");
        assert_eq!(canonical(100000.0), "100000.0");
        assert_eq!(canonical(1e6), "1e+06");
        assert_eq!(canonical(1234567.0), "1.234567e+06");
        assert_eq!(canonical(123456.5), "123456.5");
        assert_eq!(canonical(1e21), "1e+21");
        assert_eq!(canonical(-1.5e-7), "-1.5e-07");
        assert_eq!(canonical(f64::MAX), "1.7976931348623157e+308");
        assert_eq!(canonical(5e-324), "5e-324");
    }

    #[test]
    fn every_written_float_reads_back_exactly() {
        let mut state = 0x9E37_79B9_7F4A_7C15_u64;
        for _ in 0..100_000 {
            // xorshift: arbitrary bit patterns cover subnormals and every exponent.
            state ^= state << 13;
            state ^= state >> 7;
            state ^= state << 17;
            let value = f64::from_bits(state);
            if !value.is_finite() {
                continue;
            }
            let written = text(value);
            let read: f64 = written.parse().unwrap();
            assert_eq!(read.to_bits(), value.to_bits(), "{written}");
        }
    }

    #[test]
    fn integers() {
        let mut out = Vec::new();
        write_u64(&mut out, u64::MAX);
        out.push(b' ');
        write_i64(&mut out, i64::MIN);
        out.push(b' ');
        write_u64(&mut out, 0);
        assert_eq!(out, b"18446744073709551615 -9223372036854775808 0");
    }
}
