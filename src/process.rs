//! The standard `process_*` metrics, read from Linux `/proc` at scrape time.
//!
//! **Linux only**: this module exists only on Linux; elsewhere the exporter simply exports no
//! `process_*` families. Each scrape reads `/proc/self/stat` into a stack buffer, counts
//! `/proc/self/fd` with `getdents64` into a stack buffer, and asks `getrlimit`: a few system
//! calls, no lock and no heap allocation. The start time (boot time plus the process's start
//! tick) never changes, so it is computed once and cached in an atomic.
//!
//! | metric | source |
//! |---|---|
//! | `process_cpu_seconds_total` | `utime + stime` of `/proc/self/stat`, in clock ticks, as an `f64` |
//! | `process_resident_memory_bytes` | `rss` pages × page size |
//! | `process_virtual_memory_bytes` | `vsize` |
//! | `process_open_fds` | entries of `/proc/self/fd`, not counting the one used to count |
//! | `process_max_fds` | the soft `RLIMIT_NOFILE` |
//! | `process_start_time_seconds` | `btime` of `/proc/stat` + `starttime` ticks |
//! | `process_threads` | `num_threads` |
//!
//! A value that cannot be read (a sandbox without `/proc`) is left out of the scrape rather
//! than reported as zero.

use std::fs::File;
use std::io::Read;
use std::sync::atomic::{AtomicU64, Ordering};

use crate::encode::{Encoder, Family, Help, Kind, Value};

/// Every family [`encode`] can write, with its type (the exporter's name-clash check reads
/// this list; its `own_families_are_the_ones_written` test keeps it in step with `encode`).
pub(crate) const FAMILIES: [(&str, Kind); 7] = [
    ("process_cpu_seconds_total", Kind::Counter),
    ("process_max_fds", Kind::Gauge),
    ("process_open_fds", Kind::Gauge),
    ("process_resident_memory_bytes", Kind::Gauge),
    ("process_start_time_seconds", Kind::Gauge),
    ("process_threads", Kind::Gauge),
    ("process_virtual_memory_bytes", Kind::Gauge),
];

/// Writes every `process_*` family that could be read.
pub(crate) fn encode(encoder: &mut Encoder<'_>) {
    let stat = read_stat();
    let ticks = clock_ticks();
    let mut write = |name: &'static str, kind: Kind, help: &'static str, value: Option<Value>| {
        if let Some(value) = value {
            // The names are constants checked by the `names_are_valid` test.
            let family = Family::prevalidated(name, kind, Help::Raw(help));
            encoder.family(&family).sample("", &[], None, value);
        }
    };
    write(
        "process_cpu_seconds_total",
        Kind::Counter,
        "Total user and system CPU time spent in seconds.",
        stat.zip(ticks).map(|(stat, ticks)| {
            Value::Float((stat.user_ticks + stat.system_ticks) as f64 / ticks)
        }),
    );
    write(
        "process_max_fds",
        Kind::Gauge,
        "Maximum number of open file descriptors.",
        max_fds().map(Value::Unsigned),
    );
    write(
        "process_open_fds",
        Kind::Gauge,
        "Number of open file descriptors.",
        open_fds().map(Value::Unsigned),
    );
    write(
        "process_resident_memory_bytes",
        Kind::Gauge,
        "Resident memory size in bytes.",
        stat.zip(page_size())
            .map(|(stat, page)| Value::Unsigned(stat.rss_pages.saturating_mul(page))),
    );
    write(
        "process_start_time_seconds",
        Kind::Gauge,
        "Start time of the process since unix epoch in seconds.",
        start_time(stat, ticks).map(Value::Float),
    );
    write(
        "process_threads",
        Kind::Gauge,
        "Number of OS threads in the process.",
        stat.map(|stat| Value::Unsigned(stat.threads)),
    );
    write(
        "process_virtual_memory_bytes",
        Kind::Gauge,
        "Virtual memory size in bytes.",
        stat.map(|stat| Value::Unsigned(stat.virtual_bytes)),
    );
}

/// The fields of `/proc/self/stat` we use.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Stat {
    user_ticks: u64,
    system_ticks: u64,
    threads: u64,
    start_ticks: u64,
    virtual_bytes: u64,
    rss_pages: u64,
}

fn read_stat() -> Option<Stat> {
    let mut buffer = [0u8; 1024];
    let length = read_file("/proc/self/stat", &mut buffer)?;
    parse_stat(&buffer[..length])
}

/// Parses `/proc/<pid>/stat`. The command name (field 2) may contain spaces and parentheses,
/// so fields are counted from the last `)`.
fn parse_stat(contents: &[u8]) -> Option<Stat> {
    let after_name = contents.iter().rposition(|&byte| byte == b')')? + 1;
    // Field 3 (state) is index 0 here, so field N is index N - 3.
    let mut fields = contents[after_name..]
        .split(|&byte| byte == b' ')
        .filter(|field| !field.is_empty());
    let mut field = |number: usize, skip_from: &mut usize| -> Option<u64> {
        let value = fields.nth(number - 3 - *skip_from)?;
        *skip_from = number - 2;
        parse_u64(value)
    };
    let mut at = 0;
    let user_ticks = field(14, &mut at)?;
    let system_ticks = field(15, &mut at)?;
    let threads = field(20, &mut at)?;
    let start_ticks = field(22, &mut at)?;
    let virtual_bytes = field(23, &mut at)?;
    let rss_pages = field(24, &mut at)?;
    Some(Stat {
        user_ticks,
        system_ticks,
        threads,
        start_ticks,
        virtual_bytes,
        rss_pages,
    })
}

fn parse_u64(digits: &[u8]) -> Option<u64> {
    let digits = digits.trim_ascii();
    if digits.is_empty() {
        return None;
    }
    digits.iter().try_fold(0u64, |total, &byte| {
        let digit = byte.checked_sub(b'0').filter(|digit| *digit <= 9)?;
        total.checked_mul(10)?.checked_add(u64::from(digit))
    })
}

/// Reads up to `buffer.len()` bytes of a file; `None` if it cannot be read.
fn read_file(path: &str, buffer: &mut [u8]) -> Option<usize> {
    // `File::open` converts a short path on the stack; no allocation.
    let mut file = File::open(path).ok()?;
    let mut length = 0;
    while length < buffer.len() {
        match file.read(&mut buffer[length..]) {
            Ok(0) => break,
            Ok(read) => length += read,
            Err(error) if error.kind() == std::io::ErrorKind::Interrupted => {}
            Err(_) => return None,
        }
    }
    Some(length)
}

fn clock_ticks() -> Option<f64> {
    // SAFETY: `sysconf` only reads a configuration value.
    let ticks = unsafe { libc::sysconf(libc::_SC_CLK_TCK) };
    (ticks > 0).then_some(ticks as f64)
}

fn page_size() -> Option<u64> {
    // SAFETY: `sysconf` only reads a configuration value.
    let size = unsafe { libc::sysconf(libc::_SC_PAGESIZE) };
    u64::try_from(size).ok().filter(|size| *size > 0)
}

fn max_fds() -> Option<u64> {
    let mut limit = libc::rlimit {
        rlim_cur: 0,
        rlim_max: 0,
    };
    // SAFETY: `limit` is a valid, writable `rlimit` for the duration of the call.
    let result = unsafe { libc::getrlimit(libc::RLIMIT_NOFILE, &mut limit) };
    // `rlim_t` is `u64` here but narrower on some 32-bit targets.
    #[allow(clippy::unnecessary_cast)]
    (result == 0).then_some(limit.rlim_cur as u64)
}

/// Counts `/proc/self/fd` with `getdents64` (std's `read_dir` allocates per entry).
fn open_fds() -> Option<u64> {
    // SAFETY: the path is a NUL-terminated literal; `open` has no other preconditions.
    let directory = unsafe {
        libc::open(
            c"/proc/self/fd".as_ptr(),
            libc::O_RDONLY | libc::O_DIRECTORY | libc::O_CLOEXEC,
        )
    };
    if directory < 0 {
        return None;
    }
    let mut buffer = [0u8; 4096];
    let mut entries = 0u64;
    let complete = loop {
        // SAFETY: `buffer` is writable for its whole length, which is what we pass, and
        // `directory` is an open directory descriptor owned by this function.
        let read = unsafe {
            libc::syscall(
                libc::SYS_getdents64,
                directory,
                buffer.as_mut_ptr(),
                buffer.len(),
            )
        };
        if read < 0 {
            break false;
        }
        if read == 0 {
            break true;
        }
        let filled = usize::try_from(read).unwrap_or(0);
        entries += count_entries(buffer.get(..filled).unwrap_or_default());
    };
    // SAFETY: `directory` is open and owned here; it is closed exactly once.
    unsafe { libc::close(directory) };
    // Every entry except `.`, `..` and the descriptor we used to list them.
    complete.then(|| entries.saturating_sub(1))
}

/// Counts the `linux_dirent64` records in a `getdents64` result, leaving out `.` and `..`.
fn count_entries(records: &[u8]) -> u64 {
    // struct linux_dirent64 { u64 d_ino; i64 d_off; u16 d_reclen; u8 d_type; char d_name[]; }
    const NAME_OFFSET: usize = 19;
    let mut count = 0;
    let mut offset = 0;
    while let Some(record) = records.get(offset..) {
        let Some(length) = record.get(16..18) else {
            break;
        };
        let length = usize::from(u16::from_ne_bytes([length[0], length[1]]));
        if length == 0 {
            break;
        }
        let name = record
            .get(NAME_OFFSET..length.min(record.len()))
            .unwrap_or_default();
        let name = name.split(|&byte| byte == 0).next().unwrap_or_default();
        if name != b"." && name != b".." {
            count += 1;
        }
        offset += length;
    }
    count
}

/// Seconds since the epoch at which the process started; cached after the first success.
fn start_time(stat: Option<Stat>, ticks: Option<f64>) -> Option<f64> {
    static CACHED: AtomicU64 = AtomicU64::new(0);
    let cached = CACHED.load(Ordering::Relaxed);
    if cached != 0 {
        return Some(f64::from_bits(cached));
    }
    let seconds = boot_time()? as f64 + stat?.start_ticks as f64 / ticks?;
    CACHED.store(seconds.to_bits(), Ordering::Relaxed);
    Some(seconds)
}

/// `btime` from `/proc/stat`, read in chunks: the file can be tens of kilobytes on large
/// machines (one line per CPU, and long interrupt lines), more than a stack buffer holds.
fn boot_time() -> Option<u64> {
    let mut file = File::open("/proc/stat").ok()?;
    let mut buffer = [0u8; 4096];
    let mut kept = 0;
    loop {
        let read = file.read(&mut buffer[kept..]).ok()?;
        let filled = kept + read;
        let text = &buffer[..filled];
        if let Some(found) = find_btime(text) {
            return Some(found);
        }
        if read == 0 {
            return None;
        }
        // Keep the last partial line (it may be `btime`) and read on.
        let line_start = text
            .iter()
            .rposition(|&byte| byte == b'\n')
            .map_or(0, |at| at + 1);
        if line_start == 0 && filled == buffer.len() {
            // One line longer than the buffer (an interrupt line): skip it.
            kept = 0;
            continue;
        }
        buffer.copy_within(line_start..filled, 0);
        kept = filled - line_start;
    }
}

/// `btime` from the complete lines of `text` (a line cut at the buffer's end is not used).
fn find_btime(text: &[u8]) -> Option<u64> {
    let complete = &text[..text.iter().rposition(|&byte| byte == b'\n')? + 1];
    complete
        .split(|&byte| byte == b'\n')
        .find_map(|line| line.strip_prefix(b"btime "))
        .and_then(parse_u64)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_are_valid() {
        for (name, _) in FAMILIES {
            crate::name::validate_metric_name(name).unwrap();
        }
    }

    #[test]
    fn stat_with_a_hostile_command_name() {
        let line = b"42 (a) b) (c) S 1 42 42 0 -1 4194560 100 0 0 0 250 75 0 0 20 0 7 0 \
            12345 1000000 300 18446744073709551615 1 1 0 0 0 0 0 0 0 0 0 0 17 0 0 0 0 0 0\n";
        let stat = parse_stat(line).unwrap();
        assert_eq!(
            stat,
            Stat {
                user_ticks: 250,
                system_ticks: 75,
                threads: 7,
                start_ticks: 12345,
                virtual_bytes: 1_000_000,
                rss_pages: 300,
            }
        );
        assert_eq!(parse_stat(b"1 (x) S 1 2"), None);
    }

    #[test]
    fn values_of_this_process() {
        let stat = read_stat().unwrap();
        assert!(stat.threads >= 1);
        assert!(stat.virtual_bytes > 0 && stat.rss_pages > 0);
        let before = open_fds().unwrap();
        let extra = File::open("/proc/self/stat").unwrap();
        assert_eq!(open_fds().unwrap(), before + 1);
        drop(extra);
        assert!(max_fds().unwrap() >= before);
        let start = start_time(Some(stat), clock_ticks()).unwrap();
        let now = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .unwrap()
            .as_secs_f64();
        assert!(
            start <= now + 1.0 && start > now - 86_400.0 * 365.0,
            "{start} vs {now}"
        );
    }

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
