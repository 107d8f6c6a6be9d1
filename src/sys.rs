//! The operating system, behind one seam: every `libc` call and every `unsafe` FFI block of
//! the crate lives in this module.
//!
//! The rest of the crate calls the safe, documented functions re-exported here and never
//! names `libc`. The layout follows socket2's `sys/`: one file per platform family, so a port
//! to another platform is a new file here rather than edits across the listener and the
//! exporter.
//!
//! | file | compiled on | what |
//! |---|---|---|
//! | `sys/unix.rs` | every Unix | errno values, `sysconf`, `getrlimit`, `gethostname`, `geteuid`, `getifaddrs`, descriptor checks for socket activation |
//! | `sys/linux.rs` | Linux, with the `exporter` feature | `/proc/self/*` reads without allocating (`getdents64`) |
//! | `sys/procfs.rs` | everywhere the listener is | text formats of Linux's `/proc` (pure parsing, no system call), so the holder diagnosis can be tested on fixture trees on any host |
//!
//! The module exists only with the `listener` feature (implied by `exporter`): the core of
//! the crate (metric types, the static table, the encoder) makes no system call of its own
//! and does not depend on `libc`.
//!
//! # Platforms
//!
//! * Linux: everything.
//! * Other Unix systems: `sys/unix.rs`; the `/proc`-based functions of `sys/linux.rs` are
//!   absent, and their callers are `#[cfg]`-gated (no `process_*` metrics, no socket
//!   activation, a holder diagnosis of [`Holder::Unknown`](crate::listener::Holder::Unknown)).
//! * Windows and other non-Unix targets: not supported by the listener yet; building it there
//!   stops with a compile error naming the missing port, rather than with unresolved `libc`
//!   items. A port adds `sys/windows.rs` (`SO_EXCLUSIVEADDRUSE`, `WSA*` error values,
//!   `GetAdaptersAddresses`).

#[cfg(not(unix))]
compile_error!(
    "promstatic's `listener` feature supports Unix only so far (src/sys.rs lists what a port \
     needs); build with `default-features = false` for the core alone"
);

// Only the `process_*` metrics, which the exporter writes, read `/proc/self`.
#[cfg(all(target_os = "linux", feature = "exporter"))]
mod linux;
pub(crate) mod procfs;
#[cfg(unix)]
mod unix;

#[cfg(all(target_os = "linux", feature = "exporter"))]
pub(crate) use self::linux::*;
#[cfg(unix)]
pub(crate) use self::unix::*;
