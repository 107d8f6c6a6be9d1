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
//! than reported as zero. The reads are the `sys` layer's (`src/sys/linux.rs` for `/proc`,
//! `src/sys/unix.rs` for `sysconf` and `getrlimit`), whose docs say what each platform does;
//! this module only names and shapes the values.

use std::sync::atomic::{AtomicU64, Ordering};

use crate::encode::{Encoder, Family, Help, Kind, Suffix, Value};
use crate::name::assert_metric_name;
use crate::sys::{self, ProcessStat};

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
    let stat = sys::process_stat();
    let ticks = sys::clock_ticks_per_second().map(|ticks| ticks as f64);
    let mut write = |name: &'static str, kind: Kind, help: &'static str, value: Option<Value>| {
        if let Some(value) = value {
            // Every name below is checked by the compiler (`assert_metric_name` in `const`).
            let family = Family::prevalidated(name, kind, Help::Raw(help));
            encoder
                .family_trusted(&family)
                .sample_trusted(Suffix::Bare, &[], value);
        }
    };
    write(
        const { assert_metric_name("process_cpu_seconds_total") },
        Kind::Counter,
        "Total user and system CPU time spent in seconds.",
        stat.zip(ticks).map(|(stat, ticks)| {
            Value::Float((stat.user_ticks + stat.system_ticks) as f64 / ticks)
        }),
    );
    write(
        const { assert_metric_name("process_max_fds") },
        Kind::Gauge,
        "Maximum number of open file descriptors.",
        sys::max_open_files().map(Value::Unsigned),
    );
    write(
        const { assert_metric_name("process_open_fds") },
        Kind::Gauge,
        "Number of open file descriptors.",
        sys::open_fds().map(Value::Unsigned),
    );
    write(
        const { assert_metric_name("process_resident_memory_bytes") },
        Kind::Gauge,
        "Resident memory size in bytes.",
        stat.zip(sys::page_size())
            .map(|(stat, page)| Value::Unsigned(stat.rss_pages.saturating_mul(page))),
    );
    write(
        const { assert_metric_name("process_start_time_seconds") },
        Kind::Gauge,
        "Start time of the process since unix epoch in seconds.",
        start_time(stat, ticks).map(Value::Float),
    );
    write(
        const { assert_metric_name("process_threads") },
        Kind::Gauge,
        "Number of OS threads in the process.",
        stat.map(|stat| Value::Unsigned(stat.threads)),
    );
    write(
        const { assert_metric_name("process_virtual_memory_bytes") },
        Kind::Gauge,
        "Virtual memory size in bytes.",
        stat.map(|stat| Value::Unsigned(stat.virtual_bytes)),
    );
}

/// Seconds since the epoch at which the process started; cached after the first success.
fn start_time(stat: Option<ProcessStat>, ticks: Option<f64>) -> Option<f64> {
    static CACHED: AtomicU64 = AtomicU64::new(0);
    let cached = CACHED.load(Ordering::Relaxed);
    if cached != 0 {
        return Some(f64::from_bits(cached));
    }
    let seconds = sys::boot_time()? as f64 + stat?.start_ticks as f64 / ticks?;
    CACHED.store(seconds.to_bits(), Ordering::Relaxed);
    Some(seconds)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn values_of_this_process() {
        let stat = sys::process_stat().unwrap();
        assert!(stat.threads >= 1);
        assert!(stat.virtual_bytes > 0 && stat.rss_pages > 0);
        // Other tests of this binary open and close files on their own threads, so one
        // (before, open, after) triple may see their descriptors too. The count must follow
        // our own open and close exactly in at least one undisturbed attempt; a count that
        // does not track descriptors (constant, or off by any amount) never does.
        let mut tracked = None;
        for _ in 0..200 {
            let before = sys::open_fds().unwrap();
            let extra = std::fs::File::open("/proc/self/stat").unwrap();
            let during = sys::open_fds().unwrap();
            drop(extra);
            let after = sys::open_fds().unwrap();
            if during == before + 1 && after == before {
                tracked = Some(before);
                break;
            }
        }
        let before = tracked.expect("open_fds never followed one open and close exactly");
        assert!(sys::max_open_files().unwrap() >= before);
        let ticks = sys::clock_ticks_per_second().map(|ticks| ticks as f64);
        let start = start_time(Some(stat), ticks).unwrap();
        let now = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .unwrap()
            .as_secs_f64();
        assert!(
            start <= now + 1.0 && start > now - 86_400.0 * 365.0,
            "{start} vs {now}"
        );
    }
}
