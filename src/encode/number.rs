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
        if (SMALL..LARGE).contains(&magnitude)
            && let Some(decimal) = ShortDecimal::of(value)
        {
            return decimal.write(out, false);
        }
        write_f64_formatted(out, value);
    }
}

/// [`write_f64`] of a finite value through `core::fmt` (any finite value; the fast path
/// covers the short ones).
fn write_f64_formatted(out: &mut Vec<u8>, value: f64) {
    let magnitude = value.abs();
    // Writing into a `Vec<u8>` cannot fail; the result is ignored for that reason only.
    let _ = if magnitude == 0.0 || (SMALL..LARGE).contains(&magnitude) {
        write!(out, "{value}")
    } else {
        write!(out, "{value:e}")
    };
}

/// The powers of ten an `f64` holds exactly, `10^0..=10^MAX_FRACTION_DIGITS`.
const POWERS_OF_TEN: [f64; MAX_FRACTION_DIGITS as usize + 1] = [
    1e0, 1e1, 1e2, 1e3, 1e4, 1e5, 1e6, 1e7, 1e8, 1e9, 1e10, 1e11, 1e12, 1e13, 1e14, 1e15,
];

/// The most fraction digits [`ShortDecimal::of`] tries.
const MAX_FRACTION_DIGITS: u32 = 15;

/// Digits below this bound are unique in a float's rounding interval; see [`ShortDecimal::of`].
const MAX_SHORT_DIGITS: f64 = 1e15;

/// A float that is exactly the nearest `f64` to `digits / 10^fraction_digits`, with the
/// fewest fraction digits: the common values (counts held in a float, `_sum` of whole
/// observations, bucket bounds like `0.005` or `2.5`), which are written with `itoa` instead
/// of `core::fmt` (about a tenth of the instructions).
///
/// Why it writes what `Display` writes (the shortest digits that read back, positional for
/// the magnitudes it is used for): below `10^15` the decimals with a given number of fraction
/// digits are spaced wider than a float's rounding interval (its relative width is at most
/// `2^-52`), so at most one of them reads back as `value`, and rounding `value × 10^k`
/// finds it (the product's error is below 0.2 where the digits are below `10^15`). With
/// the integer part fixed, fewer fraction digits is fewer significant digits, so the first
/// `k` that works is the shortest. Division by an exact power of ten is correctly rounded,
/// so `digits / 10^k == value` is exactly "the decimal reads back as `value`". The unit and
/// property tests compare it with `core::fmt` over arbitrary and decimal-like values.
#[derive(Debug, Clone, Copy, PartialEq)]
struct ShortDecimal {
    negative: bool,
    digits: u64,
    fraction_digits: u32,
}

impl ShortDecimal {
    /// `value` as a short decimal, if it is one (finite, nonzero, at most 15 significant
    /// digits below `10^15`).
    #[inline]
    fn of(value: f64) -> Option<ShortDecimal> {
        let magnitude = value.abs();
        if !(magnitude > 0.0 && magnitude < MAX_SHORT_DIGITS) {
            return None;
        }
        let negative = value.is_sign_negative();
        // Conversions to `u64` truncate in one instruction (`f64::round` and `trunc` are
        // calls into libm on x86-64 without SSE 4.1); below 10^15 every integer is exact in
        // both types. Adding a half rounds the positive product to the nearest integer, with
        // a rounding error of at most 1/16 there, inside the margin above.
        let whole = magnitude as u64;
        if whole as f64 == magnitude {
            return Some(ShortDecimal {
                negative,
                digits: whole,
                fraction_digits: 0,
            });
        }
        for (fraction_digits, &power) in (1..).zip(&POWERS_OF_TEN[1..]) {
            let scaled = magnitude * power + 0.5;
            if scaled >= MAX_SHORT_DIGITS {
                return None;
            }
            let digits = scaled as u64;
            if digits as f64 / power == magnitude {
                return Some(ShortDecimal {
                    negative,
                    digits,
                    fraction_digits,
                });
            }
        }
        None
    }

    /// Appends the decimal positionally; `point_zero` adds `.0` to a whole number
    /// (OpenMetrics' canonical form).
    #[inline]
    fn write(self, out: &mut Vec<u8>, point_zero: bool) {
        if self.negative {
            out.push(b'-');
        }
        let mut buffer = itoa::Buffer::new();
        let digits = buffer.format(self.digits).as_bytes();
        let fraction = self.fraction_digits as usize;
        if fraction == 0 {
            out.extend_from_slice(digits);
            if point_zero {
                out.extend_from_slice(b".0");
            }
        } else if digits.len() > fraction {
            let (whole, part) = digits.split_at(digits.len() - fraction);
            out.extend_from_slice(whole);
            out.push(b'.');
            out.extend_from_slice(part);
        } else {
            out.extend_from_slice(b"0.");
            out.extend(std::iter::repeat_n(b'0', fraction - digits.len()));
            out.extend_from_slice(digits);
        }
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
    // Positional in Go's `%g` (decimal exponent -4 to 5) and short: the same digits without
    // `core::fmt`.
    if (1e-4..1e6).contains(&value.abs())
        && let Some(decimal) = ShortDecimal::of(value)
    {
        return decimal.write(out, true);
    }
    write_f64_canonical_formatted(out, value);
}

/// [`write_f64_canonical`] of a finite nonzero value through `core::fmt`.
fn write_f64_canonical_formatted(out: &mut Vec<u8>, value: f64) {
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

    /// Values the short path takes and values next to them: whole numbers, decimals with
    /// up to 17 significant digits, their neighbours one ulp away, arbitrary bit patterns.
    fn decimal_like(state: &mut u64) -> f64 {
        *state ^= *state << 13;
        *state ^= *state >> 7;
        *state ^= *state << 17;
        let bits = *state;
        let digits = (bits >> 8) % 10u64.pow((bits % 18) as u32 + 1);
        let value = digits as f64 / 10f64.powi(((bits >> 5) % 20) as i32);
        let value = if bits & 1 == 1 { -value } else { value };
        match (bits >> 1) % 4 {
            0 => f64::from_bits(value.to_bits().wrapping_add(1)),
            1 => f64::from_bits(value.to_bits().wrapping_sub(1)),
            2 => f64::from_bits(bits),
            _ => value,
        }
    }

    #[test]
    fn the_short_path_writes_what_core_fmt_writes() {
        let mut state = 0x2545_F491_4F6C_DD1D_u64;
        let mut short = 0;
        for _ in 0..400_000 {
            let value = decimal_like(&mut state);
            if !value.is_finite() || value == 0.0 {
                continue;
            }
            short += usize::from(ShortDecimal::of(value).is_some());
            let (mut fast, mut slow) = (Vec::new(), Vec::new());
            write_f64(&mut fast, value);
            write_f64_formatted(&mut slow, value);
            assert_eq!(fast, slow, "{value:e} in text");
            let (mut fast, mut slow) = (Vec::new(), Vec::new());
            write_f64_canonical(&mut fast, value);
            write_f64_canonical_formatted(&mut slow, value);
            assert_eq!(fast, slow, "{value:e} in OpenMetrics");
        }
        // A good share took the short path (about 69,000 of the 400,000): not vacuous.
        assert!(short > 50_000, "{short}");
    }

    #[test]
    fn short_decimals() {
        assert_eq!(text(0.005), "0.005");
        assert_eq!(text(7.5), "7.5");
        assert_eq!(text(-12345.0), "-12345");
        assert_eq!(text(1e-6), "0.000001");
        assert_eq!(text(999_999_999_999_999.0), "999999999999999");
        assert_eq!(canonical(0.005), "0.005");
        assert_eq!(canonical(10.0), "10.0");
        assert_eq!(canonical(-0.25), "-0.25");
        assert_eq!(ShortDecimal::of(0.1 + 0.2), None);
        assert_eq!(
            ShortDecimal::of(0.075),
            Some(ShortDecimal {
                negative: false,
                digits: 75,
                fraction_digits: 3
            })
        );
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
