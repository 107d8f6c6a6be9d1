//! Who holds the port? Reading `/proc` after `EADDRINUSE` (Linux only).
//!
//! 1. Find the LISTEN rows (state `0A`) for the port in `/proc/net/tcp` and `/proc/net/tcp6`
//!    whose address overlaps ours: the same address, a wildcard on either side, an IPv6
//!    wildcard that may be dual-stack, or an IPv4-mapped IPv6 address.
//! 2. Map each row's socket inode to processes by reading the `socket:[inode]` links in
//!    `/proc/*/fd` (a socket inherited by a child is held by several processes).
//! 3. Describe each holder from `/proc/PID/status` (name, real uid, `CoreDumping`),
//!    `/proc/PID/stat` (state, `PF_EXITING` in the flags), `/proc/PID/cmdline` and
//!    `/proc/PID/exe`, and classify (see [`Holder`]).
//!
//! No LISTEN row means the port is taken by something that is not listening: TIME_WAIT
//! leftovers of an owner that did not set `SO_REUSEADDR`, or an outgoing connection that got
//! the port as its source port, which happens when the port lies inside
//! `net.ipv4.ip_local_port_range`. Every parser is a pure function over text, tested on
//! fixtures; the file-reading part is best effort and never fails the caller.

use std::fmt;
use std::fs;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr};
use std::path::{Path, PathBuf};

use crate::sys::procfs::StatLine;

/// `PF_EXITING` in `/proc/PID/stat`'s flags (include/linux/sched.h): the task is exiting.
const PF_EXITING: u64 = 0x0000_0004;
/// `TCP_LISTEN` in `/proc/net/tcp*`'s `st` column.
const TCP_LISTEN: u8 = 0x0A;
/// `TCP_TIME_WAIT`.
const TCP_TIME_WAIT: u8 = 0x06;

/// What was found out about an address already in use.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct Diagnosis {
    /// Who holds the port, and the class that decides what to do.
    pub holder: Holder,
    /// The listening socket found in `/proc/net/tcp*` (wildcard or specific), if any.
    pub listening_on: Option<SocketAddr>,
    /// `net.ipv4.ip_local_port_range`, when the port lies inside it: outgoing connections
    /// may take this port as their source port at any time.
    pub ephemeral_range: Option<(u16, u16)>,
}

/// The holder of a port, classified by what the listener does about it.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum Holder {
    /// This very process (the listener was opened twice): error, no retry, no fallback.
    ThisProcess,
    /// The holder is exiting (`CoreDumping: 1`, `PF_EXITING`, or a zombie): retry with the
    /// extended budget.
    Dying(Process),
    /// Another live process of the same executable (a previous instance still running):
    /// retry within the budget, never share the port.
    SameProgram(Process),
    /// A different program: it will not release the port, fall back at once.
    OtherProgram(Process),
    /// A LISTEN socket exists but no visible process holds it (another uid, another pid
    /// namespace): retry within the budget.
    Hidden {
        /// The socket owner's uid, from `/proc/net/tcp*`.
        uid: u32,
    },
    /// No LISTEN row: TIME_WAIT leftovers or an outgoing connection using the port.
    NoListener {
        /// Sockets in TIME_WAIT on the port.
        time_wait: usize,
        /// Other non-listening sockets (connections) on the port.
        connections: usize,
    },
    /// No diagnosis possible (not Linux, or `/proc` unreadable).
    Unknown {
        /// Why.
        reason: String,
    },
}

/// A process holding the port.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct Process {
    /// Process id.
    pub pid: u32,
    /// Command line, arguments joined by spaces (the name in brackets when empty).
    pub command: String,
    /// Real uid, from `/proc/PID/status`.
    pub uid: Option<u32>,
    /// The executable, when readable.
    pub exe: Option<PathBuf>,
    /// `CoreDumping: 1` in `/proc/PID/status`.
    pub core_dumping: bool,
    /// `PF_EXITING` set, or the process is a zombie.
    pub exiting: bool,
    /// Other processes holding the same socket (inherited by a child, for example).
    pub also_held_by: Vec<u32>,
}

impl fmt::Display for Process {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "pid {} `{}`", self.pid, self.command)?;
        if let Some(uid) = self.uid {
            write!(f, " (uid {uid})")?;
        }
        if self.core_dumping {
            f.write_str(", writing a core dump")?;
        } else if self.exiting {
            f.write_str(", exiting")?;
        }
        if !self.also_held_by.is_empty() {
            let pids: Vec<String> = self.also_held_by.iter().map(u32::to_string).collect();
            write!(f, "; the socket is also held by pid {}", pids.join(", "))?;
        }
        Ok(())
    }
}

impl fmt::Display for Holder {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Holder::ThisProcess => f.write_str("already held by this process"),
            Holder::Dying(process) => write!(f, "held by {process}, which is exiting"),
            Holder::SameProgram(process) => {
                write!(f, "held by {process}, another instance of this program")
            }
            Holder::OtherProgram(process) => write!(f, "held by another program: {process}"),
            Holder::Hidden { uid } => write!(
                f,
                "a socket owned by uid {uid} listens on it, but its process is not visible \
                 (another user or pid namespace)"
            ),
            Holder::NoListener {
                time_wait,
                connections,
            } => write!(
                f,
                "nothing listens on it ({time_wait} socket(s) in TIME_WAIT, {connections} \
                 connection(s) using the port)"
            ),
            Holder::Unknown { reason } => write!(f, "holder unknown: {reason}"),
        }
    }
}

/// Where `/proc` is, and who "we" are; swapped in tests.
#[derive(Debug, Clone)]
pub(crate) struct ProcFs {
    pub(crate) root: PathBuf,
    pub(crate) self_pid: u32,
}

impl ProcFs {
    pub(crate) fn system() -> Self {
        Self {
            root: PathBuf::from("/proc"),
            self_pid: std::process::id(),
        }
    }
}

/// Diagnoses `EADDRINUSE` for `addr`; never fails (an `Unknown` holder instead).
pub(crate) fn diagnose(addr: SocketAddr, dual_stack: bool) -> Diagnosis {
    if cfg!(target_os = "linux") {
        diagnose_in(&ProcFs::system(), addr, dual_stack)
    } else {
        Diagnosis {
            holder: Holder::Unknown {
                reason: "diagnosis reads /proc, which only Linux provides".into(),
            },
            listening_on: None,
            ephemeral_range: None,
        }
    }
}

pub(crate) fn diagnose_in(proc: &ProcFs, addr: SocketAddr, dual_stack: bool) -> Diagnosis {
    let ephemeral_range = fs::read_to_string(proc.root.join("sys/net/ipv4/ip_local_port_range"))
        .ok()
        .and_then(|text| parse_port_range(&text))
        .filter(|&(low, high)| (low..=high).contains(&addr.port()));
    let mut rows = Vec::new();
    let mut read_any = false;
    for (file, v6) in [("net/tcp", false), ("net/tcp6", true)] {
        if let Ok(text) = fs::read_to_string(proc.root.join(file)) {
            read_any = true;
            rows.extend(parse_net_tcp(&text, v6));
        }
    }
    let holder = if read_any {
        classify_rows(proc, addr, dual_stack, &rows)
    } else {
        (
            Holder::Unknown {
                reason: format!("cannot read {}/net/tcp", proc.root.display()),
            },
            None,
        )
    };
    Diagnosis {
        holder: holder.0,
        listening_on: holder.1,
        ephemeral_range,
    }
}

fn classify_rows(
    proc: &ProcFs,
    addr: SocketAddr,
    dual_stack: bool,
    rows: &[SocketRow],
) -> (Holder, Option<SocketAddr>) {
    let on_port = || rows.iter().filter(|row| row.local.port() == addr.port());
    let listeners: Vec<&SocketRow> = on_port()
        .filter(|row| row.state == TCP_LISTEN && overlaps(addr, dual_stack, row.local))
        .collect();
    if listeners.is_empty() {
        let time_wait = on_port().filter(|row| row.state == TCP_TIME_WAIT).count();
        let connections = on_port()
            .filter(|row| row.state != TCP_TIME_WAIT && row.state != TCP_LISTEN)
            .count();
        return (
            Holder::NoListener {
                time_wait,
                connections,
            },
            None,
        );
    }
    let inodes: Vec<u64> = listeners.iter().map(|row| row.inode).collect();
    let holders = socket_holders(proc, &inodes);
    for row in &listeners {
        let pids: Vec<u32> = holders
            .iter()
            .filter(|(_, inode)| *inode == row.inode)
            .map(|(pid, _)| *pid)
            .collect();
        if pids.is_empty() {
            continue;
        }
        if pids.contains(&proc.self_pid) {
            return (Holder::ThisProcess, Some(row.local));
        }
        let mut process = describe(proc, pids[0]);
        process.also_held_by = pids[1..].to_vec();
        let all_dying = pids
            .iter()
            .all(|&pid| pid == pids[0] || describe(proc, pid).exiting);
        let holder = if (process.exiting || process.core_dumping) && all_dying {
            Holder::Dying(process)
        } else if same_executable(proc, &process) {
            Holder::SameProgram(process)
        } else {
            Holder::OtherProgram(process)
        };
        return (holder, Some(row.local));
    }
    (
        Holder::Hidden {
            uid: listeners[0].uid,
        },
        Some(listeners[0].local),
    )
}

/// Whether a listener on `theirs` blocks binding `ours` (same port assumed checked here too).
pub(crate) fn overlaps(ours: SocketAddr, dual_stack: bool, theirs: SocketAddr) -> bool {
    if ours.port() != theirs.port() {
        return false;
    }
    let same_v4 = |a: Ipv4Addr, b: Ipv4Addr| a == b || a.is_unspecified() || b.is_unspecified();
    match (ours.ip(), theirs.ip()) {
        (IpAddr::V4(a), IpAddr::V4(b)) => same_v4(a, b),
        (IpAddr::V6(a), IpAddr::V6(b)) => match (a.to_ipv4_mapped(), b.to_ipv4_mapped()) {
            (Some(a), Some(b)) => same_v4(a, b),
            _ => a == b || a.is_unspecified() || b.is_unspecified(),
        },
        // Their `[::]` may be dual-stack (/proc does not show IPV6_V6ONLY): count it.
        (IpAddr::V4(a), IpAddr::V6(b)) => b
            .to_ipv4_mapped()
            .map_or(b.is_unspecified(), |b| same_v4(a, b)),
        (IpAddr::V6(a), IpAddr::V4(b)) => {
            if a.is_unspecified() {
                dual_stack
            } else {
                a.to_ipv4_mapped().is_some_and(|a| same_v4(a, b))
            }
        }
    }
}

/// `(pid, inode)` for every fd of every visible process that is one of `inodes`.
fn socket_holders(proc: &ProcFs, inodes: &[u64]) -> Vec<(u32, u64)> {
    let mut found = Vec::new();
    let Ok(entries) = fs::read_dir(&proc.root) else {
        return found;
    };
    for entry in entries.flatten() {
        let Some(pid) = entry
            .file_name()
            .to_str()
            .and_then(|name| name.parse::<u32>().ok())
        else {
            continue;
        };
        let Ok(fds) = fs::read_dir(entry.path().join("fd")) else {
            continue;
        };
        for fd in fds.flatten() {
            let inode = fs::read_link(fd.path())
                .ok()
                .and_then(|target| parse_socket_link(&target));
            if let Some(inode) = inode.filter(|inode| inodes.contains(inode)) {
                found.push((pid, inode));
                break;
            }
        }
    }
    found.sort_unstable();
    found
}

fn parse_socket_link(target: &Path) -> Option<u64> {
    target
        .to_str()?
        .strip_prefix("socket:[")?
        .strip_suffix(']')?
        .parse()
        .ok()
}

fn describe(proc: &ProcFs, pid: u32) -> Process {
    let dir = proc.root.join(pid.to_string());
    let status = fs::read_to_string(dir.join("status"))
        .map(|text| parse_status(&text))
        .unwrap_or_default();
    let stat = fs::read_to_string(dir.join("stat"))
        .ok()
        .and_then(|text| parse_stat(&text));
    let exiting =
        stat.is_some_and(|stat| stat.flags & PF_EXITING != 0 || matches!(stat.state, 'Z' | 'X'));
    // Reading `cmdline` takes the target's memory-map lock, which a core dump holds until it
    // ends (seconds, for a large process): for a dying process, the name must do.
    let command = if status.core_dumping || exiting {
        String::new()
    } else {
        fs::read(dir.join("cmdline"))
            .map(|bytes| parse_cmdline(&bytes))
            .unwrap_or_default()
    };
    let command = if command.is_empty() {
        format!("[{}]", status.name)
    } else {
        command
    };
    Process {
        pid,
        command,
        uid: status.uid,
        exe: fs::read_link(dir.join("exe")).ok(),
        core_dumping: status.core_dumping,
        exiting,
        also_held_by: Vec::new(),
    }
}

fn same_executable(proc: &ProcFs, process: &Process) -> bool {
    let ours = fs::read_link(proc.root.join(proc.self_pid.to_string()).join("exe")).ok();
    match (ours, &process.exe) {
        (Some(ours), Some(theirs)) => strip_deleted(&ours) == strip_deleted(theirs),
        // Without /proc/PID/exe (another uid), compare the process names.
        _ => {
            let ours = fs::read_to_string(proc.root.join(proc.self_pid.to_string()).join("status"))
                .map(|text| parse_status(&text).name)
                .unwrap_or_default();
            !ours.is_empty()
                && process
                    .command
                    .split_whitespace()
                    .next()
                    .is_some_and(|first| {
                        Path::new(first)
                            .file_name()
                            .is_some_and(|name| name.to_string_lossy().starts_with(ours.as_str()))
                    })
        }
    }
}

/// An upgraded binary shows as `/usr/bin/app (deleted)` in the old process: still "us".
fn strip_deleted(path: &Path) -> &str {
    let text = path.to_str().unwrap_or_default();
    text.strip_suffix(" (deleted)").unwrap_or(text)
}

/// One row of `/proc/net/tcp` or `/proc/net/tcp6`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct SocketRow {
    pub(crate) local: SocketAddr,
    pub(crate) state: u8,
    pub(crate) uid: u32,
    pub(crate) inode: u64,
}

/// Parses `/proc/net/tcp` (`v6 = false`) or `/proc/net/tcp6`; malformed rows are skipped.
///
/// Columns: `sl local_address rem_address st tx:rx tr:when retrnsmt uid timeout inode ...`.
/// Addresses are the kernel's `__be32` words printed with `%08X` in host byte order, so each
/// eight-digit group converts back to network order with `to_ne_bytes`.
pub(crate) fn parse_net_tcp(text: &str, v6: bool) -> Vec<SocketRow> {
    text.lines()
        .skip(1)
        .filter_map(|line| parse_row(line, v6))
        .collect()
}

fn parse_row(line: &str, v6: bool) -> Option<SocketRow> {
    let fields: Vec<&str> = line.split_whitespace().collect();
    let (address, port) = fields.get(1)?.split_once(':')?;
    let ip = parse_address(address, v6)?;
    let port = u16::from_str_radix(port, 16).ok()?;
    Some(SocketRow {
        local: SocketAddr::new(ip, port),
        state: u8::from_str_radix(fields.get(3)?, 16).ok()?,
        uid: fields.get(7)?.parse().ok()?,
        inode: fields.get(9)?.parse().ok()?,
    })
}

fn parse_address(hex: &str, v6: bool) -> Option<IpAddr> {
    let words = if v6 { 4 } else { 1 };
    if hex.len() != words * 8 {
        return None;
    }
    let mut bytes = [0u8; 16];
    for word in 0..words {
        let value = u32::from_str_radix(hex.get(word * 8..word * 8 + 8)?, 16).ok()?;
        bytes[word * 4..word * 4 + 4].copy_from_slice(&value.to_ne_bytes());
    }
    Some(if v6 {
        IpAddr::V6(Ipv6Addr::from(bytes))
    } else {
        IpAddr::V4(Ipv4Addr::new(bytes[0], bytes[1], bytes[2], bytes[3]))
    })
}

/// What the listener needs from `/proc/PID/status`.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub(crate) struct Status {
    pub(crate) name: String,
    pub(crate) uid: Option<u32>,
    pub(crate) core_dumping: bool,
}

pub(crate) fn parse_status(text: &str) -> Status {
    let mut status = Status::default();
    for line in text.lines() {
        let Some((key, value)) = line.split_once(':') else {
            continue;
        };
        let value = value.trim();
        match key {
            "Name" => status.name = value.to_owned(),
            // Real, effective, saved, filesystem: the real uid names the owner.
            "Uid" => {
                status.uid = value
                    .split_whitespace()
                    .next()
                    .and_then(|uid| uid.parse().ok())
            }
            "CoreDumping" => status.core_dumping = value == "1",
            _ => {}
        }
    }
    status
}

/// What the listener needs from `/proc/PID/stat`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Stat {
    pub(crate) state: char,
    pub(crate) flags: u64,
}

/// Fields 3 (`state`) and 9 (`flags`) of `/proc/PID/stat`, read with the one parser of the
/// format ([`StatLine`], which counts fields after the command name, whatever it contains).
pub(crate) fn parse_stat(text: &str) -> Option<Stat> {
    let stat = StatLine::parse(text.as_bytes())?;
    let state = char::from(*stat.field(3)?.first()?);
    let flags = stat.number(9)?;
    Some(Stat { state, flags })
}

/// NUL-separated arguments joined with spaces.
pub(crate) fn parse_cmdline(bytes: &[u8]) -> String {
    let args: Vec<String> = bytes
        .split(|&byte| byte == 0)
        .filter(|arg| !arg.is_empty())
        .map(|arg| String::from_utf8_lossy(arg).into_owned())
        .collect();
    args.join(" ")
}

/// `net.ipv4.ip_local_port_range`: two numbers.
pub(crate) fn parse_port_range(text: &str) -> Option<(u16, u16)> {
    let mut numbers = text.split_whitespace().map(str::parse::<u16>);
    let low = numbers.next()?.ok()?;
    let high = numbers.next()?.ok()?;
    Some((low, high))
}

#[cfg(test)]
mod tests;
