//! Linux only: what this process's `/proc/self/*` files say, read into stack buffers.
//!
//! Each function makes a few system calls and allocates nothing, so the exporter can call
//! them on every scrape (see `process.rs`). A file that cannot be read (a sandbox without
//! `/proc`) gives `None`, never an error the caller has to handle.
//!
//! # Platform notes
//!
//! The files are described in [`proc(5)`](https://man7.org/linux/man-pages/man5/proc.5.html).
//! Android has them too but is not enabled (untested there); the BSDs and macOS would use
//! `sysctl(KERN_PROC)` / `proc_pidinfo` instead, so the `process_*` metrics are simply absent
//! on them.

use std::fs::File;
use std::io::{self, Read};

use super::procfs::{self, StatLine};

/// The fields of `/proc/self/stat` that the `process_*` metrics use.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct ProcessStat {
    /// Field 14, `utime`: user CPU time, in clock ticks.
    pub(crate) user_ticks: u64,
    /// Field 15, `stime`: system CPU time, in clock ticks.
    pub(crate) system_ticks: u64,
    /// Field 20, `num_threads`.
    pub(crate) threads: u64,
    /// Field 22, `starttime`: clock ticks from boot to the process's start.
    pub(crate) start_ticks: u64,
    /// Field 23, `vsize`, in bytes.
    pub(crate) virtual_bytes: u64,
    /// Field 24, `rss`, in pages.
    pub(crate) rss_pages: u64,
}

impl ProcessStat {
    fn parse(line: &[u8]) -> Option<Self> {
        let stat = StatLine::parse(line)?;
        Some(Self {
            user_ticks: stat.number(14)?,
            system_ticks: stat.number(15)?,
            threads: stat.number(20)?,
            start_ticks: stat.number(22)?,
            virtual_bytes: stat.number(23)?,
            rss_pages: stat.number(24)?,
        })
    }
}

/// This process's `/proc/self/stat`.
pub(crate) fn process_stat() -> Option<ProcessStat> {
    let mut buffer = [0u8; 1024];
    let length = read_file("/proc/self/stat", &mut buffer)?;
    ProcessStat::parse(&buffer[..length])
}

/// Open descriptors of this process: the entries of `/proc/self/fd`, counted with
/// `getdents64` because std's `read_dir` allocates per entry. The descriptor used to list
/// the directory is not counted.
///
/// # Platform notes
///
/// `getdents64` is Linux's own system call, made through `syscall(2)` because not every C
/// library the `libc` crate targets wraps it; the record layout read here is
/// `linux_dirent64`.
pub(crate) fn open_fds() -> Option<u64> {
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

/// Boot time in seconds since the epoch: `btime` from `/proc/stat`, read in chunks: the file
/// can be tens of kilobytes on large machines (one line per CPU, and long interrupt lines),
/// more than a stack buffer holds.
pub(crate) fn boot_time() -> Option<u64> {
    let mut file = File::open("/proc/stat").ok()?;
    let mut buffer = [0u8; 4096];
    let mut kept = 0;
    loop {
        let read = file.read(&mut buffer[kept..]).ok()?;
        let filled = kept + read;
        let text = &buffer[..filled];
        if let Some(found) = procfs::find_btime(text) {
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

/// Reads up to `buffer.len()` bytes of a file; `None` if it cannot be read.
fn read_file(path: &str, buffer: &mut [u8]) -> Option<usize> {
    // `File::open` converts a short path on the stack; no allocation.
    let mut file = File::open(path).ok()?;
    let mut length = 0;
    while length < buffer.len() {
        match file.read(&mut buffer[length..]) {
            Ok(0) => break,
            Ok(read) => length += read,
            Err(error) if error.kind() == io::ErrorKind::Interrupted => {}
            Err(_) => return None,
        }
    }
    Some(length)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn stat_with_a_hostile_command_name() {
        let stat = ProcessStat::parse(procfs::HOSTILE_STAT_LINE).unwrap();
        assert_eq!(
            stat,
            ProcessStat {
                user_ticks: 250,
                system_ticks: 75,
                threads: 7,
                start_ticks: 12345,
                virtual_bytes: 1_000_000,
                rss_pages: 300,
            }
        );
        assert_eq!(ProcessStat::parse(b"1 (x) S 1 2"), None);
    }
}
