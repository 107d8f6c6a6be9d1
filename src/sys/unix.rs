//! Unix: the POSIX calls the listener and the `process_*` metrics make.
//!
//! The configuration reads (`sysconf`, `getrlimit`) exist with the `exporter` feature only:
//! the `process_*` metrics it writes are their one user.
//!
//! Every `unsafe` block of the crate's FFI is here, each with the reason it is sound; callers
//! get safe functions with plain Rust types, and failures as `None`/`io::Error` (no call here
//! panics or aborts).

use std::io;
use std::net::IpAddr;
#[cfg(any(target_os = "linux", target_os = "android"))]
use std::os::fd::{BorrowedFd, RawFd};

/// The errno values the listener's bind policy tells apart. They differ between Unix
/// systems (`EADDRINUSE` is 98 on Linux, 48 on macOS and the BSDs), so they are taken from
/// `libc` for the target rather than written as numbers.
pub(crate) use libc::{
    EACCES, EADDRINUSE, EADDRNOTAVAIL, EAFNOSUPPORT, EMFILE, ENFILE, ENOBUFS, ENOMEM, EPERM,
};
// Only tests produce these on purpose.
#[cfg(test)]
pub(crate) use libc::{EBADF, EINVAL};

/// Clock ticks per second (`sysconf(_SC_CLK_TCK)`), the unit of `/proc/PID/stat`'s times.
///
/// # Platform notes
///
/// POSIX ([`sysconf(3)`](https://man7.org/linux/man-pages/man3/sysconf.3.html)); 100 on
/// almost every Linux system, but not guaranteed, hence read rather than assumed.
#[cfg(feature = "exporter")]
pub(crate) fn clock_ticks_per_second() -> Option<u64> {
    // SAFETY: `sysconf` only reads a configuration value.
    let ticks = unsafe { libc::sysconf(libc::_SC_CLK_TCK) };
    u64::try_from(ticks).ok().filter(|ticks| *ticks > 0)
}

/// The page size in bytes (`sysconf(_SC_PAGESIZE)`).
///
/// # Platform notes
///
/// 4 KiB on most x86-64 systems, 16 KiB or 64 KiB on some arm64 and ppc64 kernels: `rss`
/// in `/proc/PID/stat` is in these pages.
#[cfg(feature = "exporter")]
pub(crate) fn page_size() -> Option<u64> {
    // SAFETY: `sysconf` only reads a configuration value.
    let size = unsafe { libc::sysconf(libc::_SC_PAGESIZE) };
    u64::try_from(size).ok().filter(|size| *size > 0)
}

/// The soft limit on open descriptors (`getrlimit(RLIMIT_NOFILE)`); `RLIM_INFINITY` comes
/// back as the platform's value for it (`u64::MAX` on Linux).
///
/// # Platform notes
///
/// POSIX ([`getrlimit(2)`](https://man7.org/linux/man-pages/man2/getrlimit.2.html));
/// `rlim_t` is 64 bits on Linux and the BSDs, narrower on some 32-bit targets.
#[cfg(feature = "exporter")]
pub(crate) fn max_open_files() -> Option<u64> {
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

/// The host name (`gethostname`), or an empty string when it cannot be read.
///
/// # Platform notes
///
/// POSIX ([`gethostname(2)`](https://man7.org/linux/man-pages/man2/gethostname.2.html)).
/// Linux limits names to 64 bytes, macOS and the BSDs to 255; the 256-byte buffer holds
/// either, and a name that fills it is cut at its end (POSIX leaves NUL termination of a
/// truncated name unspecified).
pub(crate) fn hostname() -> String {
    let mut buffer = [0u8; 256];
    // SAFETY: the pointer and length describe `buffer`, which outlives the call.
    let status = unsafe { libc::gethostname(buffer.as_mut_ptr().cast(), buffer.len()) };
    if status != 0 {
        return String::new();
    }
    let end = buffer
        .iter()
        .position(|&byte| byte == 0)
        .unwrap_or(buffer.len());
    String::from_utf8_lossy(&buffer[..end]).into_owned()
}

/// The effective user id (`geteuid`): the owner the listener requires of its instance-name
/// claim directory.
///
/// # Platform notes
///
/// POSIX ([`geteuid(2)`](https://man7.org/linux/man-pages/man2/geteuid.2.html)); always
/// succeeds.
pub(crate) fn effective_uid() -> u32 {
    // SAFETY: `geteuid` has no preconditions, touches no memory of ours and cannot fail.
    unsafe { libc::geteuid() }
}

/// The machine's IPv4 and IPv6 interface addresses (`getifaddrs`), each once, in the order
/// the system lists them; empty when they cannot be read.
///
/// # Platform notes
///
/// [`getifaddrs(3)`](https://man7.org/linux/man-pages/man3/getifaddrs.3.html) is not POSIX
/// but exists on Linux, Android (API 24+), macOS and the BSDs. Windows would use
/// `GetAdaptersAddresses`.
pub(crate) fn local_addresses() -> Vec<IpAddr> {
    let mut addresses = Vec::new();
    let mut list: *mut libc::ifaddrs = std::ptr::null_mut();
    // SAFETY: `getifaddrs` fills `list` with a linked list it allocates, or fails and leaves
    // it untouched.
    if unsafe { libc::getifaddrs(&mut list) } != 0 {
        return addresses;
    }
    let mut cursor = list;
    while !cursor.is_null() {
        // SAFETY: `cursor` is a node of the list returned by `getifaddrs`, not yet freed.
        let entry = unsafe { &*cursor };
        if !entry.ifa_addr.is_null() {
            // SAFETY: `ifa_addr` is non-null and points to a sockaddr whose family says how
            // large it is; we read the larger structure only for the matching family.
            let address = unsafe {
                match i32::from((*entry.ifa_addr).sa_family) {
                    libc::AF_INET => {
                        let v4 = &*entry.ifa_addr.cast::<libc::sockaddr_in>();
                        Some(IpAddr::from(u32::from_be(v4.sin_addr.s_addr).to_be_bytes()))
                    }
                    libc::AF_INET6 => {
                        let v6 = &*entry.ifa_addr.cast::<libc::sockaddr_in6>();
                        Some(IpAddr::from(v6.sin6_addr.s6_addr))
                    }
                    _ => None,
                }
            };
            if let Some(address) = address.filter(|address| !addresses.contains(address)) {
                addresses.push(address);
            }
        }
        cursor = entry.ifa_next;
    }
    // SAFETY: `list` came from a successful `getifaddrs` and is freed exactly once.
    unsafe { libc::freeifaddrs(list) };
    addresses
}

/// Whether descriptor `fd` is open (`fcntl(F_GETFD)`); the error (`EBADF`) when it is not.
#[cfg(any(target_os = "linux", target_os = "android"))]
fn check_open(fd: RawFd) -> io::Result<()> {
    // SAFETY: F_GETFD only reads the descriptor flags; it is defined for any integer and
    // reports EBADF for a closed descriptor.
    if unsafe { libc::fcntl(fd, libc::F_GETFD) } == -1 {
        return Err(io::Error::last_os_error());
    }
    Ok(())
}

/// Runs `inspect` on descriptor `fd`, borrowed as a socket, if `fd` is open; the error of the
/// open check (`EBADF`) otherwise. The descriptor is neither closed nor adopted.
///
/// For socket activation: the passed descriptors are numbers in the environment, not owned
/// values, so they are checked before they are looked at.
///
/// # Platform notes
///
/// Linux and Android only, like socket activation itself (and socket2's `SO_ACCEPTCONN`
/// check, which is all `inspect` needs beyond `SO_TYPE` and `SO_DOMAIN`).
#[cfg(any(target_os = "linux", target_os = "android"))]
pub(crate) fn with_open_socket<R>(
    fd: RawFd,
    inspect: impl FnOnce(socket2::SockRef<'_>) -> R,
) -> io::Result<R> {
    check_open(fd)?;
    // SAFETY: `fd` is open (checked just above), and the borrow ends with `inspect`, which
    // gets a `SockRef`: a view that cannot close the descriptor.
    let borrowed = unsafe { BorrowedFd::borrow_raw(fd) };
    Ok(inspect(socket2::SockRef::from(&borrowed)))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[cfg(feature = "exporter")]
    #[test]
    fn configuration_values_are_plausible() {
        assert!(clock_ticks_per_second().is_some_and(|ticks| ticks >= 1));
        assert!(page_size().is_some_and(|size| size.is_power_of_two()));
        assert!(max_open_files().is_some_and(|limit| limit >= 3));
    }

    #[test]
    fn local_addresses_are_distinct_and_include_loopback() {
        let addresses = local_addresses();
        assert!(addresses.iter().any(IpAddr::is_loopback), "{addresses:?}");
        for (index, address) in addresses.iter().enumerate() {
            assert!(!addresses[index + 1..].contains(address), "{addresses:?}");
        }
    }

    #[cfg(any(target_os = "linux", target_os = "android"))]
    #[test]
    fn a_closed_descriptor_is_reported_not_borrowed() {
        let error = with_open_socket(987_654, |_| ()).unwrap_err();
        assert_eq!(error.raw_os_error(), Some(EBADF));
    }
}
