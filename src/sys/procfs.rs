//! Text formats of Linux's `/proc`, parsed without allocating.
//!
//! Pure functions over bytes that were read elsewhere: [`sys::linux`](super) reads this
//! process's files into stack buffers, the listener's holder diagnosis reads other processes'
//! files under a root that tests point at a fixture tree. Having no system call, this file is
//! compiled on every platform the listener builds on, so those fixture tests run everywhere.

/// One `/proc/PID/stat` line (proc(5)), with fields numbered as the manual numbers them:
/// 1 is the pid, 2 the command name in parentheses, 3 the state, 9 the flags, 14 `utime`, …
///
/// The command name may contain spaces and parentheses (a process can name itself
/// `a) b (c`), so fields are counted after the *last* `)` of the line. This is the one
/// parser of the format: the `process_*` metrics and the holder diagnosis both use it.
#[derive(Debug, Clone, Copy)]
pub(crate) struct StatLine<'a> {
    /// Everything after the command name's closing parenthesis: fields 3 and up.
    after_name: &'a [u8],
}

impl<'a> StatLine<'a> {
    /// `None` when the line has no command name (no `)`).
    pub(crate) fn parse(line: &'a [u8]) -> Option<Self> {
        let after_name = &line[line.iter().rposition(|&byte| byte == b')')? + 1..];
        Some(Self { after_name })
    }

    /// Field `number` (3 or more), as bytes; `None` if the line is shorter.
    pub(crate) fn field(&self, number: usize) -> Option<&'a [u8]> {
        self.after_name
            .split(|byte| byte.is_ascii_whitespace())
            .filter(|field| !field.is_empty())
            .nth(number.checked_sub(3)?)
    }

    /// Field `number` as an unsigned decimal number.
    pub(crate) fn number(&self, number: usize) -> Option<u64> {
        parse_u64(self.field(number)?)
    }
}

/// `btime` (boot time, seconds since the epoch) from the complete lines of a chunk of
/// `/proc/stat`; a line cut at the chunk's end is not used.
#[cfg(feature = "exporter")]
pub(crate) fn find_btime(text: &[u8]) -> Option<u64> {
    let complete = &text[..text.iter().rposition(|&byte| byte == b'\n')? + 1];
    complete
        .split(|&byte| byte == b'\n')
        .find_map(|line| line.strip_prefix(b"btime "))
        .and_then(parse_u64)
}

/// An unsigned decimal number, surrounding ASCII whitespace allowed; `None` on anything else
/// or on overflow.
pub(crate) fn parse_u64(digits: &[u8]) -> Option<u64> {
    let digits = digits.trim_ascii();
    if digits.is_empty() {
        return None;
    }
    digits.iter().try_fold(0u64, |total, &byte| {
        let digit = byte.checked_sub(b'0').filter(|digit| *digit <= 9)?;
        total.checked_mul(10)?.checked_add(u64::from(digit))
    })
}

/// A `/proc/PID/stat` line whose command name is `a) b) (c`, for the parsers' tests.
#[cfg(test)]
pub(crate) const HOSTILE_STAT_LINE: &[u8] = b"42 (a) b) (c) S 1 42 42 0 -1 4194560 100 0 0 0 \
    250 75 0 0 20 0 7 0 12345 1000000 300 18446744073709551615 1 1 0 0 0 0 0 0 0 0 0 0 17 0 0 \
    0 0 0 0\n";

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn stat_fields_are_numbered_after_the_last_parenthesis() {
        let stat = StatLine::parse(HOSTILE_STAT_LINE).unwrap();
        assert_eq!(stat.field(3), Some(&b"S"[..]));
        assert_eq!(stat.number(9), Some(4_194_560));
        assert_eq!(stat.number(14), Some(250));
        assert_eq!(stat.number(24), Some(300));
        assert_eq!(stat.number(25), Some(u64::MAX));
        // `-1` (tty_pgrp) is not an unsigned number.
        assert_eq!(stat.number(8), None);
        assert_eq!(
            stat.field(2),
            None,
            "the command name is not a counted field"
        );
        assert_eq!(stat.field(60), None);
        assert!(StatLine::parse(b"42 no name").is_none());
    }

    #[test]
    fn numbers() {
        assert_eq!(parse_u64(b" 17\n"), Some(17));
        assert_eq!(parse_u64(b""), None);
        assert_eq!(parse_u64(b"+1"), None);
        assert_eq!(parse_u64(b"18446744073709551616"), None);
    }

    #[cfg(feature = "exporter")]
    #[test]
    fn btime_is_found_only_on_a_complete_line() {
        assert_eq!(
            find_btime(b"cpu 1 2\nbtime 1700000000\nprocesses 5\n"),
            Some(1_700_000_000)
        );
        assert_eq!(find_btime(b"cpu 1 2\nbtime 17000"), None);
        assert_eq!(find_btime(b"cpu 1 2\n"), None);
    }
}
