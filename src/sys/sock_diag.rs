//! TCP sockets that are bound but neither listening nor connected, from the kernel's
//! `sock_diag` netlink interface (Linux only).
//!
//! Such a socket (a program that called `bind()` and not yet, or never, `listen()`) holds its
//! port against our `bind()`, yet appears in no `/proc/net/tcp*` row: the kernel prints only
//! the listening and the connection hash tables there. Since Linux 6.8 (commit 91051f003948,
//! "tcp: Dump bound-only sockets in inet_diag") an `inet_diag` dump walks the bind hash table
//! too when the request's state mask holds `TCPF_BOUND_INACTIVE` (`1 << 13`,
//! `TCP_BOUND_INACTIVE` in `include/net/tcp_states.h`); it is what `ss --bound-inactive`
//! asks for. Older kernels ignore the unknown state bit and dump nothing, which is why the
//! caller also checks the kernel version before reading an empty answer as "none".
//!
//! The request is one `SOCK_DIAG_BY_FAMILY` message (`struct inet_diag_req_v2`) per address
//! family on a `NETLINK_SOCK_DIAG` socket; each answer is a `struct inet_diag_msg` carrying
//! the local address and port, the owner's uid and the socket's inode (which `/proc/*/fd`
//! maps to processes). The structures are written and read as bytes at the offsets of
//! `include/uapi/linux/inet_diag.h`, so this file has no `unsafe`: the socket goes through
//! `socket2`. It is the crate's only netlink code.

use std::io::{self, Read as _};
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr};
use std::time::Duration;

use socket2::{Domain, Protocol, Socket, Type};

/// A bound-only TCP socket as the kernel reports it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct BoundSocket {
    /// The address and port it is bound to.
    pub(crate) local: SocketAddr,
    /// Its owner's uid.
    pub(crate) uid: u32,
    /// Its inode, as in the `socket:[inode]` links of `/proc/PID/fd`.
    pub(crate) inode: u64,
}

/// `NETLINK_SOCK_DIAG` (`include/uapi/linux/netlink.h`).
const NETLINK_SOCK_DIAG: i32 = 4;
/// `SOCK_DIAG_BY_FAMILY` (`include/uapi/linux/sock_diag.h`).
const SOCK_DIAG_BY_FAMILY: u16 = 20;
/// `NLM_F_REQUEST | NLM_F_DUMP` (`NLM_F_ROOT | NLM_F_MATCH`).
const REQUEST_DUMP: u16 = 0x0001 | 0x0300;
/// `NLMSG_ERROR`, `NLMSG_DONE`.
const NLMSG_ERROR: u16 = 2;
const NLMSG_DONE: u16 = 3;
/// `TCP_BOUND_INACTIVE`: the pseudo-state of a bound-only socket in a dump.
const TCP_BOUND_INACTIVE: u8 = 13;
/// `struct nlmsghdr`: len u32, type u16, flags u16, seq u32, pid u32.
const HEADER: usize = 16;
/// `struct inet_diag_req_v2`: family, protocol, ext, pad, states u32, `inet_diag_sockid`.
const REQUEST: usize = 56;
/// `struct inet_diag_msg`: family, state, timer, retrans, `inet_diag_sockid` (48 bytes),
/// expires, rqueue, wqueue, uid, inode (u32 each).
const MESSAGE: usize = 72;

/// The bound-only TCP sockets on `port`, IPv4 and IPv6. An error means the kernel cannot
/// list them (before Linux 6.8: [`io::ErrorKind::Unsupported`]) or the dump failed.
///
/// # Notes
/// Linux only; the kernel version is read from `/proc/sys/kernel/osrelease`. See
/// [`sock_diag(7)`](https://man7.org/linux/man-pages/man7/sock_diag.7.html).
pub(crate) fn bound_inactive_sockets(port: u16) -> io::Result<Vec<BoundSocket>> {
    let release = std::fs::read_to_string("/proc/sys/kernel/osrelease")?;
    if !kernel_dumps_bound_inactive(&release) {
        return Err(io::Error::new(
            io::ErrorKind::Unsupported,
            format!(
                "kernel {} does not list bound-only sockets (6.8+)",
                release.trim()
            ),
        ));
    }
    let socket = Socket::new(
        Domain::from(libc::AF_NETLINK),
        Type::DGRAM,
        Some(Protocol::from(NETLINK_SOCK_DIAG)),
    )?;
    // A diagnosis must never hang the caller: the kernel answers at once, or not at all.
    socket.set_read_timeout(Some(Duration::from_secs(1)))?;
    let mut rows = Vec::new();
    for (sequence, family) in [(1u32, libc::AF_INET), (2, libc::AF_INET6)] {
        socket.send(&request(family, sequence))?;
        read_dump(&socket, port, &mut rows)?;
    }
    Ok(rows)
}

/// One dump request for TCP sockets of `family` in the bound-inactive state.
fn request(family: i32, sequence: u32) -> [u8; HEADER + REQUEST] {
    let mut bytes = [0u8; HEADER + REQUEST];
    bytes[0..4].copy_from_slice(&((HEADER + REQUEST) as u32).to_ne_bytes());
    bytes[4..6].copy_from_slice(&SOCK_DIAG_BY_FAMILY.to_ne_bytes());
    bytes[6..8].copy_from_slice(&REQUEST_DUMP.to_ne_bytes());
    bytes[8..12].copy_from_slice(&sequence.to_ne_bytes());
    // nlmsg_pid 0: the kernel assigns ours.
    bytes[HEADER] = family as u8;
    bytes[HEADER + 1] = libc::IPPROTO_TCP as u8;
    let states = 1u32 << TCP_BOUND_INACTIVE;
    bytes[HEADER + 4..HEADER + 8].copy_from_slice(&states.to_ne_bytes());
    // The socket id stays zero: the bind-table walk filters on nothing but the family, so
    // the port is matched here.
    bytes
}

/// Reads the answers to one dump until `NLMSG_DONE`, keeping those on `port`.
fn read_dump(socket: &Socket, port: u16, rows: &mut Vec<BoundSocket>) -> io::Result<()> {
    let mut buffer = vec![0u8; 32 * 1024];
    loop {
        let length = (&*socket).read(&mut buffer)?;
        let mut messages = &buffer[..length];
        if messages.is_empty() {
            return Err(io::Error::new(
                io::ErrorKind::UnexpectedEof,
                "the kernel closed the sock_diag dump",
            ));
        }
        while messages.len() >= HEADER {
            let size = u32_at(messages, 0) as usize;
            let kind = u16::from_ne_bytes([messages[4], messages[5]]);
            if size < HEADER || size > messages.len() {
                return Err(io::Error::new(
                    io::ErrorKind::InvalidData,
                    "a truncated sock_diag message",
                ));
            }
            let payload = &messages[HEADER..size];
            match kind {
                NLMSG_DONE => return Ok(()),
                NLMSG_ERROR => {
                    // `struct nlmsgerr`: a negative errno, then the request's header.
                    let errno = payload.get(0..4).map_or(0, |bytes| {
                        i32::from_ne_bytes([bytes[0], bytes[1], bytes[2], bytes[3]])
                    });
                    return Err(io::Error::from_raw_os_error(-errno));
                }
                _ => {
                    if let Some(row) = parse_message(payload).filter(|row| row.local.port() == port)
                    {
                        rows.push(row);
                    }
                }
            }
            // Messages are aligned to 4 bytes (NLMSG_ALIGN).
            let next = (size + 3) & !3;
            messages = messages.get(next..).unwrap_or_default();
        }
    }
}

fn u32_at(bytes: &[u8], offset: usize) -> u32 {
    let mut word = [0u8; 4];
    word.copy_from_slice(&bytes[offset..offset + 4]);
    u32::from_ne_bytes(word)
}

/// A `struct inet_diag_msg`; `None` if it is too short or of another family.
fn parse_message(payload: &[u8]) -> Option<BoundSocket> {
    if payload.len() < MESSAGE {
        return None;
    }
    // The socket id starts at 4: sport, dport (big endian), src[4], dst[4] (network order).
    let port = u16::from_be_bytes([payload[4], payload[5]]);
    let source = &payload[8..24];
    let ip = match i32::from(payload[0]) {
        libc::AF_INET => IpAddr::V4(Ipv4Addr::new(source[0], source[1], source[2], source[3])),
        libc::AF_INET6 => {
            let mut octets = [0u8; 16];
            octets.copy_from_slice(source);
            IpAddr::V6(Ipv6Addr::from(octets))
        }
        _ => return None,
    };
    Some(BoundSocket {
        local: SocketAddr::new(ip, port),
        uid: u32_at(payload, 64),
        inode: u64::from(u32_at(payload, 68)),
    })
}

/// Whether the kernel `release` (`6.8.0-35-generic`) dumps bound-only sockets: 6.8 or later
/// (commit 91051f003948, "tcp: Dump bound-only sockets in inet_diag").
pub(crate) fn kernel_dumps_bound_inactive(release: &str) -> bool {
    let mut parts = release
        .trim()
        .split(|ch: char| !ch.is_ascii_digit())
        .map(|part| part.parse::<u32>().ok());
    match (parts.next().flatten(), parts.next().flatten()) {
        (Some(major), Some(minor)) => (major, minor) >= (6, 8),
        _ => false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn kernel_versions() {
        assert!(kernel_dumps_bound_inactive("6.8.0-35-generic\n"));
        assert!(kernel_dumps_bound_inactive("6.18.44-fc-v1045"));
        assert!(kernel_dumps_bound_inactive("7.0"));
        assert!(!kernel_dumps_bound_inactive("6.7.12"));
        assert!(!kernel_dumps_bound_inactive("5.15.0-1-amd64"));
        assert!(!kernel_dumps_bound_inactive("garbage"));
    }

    #[test]
    fn a_message_becomes_a_row() {
        let mut payload = [0u8; MESSAGE];
        payload[0] = libc::AF_INET as u8;
        payload[1] = TCP_BOUND_INACTIVE;
        payload[4..6].copy_from_slice(&9464u16.to_be_bytes());
        payload[8..12].copy_from_slice(&[127, 0, 0, 1]);
        payload[64..68].copy_from_slice(&1000u32.to_ne_bytes());
        payload[68..72].copy_from_slice(&424242u32.to_ne_bytes());
        let socket = parse_message(&payload).unwrap();
        assert_eq!(socket.local, "127.0.0.1:9464".parse().unwrap());
        assert_eq!((socket.uid, socket.inode), (1000, 424242));
        assert_eq!(parse_message(&payload[..MESSAGE - 1]), None);
    }

    /// A socket of this process bound without listening is found by the real dump (on
    /// kernels that have it).
    #[test]
    fn the_kernel_reports_a_bound_only_socket() {
        let release = std::fs::read_to_string("/proc/sys/kernel/osrelease").unwrap_or_default();
        if !kernel_dumps_bound_inactive(&release) {
            println!("skipped: kernel {release} predates bound-inactive dumps (6.8)");
            return;
        }
        let socket = Socket::new(Domain::IPV4, Type::STREAM, None).unwrap();
        socket
            .bind(&SocketAddr::from(([127, 0, 0, 1], 0)).into())
            .unwrap();
        let local = socket.local_addr().unwrap().as_socket().unwrap();
        let rows = bound_inactive_sockets(local.port()).unwrap();
        assert!(
            rows.iter().any(|row| row.local == local && row.inode != 0),
            "{rows:?}"
        );
    }
}
